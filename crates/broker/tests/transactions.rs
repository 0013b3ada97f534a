//! The partition side of transactions against an in-process broker, over raw Kafka requests:
//! transactional batches produced, markers written with WriteTxnMarkers (and through the
//! replica manager), Fetch with read_committed (up to the last stable offset, with the
//! aborted-transaction list) and read_uncommitted, ListOffsets with both isolation levels, and
//! a read_committed long poll woken by a marker.

mod admin_client;
mod common;

use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use bytes::{Bytes, BytesMut};
use common::start_broker;
use fjord_storage::{ControlRecordType, TxnMarker};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

const PRODUCE_V: i16 = 11;
const FETCH_V: i16 = 12;
const LIST_OFFSETS_V: i16 = 8;
const TOPIC: &str = "txn";

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One transactional batch of `values` from (`producer_id`, epoch 0) at `base_sequence`.
fn txn_batch(producer_id: i64, base_sequence: i32, values: &[&str]) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base_sequence + i as i32,
            timestamp: now_ms(),
            key: None,
            value: Some(Bytes::from(v.to_string())),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    buf.freeze()
}

async fn create_topic(conn: &mut AdminConnection) {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(TOPIC))
            .with_num_partitions(1)
            .with_replication_factor(-1)])
        .with_timeout_ms(5000);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, 7, &request).await;
    assert_eq!(response.topics[0].error_code, 0);
}

async fn produce(conn: &mut AdminConnection, records: Bytes) -> i64 {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(TOPIC))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response: ProduceResponse = conn.call(ApiKey::Produce, PRODUCE_V, &request).await;
    let p = &response.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "produce refused");
    p.base_offset
}

async fn write_marker(
    conn: &mut AdminConnection,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
) -> i16 {
    let request =
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch)
            .with_transaction_result(commit)
            .with_coordinator_epoch(coordinator_epoch)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(name(TOPIC))
                .with_partition_indexes(vec![0])])]);
    let response: WriteTxnMarkersResponse = conn.call(ApiKey::WriteTxnMarkers, 1, &request).await;
    assert_eq!(response.markers[0].producer_id, ProducerId(producer_id));
    assert_eq!(response.markers[0].topics[0].name, name(TOPIC));
    response.markers[0].topics[0].partitions[0].error_code
}

fn fetch_request(offset: i64, isolation_level: i8, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_isolation_level(isolation_level)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(TOPIC))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)])])
}

async fn fetch(
    conn: &mut AdminConnection,
    offset: i64,
    isolation_level: i8,
) -> fetch_response::PartitionData {
    let response: FetchResponse = conn
        .call(
            ApiKey::Fetch,
            FETCH_V,
            &fetch_request(offset, isolation_level, 0),
        )
        .await;
    assert_eq!(response.error_code, 0);
    response.responses[0].partitions[0].clone()
}

/// (offset, value) of every data record fetched; control records are skipped, as clients do.
fn data_records(p: &fetch_response::PartitionData) -> Vec<(i64, String)> {
    let mut bytes = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    if bytes.is_empty() {
        return out;
    }
    for set in RecordBatchDecoder::decode_all(&mut bytes).unwrap() {
        for r in set.records {
            if !r.control {
                let value = r.value.map(|v| String::from_utf8_lossy(&v).into_owned());
                out.push((r.offset, value.unwrap_or_default()));
            }
        }
    }
    out
}

fn aborted(p: &fetch_response::PartitionData) -> Option<Vec<(i64, i64)>> {
    p.aborted_transactions.as_ref().map(|list| {
        list.iter()
            .map(|t| (t.producer_id.0, t.first_offset))
            .collect()
    })
}

async fn latest(conn: &mut AdminConnection, isolation_level: i8) -> i64 {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation_level)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(TOPIC))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let response: ListOffsetsResponse = conn
        .call(ApiKey::ListOffsets, LIST_OFFSETS_V, &request)
        .await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

