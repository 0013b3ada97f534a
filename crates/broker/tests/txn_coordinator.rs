//! The transaction coordinator against an in-process broker, over raw Kafka requests encoded
//! with the codec crate: FindCoordinator for a transactional id, InitProducerId with a
//! transactional id, AddPartitionsToTxn, transactional Produce, EndTxn commit and abort seen
//! by read_committed Fetch, fencing of an older epoch, the timeout that aborts an abandoned
//! transaction, a restart in the middle of transactions, and the admin views
//! (DescribeTransactions, ListTransactions, DescribeProducers).

mod admin_client;
mod common;

use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use bytes::{Bytes, BytesMut};
use common::{start_broker, start_broker_in};
use fjord_config::ServerConfig;
use fjord_coordinator::txn::{
    TopicPartition, TransactionLogValue, TransactionState as TxnState, TransactionVersion,
    TxnRecord, TRANSACTION_STATE_TOPIC,
};
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

const TOPIC: &str = "txn-data";
const PRODUCE_V: i16 = 9;
const FETCH_V: i16 = 12;
const READ_COMMITTED: i8 = 1;
const READ_UNCOMMITTED: i8 = 0;

/// Errors a client retries with the same request.
const RETRIABLE: [i16; 3] = [
    14, // COORDINATOR_LOAD_IN_PROGRESS
    15, // COORDINATOR_NOT_AVAILABLE
    51, // CONCURRENT_TRANSACTIONS
];

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn txn_id(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.to_string()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

fn quick(config: &mut ServerConfig) {
    config.transaction_abort_timed_out_transaction_cleanup_interval_ms = 100;
}

/// Calls `op` until its error code is not retriable, at most 15 s.
async fn until_settled<T>(
    conn: &mut AdminConnection,
    mut op: impl AsyncFnMut(&mut AdminConnection) -> (i16, T),
) -> (i16, T) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, value) = op(conn).await;
        if !RETRIABLE.contains(&code) || Instant::now() > deadline {
            return (code, value);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create_topic(conn: &mut AdminConnection, topic: &str) {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(1)
            .with_replication_factor(-1)])
        .with_timeout_ms(5000);
    let response: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, 7, &request).await;
    assert_eq!(response.topics[0].error_code, 0);
}

async fn find_txn_coordinator(conn: &mut AdminConnection, id: &str) -> Coordinator {
    let (_, coordinator) = until_settled(conn, async |conn| {
        let request = FindCoordinatorRequest::default()
            .with_key_type(1)
            .with_coordinator_keys(vec![StrBytes::from_string(id.to_string())]);
        let response: FindCoordinatorResponse =
            conn.call(ApiKey::FindCoordinator, 4, &request).await;
        let c = response.coordinators[0].clone();
        (c.error_code, c)
    })
    .await;
    coordinator
}

/// InitProducerId at `version`: (error code, producer id, epoch), retried while retriable.
async fn init(
    conn: &mut AdminConnection,
    id: &str,
    timeout_ms: i32,
    version: i16,
) -> (i16, i64, i16) {
    let (code, (producer_id, epoch)) = until_settled(conn, async |conn| {
        let request = InitProducerIdRequest::default()
            .with_transactional_id(Some(txn_id(id)))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let response: InitProducerIdResponse =
            conn.call(ApiKey::InitProducerId, version, &request).await;
        (
            response.error_code,
            (response.producer_id.0, response.producer_epoch),
        )
    })
    .await;
    (code, producer_id, epoch)
}

async fn add_partition(
    conn: &mut AdminConnection,
    id: &str,
    producer_id: i64,
    epoch: i16,
    version: i16,
) -> i16 {
    let (code, ()) = until_settled(conn, async |conn| {
        let request = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn_id(id))
            .with_v3_and_below_producer_id(ProducerId(producer_id))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(name(TOPIC))
                .with_partitions(vec![0])]);
        let response: AddPartitionsToTxnResponse = conn
            .call(ApiKey::AddPartitionsToTxn, version, &request)
            .await;
        let topic = &response.results_by_topic_v3_and_below[0];
        assert_eq!(topic.name, name(TOPIC));
        (topic.results_by_partition[0].partition_error_code, ())
    })
    .await;
    code
}

