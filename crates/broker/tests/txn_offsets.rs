//! Transactional offset commits against an in-process broker, over kafka-protocol-encoded
//! requests: TxnOffsetCommit stages offsets that OffsetFetch does not show (UNSTABLE_OFFSET_COMMIT
//! with require_stable), a COMMIT marker written with WriteTxnMarkers on the group's
//! `__consumer_offsets` partition makes them visible, an ABORT drops them, a stale producer
//! epoch is refused, and a restart replays a committed and a still-open transaction. The last
//! test drives the whole path through the transaction coordinator: InitProducerId,
//! AddOffsetsToTxn, TxnOffsetCommit, EndTxn, whose markers complete the offsets.

mod admin_client;
mod common;

use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use bytes::Bytes;
use common::{start_broker, start_broker_in};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const NONE: i16 = 0;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const ILLEGAL_GENERATION: i16 = 22;
const INVALID_GROUP_ID: i16 = 24;
const UNKNOWN_MEMBER_ID: i16 = 25;
const FENCED_INSTANCE_ID: i16 = 82;
const MEMBER_ID_REQUIRED: i16 = 79;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const UNSTABLE_OFFSET_COMMIT: i16 = 88;

const GROUP: &str = "txn-group";
const TOPIC: &str = "input";
/// `offsets.topic.num.partitions` in `ServerConfig::for_tests`.
const OFFSETS_PARTITIONS: i32 = 4;

fn s(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

fn retriable(code: i16) -> bool {
    code == COORDINATOR_LOAD_IN_PROGRESS || code == COORDINATOR_NOT_AVAILABLE
}

/// FindCoordinator until it names a node (the first call creates `__consumer_offsets`).
async fn find_coordinator(conn: &mut AdminConnection) {
    let request = FindCoordinatorRequest::default()
        .with_key(s(GROUP))
        .with_key_type(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response: FindCoordinatorResponse =
            conn.call(ApiKey::FindCoordinator, 3, &request).await;
        if response.error_code == NONE {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no coordinator: {}",
            response.error_code
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn txn_commit_request(
    producer_id: i64,
    producer_epoch: i16,
    offsets: &[(i32, i64)],
) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s("tx")))
        .with_group_id(GroupId(s(GROUP)))
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(producer_epoch)
        .with_generation_id(-1)
        .with_member_id(s(""))
        .with_topics(vec![TxnOffsetCommitRequestTopic::default()
            .with_name(TopicName(s(TOPIC)))
            .with_partitions(
                offsets
                    .iter()
                    .map(|&(partition, offset)| {
                        TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(partition)
                            .with_committed_offset(offset)
                            .with_committed_leader_epoch(-1)
                            .with_committed_metadata(Some(s("txn")))
                    })
                    .collect(),
            )])
}

/// TxnOffsetCommit v3, retried while the shard loads; the per-partition error codes.
async fn txn_commit(conn: &mut AdminConnection, request: &TxnOffsetCommitRequest) -> Vec<i16> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response: TxnOffsetCommitResponse =
            conn.call(ApiKey::TxnOffsetCommit, 3, request).await;
        let codes: Vec<i16> = response.topics[0]
            .partitions
            .iter()
            .map(|p| p.error_code)
            .collect();
        if !codes.iter().any(|&c| retriable(c)) || Instant::now() > deadline {
            return codes;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// OffsetFetch v7 (one group) of one partition: (partition error, committed offset).
async fn fetch_v7(conn: &mut AdminConnection, partition: i32, require_stable: bool) -> (i16, i64) {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(s(TOPIC)))
            .with_partition_indexes(vec![partition])]))
        .with_require_stable(require_stable);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response: OffsetFetchResponse = conn.call(ApiKey::OffsetFetch, 7, &request).await;
        if retriable(response.error_code) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        assert_eq!(response.error_code, NONE);
        let p = &response.topics[0].partitions[0];
        return (p.error_code, p.committed_offset);
    }
}

/// OffsetFetch v8 (batched groups) of one partition: (partition error, committed offset).
async fn fetch_v8(conn: &mut AdminConnection, partition: i32, require_stable: bool) -> (i16, i64) {
    let request = OffsetFetchRequest::default()
        .with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partition_indexes(vec![partition])]))])
        .with_require_stable(require_stable);
    let response: OffsetFetchResponse = conn.call(ApiKey::OffsetFetch, 8, &request).await;
    let group = &response.groups[0];
    assert_eq!(group.error_code, NONE);
    let p = &group.topics[0].partitions[0];
    (p.error_code, p.committed_offset)
}

