//! The KIP-848 consumer protocol against an in-process broker over raw Kafka requests:
//! ConsumerGroupHeartbeat joins, reconciliation (a partition is revoked before it is given to
//! another member, so assignments never overlap), leave, session expiry, a partition count
//! change reaching the members, ConsumerGroupDescribe, ListGroups/DescribeGroups of a
//! consumer group, member-epoch offset commits and fetches, a restart, and Kafka's error
//! codes for bad input.

mod admin_client;
mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use common::{start_broker, start_broker_in};
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

const NONE: i16 = 0;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const INVALID_GROUP_ID: i16 = 24;
const UNKNOWN_MEMBER_ID: i16 = 25;
const UNSUPPORTED_VERSION: i16 = 35;
const INVALID_REQUEST: i16 = 42;
const GROUP_ID_NOT_FOUND: i16 = 69;
const FENCED_MEMBER_EPOCH: i16 = 110;
const UNSUPPORTED_ASSIGNOR: i16 = 112;
const STALE_MEMBER_EPOCH: i16 = 113;

const HEARTBEAT_V: i16 = 1;

fn s(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

fn retriable(code: i16) -> bool {
    code == COORDINATOR_LOAD_IN_PROGRESS || code == COORDINATOR_NOT_AVAILABLE
}

/// FindCoordinator until it names a node, as a client does before its first group request
/// (the first one also creates `__consumer_offsets`).
async fn find_coordinator(conn: &mut AdminConnection, group: &str) {
    let request = FindCoordinatorRequest::default()
        .with_key(s(group))
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

async fn create_topic(conn: &mut AdminConnection, name: &str, partitions: i32) -> Uuid {
    let response: CreateTopicsResponse = conn
        .call(
            ApiKey::CreateTopics,
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(TopicName(s(name)))
                    .with_num_partitions(partitions)
                    .with_replication_factor(1)])
                .with_timeout_ms(5000),
        )
        .await;
    let topic = &response.topics[0];
    assert_eq!(topic.error_code, NONE, "{name} created");
    topic.topic_id
}

/// One member as the test drives it: its id, the epoch it must send, what it owns.
struct Member {
    group: String,
    member_id: String,
    epoch: i32,
    owned: BTreeSet<i32>,
}

impl Member {
    fn new(group: &str) -> Self {
        Member {
            group: group.to_string(),
            // v1 (KIP-1082): the client picks its member id.
            member_id: Uuid::new_v4().to_string(),
            epoch: 0,
            owned: BTreeSet::new(),
        }
    }

    fn join_request(&self, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.group)))
            .with_member_id(s(&self.member_id))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(topics.iter().map(|t| TopicName(s(t))).collect()))
            .with_topic_partitions(Some(Vec::new()))
    }

    /// A full heartbeat that reports what the member owns of `topic_id`.
    fn heartbeat_request(&self, topic_id: Uuid) -> ConsumerGroupHeartbeatRequest {
        ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(&self.group)))
            .with_member_id(s(&self.member_id))
            .with_member_epoch(self.epoch)
            .with_rebalance_timeout_ms(-1)
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic_id(topic_id)
                .with_partitions(self.owned.iter().copied().collect())]))
    }

    /// Sends `request`, applies a successful answer (epoch, and the assignment when sent).
    async fn send(
        &mut self,
        conn: &mut AdminConnection,
        request: &ConsumerGroupHeartbeatRequest,
    ) -> ConsumerGroupHeartbeatResponse {
        let response = call(conn, request).await;
        if response.error_code == NONE {
            self.epoch = response.member_epoch;
            if let Some(assignment) = &response.assignment {
                self.owned = assignment
                    .topic_partitions
                    .iter()
                    .flat_map(|t| t.partitions.iter().copied())
                    .collect();
            }
        }
        response
    }

    async fn join(&mut self, conn: &mut AdminConnection, topics: &[&str]) -> i16 {
        let request = self.join_request(topics);
        self.send(conn, &request).await.error_code
    }

    async fn heartbeat(&mut self, conn: &mut AdminConnection, topic_id: Uuid) -> i16 {
        let request = self.heartbeat_request(topic_id);
        self.send(conn, &request).await.error_code
    }
}