async fn end_txn(
    conn: &mut AdminConnection,
    id: &str,
    producer_id: i64,
    epoch: i16,
    commit: bool,
    version: i16,
) -> i16 {
    let (code, ()) = until_settled(conn, async |conn| {
        let request = EndTxnRequest::default()
            .with_transactional_id(txn_id(id))
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_committed(commit);
        let response: EndTxnResponse = conn.call(ApiKey::EndTxn, version, &request).await;
        (response.error_code, ())
    })
    .await;
    code
}

/// One transactional batch of `values` from (`producer_id`, `epoch`) at `base_sequence`.
fn txn_batch(producer_id: i64, epoch: i16, base_sequence: i32, values: &[&str]) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: epoch,
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
    .expect("batch encodes");
    buf.freeze()
}

async fn produce(conn: &mut AdminConnection, id: &str, records: Bytes) -> (i16, i64) {
    let request = ProduceRequest::default()
        .with_transactional_id(Some(txn_id(id)))
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(TOPIC))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response: ProduceResponse = conn.call(ApiKey::Produce, PRODUCE_V, &request).await;
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn fetch(
    conn: &mut AdminConnection,
    isolation_level: i8,
    max_wait_ms: i32,
) -> fetch_response::PartitionData {
    let request = FetchRequest::default()
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
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let response: FetchResponse = conn.call(ApiKey::Fetch, FETCH_V, &request).await;
    assert_eq!(response.error_code, 0);
    let partition = response.responses[0].partitions[0].clone();
    assert_eq!(partition.error_code, 0);
    partition
}

/// Fetches with read_committed (long polls woken by markers) until the last stable offset
/// reaches the high watermark, i.e. no transaction is open on the partition any more.
async fn fetch_settled(conn: &mut AdminConnection) -> fetch_response::PartitionData {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let p = fetch(conn, READ_COMMITTED, 500).await;
        if p.last_stable_offset == p.high_watermark || Instant::now() > deadline {
            return p;
        }
    }
}

/// What a read_committed consumer delivers, filtered as clients filter: a producer's records
/// from the first offset of one of its aborted transactions up to its next control record are
/// dropped, and control records are never delivered.
fn committed_values(p: &fetch_response::PartitionData) -> Vec<String> {
    let mut pending: Vec<(i64, i64)> = p
        .aborted_transactions
        .as_ref()
        .map(|list| {
            list.iter()
                .map(|t| (t.producer_id.0, t.first_offset))
                .collect()
        })
        .unwrap_or_default();
    let mut aborting: Vec<i64> = Vec::new();
    let mut bytes = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    if bytes.is_empty() {
        return out;
    }
    for set in RecordBatchDecoder::decode_all(&mut bytes).expect("batches decode") {
        for r in set.records {
            pending.retain(|(pid, first)| {
                let starts = *pid == r.producer_id && r.offset >= *first;
                if starts {
                    aborting.push(*pid);
                }
                !starts
            });
            if r.control {
                aborting.retain(|pid| *pid != r.producer_id);
                continue;
            }
            if aborting.contains(&r.producer_id) {
                continue;
            }
            let value = r.value.map(|v| String::from_utf8_lossy(&v).into_owned());
            out.push(value.unwrap_or_default());
        }
    }
    out
}

async fn describe(
    conn: &mut AdminConnection,
    id: &str,
) -> describe_transactions_response::TransactionState {
    let (_, state) = until_settled(conn, async |conn| {
        let request =
            DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id(id)]);
        let response: DescribeTransactionsResponse =
            conn.call(ApiKey::DescribeTransactions, 0, &request).await;
        let state = response.transaction_states[0].clone();
        (state.error_code, state)
    })
    .await;
    state
}

