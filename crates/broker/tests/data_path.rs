//! The data path against an in-process broker over raw Kafka requests: Produce with each acks
//! setting, idempotent producers (duplicates, gaps, fenced epochs), MESSAGE_TOO_LARGE,
//! long-poll Fetch woken by a produce, fetch sessions (full and incremental), ListOffsets,
//! DeleteRecords, OffsetForLeaderEpoch and DescribeLogDirs.

mod admin_client;
mod common;

use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use bytes::{Bytes, BytesMut};
use common::start_broker;
use fjord_protocol::testing::{encode_batch, TestProducer, TestRecord};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use uuid::Uuid;

const PRODUCE_V: i16 = 11;
const FETCH_V: i16 = 12;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One v2 batch of `values`, optionally idempotent (`producer`: id, epoch, base sequence).
fn batch_at(
    values: &[&str],
    producer: Option<(i64, i16, i32)>,
    timestamp: i64,
    compression: Compression,
) -> Bytes {
    let producer = producer.map(
        |(producer_id, producer_epoch, base_sequence)| TestProducer {
            producer_id,
            producer_epoch,
            base_sequence,
        },
    );
    let records = values
        .iter()
        .enumerate()
        .map(|(i, v)| TestRecord::value(v.to_string(), timestamp + i as i64));
    encode_batch(records, producer, compression)
}

fn batch(values: &[&str]) -> Bytes {
    batch_at(values, None, now_ms(), Compression::None)
}

/// Every record value in a fetched record set, in order.
fn values(records: &Option<Bytes>) -> Vec<String> {
    let Some(records) = records else {
        return Vec::new();
    };
    let mut buf = records.clone();
    let mut out = Vec::new();
    while !buf.is_empty() {
        let set = RecordBatchDecoder::decode(&mut buf).expect("records decode");
        for r in set.records {
            out.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    out
}

/// Sends an `acks=0` produce on a fresh raw connection, then checks that the connection's next
/// request is answered (and the produce was not: the first response carries the second
/// request's correlation id).
async fn send_acks0(addr: std::net::SocketAddr, request: &ProduceRequest) {
    use kafka_protocol::protocol::Encodable;
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut body = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(PRODUCE_V)
        .with_correlation_id(7)
        .encode(&mut body, ApiKey::Produce.request_header_version(PRODUCE_V))
        .unwrap();
    request.encode(&mut body, PRODUCE_V).unwrap();
    stream.write_all(&common::sized(&body)).await.unwrap();
    let response = common::api_versions_on(&mut stream, 3, 8).await;
    assert_eq!(response.error_code, 0);
}

async fn create_topic(
    conn: &mut AdminConnection,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Uuid {
    let configs = configs
        .iter()
        .map(|(k, v)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(k.to_string()))
                .with_value(Some(StrBytes::from_string(v.to_string())))
        })
        .collect();
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(-1)
            .with_configs(configs)])
        .with_timeout_ms(5000);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, 7, &request).await;
    assert_eq!(
        response.topics[0].error_code, 0,
        "{:?}",
        response.topics[0].error_message
    );
    response.topics[0].topic_id
}

async fn produce(
    conn: &mut AdminConnection,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Bytes,
) -> produce_response::PartitionProduceResponse {
    let request = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response: ProduceResponse = conn.call(ApiKey::Produce, PRODUCE_V, &request).await;
    assert_eq!(response.responses.len(), 1);
    response.responses[0].partition_responses[0].clone()
}

fn fetch_request(
    topic: &str,
    partitions: &[(i32, i64)],
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 << 20)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&(p, offset)| {
                        FetchPartition::default()
                            .with_partition(p)
                            .with_fetch_offset(offset)
                            .with_partition_max_bytes(1 << 20)
                    })
                    .collect(),
            )])
}

async fn fetch_one(
    conn: &mut AdminConnection,
    topic: &str,
    partition: i32,
    offset: i64,
) -> fetch_response::PartitionData {
    let response: FetchResponse = conn
        .call(
            ApiKey::Fetch,
            FETCH_V,
            &fetch_request(topic, &[(partition, offset)], 0, 1),
        )
        .await;
    assert_eq!(response.error_code, 0);
    response.responses[0].partitions[0].clone()
}