#[tokio::test]
async fn read_committed_sees_committed_data_and_the_aborted_list() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn).await;

    // Producer 1000 writes a transaction it will commit, producer 2000 one it will abort.
    assert_eq!(
        produce(&mut conn, txn_batch(1000, 0, &["c1", "c2"])).await,
        0
    );
    assert_eq!(produce(&mut conn, txn_batch(2000, 0, &["a1"])).await, 2);
    assert_eq!(produce(&mut conn, txn_batch(1000, 2, &["c3"])).await, 3);

    // Both open: nothing is stable; read_uncommitted sees everything.
    let committed = fetch(&mut conn, 0, 1).await;
    assert_eq!(committed.high_watermark, 4);
    assert_eq!(committed.last_stable_offset, 0);
    assert!(data_records(&committed).is_empty());
    assert_eq!(aborted(&committed), Some(vec![]));
    let uncommitted = fetch(&mut conn, 0, 0).await;
    assert_eq!(uncommitted.last_stable_offset, 0);
    assert_eq!(data_records(&uncommitted).len(), 4);
    assert_eq!(aborted(&uncommitted), None, "null for read_uncommitted");
    assert_eq!(latest(&mut conn, 0).await, 4);
    assert_eq!(latest(&mut conn, 1).await, 0);

    // Commit producer 1000 (marker at 4): the LSO stops at producer 2000's first offset.
    assert_eq!(write_marker(&mut conn, 1000, 0, true, 0).await, 0);
    let committed = fetch(&mut conn, 0, 1).await;
    assert_eq!(committed.last_stable_offset, 2);
    assert_eq!(
        data_records(&committed),
        vec![(0, "c1".to_string()), (1, "c2".to_string())]
    );
    assert_eq!(latest(&mut conn, 1).await, 2);

    // Abort producer 2000 through the replica manager, as fjord's coordinator will.
    let replicas = &test.broker.context().replica_manager;
    replicas
        .write_txn_marker(
            TOPIC,
            0,
            2000,
            0,
            TxnMarker {
                control_type: ControlRecordType::Abort,
                coordinator_epoch: 0,
            },
        )
        .await
        .unwrap();
    let committed = fetch(&mut conn, 0, 1).await;
    assert_eq!(committed.high_watermark, 6);
    assert_eq!(committed.last_stable_offset, 6);
    assert_eq!(aborted(&committed), Some(vec![(2000, 2)]));
    // The client drops producer 2000's records from offset 2 on: what remains is committed.
    let offsets: Vec<i64> = data_records(&committed).iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3]);
    assert_eq!(latest(&mut conn, 1).await, 6);
    // Past the aborted transaction nothing is listed.
    let after = fetch(&mut conn, 6, 1).await;
    assert_eq!(aborted(&after), Some(vec![]));

    // Stale producer epoch and older coordinator epoch are refused per partition.
    assert_eq!(write_marker(&mut conn, 1000, -1, true, 0).await, 47);
    produce(&mut conn, txn_batch(1000, 3, &["c4"])).await;
    assert_eq!(write_marker(&mut conn, 1000, 0, false, 3).await, 0);
    assert_eq!(write_marker(&mut conn, 1000, 0, false, 2).await, 52);
    // A resent marker (coordinator restart) is accepted.
    assert_eq!(write_marker(&mut conn, 1000, 0, false, 3).await, 0);
    let all = fetch(&mut conn, 0, 1).await;
    assert_eq!(aborted(&all), Some(vec![(2000, 2), (1000, 6)]));
}

#[tokio::test]
async fn a_marker_wakes_a_read_committed_long_poll() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn).await;
    produce(&mut conn, txn_batch(7, 0, &["x"])).await;

    let addr = test.addr;
    let waiting = tokio::spawn(async move {
        let mut conn = AdminConnection::connect(addr).await;
        let started = Instant::now();
        let response: FetchResponse = conn
            .call(ApiKey::Fetch, FETCH_V, &fetch_request(0, 1, 20_000))
            .await;
        (started.elapsed(), response)
    });
    // Let the fetch park (it finds nothing below the LSO of 0).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(write_marker(&mut conn, 7, 0, true, 0).await, 0);
    let (elapsed, response) = tokio::time::timeout(common::PROMPT, waiting)
        .await
        .expect("woken by the marker")
        .unwrap();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.last_stable_offset, 2);
    assert_eq!(data_records(p), vec![(0, "x".to_string())]);
}
