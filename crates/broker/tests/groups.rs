//! The classic consumer-group APIs against an in-process broker over raw Kafka requests:
//! FindCoordinator creating `__consumer_offsets`, JoinGroup with MEMBER_ID_REQUIRED (KIP-394),
//! a two-member rebalance with SyncGroup and Heartbeat, LeaveGroup, OffsetCommit/OffsetFetch
//! (surviving a restart through replay), DescribeGroups, ListGroups, DeleteGroups,
//! OffsetDelete, and Kafka's error codes for bad input (empty and very long group ids,
//! unknown members, stale generations, oversized member metadata) without harming other groups.

mod admin_client;
mod common;

use std::time::{Duration, Instant};

use admin_client::AdminConnection;
use bytes::Bytes;
use common::{start_broker, start_broker_in};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const NONE: i16 = 0;
const UNKNOWN_SERVER_ERROR: i16 = -1;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const ILLEGAL_GENERATION: i16 = 22;
const INVALID_GROUP_ID: i16 = 24;
const UNKNOWN_MEMBER_ID: i16 = 25;
const REBALANCE_IN_PROGRESS: i16 = 27;
const GROUP_ID_NOT_FOUND: i16 = 69;
const NON_EMPTY_GROUP: i16 = 68;
const MEMBER_ID_REQUIRED: i16 = 79;

const JOIN_V: i16 = 5;
const SYNC_V: i16 = 3;
const HEARTBEAT_V: i16 = 3;
const COMMIT_V: i16 = 8;
const FETCH_V: i16 = 7;

fn s(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

fn gid(value: &str) -> GroupId {
    GroupId(s(value))
}

fn retriable(code: i16) -> bool {
    code == COORDINATOR_LOAD_IN_PROGRESS || code == COORDINATOR_NOT_AVAILABLE
}

async fn find_coordinator(conn: &mut AdminConnection, group: &str) -> FindCoordinatorResponse {
    let request = FindCoordinatorRequest::default()
        .with_key(s(group))
        .with_key_type(0);
    let mut response: FindCoordinatorResponse;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        response = conn.call(ApiKey::FindCoordinator, 3, &request).await;
        if !retriable(response.error_code) || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn join_request(group: &str, member_id: &str, metadata: Bytes) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(gid(group))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(metadata)])
}

async fn join(conn: &mut AdminConnection, request: &JoinGroupRequest) -> JoinGroupResponse {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response: JoinGroupResponse = conn.call(ApiKey::JoinGroup, JOIN_V, request).await;
        if !retriable(response.error_code) || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A new member's join: MEMBER_ID_REQUIRED with the id first, then the real join.
async fn join_new(conn: &mut AdminConnection, group: &str, metadata: Bytes) -> JoinGroupResponse {
    let first = join(conn, &join_request(group, "", metadata.clone())).await;
    assert_eq!(
        first.error_code, MEMBER_ID_REQUIRED,
        "KIP-394 for v4+ joins"
    );
    assert!(
        !first.member_id.is_empty(),
        "the refusal carries the member id"
    );
    join(conn, &join_request(group, &first.member_id, metadata)).await
}

async fn sync(
    conn: &mut AdminConnection,
    group: &str,
    member_id: &str,
    generation_id: i32,
    assignments: &[(&str, &[u8])],
) -> SyncGroupResponse {
    let request = SyncGroupRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member_id))
        .with_generation_id(generation_id)
        .with_assignments(
            assignments
                .iter()
                .map(|(member, bytes)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(member))
                        .with_assignment(Bytes::copy_from_slice(bytes))
                })
                .collect(),
        );
    conn.call(ApiKey::SyncGroup, SYNC_V, &request).await
}

async fn heartbeat(
    conn: &mut AdminConnection,
    group: &str,
    member_id: &str,
    generation_id: i32,
) -> i16 {
    let request = HeartbeatRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member_id))
        .with_generation_id(generation_id);
    let response: HeartbeatResponse = conn.call(ApiKey::Heartbeat, HEARTBEAT_V, &request).await;
    response.error_code
}