#[tokio::test]
async fn produce_with_each_acks_and_read_everything_back() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "acks", 1, &[]).await;

    let r = produce(&mut conn, "acks", 0, 1, batch(&["a", "b"])).await;
    assert_eq!(
        (
            r.error_code,
            r.base_offset,
            r.log_append_time_ms,
            r.log_start_offset
        ),
        (0, 0, -1, 0)
    );
    let r = produce(&mut conn, "acks", 0, -1, batch(&["c"])).await;
    assert_eq!((r.error_code, r.base_offset), (0, 2));

    // acks=0: no response; the next request on the connection is answered normally.
    let request = ProduceRequest::default()
        .with_acks(0)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("acks"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(&["d"])))])]);
    send_acks0(test.addr, &request).await;

    let data = fetch_one(&mut conn, "acks", 0, 0).await;
    assert_eq!(data.error_code, 0);
    assert_eq!(
        data.high_watermark, 4,
        "the high watermark is the offset after the last record"
    );
    assert_eq!(data.last_stable_offset, 4);
    assert_eq!(data.log_start_offset, 0);
    assert_eq!(values(&data.records), ["a", "b", "c", "d"]);

    // Fetching inside a batch returns the whole batch.
    let data = fetch_one(&mut conn, "acks", 0, 1).await;
    assert_eq!(values(&data.records), ["a", "b", "c", "d"]);

    let bad = produce(&mut conn, "acks", 0, 2, batch(&["x"])).await;
    assert_eq!(bad.error_code, 21, "INVALID_REQUIRED_ACKS");

    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn compressed_batches_are_stored_untouched() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "codecs", 1, &[]).await;
    let mut expected = Vec::new();
    for (i, codec) in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let value = format!("compressed-{i}");
        let r = produce(
            &mut conn,
            "codecs",
            0,
            -1,
            batch_at(&[&value, &value], None, now_ms(), codec),
        )
        .await;
        assert_eq!(r.error_code, 0, "{codec:?}");
        expected.push(value.clone());
        expected.push(value);
    }
    let data = fetch_one(&mut conn, "codecs", 0, 0).await;
    assert_eq!(values(&data.records), expected);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn partition_errors_do_not_fail_the_rest() {
    let test = start_broker(|c| c.auto_create_topics_enable = false).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "real", 1, &[]).await;
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name("real"))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(batch(&["ok"]))),
                    PartitionProduceData::default()
                        .with_index(7)
                        .with_records(Some(batch(&["no"]))),
                ]),
            TopicProduceData::default()
                .with_name(name("missing"))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch(&["no"])))]),
        ]);
    let response: ProduceResponse = conn.call(ApiKey::Produce, PRODUCE_V, &request).await;
    let real = &response.responses[0].partition_responses;
    assert_eq!((real[0].error_code, real[0].base_offset), (0, 0));
    assert_eq!(real[1].error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    assert_eq!(response.responses[1].partition_responses[0].error_code, 3);

    // A corrupted batch is CORRUPT_MESSAGE.
    let mut corrupt = BytesMut::from(&batch(&["x"])[..]);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let r = produce(&mut conn, "real", 0, 1, corrupt.freeze()).await;
    assert_eq!(r.error_code, 2);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn message_too_large_and_timestamps_are_enforced() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(
        &mut conn,
        "small",
        1,
        &[
            ("max.message.bytes", "200"),
            ("message.timestamp.after.max.ms", "60000"),
        ],
    )
    .await;
    let big = "x".repeat(500);
    let r = produce(&mut conn, "small", 0, -1, batch(&[&big])).await;
    assert_eq!(r.error_code, 10, "MESSAGE_TOO_LARGE");
    let future = batch_at(&["later"], None, now_ms() + 3_600_000, Compression::None);
    let r = produce(&mut conn, "small", 0, -1, future).await;
    assert_eq!(r.error_code, 32, "INVALID_TIMESTAMP");
    let r = produce(&mut conn, "small", 0, -1, batch(&["fits"])).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));

    create_topic(
        &mut conn,
        "stamped",
        1,
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    let before = now_ms();
    let r = produce(
        &mut conn,
        "stamped",
        0,
        1,
        batch_at(&["old"], None, 1000, Compression::None),
    )
    .await;
    assert_eq!(r.error_code, 0);
    assert!(
        r.log_append_time_ms >= before,
        "log_append_time_ms {}",
        r.log_append_time_ms
    );
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn idempotent_producer_duplicates_gaps_and_fencing() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "idem", 1, &[]).await;
    let init: InitProducerIdResponse = conn
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60000),
        )
        .await;
    assert_eq!(init.error_code, 0);
    assert_eq!(init.producer_epoch, 0);
    let pid = init.producer_id.0;
    assert!(pid >= 0);
    let again: InitProducerIdResponse = conn
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default().with_transactional_id(None),
        )
        .await;
    assert_ne!(again.producer_id.0, pid, "every producer gets its own id");

    let first = batch_at(
        &["one", "two"],
        Some((pid, 0, 0)),
        now_ms(),
        Compression::None,
    );
    let r = produce(&mut conn, "idem", 0, -1, first.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    let r = produce(
        &mut conn,
        "idem",
        0,
        -1,
        batch_at(&["three"], Some((pid, 0, 2)), now_ms(), Compression::None),
    )
    .await;
    assert_eq!((r.error_code, r.base_offset), (0, 2));
    // The retry of the first batch answers with its original offset and writes nothing.
    let r = produce(&mut conn, "idem", 0, -1, first).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0));
    // A gap in the sequence.
    let r = produce(
        &mut conn,
        "idem",
        0,
        -1,
        batch_at(&["gap"], Some((pid, 0, 9)), now_ms(), Compression::None),
    )
    .await;
    assert_eq!(r.error_code, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    // A newer epoch takes over; the old one is fenced.
    let r = produce(
        &mut conn,
        "idem",
        0,
        -1,
        batch_at(&["new"], Some((pid, 1, 0)), now_ms(), Compression::None),
    )
    .await;
    assert_eq!(r.error_code, 0);
    let r = produce(
        &mut conn,
        "idem",
        0,
        -1,
        batch_at(&["stale"], Some((pid, 0, 3)), now_ms(), Compression::None),
    )
    .await;
    assert_eq!(r.error_code, 47, "INVALID_PRODUCER_EPOCH");

    let data = fetch_one(&mut conn, "idem", 0, 0).await;
    assert_eq!(values(&data.records), ["one", "two", "three", "new"]);

    // A transactional id goes to the transaction coordinator (retriable while its
    // `__transaction_state` partition loads): a producer id of its own, epoch 0.
    let mut txn: InitProducerIdResponse;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        txn = conn
            .call(
                ApiKey::InitProducerId,
                4,
                &InitProducerIdRequest::default()
                    .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))))
                    .with_transaction_timeout_ms(60000),
            )
            .await;
        if ![14, 15].contains(&txn.error_code) || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(txn.error_code, 0);
    assert_ne!(txn.producer_id.0, pid, "not the idempotent producer's id");
    assert_eq!(txn.producer_epoch, 0);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_long_poll_fetch_is_woken_by_a_produce() {
    let test = start_broker(|_| {}).await;
    let mut admin = AdminConnection::connect(test.addr).await;
    create_topic(&mut admin, "poll", 1, &[]).await;
    let mut consumer = AdminConnection::connect(test.addr).await;
    let started = Instant::now();
    let parked = tokio::spawn(async move {
        let response: FetchResponse = consumer
            .call(
                ApiKey::Fetch,
                FETCH_V,
                &fetch_request("poll", &[(0, 0)], 5000, 1),
            )
            .await;
        (response, started.elapsed())
    });
    // Give the fetch time to park (it must not answer before data exists).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !parked.is_finished(),
        "an empty fetch with max_wait_ms=5000 must wait"
    );
    let r = produce(&mut admin, "poll", 0, 1, batch(&["wake"])).await;
    assert_eq!(r.error_code, 0);
    let (response, elapsed) = parked.await.unwrap();
    assert_eq!(
        values(&response.responses[0].partitions[0].records),
        ["wake"]
    );
    assert!(elapsed < Duration::from_secs(1), "woken after {elapsed:?}");

    // Without data, the fetch answers empty at max_wait_ms.
    let started = Instant::now();
    let response: FetchResponse = admin
        .call(
            ApiKey::Fetch,
            FETCH_V,
            &fetch_request("poll", &[(0, 1)], 300, 1),
        )
        .await;
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(values(&response.responses[0].partitions[0].records).is_empty());
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetch_sessions_full_then_incremental() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "sess", 2, &[]).await;
    produce(&mut conn, "sess", 0, 1, batch(&["p0"])).await;

    let full = fetch_request("sess", &[(0, 0), (1, 0)], 0, 0)
        .with_session_id(0)
        .with_session_epoch(0);
    let response: FetchResponse = conn.call(ApiKey::Fetch, FETCH_V, &full).await;
    assert_eq!(response.error_code, 0);
    let session_id = response.session_id;
    assert_ne!(session_id, 0, "a full fetch at epoch 0 opens a session");
    assert_eq!(response.responses[0].partitions.len(), 2);

    // Epoch 1: the client moved past the record on partition 0; nothing changed since.
    let incremental = |epoch: i32, partitions: &[(i32, i64)]| {
        fetch_request("sess", partitions, 0, 0)
            .with_session_id(session_id)
            .with_session_epoch(epoch)
    };
    let response: FetchResponse = conn
        .call(ApiKey::Fetch, FETCH_V, &incremental(1, &[(0, 1)]))
        .await;
    assert_eq!(response.error_code, 0);
    assert_eq!(response.session_id, session_id);
    let answered: usize = response.responses.iter().map(|t| t.partitions.len()).sum();
    assert_eq!(
        answered, 0,
        "unchanged partitions are omitted: {response:?}"
    );

    // New data on partition 1 only: the empty incremental request answers just that one.
    produce(&mut conn, "sess", 1, 1, batch(&["p1"])).await;
    let response: FetchResponse = conn
        .call(
            ApiKey::Fetch,
            FETCH_V,
            &FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_bytes(1 << 20)
                .with_session_id(session_id)
                .with_session_epoch(2),
        )
        .await;
    assert_eq!(response.responses.len(), 1);
    assert_eq!(response.responses[0].partitions.len(), 1);
    assert_eq!(response.responses[0].partitions[0].partition_index, 1);
    assert_eq!(values(&response.responses[0].partitions[0].records), ["p1"]);

    let response: FetchResponse = conn
        .call(ApiKey::Fetch, FETCH_V, &incremental(7, &[]))
        .await;
    assert_eq!(response.error_code, 71, "INVALID_FETCH_SESSION_EPOCH");
    let response: FetchResponse = conn
        .call(
            ApiKey::Fetch,
            FETCH_V,
            &fetch_request("sess", &[], 0, 0)
                .with_session_id(session_id.wrapping_add(1))
                .with_session_epoch(1),
        )
        .await;
    assert_eq!(response.error_code, 70, "FETCH_SESSION_ID_NOT_FOUND");
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetch_by_topic_id_and_offset_errors() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let topic_id = create_topic(&mut conn, "ids", 1, &[]).await;
    produce(&mut conn, "ids", 0, 1, batch(&["a", "b", "c"])).await;
    let request = |id: Uuid, offset: i64| {
        FetchRequest::default()
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_replica_state(
                fetch_request::ReplicaState::default().with_replica_id(BrokerId(-1)),
            )
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(id)
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])])
    };
    let response: FetchResponse = conn.call(ApiKey::Fetch, 17, &request(topic_id, 0)).await;
    assert_eq!(response.responses[0].topic_id, topic_id);
    assert_eq!(
        values(&response.responses[0].partitions[0].records),
        ["a", "b", "c"]
    );
    let response: FetchResponse = conn
        .call(ApiKey::Fetch, 17, &request(Uuid::new_v4(), 0))
        .await;
    assert_eq!(
        response.responses[0].partitions[0].error_code, 100,
        "UNKNOWN_TOPIC_ID"
    );
    let response: FetchResponse = conn.call(ApiKey::Fetch, 17, &request(topic_id, 99)).await;
    let p = &response.responses[0].partitions[0];
    assert_eq!(p.error_code, 1, "OFFSET_OUT_OF_RANGE");
    assert_eq!(p.high_watermark, 3);

    // DeleteRecords moves the log start offset; beyond the high watermark is refused.
    let delete = |offset: i64| {
        DeleteRecordsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                .with_name(name("ids"))
                .with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(offset),
                ])])
    };
    let response: DeleteRecordsResponse = conn.call(ApiKey::DeleteRecords, 2, &delete(2)).await;
    assert_eq!(response.topics[0].partitions[0].error_code, 0);
    assert_eq!(response.topics[0].partitions[0].low_watermark, 2);
    let response: DeleteRecordsResponse = conn.call(ApiKey::DeleteRecords, 2, &delete(10)).await;
    assert_eq!(response.topics[0].partitions[0].error_code, 1);
    let data = fetch_one(&mut conn, "ids", 0, 0).await;
    assert_eq!(data.error_code, 1, "below the log start offset");
    assert_eq!(data.log_start_offset, 2);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn list_offsets_by_timestamp_and_specials() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "times", 1, &[]).await;
    let base = now_ms() - 10_000;
    produce(
        &mut conn,
        "times",
        0,
        1,
        batch_at(&["a", "b"], None, base, Compression::None),
    )
    .await; // offsets 0,1 at base, base+1
    produce(
        &mut conn,
        "times",
        0,
        1,
        batch_at(&["c"], None, base + 5000, Compression::None),
    )
    .await; // offset 2
    produce(
        &mut conn,
        "times",
        0,
        1,
        batch_at(&["d"], None, base + 1000, Compression::None),
    )
    .await; // offset 3

    let mut list = async |timestamp: i64| -> list_offsets_response::ListOffsetsPartitionResponse {
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("times"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp)
                    .with_current_leader_epoch(-1)])]);
        let response: ListOffsetsResponse = conn.call(ApiKey::ListOffsets, 9, &request).await;
        response.topics[0].partitions[0].clone()
    };
    let p = list(-2).await;
    assert_eq!((p.error_code, p.offset), (0, 0));
    let p = list(-1).await;
    assert_eq!(p.offset, 4);
    assert!(p.leader_epoch >= 0);
    let p = list(base + 1).await;
    assert_eq!((p.offset, p.timestamp), (1, base + 1));
    let p = list(base + 2).await;
    assert_eq!((p.offset, p.timestamp), (2, base + 5000));
    let p = list(base + 6000).await;
    assert_eq!((p.offset, p.timestamp), (-1, -1), "past the last timestamp");
    let p = list(-3).await;
    assert_eq!((p.offset, p.timestamp), (2, base + 5000));
    let p = list(-4).await;
    assert_eq!(p.offset, 0);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn offset_for_leader_epoch_and_describe_log_dirs() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    create_topic(&mut conn, "epochs", 1, &[]).await;
    produce(&mut conn, "epochs", 0, 1, batch(&["a", "b"])).await;
    let latest = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("epochs"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-1)])]);
    let latest: ListOffsetsResponse = conn.call(ApiKey::ListOffsets, 9, &latest).await;
    let epoch = latest.topics[0].partitions[0].leader_epoch;
    let request = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                .with_topic(name("epochs"))
                .with_partitions(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(-1)
                        .with_leader_epoch(epoch),
                ]),
        ]);
    let response: OffsetForLeaderEpochResponse =
        conn.call(ApiKey::OffsetForLeaderEpoch, 4, &request).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!((p.leader_epoch, p.end_offset), (epoch, 2));
    // An epoch newer than any the log knows is undefined, as in Kafka.
    let unknown = request.clone();
    let mut unknown = unknown;
    unknown.topics[0].partitions[0].leader_epoch = epoch + 5;
    let response: OffsetForLeaderEpochResponse =
        conn.call(ApiKey::OffsetForLeaderEpoch, 4, &unknown).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!((p.leader_epoch, p.end_offset), (-1, -1));

    let response: DescribeLogDirsResponse = conn
        .call(
            ApiKey::DescribeLogDirs,
            4,
            &DescribeLogDirsRequest::default().with_topics(None),
        )
        .await;
    assert_eq!(response.results.len(), 1);
    let dir = &response.results[0];
    assert!(dir.total_bytes > 0 && dir.usable_bytes > 0);
    let topic = dir
        .topics
        .iter()
        .find(|t| t.name.as_str() == "epochs")
        .expect("the topic's partition is listed");
    assert!(topic.partitions[0].partition_size > 0);
    test.broker.shutdown().await.unwrap();
}
