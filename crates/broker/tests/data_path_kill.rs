//! Durability of acknowledged writes across `kill -9` of the real binary: an `acks=all`
//! workload runs against `target/{release,debug}/fjord`, the process is killed with SIGKILL
//! mid-stream, restarted on the same data directory, and everything that was acknowledged must
//! be there, in order, without duplicates.
//!
//! The binary is `$FJORD_BIN` when set (scripts/test points it at the release build), else
//! `target/release/fjord` or `target/debug/fjord`; `cargo test --workspace` builds the latter.
//! A missing binary fails the test with what to run: it cannot build the binary itself
//! without racing cargo's own lock, and a durability test that skips itself proves nothing.

mod admin_client;
mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("FJORD_BIN") {
        let path = PathBuf::from(path);
        assert!(path.exists(), "FJORD_BIN={} does not exist", path.display());
        return path;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    ["release", "debug"]
        .iter()
        .map(|profile| root.join(profile).join("fjord"))
        .find(|p| p.exists())
        .expect("no fjord binary: run `cargo build -p fjord` (or set FJORD_BIN) before this test")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(binary: &PathBuf, data: &std::path::Path, port: u16, controller_port: u16) -> Child {
    Command::new(binary)
        .arg("server")
        .args(["--override", &format!("log.dirs={}", data.display())])
        .args([
            "--override",
            &format!(
                "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"
            ),
        ])
        .args([
            "--override",
            &format!("controller.quorum.voters=1@127.0.0.1:{controller_port}"),
        ])
        .args(["--override", "console.enabled=false"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fjord starts")
}

async fn connect(port: u16) -> AdminConnection {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return AdminConnection::connect(([127, 0, 0, 1], port).into()).await;
        }
        assert!(
            Instant::now() < deadline,
            "fjord did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn batch(value: u64) -> Bytes {
    let record = Record {
        transactional: false,
        control: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::from(value.to_string())),
        headers: Default::default(),
        delete_horizon: false,
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [record].iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    buf.freeze()
}

fn topic() -> TopicName {
    TopicName(StrBytes::from_static_str("durable"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let binary = binary();
    let data = tempfile::tempdir().unwrap();
    let (port, controller_port) = (free_port(), free_port());
    let mut child = spawn(&binary, data.path(), port, controller_port);
    let mut conn = connect(port).await;
    let created: CreateTopicsResponse = conn
        .call(
            ApiKey::CreateTopics,
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(topic())
                    .with_num_partitions(1)
                    .with_replication_factor(-1)])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(created.topics[0].error_code, 0);

    // Produce acks=all until killed; remember what was acknowledged.
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let producer = {
        let acked = Arc::clone(&acked);
        tokio::spawn(async move {
            for value in 0u64.. {
                let request = ProduceRequest::default()
                    .with_acks(-1)
                    .with_timeout_ms(5000)
                    .with_topic_data(vec![TopicProduceData::default()
                        .with_name(topic())
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch(value)))])]);
                // The connection dies with the process; the call then panics and ends the task.
                let response: ProduceResponse = conn.call(ApiKey::Produce, 9, &request).await;
                if response.responses[0].partition_responses[0].error_code == 0 {
                    acked.lock().unwrap().push(value);
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 500 {
        assert!(Instant::now() < deadline, "the workload did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    let _ = producer.await; // ends with the connection's panic
    let acked = acked.lock().unwrap().clone();

    let mut child = spawn(&binary, data.path(), port, controller_port);
    let mut conn = connect(port).await;
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic())
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])]);
        let response: FetchResponse = conn.call(ApiKey::Fetch, 12, &request).await;
        let partition = &response.responses[0].partitions[0];
        assert_eq!(partition.error_code, 0);
        let mut records = partition.records.clone().unwrap_or_default();
        if records.is_empty() {
            break;
        }
        while !records.is_empty() {
            let set = RecordBatchDecoder::decode(&mut records).unwrap();
            for record in set.records {
                if record.offset >= offset {
                    let text = String::from_utf8(record.value.unwrap().to_vec()).unwrap();
                    seen.push(text.parse::<u64>().unwrap());
                    offset = record.offset + 1;
                }
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "records out of order or duplicated"
    );
    assert!(
        seen.len() >= acked.len(),
        "{} acked, {} read back",
        acked.len(),
        seen.len()
    );
    assert_eq!(
        &seen[..acked.len()],
        &acked[..],
        "every acknowledged write, in order"
    );
}