/// The group's `__consumer_offsets` partition.
fn offsets_partition() -> i32 {
    fjord_coordinator::partitioner::partition_for(GROUP, OFFSETS_PARTITIONS)
}

/// ListOffsets latest of the group's `__consumer_offsets` partition at `isolation_level`.
async fn offsets_topic_end(conn: &mut AdminConnection, isolation_level: i8) -> i64 {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation_level)
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(s("__consumer_offsets")))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(offsets_partition())
                .with_timestamp(-1)])]);
    let response: ListOffsetsResponse = conn.call(ApiKey::ListOffsets, 5, &request).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, NONE);
    p.offset
}

/// JoinGroup (v5, with the KIP-394 round trip) and SyncGroup of a single classic member,
/// optionally static; (member id, generation).
async fn join_and_sync(conn: &mut AdminConnection, instance_id: Option<&str>) -> (String, i32) {
    let mut request = JoinGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(""))
        .with_group_instance_id(instance_id.map(s))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"meta"))]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let joined = loop {
        let response: JoinGroupResponse = conn.call(ApiKey::JoinGroup, 5, &request).await;
        if response.error_code == MEMBER_ID_REQUIRED {
            request.member_id = response.member_id.clone();
            continue;
        }
        if retriable(response.error_code) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        break response;
    };
    assert_eq!(joined.error_code, NONE);
    let member_id = joined.member_id.to_string();
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_member_id(s(&member_id))
        .with_group_instance_id(instance_id.map(s))
        .with_generation_id(joined.generation_id)
        .with_assignments(vec![
            kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment::default()
                .with_member_id(s(&member_id))
                .with_assignment(Bytes::from_static(b"assignment")),
        ]);
    let synced: SyncGroupResponse = conn.call(ApiKey::SyncGroup, 3, &sync).await;
    assert_eq!(synced.error_code, NONE);
    (member_id, joined.generation_id)
}

/// WriteTxnMarkers for `producer_id` on the group's `__consumer_offsets` partition.
async fn write_marker(
    conn: &mut AdminConnection,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
) -> i16 {
    let partition = offsets_partition();
    let request =
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch)
            .with_transaction_result(commit)
            .with_coordinator_epoch(0)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(TopicName(s("__consumer_offsets")))
                .with_partition_indexes(vec![partition])])]);
    let response: WriteTxnMarkersResponse = conn.call(ApiKey::WriteTxnMarkers, 1, &request).await;
    response.markers[0].topics[0].partitions[0].error_code
}

#[tokio::test]
async fn pending_until_commit_marker_dropped_on_abort() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    find_coordinator(&mut conn).await;

    // Staged, not visible: the last committed (none) without require_stable, UNSTABLE with it.
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(1_000, 0, &[(0, 42)])).await,
        vec![NONE]
    );
    assert_eq!(fetch_v7(&mut conn, 0, false).await, (NONE, -1));
    assert_eq!(
        fetch_v7(&mut conn, 0, true).await,
        (UNSTABLE_OFFSET_COMMIT, -1)
    );
    assert_eq!(
        fetch_v8(&mut conn, 0, true).await,
        (UNSTABLE_OFFSET_COMMIT, -1)
    );
    assert_eq!(fetch_v8(&mut conn, 0, false).await, (NONE, -1));

    // The commit marker makes them the group's offsets.
    assert_eq!(write_marker(&mut conn, 1_000, 0, true).await, NONE);
    assert_eq!(fetch_v7(&mut conn, 0, true).await, (NONE, 42));
    assert_eq!(fetch_v8(&mut conn, 0, true).await, (NONE, 42));

    // An aborted transaction leaves the committed offset as it was.
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(1_001, 0, &[(0, 99), (1, 7)])).await,
        vec![NONE, NONE]
    );
    assert_eq!(fetch_v7(&mut conn, 0, false).await, (NONE, 42));
    assert_eq!(
        fetch_v7(&mut conn, 1, true).await,
        (UNSTABLE_OFFSET_COMMIT, -1)
    );
    assert_eq!(write_marker(&mut conn, 1_001, 0, false).await, NONE);
    assert_eq!(fetch_v7(&mut conn, 0, true).await, (NONE, 42));
    assert_eq!(fetch_v7(&mut conn, 1, true).await, (NONE, -1));

    // A newer epoch of the producer fences the older one on __consumer_offsets.
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(1_000, 1, &[(2, 5)])).await,
        vec![NONE]
    );
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(1_000, 0, &[(2, 6)])).await,
        vec![INVALID_PRODUCER_EPOCH]
    );
    assert_eq!(write_marker(&mut conn, 1_000, 1, true).await, NONE);
    assert_eq!(fetch_v7(&mut conn, 2, true).await, (NONE, 5));

    // Group-level refusals land on every partition.
    let mut member = txn_commit_request(1_002, 0, &[(0, 1), (1, 1)]);
    member.group_id = GroupId(s("unknown-group-with-generation"));
    member.generation_id = 4;
    member.member_id = s("m");
    assert_eq!(
        txn_commit(&mut conn, &member).await,
        vec![ILLEGAL_GENERATION, ILLEGAL_GENERATION]
    );
    member.group_id = GroupId(s(""));
    assert_eq!(
        txn_commit(&mut conn, &member).await,
        vec![INVALID_GROUP_ID, INVALID_GROUP_ID]
    );
    drop(conn);
    test.stop().await;
}