#[tokio::test]
async fn commit_is_seen_by_read_committed_and_the_admin_views() {
    let broker = start_broker(quick).await;
    let mut conn = AdminConnection::connect(broker.addr).await;
    create_topic(&mut conn, TOPIC).await;
    let id = "commit-txn";

    let coordinator = find_txn_coordinator(&mut conn, id).await;
    assert_eq!(coordinator.error_code, 0);
    assert_eq!(coordinator.node_id, BrokerId(1));
    assert_eq!(coordinator.port, i32::from(broker.addr.port()));

    let (code, producer_id, epoch) = init(&mut conn, id, 60_000, 4).await;
    assert_eq!(code, 0);
    assert!(producer_id >= 0);
    assert_eq!(epoch, 0, "a new transactional id starts at epoch 0");

    assert_eq!(add_partition(&mut conn, id, producer_id, epoch, 3).await, 0);
    let (code, base_offset) =
        produce(&mut conn, id, txn_batch(producer_id, epoch, 0, &["a", "b"])).await;
    assert_eq!(code, 0);
    assert_eq!(base_offset, 0);

    // Open transaction: read_committed stops before it, DescribeTransactions shows it.
    let open = fetch(&mut conn, READ_COMMITTED, 0).await;
    assert_eq!(open.last_stable_offset, 0);
    assert!(committed_values(&open).is_empty());
    let ongoing = describe(&mut conn, id).await;
    assert_eq!(ongoing.error_code, 0);
    assert_eq!(ongoing.transaction_state.as_str(), "Ongoing");
    assert_eq!(ongoing.producer_id, ProducerId(producer_id));
    assert_eq!(ongoing.topics[0].topic, name(TOPIC));
    assert_eq!(ongoing.topics[0].partitions, vec![0]);

    let producers: DescribeProducersResponse = conn
        .call(
            ApiKey::DescribeProducers,
            0,
            &DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
                .with_name(name(TOPIC))
                .with_partition_indexes(vec![0])]),
        )
        .await;
    let partition = &producers.topics[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert_eq!(partition.active_producers.len(), 1);
    let producer = &partition.active_producers[0];
    assert_eq!(producer.producer_id, ProducerId(producer_id));
    assert_eq!(producer.last_sequence, 1);
    assert_eq!(producer.current_txn_start_offset, 0);

    assert_eq!(end_txn(&mut conn, id, producer_id, epoch, true, 3).await, 0);
    let settled = fetch_settled(&mut conn).await;
    assert_eq!(
        settled.high_watermark, 3,
        "two records and the commit marker"
    );
    assert_eq!(settled.last_stable_offset, 3);
    assert_eq!(committed_values(&settled), vec!["a", "b"]);
    assert!(settled
        .aborted_transactions
        .as_ref()
        .is_none_or(|a| a.is_empty()));

    let complete = describe(&mut conn, id).await;
    assert_eq!(complete.transaction_state.as_str(), "CompleteCommit");
    assert!(complete.topics.is_empty());

    let listed: ListTransactionsResponse = conn
        .call(
            ApiKey::ListTransactions,
            1,
            &ListTransactionsRequest::default()
                .with_state_filters(vec![
                    StrBytes::from_static_str("CompleteCommit"),
                    StrBytes::from_static_str("NoSuchState"),
                ])
                .with_duration_filter(-1),
        )
        .await;
    assert_eq!(listed.error_code, 0);
    assert_eq!(listed.transaction_states.len(), 1);
    assert_eq!(listed.transaction_states[0].transactional_id, txn_id(id));
    assert_eq!(
        listed.unknown_state_filters,
        vec![StrBytes::from_static_str("NoSuchState")]
    );

    // A second transaction by the same producer after the commit.
    assert_eq!(add_partition(&mut conn, id, producer_id, epoch, 3).await, 0);
    let (code, _) = produce(&mut conn, id, txn_batch(producer_id, epoch, 2, &["c"])).await;
    assert_eq!(code, 0);
    assert_eq!(end_txn(&mut conn, id, producer_id, epoch, true, 3).await, 0);
    let settled = fetch_settled(&mut conn).await;
    assert_eq!(committed_values(&settled), vec!["a", "b", "c"]);
    broker.stop().await;
}