/// Commits `offsets` (topic, partition, offset, metadata); returns the per-partition codes.
async fn commit(
    conn: &mut AdminConnection,
    group: &str,
    member_id: &str,
    generation_id: i32,
    offsets: &[(&str, i32, i64, &str)],
) -> Vec<i16> {
    let topics = offsets
        .iter()
        .map(|(topic, partition, offset, metadata)| {
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(*partition)
                    .with_committed_offset(*offset)
                    .with_committed_leader_epoch(-1)
                    .with_committed_metadata(Some(s(metadata)))])
        })
        .collect();
    let request = OffsetCommitRequest::default()
        .with_group_id(gid(group))
        .with_member_id(s(member_id))
        .with_generation_id_or_member_epoch(generation_id);
    let request = request.with_topics(topics);
    let deadline = Instant::now() + Duration::from_secs(10);
    let response = loop {
        let response: OffsetCommitResponse =
            conn.call(ApiKey::OffsetCommit, COMMIT_V, &request).await;
        let code = response
            .topics
            .first()
            .and_then(|t| t.partitions.first())
            .map_or(0, |p| p.error_code);
        if !retriable(code) || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect()
}

/// OffsetFetch v7 for `(topic, partitions)`: the top-level code and (partition, offset,
/// metadata) per partition.
async fn fetch_offsets(
    conn: &mut AdminConnection,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> (i16, Vec<(i32, i64, Option<String>)>) {
    let request = OffsetFetchRequest::default()
        .with_group_id(gid(group))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partition_indexes(partitions.to_vec())]));
    let deadline = Instant::now() + Duration::from_secs(10);
    let response = loop {
        let response: OffsetFetchResponse = conn.call(ApiKey::OffsetFetch, FETCH_V, &request).await;
        if !retriable(response.error_code) || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let partitions = response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    p.partition_index,
                    p.committed_offset,
                    p.metadata.as_ref().map(|m| m.to_string()),
                )
            })
        })
        .collect();
    (response.error_code, partitions)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_coordinator_creates_the_offsets_topic_and_names_this_node() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let found = find_coordinator(&mut conn, "g1").await;
    assert_eq!(found.error_code, NONE);
    assert_eq!(found.node_id.0, 1);
    assert_eq!(found.port, i32::from(test.addr.port()));

    // v4+: batched keys; TRANSACTION keys name the transaction coordinator.
    let batched = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![s("a"), s("b")]);
    let response: FindCoordinatorResponse = conn.call(ApiKey::FindCoordinator, 4, &batched).await;
    assert_eq!(response.coordinators.len(), 2);
    assert!(response.coordinators.iter().all(|c| c.error_code == NONE));
    assert_eq!(response.coordinators[1].key.as_str(), "b");
    let txn = FindCoordinatorRequest::default()
        .with_key_type(1)
        .with_coordinator_keys(vec![s("tx")]);
    let response: FindCoordinatorResponse = conn.call(ApiKey::FindCoordinator, 4, &txn).await;
    assert_eq!(response.coordinators[0].error_code, NONE);
    assert_eq!(response.coordinators[0].node_id.0, 1);

    // The topic exists now, internal, compacted, with offsets.topic.num.partitions (4 here).
    let metadata: MetadataResponse = conn
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    let topic = metadata
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.as_str()) == Some("__consumer_offsets"))
        .expect("__consumer_offsets is listed");
    assert!(topic.is_internal);
    assert_eq!(topic.partitions.len(), 4);
    let image = test.broker.context().controller.image();
    let configs = format!("{:?}", image.topic_configs("__consumer_offsets"));
    assert!(
        configs.contains("cleanup.policy") && configs.contains("compact"),
        "{configs}"
    );
    test.broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_join_sync_heartbeat_commit_and_leave() {
    let test = start_broker(|_| {}).await;
    let mut a = AdminConnection::connect(test.addr).await;
    let group = "two-members";
    assert_eq!(find_coordinator(&mut a, group).await.error_code, NONE);

    // Member A alone: generation 1, A leads and sees itself.
    let joined_a = join_new(&mut a, group, Bytes::from_static(b"meta-a")).await;
    assert_eq!(joined_a.error_code, NONE);
    let member_a = joined_a.member_id.to_string();
    assert_eq!(joined_a.leader.as_str(), member_a);
    assert_eq!(joined_a.protocol_name.as_deref(), Some("range"));
    assert_eq!(joined_a.members.len(), 1);
    let generation_1 = joined_a.generation_id;
    let synced = sync(
        &mut a,
        group,
        &member_a,
        generation_1,
        &[(&member_a, b"all-of-it")],
    )
    .await;
    assert_eq!(synced.error_code, NONE);
    assert_eq!(&synced.assignment[..], b"all-of-it");
    assert_eq!(
        heartbeat(&mut a, group, &member_a, generation_1).await,
        NONE
    );

    // Member B joins: its join waits for A to rejoin; A learns it from its heartbeat.
    let addr = test.addr;
    let b_task = tokio::spawn(async move {
        let mut b = AdminConnection::connect(addr).await;
        let joined = join_new(&mut b, group, Bytes::from_static(b"meta-b")).await;
        (b, joined)
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let code = heartbeat(&mut a, group, &member_a, generation_1).await;
        if code == REBALANCE_IN_PROGRESS {
            break;
        }
        assert_eq!(code, NONE);
        assert!(
            Instant::now() < deadline,
            "B's join never started a rebalance"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rejoined_a = join(
        &mut a,
        &join_request(group, &member_a, Bytes::from_static(b"meta-a")),
    )
    .await;
    let (mut b, joined_b) = b_task.await.unwrap();
    assert_eq!(rejoined_a.error_code, NONE);
    assert_eq!(joined_b.error_code, NONE);
    let generation_2 = rejoined_a.generation_id;
    assert_eq!(generation_2, joined_b.generation_id);
    assert!(generation_2 > generation_1);
    let member_b = joined_b.member_id.to_string();
    assert_ne!(member_a, member_b);
    let (leader, leader_conn, follower, follower_conn) = if rejoined_a.leader.as_str() == member_a {
        assert_eq!(rejoined_a.members.len(), 2, "the leader sees every member");
        assert!(joined_b.members.is_empty(), "followers see none");
        (member_a.clone(), &mut a, member_b.clone(), &mut b)
    } else {
        assert_eq!(joined_b.members.len(), 2);
        (member_b.clone(), &mut b, member_a.clone(), &mut a)
    };

    // The follower's sync waits for the leader's assignments.
    let follower_sync = {
        let group = group.to_string();
        let follower = follower.clone();
        let mut conn = AdminConnection::connect(addr).await;
        tokio::spawn(async move { sync(&mut conn, &group, &follower, generation_2, &[]).await })
    };
    let _ = follower_conn;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let leader_sync = sync(
        leader_conn,
        group,
        &leader,
        generation_2,
        &[(&leader, b"p0"), (&follower, b"p1-opaque\x00\xff")],
    )
    .await;
    assert_eq!(leader_sync.error_code, NONE);
    assert_eq!(&leader_sync.assignment[..], b"p0");
    let follower_sync = follower_sync.await.unwrap();
    assert_eq!(follower_sync.error_code, NONE);
    assert_eq!(&follower_sync.assignment[..], b"p1-opaque\x00\xff");
    assert_eq!(
        heartbeat(&mut a, group, &member_a, generation_2).await,
        NONE
    );
    assert_eq!(
        heartbeat(&mut b, group, &member_b, generation_2).await,
        NONE
    );

    // Commits: the member's own generation works; stale and unknown ones are refused.
    let codes = commit(
        &mut a,
        group,
        &member_a,
        generation_2,
        &[("t", 0, 42, "meta")],
    )
    .await;
    assert_eq!(codes, vec![NONE]);
    let codes = commit(&mut a, group, &member_a, generation_1, &[("t", 0, 43, "")]).await;
    assert_eq!(codes, vec![ILLEGAL_GENERATION]);
    let codes = commit(&mut a, group, "nobody", generation_2, &[("t", 0, 44, "")]).await;
    assert_eq!(codes, vec![UNKNOWN_MEMBER_ID]);
    // An admin commit (no member, generation -1) against an active group is refused.
    let codes = commit(&mut a, group, "", -1, &[("t", 0, 45, "")]).await;
    assert_eq!(codes, vec![UNKNOWN_MEMBER_ID]);
    let (code, fetched) = fetch_offsets(&mut a, group, "t", &[0, 1]).await;
    assert_eq!(code, NONE);
    assert_eq!(
        fetched,
        vec![
            (0, 42, Some("meta".to_string())),
            (1, -1, Some(String::new()))
        ]
    );

    // DescribeGroups shows both members with client id, host, metadata and assignment.
    let described: DescribeGroupsResponse = a
        .call(
            ApiKey::DescribeGroups,
            5,
            &DescribeGroupsRequest::default().with_groups(vec![gid(group), gid("never-seen")]),
        )
        .await;
    let g = &described.groups[0];
    assert_eq!(g.error_code, NONE);
    assert_eq!(g.group_state.as_str(), "Stable");
    assert_eq!(g.protocol_type.as_str(), "consumer");
    assert_eq!(g.protocol_data.as_str(), "range");
    assert_eq!(g.members.len(), 2);
    let described_b = g
        .members
        .iter()
        .find(|m| m.member_id.as_str() == member_b)
        .expect("B is described");
    assert_eq!(described_b.client_id.as_str(), "admin-test");
    assert_eq!(described_b.client_host.as_str(), "/127.0.0.1");
    assert_eq!(&described_b.member_metadata[..], b"meta-b");
    assert!(!described_b.member_assignment.is_empty());
    assert_eq!(described.groups[1].group_state.as_str(), "Dead");
    assert_eq!(
        described.groups[1].error_code, NONE,
        "v5: unknown groups are Dead"
    );

    // ListGroups with a state filter (v4).
    let listed: ListGroupsResponse = a
        .call(
            ApiKey::ListGroups,
            4,
            &ListGroupsRequest::default().with_states_filter(vec![s("stable")]),
        )
        .await;
    assert_eq!(listed.error_code, NONE);
    let listed: Vec<_> = listed
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![(
            group.to_string(),
            "consumer".to_string(),
            "Stable".to_string()
        )]
    );

    // DeleteGroups refuses a group with members.
    let deleted: DeleteGroupsResponse = a
        .call(
            ApiKey::DeleteGroups,
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![gid(group)]),
        )
        .await;
    assert_eq!(deleted.results[0].error_code, NON_EMPTY_GROUP);

    // A leaves (v3+ batch); B is told to rejoin, then leaves too (v0 style).
    let left: LeaveGroupResponse = a
        .call(
            ApiKey::LeaveGroup,
            4,
            &LeaveGroupRequest::default()
                .with_group_id(gid(group))
                .with_members(vec![
                    MemberIdentity::default().with_member_id(s(&member_a)),
                    MemberIdentity::default().with_member_id(s("ghost")),
                ]),
        )
        .await;
    assert_eq!(left.error_code, NONE);
    assert_eq!(left.members[0].error_code, NONE);
    assert_eq!(left.members[1].error_code, UNKNOWN_MEMBER_ID);
    assert_eq!(
        heartbeat(&mut b, group, &member_b, generation_2).await,
        REBALANCE_IN_PROGRESS
    );
    let left: LeaveGroupResponse = b
        .call(
            ApiKey::LeaveGroup,
            1,
            &LeaveGroupRequest::default()
                .with_group_id(gid(group))
                .with_member_id(s(&member_b)),
        )
        .await;
    assert_eq!(left.error_code, NONE);

    // Empty now: deletable, and its offsets go with it.
    let deleted: DeleteGroupsResponse = a
        .call(
            ApiKey::DeleteGroups,
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![gid(group), gid("never-seen")]),
        )
        .await;
    assert_eq!(deleted.results[0].error_code, NONE);
    assert_eq!(deleted.results[1].error_code, GROUP_ID_NOT_FOUND);
    let (_, fetched) = fetch_offsets(&mut a, group, "t", &[0]).await;
    assert_eq!(fetched, vec![(0, -1, Some(String::new()))]);
    assert_eq!(
        heartbeat(&mut b, group, &member_b, generation_2).await,
        UNKNOWN_MEMBER_ID
    );
    test.broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_survive_a_restart() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let offsets = [
        ("orders", 0, 10, "first"),
        ("orders", 1, 20, ""),
        ("payments", 3, 7, "x"),
    ];
    let codes = commit(&mut conn, "resumer", "", -1, &offsets).await;
    assert_eq!(codes, vec![NONE; 3]);
    // Overwrite one, then delete another with OffsetDelete: replay must apply both in order.
    assert_eq!(
        commit(&mut conn, "resumer", "", -1, &[("orders", 0, 11, "second")]).await,
        vec![NONE]
    );
    let deleted: OffsetDeleteResponse = conn
        .call(
            ApiKey::OffsetDelete,
            0,
            &OffsetDeleteRequest::default()
                .with_group_id(gid("resumer"))
                .with_topics(vec![
                    offset_delete_request::OffsetDeleteRequestTopic::default()
                        .with_name(TopicName(s("payments")))
                        .with_partitions(vec![
                            offset_delete_request::OffsetDeleteRequestPartition::default()
                                .with_partition_index(3),
                        ]),
                ]),
        )
        .await;
    assert_eq!(deleted.error_code, NONE);
    assert_eq!(deleted.topics[0].partitions[0].error_code, NONE);
    drop(conn);

    let dir = test.stop().await;
    let test = start_broker_in(dir, |_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let (code, fetched) = fetch_offsets(&mut conn, "resumer", "orders", &[0, 1, 2]).await;
    assert_eq!(code, NONE);
    assert_eq!(
        fetched,
        vec![
            (0, 11, Some("second".to_string())),
            (1, 20, Some(String::new())),
            (2, -1, Some(String::new()))
        ]
    );
    let (_, fetched) = fetch_offsets(&mut conn, "resumer", "payments", &[3]).await;
    assert_eq!(fetched, vec![(3, -1, Some(String::new()))]);

    // v8 batched fetch of every committed offset (null topics) of two groups.
    let request = OffsetFetchRequest::default().with_groups(vec![
        OffsetFetchRequestGroup::default()
            .with_group_id(gid("resumer"))
            .with_topics(None),
        OffsetFetchRequestGroup::default()
            .with_group_id(gid("other"))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(TopicName(s("orders")))
                .with_partition_indexes(vec![0])])),
    ]);
    let response: OffsetFetchResponse = conn.call(ApiKey::OffsetFetch, 8, &request).await;
    assert_eq!(response.groups.len(), 2);
    assert_eq!(response.groups[0].error_code, NONE);
    let all: usize = response.groups[0]
        .topics
        .iter()
        .map(|t| t.partitions.len())
        .sum();
    assert_eq!(all, 2, "orders-0 and orders-1 remain");
    assert_eq!(
        response.groups[1].topics[0].partitions[0].committed_offset,
        -1
    );
    test.broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_group_requests_get_kafkas_codes_and_spare_other_groups() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    assert_eq!(
        find_coordinator(&mut conn, "healthy").await.error_code,
        NONE
    );

    // Empty group ids.
    let joined = join(&mut conn, &join_request("", "", Bytes::from_static(b"m"))).await;
    assert_eq!(joined.error_code, INVALID_GROUP_ID);
    assert_eq!(heartbeat(&mut conn, "", "m", 1).await, INVALID_GROUP_ID);
    assert_eq!(
        commit(&mut conn, "", "", -1, &[("t", 0, 1, "")]).await,
        vec![INVALID_GROUP_ID]
    );
    let (code, _) = fetch_offsets(&mut conn, "", "t", &[0]).await;
    assert_eq!(code, INVALID_GROUP_ID);

    // Unknown groups and members.
    assert_eq!(
        heartbeat(&mut conn, "no-such-group", "m", 1).await,
        UNKNOWN_MEMBER_ID
    );
    let synced = sync(&mut conn, "no-such-group", "m", 1, &[]).await;
    assert_eq!(synced.error_code, UNKNOWN_MEMBER_ID);

    // A 10,000-character group id works like any other.
    let long = "g".repeat(10_000);
    let found = find_coordinator(&mut conn, &long).await;
    assert_eq!(found.error_code, NONE);
    let joined = join_new(&mut conn, &long, Bytes::from_static(b"m")).await;
    assert_eq!(joined.error_code, NONE);
    let codes = commit(
        &mut conn,
        &long,
        &joined.member_id,
        joined.generation_id,
        &[("t", 0, 5, "")],
    )
    .await;
    // Committing before the first sync of the generation is refused, as in Kafka.
    assert!(
        codes == vec![NONE] || codes == vec![REBALANCE_IN_PROGRESS],
        "{codes:?}"
    );

    // Oversized member metadata: the group's record cannot be written, the member gets an
    // error, and the broker and other groups carry on.
    let big = Bytes::from(vec![7u8; 2 << 20]);
    let joined = join_new(&mut conn, "oversized", big).await;
    if joined.error_code == NONE {
        let synced = sync(
            &mut conn,
            "oversized",
            &joined.member_id,
            joined.generation_id,
            &[(&joined.member_id, b"x")],
        )
        .await;
        assert_eq!(synced.error_code, UNKNOWN_SERVER_ERROR);
    } else {
        assert_eq!(joined.error_code, UNKNOWN_SERVER_ERROR);
    }

    // The healthy group is unaffected.
    assert_eq!(
        commit(&mut conn, "healthy", "", -1, &[("t", 0, 9, "ok")]).await,
        vec![NONE]
    );
    let (code, fetched) = fetch_offsets(&mut conn, "healthy", "t", &[0]).await;
    assert_eq!(code, NONE);
    assert_eq!(fetched, vec![(0, 9, Some("ok".to_string()))]);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_parked_joins() {
    let test = start_broker(|c| c.group_initial_rebalance_delay_ms = 60_000).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    assert_eq!(
        find_coordinator(&mut conn, "waiting").await.error_code,
        NONE
    );
    let first = join(
        &mut conn,
        &join_request("waiting", "", Bytes::from_static(b"m")),
    )
    .await;
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    let member = first.member_id.to_string();
    // This join waits for the (one minute) initial rebalance delay.
    let parked = tokio::spawn(async move {
        let request = join_request("waiting", &member, Bytes::from_static(b"m"));
        let response: JoinGroupResponse = conn.call(ApiKey::JoinGroup, JOIN_V, &request).await;
        response.error_code
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!parked.is_finished(), "the join is parked");
    let started = Instant::now();
    test.broker.shutdown().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown does not wait for the delay"
    );
    assert_eq!(parked.await.unwrap(), COORDINATOR_NOT_AVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_join_versions_and_describe_v6() {
    let test = start_broker(|_| {}).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    assert_eq!(
        find_coordinator(&mut conn, "old-client").await.error_code,
        NONE
    );
    // JoinGroup v0 (kept for kafka-go, brod, kafka_ex: KAFKA-19444): no rebalance timeout, no
    // MEMBER_ID_REQUIRED round trip; the member id comes with the answer.
    let request = join_request("old-client", "", Bytes::from_static(b"v0"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let joined = loop {
        let joined: JoinGroupResponse = conn.call(ApiKey::JoinGroup, 0, &request).await;
        if !retriable(joined.error_code) || Instant::now() > deadline {
            break joined;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(joined.error_code, NONE);
    assert!(!joined.member_id.is_empty());
    assert_eq!(joined.leader, joined.member_id);
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    let synced: SyncGroupResponse = conn
        .call(
            ApiKey::SyncGroup,
            0,
            &SyncGroupRequest::default()
                .with_group_id(gid("old-client"))
                .with_member_id(joined.member_id.clone())
                .with_generation_id(joined.generation_id)
                .with_assignments(vec![SyncGroupRequestAssignment::default()
                    .with_member_id(joined.member_id.clone())
                    .with_assignment(Bytes::from_static(b"a"))]),
        )
        .await;
    assert_eq!(synced.error_code, NONE);
    assert_eq!(&synced.assignment[..], b"a");

    // DescribeGroups v6 (KIP-1043): an unknown group is GROUP_ID_NOT_FOUND; empty ids invalid.
    let described: DescribeGroupsResponse = conn
        .call(
            ApiKey::DescribeGroups,
            6,
            &DescribeGroupsRequest::default().with_groups(vec![
                gid("old-client"),
                gid("never-seen"),
                gid(""),
            ]),
        )
        .await;
    assert_eq!(described.groups[0].error_code, NONE);
    assert_eq!(described.groups[0].group_state.as_str(), "Stable");
    assert_eq!(&described.groups[0].members[0].member_assignment[..], b"a");
    assert_eq!(described.groups[1].error_code, GROUP_ID_NOT_FOUND);
    assert_eq!(described.groups[2].error_code, INVALID_GROUP_ID);

    // LeaveGroup v0 leaves the group Empty.
    let left: LeaveGroupResponse = conn
        .call(
            ApiKey::LeaveGroup,
            0,
            &LeaveGroupRequest::default()
                .with_group_id(gid("old-client"))
                .with_member_id(joined.member_id.clone()),
        )
        .await;
    assert_eq!(left.error_code, NONE);
    let listed: ListGroupsResponse = conn
        .call(
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("Classic")]),
        )
        .await;
    let state = listed
        .groups
        .iter()
        .find(|g| g.group_id.as_str() == "old-client")
        .map(|g| (g.group_state.to_string(), g.group_type.to_string()));
    assert_eq!(state, Some(("Empty".to_string(), "classic".to_string())));
    let none: ListGroupsResponse = conn
        .call(
            ApiKey::ListGroups,
            5,
            &ListGroupsRequest::default().with_types_filter(vec![s("share")]),
        )
        .await;
    assert!(none.groups.is_empty());
    test.broker.shutdown().await.unwrap();
}

/// OffsetCommit v2 with `retention_time_ms`: that offset expires after it (Kafka 4.x still
/// honours the field), while one committed with the default -1 waits for
/// `offsets.retention.minutes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_commit_v2_retention_time_expires_its_offset() {
    let test = start_broker(|c| c.offsets_retention_check_interval_ms = 50).await;
    let mut conn = AdminConnection::connect(test.addr).await;
    let group = "retention";
    assert_eq!(find_coordinator(&mut conn, group).await.error_code, NONE);
    for (partition, retention_time_ms) in [(0, 300), (1, -1)] {
        let request = OffsetCommitRequest::default()
            .with_group_id(gid(group))
            .with_member_id(s(""))
            .with_generation_id_or_member_epoch(-1)
            .with_retention_time_ms(retention_time_ms)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(s("t")))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(partition)
                    .with_committed_offset(5)])]);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response: OffsetCommitResponse = conn.call(ApiKey::OffsetCommit, 2, &request).await;
            let code = response.topics[0].partitions[0].error_code;
            if !retriable(code) || Instant::now() > deadline {
                assert_eq!(code, NONE, "v2 commit of p{partition}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let committed_at = Instant::now();
    let (_, fetched) = fetch_offsets(&mut conn, group, "t", &[0, 1]).await;
    let offsets: Vec<i64> = fetched.iter().map(|(_, offset, _)| *offset).collect();
    // p0 may already be gone on a slow machine; p1 must be there.
    assert_eq!(offsets[1], 5);
    let deadline = Instant::now() + Duration::from_secs(10);
    let offsets = loop {
        let (_, fetched) = fetch_offsets(&mut conn, group, "t", &[0, 1]).await;
        let offsets: Vec<i64> = fetched.iter().map(|(_, offset, _)| *offset).collect();
        if offsets[0] == -1 || Instant::now() > deadline {
            break offsets;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(offsets, vec![-1, 5], "p0 expired, p1 kept");
    assert!(committed_at.elapsed() < Duration::from_secs(10));
    test.broker.shutdown().await.unwrap();
}