async fn call(
    conn: &mut AdminConnection,
    request: &ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response: ConsumerGroupHeartbeatResponse = conn
            .call(ApiKey::ConsumerGroupHeartbeat, HEARTBEAT_V, request)
            .await;
        if !retriable(response.error_code) || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn describe(
    conn: &mut AdminConnection,
    version: i16,
    group: &str,
) -> ConsumerGroupDescribeResponse {
    conn.call(
        ApiKey::ConsumerGroupDescribe,
        version,
        &ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]),
    )
    .await
}

async fn commit_v9(
    conn: &mut AdminConnection,
    group: &str,
    member_id: &str,
    member_epoch: i32,
    topic: &str,
    offset: i64,
) -> i16 {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member_id))
        .with_generation_id_or_member_epoch(member_epoch)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(-1)])]);
    let response: OffsetCommitResponse = conn.call(ApiKey::OffsetCommit, 9, &request).await;
    response.topics[0].partitions[0].error_code
}

/// OffsetFetch v9 of partition 0 of `topic`: (group error, committed offset).
async fn fetch_v9(
    conn: &mut AdminConnection,
    group: &str,
    member: Option<(&str, i32)>,
    topic: &str,
) -> (i16, i64) {
    let request =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_member_id(member.map(|(id, _)| s(id)))
            .with_member_epoch(member.map_or(-1, |(_, epoch)| epoch))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(TopicName(s(topic)))
                .with_partition_indexes(vec![0])]))]);
    let response: OffsetFetchResponse = conn.call(ApiKey::OffsetFetch, 9, &request).await;
    let group = &response.groups[0];
    let offset = group
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .map_or(-1, |p| p.committed_offset);
    (group.error_code, offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_share_partitions_without_overlap() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let group = "kip848";
    find_coordinator(&mut conn, group).await;
    let topic_id = create_topic(&mut conn, "orders", 6).await;
    let all: BTreeSet<i32> = (0..6).collect();

    // A alone gets everything.
    let mut a = Member::new(group);
    assert_eq!(a.join(&mut conn, &["orders"]).await, NONE);
    assert!(a.epoch >= 1, "a joined member has a positive epoch");
    assert_eq!(a.owned, all);
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);

    // B joins: nothing yet, A still owns every partition.
    let mut b = Member::new(group);
    assert_eq!(b.join(&mut conn, &["orders"]).await, NONE);
    assert!(
        b.owned.is_empty(),
        "B gets nothing A still owns: {:?}",
        b.owned
    );

    // A is told to give up half: its answer shrinks, and B still waits.
    let a_epoch_before = a.epoch;
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
    assert_eq!(a.owned.len(), 3, "A keeps half: {:?}", a.owned);
    assert_eq!(
        a.epoch, a_epoch_before,
        "no new epoch before the revocation is acknowledged"
    );
    assert_eq!(b.heartbeat(&mut conn, topic_id).await, NONE);
    assert!(
        b.owned.is_empty(),
        "B waits for A's revocation: {:?}",
        b.owned
    );

    // A acknowledges (reports only what it kept): new epoch; then B gets the rest.
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
    assert!(a.epoch > a_epoch_before);
    assert_eq!(b.heartbeat(&mut conn, topic_id).await, NONE);
    assert_eq!(b.owned.len(), 3);
    assert!(
        a.owned.is_disjoint(&b.owned),
        "{:?} vs {:?}",
        a.owned,
        b.owned
    );
    let union: BTreeSet<i32> = a.owned.union(&b.owned).copied().collect();
    assert_eq!(union, all);
    assert_eq!(b.heartbeat(&mut conn, topic_id).await, NONE);

    // ConsumerGroupDescribe v0 and v1.
    for version in [0, 1] {
        let described = describe(&mut conn, version, group).await;
        let g = &described.groups[0];
        assert_eq!(g.error_code, NONE);
        assert_eq!(g.group_state.as_str(), "Stable");
        assert_eq!(g.assignor_name.as_str(), "uniform");
        assert_eq!(g.members.len(), 2);
        for m in &g.members {
            assert_eq!(m.client_id.as_str(), "admin-test");
            assert_eq!(m.assignment.topic_partitions.len(), 1);
            assert_eq!(
                m.assignment.topic_partitions[0].topic_name.as_str(),
                "orders"
            );
            assert_eq!(m.assignment.topic_partitions[0].partitions.len(), 3);
            assert_eq!(m.member_type, if version >= 1 { 1 } else { -1 });
        }
    }

    // ListGroups v5 lists it as a consumer group; the classic filter leaves it out.
    let listed: ListGroupsResponse = conn
        .call(
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("Consumer")]),
        )
        .await;
    let ours: Vec<_> = listed
        .groups
        .iter()
        .filter(|g| g.group_id.as_str() == group)
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].group_type.as_str(), "consumer");
    assert_eq!(ours[0].protocol_type.as_str(), "consumer");
    assert_eq!(ours[0].group_state.as_str(), "Stable");
    let classic: ListGroupsResponse = conn
        .call(
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("classic")]),
        )
        .await;
    assert!(classic.groups.iter().all(|g| g.group_id.as_str() != group));

    // DescribeGroups v6 of a consumer group: not a classic group, as Kafka answers.
    let classic_describe: DescribeGroupsResponse = conn
        .call(
            ApiKey::DescribeGroups,
            6,
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]),
        )
        .await;
    assert_eq!(classic_describe.groups[0].error_code, GROUP_ID_NOT_FOUND);

    // Offsets with member epochs.
    assert_eq!(
        commit_v9(&mut conn, group, &a.member_id, a.epoch, "orders", 42).await,
        NONE
    );
    assert_eq!(
        commit_v9(&mut conn, group, &a.member_id, a.epoch - 1, "orders", 43).await,
        STALE_MEMBER_EPOCH
    );
    assert_eq!(
        commit_v9(&mut conn, group, "nobody", 1, "orders", 43).await,
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        commit_v9(&mut conn, group, "", -1, "orders", 43).await,
        UNKNOWN_MEMBER_ID,
        "an admin commit is refused while the group has members"
    );
    assert_eq!(
        fetch_v9(&mut conn, group, Some((&a.member_id, a.epoch)), "orders").await,
        (NONE, 42)
    );
    assert_eq!(
        fetch_v9(
            &mut conn,
            group,
            Some((&a.member_id, a.epoch + 5)),
            "orders"
        )
        .await
        .0,
        STALE_MEMBER_EPOCH
    );
    assert_eq!(
        fetch_v9(&mut conn, group, Some(("nobody", 3)), "orders")
            .await
            .0,
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(fetch_v9(&mut conn, group, None, "orders").await, (NONE, 42));

    // B leaves: epoch -1 in the answer, and A takes everything over.
    let leave = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(&b.member_id))
        .with_member_epoch(-1);
    let left = call(&mut conn, &leave).await;
    assert_eq!(left.error_code, NONE);
    assert_eq!(left.member_epoch, -1);
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
    assert_eq!(a.owned, all);

    // Partitions added to the topic reach the member on its next heartbeat.
    let added: CreatePartitionsResponse = conn
        .call(
            ApiKey::CreatePartitions,
            3,
            &CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(TopicName(s("orders")))
                    .with_count(8)
                    .with_assignments(None)])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(added.results[0].error_code, NONE);
    let before = a.epoch;
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
    assert_eq!(a.owned, (0..8).collect::<BTreeSet<i32>>());
    assert!(a.epoch > before, "the group epoch moved with the metadata");

    // The group survives a restart through replay.
    let member_id = a.member_id.clone();
    drop(conn);
    let dir = test.stop().await;
    let test = start_broker_in(dir, |_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let described = loop {
        let described = describe(&mut conn, 1, group).await;
        if !retriable(described.groups[0].error_code) || Instant::now() > deadline {
            break described;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let g = &described.groups[0];
    assert_eq!(g.error_code, NONE);
    assert_eq!(g.members.len(), 1);
    assert_eq!(g.members[0].member_id.as_str(), member_id);
    assert_eq!(fetch_v9(&mut conn, group, None, "orders").await, (NONE, 42));
    test.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_member_expires_and_its_partitions_move() {
    let test = start_broker(|c| c.group_consumer_session_timeout_ms = 1_000).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let group = "expiring";
    find_coordinator(&mut conn, group).await;
    let topic_id = create_topic(&mut conn, "events", 4).await;
    let mut a = Member::new(group);
    let mut b = Member::new(group);
    assert_eq!(a.join(&mut conn, &["events"]).await, NONE);
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
    assert_eq!(b.join(&mut conn, &["events"]).await, NONE);
    // Reconcile until both own two partitions.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (a.owned.len() != 2 || b.owned.len() != 2) && Instant::now() < deadline {
        assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
        assert_eq!(b.heartbeat(&mut conn, topic_id).await, NONE);
    }
    assert!(a.owned.is_disjoint(&b.owned));
    assert_eq!(b.owned.len(), 2);

    // B goes silent; A keeps heartbeating and gets B's partitions after B's session ends.
    let silent_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.owned.len() != 4 && Instant::now() < deadline {
        assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(a.owned.len(), 4, "B's partitions moved to A");
    assert!(
        silent_since.elapsed() >= Duration::from_millis(1_000),
        "not before the session timeout"
    );
    // B was fenced: its next heartbeat is refused.
    assert_eq!(b.heartbeat(&mut conn, topic_id).await, UNKNOWN_MEMBER_ID);
    test.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_heartbeats_get_kafkas_codes() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let group = "bad-input";
    find_coordinator(&mut conn, group).await;
    let topic_id = create_topic(&mut conn, "bad", 2).await;
    let mut a = Member::new(group);
    assert_eq!(a.join(&mut conn, &["bad"]).await, NONE);

    // Unknown member at a positive epoch.
    let mut stranger = Member::new(group);
    stranger.epoch = 5;
    assert_eq!(
        stranger.heartbeat(&mut conn, topic_id).await,
        UNKNOWN_MEMBER_ID
    );
    // A known member with an epoch from the future is fenced.
    let mut fenced = Member::new(group);
    fenced.member_id = a.member_id.clone();
    fenced.epoch = a.epoch + 10;
    assert_eq!(
        fenced.heartbeat(&mut conn, topic_id).await,
        FENCED_MEMBER_EPOCH
    );
    // An assignor the broker does not have.
    let mut picky = Member::new(group);
    let request = picky
        .join_request(&["bad"])
        .with_server_assignor(Some(s("sticky-ish")));
    assert_eq!(
        picky.send(&mut conn, &request).await.error_code,
        UNSUPPORTED_ASSIGNOR
    );
    // Malformed joins: no group id, no subscription, a regex (not served).
    let mut empty = Member::new("");
    assert_eq!(empty.join(&mut conn, &["bad"]).await, INVALID_REQUEST);
    let mut nothing = Member::new(group);
    assert_eq!(nothing.join(&mut conn, &[]).await, INVALID_REQUEST);
    // The refusals changed nothing: A is still the only member and still heartbeats.
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, NONE);
    let described = describe(&mut conn, 1, group).await;
    assert_eq!(described.groups[0].members.len(), 1);

    // ConsumerGroupDescribe: empty id, unknown group, classic group.
    assert_eq!(
        describe(&mut conn, 1, "").await.groups[0].error_code,
        INVALID_GROUP_ID
    );
    assert_eq!(
        describe(&mut conn, 1, "no-such-group").await.groups[0].error_code,
        GROUP_ID_NOT_FOUND
    );
    test.stop().await;

    // With the consumer protocol switched off, heartbeats are UNSUPPORTED_VERSION.
    let test = start_broker(|c| {
        c.group_coordinator_rebalance_protocols = vec!["classic".into()];
    })
    .await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let mut off = Member::new("off");
    assert_eq!(off.join(&mut conn, &["bad"]).await, UNSUPPORTED_VERSION);
    // ... and, as in Kafka, ApiVersions no longer lists the KIP-848 APIs.
    let advertised = advertised_keys(&mut conn).await;
    assert!(advertised.contains(&(ApiKey::JoinGroup as i16)));
    for api in [
        ApiKey::ConsumerGroupHeartbeat,
        ApiKey::ConsumerGroupDescribe,
    ] {
        assert!(!advertised.contains(&(api as i16)), "{api:?} advertised");
    }
    test.stop().await;
}

/// The API keys an ApiVersions v3 answer lists.
async fn advertised_keys(conn: &mut AdminConnection) -> Vec<i16> {
    let response: ApiVersionsResponse = conn
        .call(
            ApiKey::ApiVersions,
            3,
            &ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("groups-test"))
                .with_client_software_version(StrBytes::from_static_str("1.0")),
        )
        .await;
    assert_eq!(response.error_code, NONE);
    response.api_keys.iter().map(|k| k.api_key).collect()
}

#[tokio::test]
async fn the_consumer_protocol_apis_are_advertised_by_default() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let advertised = advertised_keys(&mut conn).await;
    for api in [
        ApiKey::ConsumerGroupHeartbeat,
        ApiKey::ConsumerGroupDescribe,
    ] {
        assert!(advertised.contains(&(api as i16)), "{api:?} not advertised");
    }
    test.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_to_a_deleted_group_and_very_long_group_ids() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let topic_id = create_topic(&mut conn, "doomed-topic", 2).await;

    // A member joins and leaves; the empty group is deleted.
    let group = "doomed";
    find_coordinator(&mut conn, group).await;
    let mut a = Member::new(group);
    assert_eq!(a.join(&mut conn, &["doomed-topic"]).await, NONE);
    let last_epoch = a.epoch;
    let leave = a.heartbeat_request(topic_id).with_member_epoch(-1);
    assert_eq!(a.send(&mut conn, &leave).await.error_code, NONE);
    let deleted: DeleteGroupsResponse = conn
        .call(
            ApiKey::DeleteGroups,
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(group))]),
        )
        .await;
    assert_eq!(deleted.results[0].error_code, NONE);
    // Its old member heartbeats as if nothing happened: the group is gone (Kafka only
    // creates a consumer group on a join, epoch 0).
    a.epoch = last_epoch;
    assert_eq!(a.heartbeat(&mut conn, topic_id).await, GROUP_ID_NOT_FOUND);
    assert_eq!(
        describe(&mut conn, 1, group).await.groups[0].error_code,
        GROUP_ID_NOT_FOUND
    );
    // A new join creates it afresh.
    let mut again = Member::new(group);
    assert_eq!(again.join(&mut conn, &["doomed-topic"]).await, NONE);

    // A 10,000-character group id is a group like any other.
    let long = "c".repeat(10_000);
    find_coordinator(&mut conn, &long).await;
    let mut b = Member::new(&long);
    assert_eq!(b.join(&mut conn, &["doomed-topic"]).await, NONE);
    let deadline = Instant::now() + Duration::from_secs(10);
    while b.owned.len() != 2 && Instant::now() < deadline {
        assert_eq!(b.heartbeat(&mut conn, topic_id).await, NONE);
    }
    assert_eq!(b.owned.len(), 2);
    let described = describe(&mut conn, 1, &long).await;
    assert_eq!(described.groups[0].error_code, NONE);
    assert_eq!(described.groups[0].members.len(), 1);
    test.stop().await;
}