#[tokio::test]
async fn abort_hides_the_data_from_read_committed() {
    let broker = start_broker(quick).await;
    let mut conn = AdminConnection::connect(broker.addr).await;
    create_topic(&mut conn, TOPIC).await;
    let id = "abort-txn";
    let (code, producer_id, epoch) = init(&mut conn, id, 60_000, 3).await;
    assert_eq!(code, 0);
    assert_eq!(add_partition(&mut conn, id, producer_id, epoch, 1).await, 0);
    let (code, _) = produce(&mut conn, id, txn_batch(producer_id, epoch, 0, &["x", "y"])).await;
    assert_eq!(code, 0);
    assert_eq!(
        end_txn(&mut conn, id, producer_id, epoch, false, 1).await,
        0
    );

    let settled = fetch_settled(&mut conn).await;
    assert_eq!(settled.last_stable_offset, 3);
    let aborted = settled.aborted_transactions.clone().unwrap_or_default();
    assert_eq!(aborted.len(), 1);
    assert_eq!(aborted[0].producer_id, ProducerId(producer_id));
    assert_eq!(aborted[0].first_offset, 0);
    assert!(committed_values(&settled).is_empty());
    // read_uncommitted still returns the aborted records (the client decides).
    let uncommitted = fetch(&mut conn, READ_UNCOMMITTED, 0).await;
    assert!(uncommitted.records.is_some_and(|r| !r.is_empty()));
    assert_eq!(
        describe(&mut conn, id).await.transaction_state.as_str(),
        "CompleteAbort"
    );

    // Committing what was just aborted is refused; aborting again is answered as a retry.
    assert_eq!(
        end_txn(&mut conn, id, producer_id, epoch, true, 3).await,
        48
    );
    assert_eq!(
        end_txn(&mut conn, id, producer_id, epoch, false, 3).await,
        0
    );
    broker.stop().await;
}

#[tokio::test]
async fn a_new_incarnation_fences_the_old_epoch_and_aborts_its_transaction() {
    let broker = start_broker(quick).await;
    let mut conn = AdminConnection::connect(broker.addr).await;
    create_topic(&mut conn, TOPIC).await;
    let id = "zombie";
    let (code, producer_id, old_epoch) = init(&mut conn, id, 60_000, 4).await;
    assert_eq!(code, 0);
    assert_eq!(
        add_partition(&mut conn, id, producer_id, old_epoch, 3).await,
        0
    );
    let (code, _) = produce(
        &mut conn,
        id,
        txn_batch(producer_id, old_epoch, 0, &["zombie data"]),
    )
    .await;
    assert_eq!(code, 0);

    // The new incarnation: its InitProducerId aborts the open transaction (answered
    // CONCURRENT_TRANSACTIONS until the abort markers are written, which `init` retries).
    let (code, same_id, new_epoch) = init(&mut conn, id, 60_000, 4).await;
    assert_eq!(code, 0);
    assert_eq!(same_id, producer_id);
    assert!(
        new_epoch > old_epoch + 1,
        "the abort and the new incarnation each bumped the epoch ({old_epoch} -> {new_epoch})"
    );
    let settled = fetch_settled(&mut conn).await;
    assert!(
        committed_values(&settled).is_empty(),
        "the zombie's data is aborted"
    );

    // The zombie is fenced: PRODUCER_FENCED from v2 (KIP-588), INVALID_PRODUCER_EPOCH before.
    assert_eq!(
        add_partition(&mut conn, id, producer_id, old_epoch, 3).await,
        90
    );
    assert_eq!(
        add_partition(&mut conn, id, producer_id, old_epoch, 1).await,
        47
    );
    assert_eq!(
        end_txn(&mut conn, id, producer_id, old_epoch, true, 3).await,
        90
    );
    // A producer id that is not the id's: INVALID_PRODUCER_ID_MAPPING.
    assert_eq!(
        add_partition(&mut conn, id, producer_id + 1000, new_epoch, 3).await,
        49
    );
    // Its data write is refused by the partition too: the abort marker raised the epoch.
    let (code, _) = produce(
        &mut conn,
        id,
        txn_batch(producer_id, old_epoch, 1, &["late"]),
    )
    .await;
    assert!(
        code == 47 || code == 90,
        "zombie produce refused, got {code}"
    );

    // The new incarnation commits normally.
    assert_eq!(
        add_partition(&mut conn, id, producer_id, new_epoch, 3).await,
        0
    );
    let (code, _) = produce(
        &mut conn,
        id,
        txn_batch(producer_id, new_epoch, 0, &["fresh"]),
    )
    .await;
    assert_eq!(code, 0);
    assert_eq!(
        end_txn(&mut conn, id, producer_id, new_epoch, true, 3).await,
        0
    );
    let settled = fetch_settled(&mut conn).await;
    assert_eq!(committed_values(&settled), vec!["fresh"]);
    broker.stop().await;
}