#[tokio::test]
async fn restart_replays_committed_and_open_transactions() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    find_coordinator(&mut conn).await;
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(2_000, 0, &[(0, 100)])).await,
        vec![NONE]
    );
    assert_eq!(write_marker(&mut conn, 2_000, 0, true).await, NONE);
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(2_001, 0, &[(1, 200)])).await,
        vec![NONE]
    );
    assert_eq!(
        txn_commit(&mut conn, &txn_commit_request(2_002, 0, &[(2, 300)])).await,
        vec![NONE]
    );
    drop(conn);

    let dir = test.stop().await;
    let test = start_broker_in(dir, |_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    find_coordinator(&mut conn).await;
    assert_eq!(fetch_v7(&mut conn, 0, true).await, (NONE, 100));
    // Still open after the restart: pending, not visible.
    assert_eq!(
        fetch_v7(&mut conn, 1, true).await,
        (UNSTABLE_OFFSET_COMMIT, -1)
    );
    assert_eq!(fetch_v7(&mut conn, 1, false).await, (NONE, -1));
    // Their markers, written after the restart, complete what the replay staged.
    assert_eq!(write_marker(&mut conn, 2_001, 0, true).await, NONE);
    assert_eq!(write_marker(&mut conn, 2_002, 0, false).await, NONE);
    assert_eq!(fetch_v7(&mut conn, 1, true).await, (NONE, 200));
    assert_eq!(fetch_v7(&mut conn, 2, true).await, (NONE, -1));
    drop(conn);

    // And once more: the markers themselves replay.
    let dir = test.stop().await;
    let test = start_broker_in(dir, |_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    find_coordinator(&mut conn).await;
    assert_eq!(fetch_v7(&mut conn, 0, true).await, (NONE, 100));
    assert_eq!(fetch_v7(&mut conn, 1, true).await, (NONE, 200));
    assert_eq!(fetch_v7(&mut conn, 2, true).await, (NONE, -1));
    drop(conn);
    test.stop().await;
}

#[tokio::test]
async fn member_fencing_and_the_last_stable_offset_of_the_offsets_topic() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    find_coordinator(&mut conn).await;
    let (member_id, generation) = join_and_sync(&mut conn, Some("instance-1")).await;

    // KIP-447: the member's own commit passes; a wrong generation, an unknown member or a
    // fenced instance id is refused on every partition.
    let mut request = txn_commit_request(3_000, 0, &[(0, 10)]);
    request.member_id = s(&member_id);
    request.generation_id = generation;
    request.group_instance_id = Some(s("instance-1"));
    assert_eq!(txn_commit(&mut conn, &request).await, vec![NONE]);
    let mut stale = request.clone();
    stale.generation_id = generation + 1;
    assert_eq!(
        txn_commit(&mut conn, &stale).await,
        vec![ILLEGAL_GENERATION]
    );
    let mut unknown = request.clone();
    unknown.member_id = s("someone-else");
    unknown.group_instance_id = None;
    assert_eq!(
        txn_commit(&mut conn, &unknown).await,
        vec![UNKNOWN_MEMBER_ID]
    );
    let mut fenced = request.clone();
    fenced.member_id = s("someone-else");
    assert_eq!(
        txn_commit(&mut conn, &fenced).await,
        vec![FENCED_INSTANCE_ID]
    );
    // Without member fields (v0-2 clients) the commit is accepted while the group is Stable.
    let anonymous = txn_commit_request(3_000, 0, &[(1, 11)]);
    let response: TxnOffsetCommitResponse = conn.call(ApiKey::TxnOffsetCommit, 2, &anonymous).await;
    assert_eq!(response.topics[0].partitions[0].error_code, NONE);

    // The open transaction holds the offsets topic's last stable offset back; its marker
    // releases it.
    let high_watermark = offsets_topic_end(&mut conn, 0).await;
    let last_stable = offsets_topic_end(&mut conn, 1).await;
    assert!(
        last_stable < high_watermark,
        "{last_stable} < {high_watermark}"
    );
    assert_eq!(write_marker(&mut conn, 3_000, 0, true).await, NONE);
    let high_watermark = offsets_topic_end(&mut conn, 0).await;
    assert_eq!(offsets_topic_end(&mut conn, 1).await, high_watermark);
    assert_eq!(fetch_v7(&mut conn, 0, true).await, (NONE, 10));
    assert_eq!(fetch_v7(&mut conn, 1, true).await, (NONE, 11));
    drop(conn);
    test.stop().await;
}