#[tokio::test]
async fn an_abandoned_transaction_times_out_and_aborts() {
    let broker = start_broker(|config| {
        quick(config);
        config.transaction_max_timeout_ms = 2_000;
    })
    .await;
    let mut conn = AdminConnection::connect(broker.addr).await;
    create_topic(&mut conn, TOPIC).await;
    let id = "abandoned";
    // Above transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT.
    assert_eq!(init(&mut conn, id, 5_000, 4).await.0, 50);
    let (code, producer_id, epoch) = init(&mut conn, id, 300, 4).await;
    assert_eq!(code, 0);
    assert_eq!(add_partition(&mut conn, id, producer_id, epoch, 3).await, 0);
    let (code, _) = produce(&mut conn, id, txn_batch(producer_id, epoch, 0, &["lost"])).await;
    assert_eq!(code, 0);

    // Nobody ends it: the coordinator's timer aborts it after 300 ms.
    let settled = fetch_settled(&mut conn).await;
    assert_eq!(settled.last_stable_offset, settled.high_watermark);
    assert_eq!(settled.high_watermark, 2, "the record and the abort marker");
    assert!(committed_values(&settled).is_empty());
    assert_eq!(
        describe(&mut conn, id).await.transaction_state.as_str(),
        "CompleteAbort"
    );
    // The producer comes back too late: its epoch was bumped by the abort.
    assert_eq!(
        end_txn(&mut conn, id, producer_id, epoch, true, 3).await,
        90
    );
    broker.stop().await;
}

#[tokio::test]
async fn batched_find_coordinator_and_verify_only_add_partitions() {
    let broker = start_broker(quick).await;
    let mut conn = AdminConnection::connect(broker.addr).await;
    create_topic(&mut conn, TOPIC).await;
    let id = "verified";
    let (code, producer_id, epoch) = init(&mut conn, id, 60_000, 5).await;
    assert_eq!(code, 0);

    // v4+: one result per transaction; verify_only checks without adding.
    let verify = |only: bool, partitions: Vec<i32>| {
        AddPartitionsToTxnRequest::default().with_transactions(vec![
            AddPartitionsToTxnTransaction::default()
                .with_transactional_id(txn_id(id))
                .with_producer_id(ProducerId(producer_id))
                .with_producer_epoch(epoch)
                .with_verify_only(only)
                .with_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(name(TOPIC))
                    .with_partitions(partitions)]),
        ])
    };
    let response: AddPartitionsToTxnResponse = conn
        .call(ApiKey::AddPartitionsToTxn, 5, &verify(true, vec![0]))
        .await;
    assert_eq!(response.error_code, 0);
    let result = &response.results_by_transaction[0];
    assert_eq!(result.transactional_id, txn_id(id));
    assert_eq!(
        result.topic_results[0].results_by_partition[0].partition_error_code, 120,
        "not in the transaction: TRANSACTION_ABORTABLE"
    );
    let response: AddPartitionsToTxnResponse = conn
        .call(ApiKey::AddPartitionsToTxn, 5, &verify(false, vec![0]))
        .await;
    assert_eq!(
        response.results_by_transaction[0].topic_results[0].results_by_partition[0]
            .partition_error_code,
        0
    );
    let response: AddPartitionsToTxnResponse = conn
        .call(ApiKey::AddPartitionsToTxn, 5, &verify(true, vec![0]))
        .await;
    assert_eq!(
        response.results_by_transaction[0].topic_results[0].results_by_partition[0]
            .partition_error_code,
        0
    );
    // An unknown partition: UNKNOWN_TOPIC_OR_PARTITION for it, OPERATION_NOT_ATTEMPTED for
    // the others, nothing added.
    let response: AddPartitionsToTxnResponse = conn
        .call(ApiKey::AddPartitionsToTxn, 5, &verify(false, vec![0, 7]))
        .await;
    let codes: Vec<i16> = response.results_by_transaction[0].topic_results[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect();
    assert_eq!(codes, vec![55, 3]);

    // FindCoordinator v4 answers every key of the batch.
    let request = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![
            StrBytes::from_static_str("verified"),
            StrBytes::from_static_str("another"),
        ]);
    let response: FindCoordinatorResponse = conn.call(ApiKey::FindCoordinator, 4, &request).await;
    assert_eq!(response.coordinators.len(), 2);
    assert!(response.coordinators.iter().all(|c| c.error_code == 0));
    assert_eq!(response.coordinators[1].key.as_str(), "another");
    broker.stop().await;
}