/// Calls `op` until its error code is neither COORDINATOR_* retriable nor
/// CONCURRENT_TRANSACTIONS, at most 15 s.
async fn until_settled<T>(
    conn: &mut AdminConnection,
    mut op: impl AsyncFnMut(&mut AdminConnection) -> (i16, T),
) -> (i16, T) {
    const CONCURRENT_TRANSACTIONS: i16 = 51;
    const NOT_COORDINATOR: i16 = 16;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (code, value) = op(conn).await;
        let again = retriable(code) || code == CONCURRENT_TRANSACTIONS || code == NOT_COORDINATOR;
        if !again || Instant::now() > deadline {
            return (code, value);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until OffsetFetch with require_stable settles (the markers are written after EndTxn
/// answers); the (partition error, committed offset) it settled on.
async fn fetch_stable_settled(conn: &mut AdminConnection, partition: i32) -> (i16, i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = fetch_v7(conn, partition, true).await;
        if answer.0 != UNSTABLE_OFFSET_COMMIT || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One transaction of `transactional_id` that commits `offset` for partition `partition` of
/// the group and ends with `commit`.
async fn offsets_in_a_transaction(
    conn: &mut AdminConnection,
    transactional_id: &str,
    partition: i32,
    offset: i64,
    commit: bool,
) {
    let txn_id = TransactionalId(s(transactional_id));
    let (code, (producer_id, epoch)) = until_settled(conn, async |conn| {
        let request = InitProducerIdRequest::default()
            .with_transactional_id(Some(txn_id.clone()))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let response: InitProducerIdResponse = conn.call(ApiKey::InitProducerId, 4, &request).await;
        (
            response.error_code,
            (response.producer_id.0, response.producer_epoch),
        )
    })
    .await;
    assert_eq!(code, NONE, "InitProducerId");
    let (code, ()) = until_settled(conn, async |conn| {
        let request = AddOffsetsToTxnRequest::default()
            .with_transactional_id(txn_id.clone())
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s(GROUP)));
        let response: AddOffsetsToTxnResponse =
            conn.call(ApiKey::AddOffsetsToTxn, 3, &request).await;
        (response.error_code, ())
    })
    .await;
    assert_eq!(code, NONE, "AddOffsetsToTxn");
    let mut request = txn_commit_request(producer_id, epoch, &[(partition, offset)]);
    request.transactional_id = txn_id.clone();
    assert_eq!(txn_commit(conn, &request).await, vec![NONE]);
    assert_eq!(
        fetch_v7(conn, partition, true).await.0,
        UNSTABLE_OFFSET_COMMIT
    );
    let (code, ()) = until_settled(conn, async |conn| {
        let request = EndTxnRequest::default()
            .with_transactional_id(txn_id.clone())
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch)
            .with_committed(commit);
        let response: EndTxnResponse = conn.call(ApiKey::EndTxn, 3, &request).await;
        (response.error_code, ())
    })
    .await;
    assert_eq!(code, NONE, "EndTxn");
}

#[tokio::test]
async fn offsets_committed_and_aborted_through_the_transaction_coordinator() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    find_coordinator(&mut conn).await;

    offsets_in_a_transaction(&mut conn, "txn-offsets-commit", 0, 42, true).await;
    assert_eq!(fetch_stable_settled(&mut conn, 0).await, (NONE, 42));

    offsets_in_a_transaction(&mut conn, "txn-offsets-abort", 1, 7, false).await;
    assert_eq!(fetch_stable_settled(&mut conn, 1).await, (NONE, -1));

    // The next transaction of the same id commits over the first one's offset.
    offsets_in_a_transaction(&mut conn, "txn-offsets-commit", 0, 50, true).await;
    assert_eq!(fetch_stable_settled(&mut conn, 0).await, (NONE, 50));
    drop(conn);
    test.stop().await;
}