/// A broker that stops with one transaction Ongoing and one whose PrepareCommit is in
/// `__transaction_state` but whose markers were never written (the state a crash between the
/// two leaves): after the restart the commit completes and the ongoing one times out.
#[tokio::test]
async fn a_restart_finishes_prepared_commits_and_aborts_open_transactions() {
    let broker = start_broker(quick).await;
    let mut conn = AdminConnection::connect(broker.addr).await;
    create_topic(&mut conn, TOPIC).await;

    let prepared = "prepared";
    let (code, prepared_pid, prepared_epoch) = init(&mut conn, prepared, 60_000, 4).await;
    assert_eq!(code, 0);
    assert_eq!(
        add_partition(&mut conn, prepared, prepared_pid, prepared_epoch, 3).await,
        0
    );
    let (code, _) = produce(
        &mut conn,
        prepared,
        txn_batch(prepared_pid, prepared_epoch, 0, &["kept"]),
    )
    .await;
    assert_eq!(code, 0);

    let open = "open";
    let (code, open_pid, open_epoch) = init(&mut conn, open, 1_500, 4).await;
    assert_eq!(code, 0);
    assert_eq!(
        add_partition(&mut conn, open, open_pid, open_epoch, 3).await,
        0
    );
    let (code, _) = produce(
        &mut conn,
        open,
        txn_batch(open_pid, open_epoch, 0, &["dropped"]),
    )
    .await;
    assert_eq!(code, 0);

    // What the coordinator writes at EndTxn(commit), appended behind its back.
    let ongoing = describe(&mut conn, prepared).await;
    let value = TransactionLogValue {
        version: 0,
        producer_id: prepared_pid,
        previous_producer_id: -1,
        next_producer_id: -1,
        producer_epoch: prepared_epoch,
        txn_timeout_ms: ongoing.transaction_timeout_ms,
        state: TxnState::PrepareCommit,
        partitions: [TopicPartition::new(TOPIC, 0)].into_iter().collect(),
        txn_last_update_timestamp_ms: now_ms(),
        txn_start_timestamp_ms: ongoing.transaction_start_time_ms,
        client_transaction_version: TransactionVersion::TV_0,
    };
    let record = TxnRecord {
        transactional_id: prepared.to_string(),
        value: Some(value),
    };
    let ctx = broker.broker.context();
    let state_partition = ctx
        .txns
        .partition_for(prepared)
        .await
        .expect("partition of the id");
    let log = ctx
        .replica_manager
        .leader_partition(TRANSACTION_STATE_TOPIC, state_partition)
        .expect("__transaction_state partition led here");
    let batch = fjord_broker::coordinator_log::encode_batch(
        &[(record.key_bytes(), record.value_bytes())],
        now_ms(),
        None,
    );
    fjord_broker::coordinator_log::append_replicated(&log, batch, now_ms())
        .await
        .expect("prepare record appended");
    drop(log);
    drop(conn);

    let dir = broker.stop().await;
    let broker = start_broker_in(dir, quick).await;
    let mut conn = AdminConnection::connect(broker.addr).await;

    let settled = fetch_settled(&mut conn).await;
    assert_eq!(settled.last_stable_offset, settled.high_watermark);
    assert_eq!(committed_values(&settled), vec!["kept"]);
    let aborted = settled.aborted_transactions.clone().unwrap_or_default();
    assert_eq!(aborted.len(), 1);
    assert_eq!(aborted[0].producer_id, ProducerId(open_pid));
    assert_eq!(
        describe(&mut conn, prepared)
            .await
            .transaction_state
            .as_str(),
        "CompleteCommit"
    );
    assert_eq!(
        describe(&mut conn, open).await.transaction_state.as_str(),
        "CompleteAbort"
    );
    // The restarted coordinator still knows the ids: a new incarnation bumps the epoch.
    let (code, pid_again, epoch_again) = init(&mut conn, prepared, 60_000, 4).await;
    assert_eq!(code, 0);
    assert_eq!(pid_again, prepared_pid);
    assert_eq!(epoch_again, prepared_epoch + 1);
    broker.stop().await;
}
