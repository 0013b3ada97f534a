//! KIP-848 consumer groups, one table test per transition: (group, heartbeat, now) ->
//! (response, group, records).

use std::collections::{BTreeMap, BTreeSet};

use fjord_coordinator::consumer_group::{ConsumerGroupRecord, TopicMetadata};
use fjord_coordinator::{
    Assignment, ConsumerGroupConfig, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
    ConsumerGroupState, CoordinatorRecord, GroupConfig, GroupCoordinator, GroupError, GroupType,
    JoinGroupRequest, MemberState, OffsetCommitEntry, Reply,
};
use uuid::Uuid;

const G: &str = "cg";
const ORDERS: Uuid = Uuid::from_u128(1);
const AUDIT: Uuid = Uuid::from_u128(2);

fn metadata(name: &str) -> Option<(Uuid, i32)> {
    match name {
        "orders" => Some((ORDERS, 4)),
        "audit" => Some((AUDIT, 2)),
        _ => None,
    }
}

fn coordinator() -> GroupCoordinator {
    GroupCoordinator::new(GroupConfig::default())
}

fn join_req(member_id: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest {
        group_id: G.into(),
        member_id: member_id.into(),
        member_epoch: 0,
        rebalance_timeout_ms: 30_000,
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        subscribed_topic_names: Some(topics.iter().map(|t| t.to_string()).collect()),
        topic_partitions: Some(Vec::new()),
        ..Default::default()
    }
}

fn hb_req(
    member_id: &str,
    epoch: i32,
    owned: Option<&Assignment>,
) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest {
        group_id: G.into(),
        member_id: member_id.into(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        topic_partitions: owned.map(|o| {
            o.iter()
                .map(|(t, ps)| (*t, ps.iter().copied().collect()))
                .collect()
        }),
        ..Default::default()
    }
}

fn send(
    c: &mut GroupCoordinator,
    req: ConsumerGroupHeartbeatRequest,
    now_ms: i64,
) -> (
    Result<ConsumerGroupHeartbeatResponse, GroupError>,
    Vec<CoordinatorRecord>,
) {
    let result = c.consumer_group_heartbeat(req, &metadata, now_ms);
    assert_no_double_ownership(c);
    result
}

fn ok(
    c: &mut GroupCoordinator,
    req: ConsumerGroupHeartbeatRequest,
    now_ms: i64,
) -> ConsumerGroupHeartbeatResponse {
    send(c, req, now_ms).0.expect("heartbeat accepted")
}

fn code(result: Result<ConsumerGroupHeartbeatResponse, GroupError>) -> i16 {
    result.map_or_else(|e| e.error_code(), |_| 0)
}

fn parts(entries: &[(Uuid, &[i32])]) -> Assignment {
    entries
        .iter()
        .map(|(t, ps)| (*t, ps.iter().copied().collect::<BTreeSet<i32>>()))
        .collect()
}

fn count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}

/// The invariant of the protocol: no partition in two members' current assignments
/// (assigned or still being revoked).
fn assert_no_double_ownership(c: &GroupCoordinator) {
    let Some(group) = c.consumer_group(G) else {
        return;
    };
    let mut seen: BTreeMap<(Uuid, i32), &str> = BTreeMap::new();
    for member in group.members.values() {
        for a in [
            &member.assigned_partitions,
            &member.partitions_pending_revocation,
        ] {
            for (topic_id, partitions) in a {
                for p in partitions {
                    if let Some(other) = seen.insert((*topic_id, *p), &member.member_id) {
                        assert_eq!(
                            other, member.member_id,
                            "{topic_id}-{p} owned by {other} and {}",
                            member.member_id
                        );
                    }
                }
            }
        }
    }
}

fn state(c: &GroupCoordinator) -> ConsumerGroupState {
    c.consumer_group(G).expect("group").state()
}

fn cg_records(records: &[CoordinatorRecord]) -> Vec<&ConsumerGroupRecord> {
    records
        .iter()
        .filter_map(|r| match r {
            CoordinatorRecord::ConsumerGroup(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn first_member_joins_and_gets_every_partition() {
    let mut c = coordinator();
    let (result, records) = send(&mut c, join_req("a", &["orders"]), 0);
    let response = result.expect("joined");
    assert_eq!(response.member_id, "a");
    assert_eq!(response.member_epoch, 1);
    assert_eq!(response.heartbeat_interval_ms, 5_000);
    assert_eq!(response.assignment, Some(parts(&[(ORDERS, &[0, 1, 2, 3])])));
    assert_eq!(state(&c), ConsumerGroupState::Stable);
    let kinds: Vec<&str> = cg_records(&records)
        .iter()
        .map(|r| match r {
            ConsumerGroupRecord::MemberMetadata { .. } => "member",
            ConsumerGroupRecord::PartitionMetadata { .. } => "partitions",
            ConsumerGroupRecord::GroupMetadata { epoch: Some(1), .. } => "epoch1",
            ConsumerGroupRecord::TargetAssignmentMember { .. } => "target",
            ConsumerGroupRecord::TargetAssignmentMetadata {
                assignment_epoch: Some(1),
                ..
            } => "target-epoch1",
            ConsumerGroupRecord::CurrentMemberAssignment { .. } => "current",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "member",
            "partitions",
            "epoch1",
            "target",
            "target-epoch1",
            "current"
        ]
    );
    // A plain heartbeat changes nothing and carries no assignment.
    let (result, records) = send(&mut c, hb_req("a", 1, None), 1_000);
    let response = result.expect("heartbeat");
    assert_eq!((response.member_epoch, response.assignment), (1, None));
    assert!(records.is_empty());
}

#[test]
fn v0_clients_get_a_member_id_from_the_coordinator() {
    let mut c = coordinator();
    let response = ok(&mut c, join_req("", &["orders"]), 0);
    assert!(!response.member_id.is_empty());
    assert!(c
        .consumer_group(G)
        .expect("group")
        .members
        .contains_key(&response.member_id));
}

#[test]
fn second_member_gets_partitions_only_after_the_first_revokes_them() {
    let mut c = coordinator();
    ok(&mut c, join_req("a", &["orders"]), 0);
    let b = ok(&mut c, join_req("b", &["orders"]), 100);
    assert_eq!(b.member_epoch, 2);
    assert_eq!(
        b.assignment,
        Some(Assignment::new()),
        "a still owns everything"
    );
    assert_eq!(state(&c), ConsumerGroupState::Reconciling);
    let member_b = &c.consumer_group(G).expect("group").members["b"];
    assert_eq!(member_b.state, MemberState::UnreleasedPartitions);

    // a is told to keep half; it stays at epoch 1 until it acknowledges.
    let all = parts(&[(ORDERS, &[0, 1, 2, 3])]);
    let a = ok(&mut c, hb_req("a", 1, Some(&all)), 200);
    assert_eq!(a.member_epoch, 1);
    let kept = a.assignment.expect("assignment changed");
    assert_eq!(count(&kept), 2);
    assert_eq!(
        c.consumer_group(G).expect("group").members["a"].state,
        MemberState::UnrevokedPartitions
    );
    // Still owning everything: no progress, nothing for b.
    let a = ok(&mut c, hb_req("a", 1, Some(&all)), 300);
    assert_eq!((a.member_epoch, a.assignment), (1, None));
    let b = ok(&mut c, hb_req("b", 2, Some(&Assignment::new())), 300);
    assert_eq!(b.assignment, None);
    // a acknowledges by reporting only what it kept.
    let a = ok(&mut c, hb_req("a", 1, Some(&kept)), 400);
    assert_eq!(a.member_epoch, 2);
    let b = ok(&mut c, hb_req("b", 2, Some(&Assignment::new())), 500);
    let given = b.assignment.expect("released partitions arrive");
    assert_eq!(count(&given), 2);
    assert!(given[&ORDERS].is_disjoint(&kept[&ORDERS]));
    assert_eq!(state(&c), ConsumerGroupState::Stable);
    let description = &c.describe_consumer_groups(&[G.to_string()])[0];
    let description = description.1.as_ref().expect("described");
    assert_eq!(
        (description.group_epoch, description.assignment_epoch),
        (2, 2)
    );
    assert_eq!(description.assignor_name, "uniform");
    assert_eq!(description.members.len(), 2);
    assert!(description
        .members
        .iter()
        .all(|m| m.assignment == m.target_assignment && m.member_epoch == 2));
}

/// Brings "a" and "b" to a Stable group at epoch 2 with two partitions each.
fn two_stable_members(c: &mut GroupCoordinator) -> (Assignment, Assignment) {
    ok(c, join_req("a", &["orders"]), 0);
    ok(c, join_req("b", &["orders"]), 0);
    let all = parts(&[(ORDERS, &[0, 1, 2, 3])]);
    let kept = ok(c, hb_req("a", 1, Some(&all)), 0).assignment.expect("a");
    ok(c, hb_req("a", 1, Some(&kept)), 0);
    let given = ok(c, hb_req("b", 2, Some(&Assignment::new())), 0)
        .assignment
        .expect("b");
    assert_eq!(state(c), ConsumerGroupState::Stable);
    (kept, given)
}

#[test]
fn leave_frees_the_partitions_and_bumps_the_group_epoch() {
    let mut c = coordinator();
    let (_, b_owned) = two_stable_members(&mut c);
    let (result, records) = send(&mut c, hb_req("a", -1, None), 1_000);
    let response = result.expect("left");
    assert_eq!(
        (response.member_id.as_str(), response.member_epoch),
        ("a", -1)
    );
    let tombstones = cg_records(&records)
        .iter()
        .filter(|r| {
            matches!(
                r,
                ConsumerGroupRecord::MemberMetadata { value: None, .. }
                    | ConsumerGroupRecord::TargetAssignmentMember {
                        partitions: None,
                        ..
                    }
                    | ConsumerGroupRecord::CurrentMemberAssignment { value: None, .. }
            )
        })
        .count();
    assert_eq!(tombstones, 3);
    assert_eq!(c.consumer_group(G).expect("group").group_epoch, 3);
    assert_eq!(state(&c), ConsumerGroupState::Assigning);
    let b = ok(&mut c, hb_req("b", 2, Some(&b_owned)), 1_100);
    assert_eq!(b.member_epoch, 3);
    assert_eq!(b.assignment, Some(parts(&[(ORDERS, &[0, 1, 2, 3])])));
    assert_eq!(code(send(&mut c, hb_req("a", 2, None), 1_200).0), 25);
}

#[test]
fn session_expiry_fences_the_silent_member() {
    let mut c = coordinator();
    let (_, b_owned) = two_stable_members(&mut c);
    ok(&mut c, hb_req("b", 2, None), 40_000);
    assert!(c.poll(44_999).records.is_empty());
    let out = c.poll(45_000);
    assert!(!out.records.is_empty(), "a's session lapsed at 45 s");
    let group = c.consumer_group(G).expect("group");
    assert!(!group.members.contains_key("a") && group.members.contains_key("b"));
    let b = ok(&mut c, hb_req("b", 2, Some(&b_owned)), 45_100);
    assert_eq!(count(&b.assignment.expect("more partitions")), 4);
    assert_eq!(code(send(&mut c, hb_req("a", 2, None), 45_200).0), 25);
}

#[test]
fn a_member_that_does_not_revoke_in_time_is_fenced() {
    let mut c = coordinator();
    ok(&mut c, join_req("a", &["orders"]), 0);
    ok(&mut c, join_req("b", &["orders"]), 0);
    let all = parts(&[(ORDERS, &[0, 1, 2, 3])]);
    ok(&mut c, hb_req("a", 1, Some(&all)), 1_000);
    // a keeps heartbeating (so its session lives) but never lets go.
    ok(&mut c, hb_req("a", 1, Some(&all)), 20_000);
    ok(&mut c, hb_req("b", 2, None), 20_000);
    assert!(c.poll(30_999).records.is_empty());
    assert!(!c.poll(31_000).records.is_empty(), "rebalance timeout 30 s");
    assert!(!c
        .consumer_group(G)
        .expect("group")
        .members
        .contains_key("a"));
}

#[test]
fn static_member_leaves_temporarily_and_rejoins_with_its_partitions() {
    let mut c = coordinator();
    let mut join_s = join_req("s1", &["orders"]);
    join_s.instance_id = Some("instance".into());
    ok(&mut c, join_s.clone(), 0);
    ok(&mut c, join_req("b", &["orders"]), 0);
    let all = parts(&[(ORDERS, &[0, 1, 2, 3])]);
    let mut hb = hb_req("s1", 1, Some(&all));
    hb.instance_id = Some("instance".into());
    let kept = ok(&mut c, hb, 0).assignment.expect("kept");
    let mut hb = hb_req("s1", 1, Some(&kept));
    hb.instance_id = Some("instance".into());
    ok(&mut c, hb, 0);
    ok(&mut c, hb_req("b", 2, Some(&Assignment::new())), 0);
    let epoch_before = c.consumer_group(G).expect("group").group_epoch;

    // A second process with the same instance id while s1 is active: refused.
    let mut intruder = join_s.clone();
    intruder.member_id = "s2".into();
    assert_eq!(code(send(&mut c, intruder.clone(), 1).0), 111);
    // Temporary leave: epoch -2, partitions held for the instance.
    let mut leave = hb_req("s1", -2, None);
    leave.instance_id = Some("instance".into());
    assert_eq!(ok(&mut c, leave, 2).member_epoch, -2);
    assert_eq!(
        c.consumer_group(G).expect("group").group_epoch,
        epoch_before
    );
    let b = ok(&mut c, hb_req("b", 2, None), 3);
    assert_eq!(
        b.assignment, None,
        "b does not get the static member's partitions"
    );
    // The restarted process rejoins under a new member id and gets the same partitions back.
    let back = ok(&mut c, intruder, 4);
    assert_eq!(back.member_id, "s2");
    assert_eq!(back.assignment, Some(kept));
    assert_eq!(back.member_epoch, epoch_before);
    let group = c.consumer_group(G).expect("group");
    assert_eq!(
        group.group_epoch, epoch_before,
        "no rebalance for a static rejoin"
    );
    assert!(!group.members.contains_key("s1"));
    // The old id is fenced by the instance id.
    let mut stale = hb_req("s1", epoch_before, None);
    stale.instance_id = Some("instance".into());
    assert_eq!(code(send(&mut c, stale, 5).0), 82);
}

#[test]
fn an_empty_regex_beside_topic_names_is_no_regex_and_a_pattern_is_refused() {
    // librdkafka's first heartbeat carries SubscribedTopicRegex "" with its topic names.
    let mut c = coordinator();
    let joined = ok(
        &mut c,
        ConsumerGroupHeartbeatRequest {
            subscribed_topic_regex: Some(String::new()),
            ..join_req("a", &["orders"])
        },
        0,
    );
    assert_eq!(joined.member_epoch, 1);
    let (refused, records) = send(
        &mut c,
        ConsumerGroupHeartbeatRequest {
            subscribed_topic_regex: Some("ord.*".into()),
            ..join_req("b", &["orders"])
        },
        0,
    );
    assert_eq!(code(refused), 42);
    assert!(records.is_empty());
}

#[test]
fn heartbeat_refusals() {
    let mut c = GroupCoordinator::new(GroupConfig::default()).with_consumer_group_config(
        ConsumerGroupConfig {
            group_consumer_max_size: 2,
            ..ConsumerGroupConfig::default()
        },
    );
    ok(&mut c, join_req("a", &["orders"]), 0);
    let cases: Vec<(&str, ConsumerGroupHeartbeatRequest, i16)> = vec![
        ("newer epoch", hb_req("a", 2, None), 110),
        ("epoch below -2", hb_req("a", -3, None), 42),
        ("unknown member", hb_req("zz", 1, None), 25),
        (
            "unknown group",
            ConsumerGroupHeartbeatRequest {
                group_id: "nope".into(),
                ..hb_req("a", 1, None)
            },
            69,
        ),
        (
            "empty group id",
            ConsumerGroupHeartbeatRequest {
                group_id: String::new(),
                ..join_req("a", &["orders"])
            },
            42,
        ),
        (
            "join without subscription",
            ConsumerGroupHeartbeatRequest {
                subscribed_topic_names: Some(Vec::new()),
                ..join_req("c", &[])
            },
            42,
        ),
        (
            "join without rebalance timeout",
            ConsumerGroupHeartbeatRequest {
                rebalance_timeout_ms: -1,
                ..join_req("c", &["orders"])
            },
            42,
        ),
        (
            "join owning partitions",
            ConsumerGroupHeartbeatRequest {
                topic_partitions: Some(vec![(ORDERS, vec![0])]),
                ..join_req("c", &["orders"])
            },
            42,
        ),
        ("heartbeat without member id", hb_req("", 1, None), 42),
        (
            "static leave without instance id",
            hb_req("a", -2, None),
            42,
        ),
        (
            "unknown assignor",
            ConsumerGroupHeartbeatRequest {
                server_assignor: Some("sticky".into()),
                ..join_req("c", &["orders"])
            },
            112,
        ),
    ];
    for (name, req, expected) in cases {
        let (result, records) = send(&mut c, req, 10);
        assert_eq!(code(result), expected, "{name}");
        assert!(records.is_empty(), "{name}: a refusal writes nothing");
    }
    ok(&mut c, join_req("b", &["orders"]), 20);
    assert_eq!(code(send(&mut c, join_req("c", &["orders"]), 30).0), 81);
    // The previous epoch is accepted while the member owns a subset of its assignment
    // (the response with the bump was lost).
    let group = c.consumer_group(G).expect("group");
    let a = &group.members["a"];
    let (epoch, previous) = (a.member_epoch, a.previous_member_epoch);
    let subset = a.assigned_partitions.clone();
    if previous > 0 && previous != epoch {
        assert_eq!(
            code(send(&mut c, hb_req("a", previous, Some(&subset)), 40).0),
            0
        );
    }
    assert_eq!(code(send(&mut c, hb_req("a", epoch, None), 40).0), 0);
}

#[test]
fn range_assignor_gives_contiguous_ranges() {
    let mut c = coordinator();
    let range = |member: &str| ConsumerGroupHeartbeatRequest {
        server_assignor: Some("range".into()),
        ..join_req(member, &["orders", "audit"])
    };
    ok(&mut c, range("m1"), 0);
    ok(&mut c, range("m2"), 0);
    let group = c.consumer_group(G).expect("group");
    assert_eq!(group.preferred_assignor(c.consumer_group_config()), "range");
    assert_eq!(
        group.target_assignment["m1"],
        parts(&[(ORDERS, &[0, 1]), (AUDIT, &[0])])
    );
    assert_eq!(
        group.target_assignment["m2"],
        parts(&[(ORDERS, &[2, 3]), (AUDIT, &[1])])
    );
}

#[test]
fn uniform_assignor_balances_three_members() {
    let mut c = coordinator();
    for m in ["m1", "m2", "m3"] {
        ok(&mut c, join_req(m, &["orders", "audit"]), 0);
    }
    let group = c.consumer_group(G).expect("group");
    let mut counts: Vec<usize> = group.target_assignment.values().map(count).collect();
    counts.sort();
    assert_eq!(counts, vec![2, 2, 2]);
}

#[test]
fn new_partitions_bump_the_epoch_and_reach_the_members() {
    let mut c = coordinator();
    ok(&mut c, join_req("a", &["orders"]), 0);
    let grown = |name: &str| (name == "orders").then_some((ORDERS, 6));
    let (result, _) = c.consumer_group_heartbeat(hb_req("a", 1, None), &grown, 1_000);
    let response = result.expect("heartbeat");
    assert_eq!(response.member_epoch, 2);
    assert_eq!(count(&response.assignment.expect("grown")), 6);
}

#[test]
fn classic_and_consumer_groups_do_not_share_ids() {
    let mut c = coordinator();
    ok(&mut c, join_req("a", &["orders"]), 0);
    let classic_join = JoinGroupRequest {
        group_id: G.into(),
        member_id: String::new(),
        group_instance_id: None,
        client_id: "c".into(),
        client_host: "h".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), bytes::Bytes::new())],
        require_known_member_id: true,
    };
    let (reply, _) = c.join_group(classic_join.clone(), 0);
    assert_eq!(
        reply,
        Reply::Now(Err(GroupError::InconsistentGroupProtocol))
    );
    // A live classic group keeps its id from the consumer protocol.
    let mut classic_join = classic_join;
    classic_join.group_id = "classic".into();
    classic_join.require_known_member_id = false;
    c.join_group(classic_join, 0);
    let mut join = join_req("x", &["orders"]);
    join.group_id = "classic".into();
    assert_eq!(code(send(&mut c, join.clone(), 0).0), 69);
    let described = c.describe_consumer_groups(&["classic".to_string(), G.to_string()]);
    assert_eq!(
        described[0].1.as_ref().err(),
        Some(&GroupError::GroupIdNotFound)
    );
    assert!(described[1].1.is_ok());
    let listed: Vec<(String, GroupType, String)> = c
        .list_groups()
        .into_iter()
        .map(|g| (g.group_id, g.group_type, g.state))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("cg".to_string(), GroupType::Consumer, "Stable".to_string()),
            (
                "classic".to_string(),
                GroupType::Classic,
                "PreparingRebalance".to_string()
            ),
        ]
    );
    // An empty classic group (here: offsets only) becomes a consumer group on first join.
    let entry = OffsetCommitEntry {
        topic: "orders".into(),
        partition: 0,
        offset: 5,
        leader_epoch: -1,
        metadata: None,
    };
    c.commit_offsets("simple", "", None, -1, &[entry], 0)
        .expect("commit");
    join.group_id = "simple".into();
    let (result, records) = send(&mut c, join, 0);
    assert!(result.is_ok());
    assert_eq!(
        records[0],
        CoordinatorRecord::GroupMetadata {
            group_id: "simple".into(),
            value: None
        }
    );
    assert!(c.group("simple").is_none());
    assert_eq!(c.fetch_offsets("simple", None)[0].offset, 5, "offsets stay");
}

#[test]
fn offsets_of_consumer_groups_check_the_member_epoch() {
    let mut c = coordinator();
    ok(&mut c, join_req("a", &["orders"]), 0);
    let entry = |topic: &str| OffsetCommitEntry {
        topic: topic.into(),
        partition: 0,
        offset: 9,
        leader_epoch: -1,
        metadata: None,
    };
    assert!(c
        .commit_offsets(G, "a", None, 1, &[entry("orders")], 0)
        .is_ok());
    assert_eq!(
        c.commit_offsets(G, "a", None, 0, &[entry("orders")], 0)
            .err(),
        Some(GroupError::StaleMemberEpoch)
    );
    assert_eq!(
        c.commit_offsets(G, "zz", None, 1, &[entry("orders")], 0)
            .err(),
        Some(GroupError::UnknownMemberId)
    );
    assert_eq!(
        c.commit_offsets(G, "", None, -1, &[entry("orders")], 0)
            .err(),
        Some(GroupError::UnknownMemberId),
        "admin commits need an empty group"
    );
    c.commit_offsets(G, "a", None, 1, &[entry("audit")], 0)
        .expect("commit");
    let (results, _) = c
        .delete_offsets(G, &[("orders".into(), 0), ("audit".into(), 0)])
        .expect("delete");
    let codes: Vec<i16> = results
        .iter()
        .map(|r| r.error.as_ref().map_or(0, GroupError::error_code))
        .collect();
    assert_eq!(codes, vec![86, 0], "only the subscribed topic is protected");
}

#[test]
fn delete_and_expiry_of_consumer_groups() {
    let mut c = coordinator();
    ok(&mut c, join_req("a", &["orders"]), 0);
    let entry = |topic: &str| OffsetCommitEntry {
        topic: topic.into(),
        partition: 0,
        offset: 9,
        leader_epoch: -1,
        metadata: None,
    };
    c.commit_offsets(G, "a", None, 1, &[entry("orders"), entry("audit")], 0)
        .expect("commit");
    // Offsets of unsubscribed topics expire by commit time even while members exist.
    let expired = c.expire_offsets(100, 100);
    assert_eq!(expired.len(), 1);
    assert_eq!(c.fetch_offsets(G, None).len(), 1);
    let (results, records) = c.delete_groups(&[G.to_string()], 100);
    assert_eq!(results[0].1, Err(GroupError::NonEmptyGroup));
    assert!(records.is_empty());
    ok(&mut c, hb_req("a", -1, None), 200);
    let (results, records) = c.delete_groups(&[G.to_string()], 300);
    assert_eq!(results[0].1, Ok(()));
    assert!(c.consumer_group(G).is_none());
    assert!(c.fetch_offsets(G, None).is_empty());
    assert!(matches!(
        records.last(),
        Some(CoordinatorRecord::ConsumerGroup(
            ConsumerGroupRecord::GroupMetadata { epoch: None, .. }
        ))
    ));
}

#[test]
fn records_round_trip_through_their_bytes() {
    let mut c = coordinator();
    let mut log = Vec::new();
    let mut join = join_req("a", &["orders", "audit"]);
    join.instance_id = Some("i".into());
    join.rack_id = Some("r1".into());
    log.extend(send(&mut c, join, 0).1);
    log.extend(send(&mut c, join_req("b", &["orders"]), 0).1);
    assert!(log.iter().any(|r| matches!(
        r,
        CoordinatorRecord::ConsumerGroup(ConsumerGroupRecord::PartitionMetadata {
            topics: Some(t),
            ..
        }) if t.contains(&TopicMetadata { topic_id: AUDIT, topic_name: "audit".into(), num_partitions: 2 })
    )));
    for record in &log {
        let value = record.value_bytes();
        let decoded = CoordinatorRecord::decode(&record.key_bytes(), value.as_deref());
        assert_eq!(decoded.as_ref(), Ok(record));
    }
}

#[test]
fn replay_rebuilds_members_mid_revocation_and_a_static_member_away() {
    let mut c = coordinator();
    let mut log = Vec::new();
    let mut join_s = join_req("s", &["orders"]);
    join_s.instance_id = Some("i".into());
    log.extend(send(&mut c, join_s, 0).1);
    log.extend(send(&mut c, join_req("b", &["orders", "audit"]), 0).1);
    let all = parts(&[(ORDERS, &[0, 1, 2, 3])]);
    let mut hb = hb_req("s", 1, Some(&all));
    hb.instance_id = Some("i".into());
    log.extend(send(&mut c, hb, 10).1);
    assert_eq!(
        c.consumer_group(G).expect("group").members["s"].state,
        MemberState::UnrevokedPartitions
    );
    let mut replayed = coordinator();
    for record in &log {
        replayed.replay(record, 1_000);
    }
    let original = c.consumer_group(G).expect("group");
    let rebuilt = replayed.consumer_group(G).expect("rebuilt");
    assert_eq!(rebuilt.group_epoch, original.group_epoch);
    assert_eq!(rebuilt.assignment_epoch, original.assignment_epoch);
    assert_eq!(rebuilt.target_assignment, original.target_assignment);
    assert_eq!(
        rebuilt.subscription_metadata,
        original.subscription_metadata
    );
    assert_eq!(rebuilt.static_members, original.static_members);
    for (id, member) in &original.members {
        let back = &rebuilt.members[id];
        assert_eq!(back.assignment_value(), member.assignment_value(), "{id}");
        assert_eq!(back.metadata_value(), member.metadata_value(), "{id}");
        assert_eq!(back.last_heartbeat_ms, 1_000, "sessions restart at load");
    }
    // The static member steps away; replaying that keeps its partitions under epoch -2.
    let mut leave = hb_req("s", -2, None);
    leave.instance_id = Some("i".into());
    let (_, records) = send(&mut c, leave, 20);
    for record in &records {
        replayed.replay(record, 1_000);
    }
    let away = &replayed.consumer_group(G).expect("rebuilt").members["s"];
    assert_eq!(away.member_epoch, -2);
    assert!(away.partitions_pending_revocation.is_empty());
    assert_eq!(
        replayed.describe_consumer_groups(&[G.to_string()]),
        c.describe_consumer_groups(&[G.to_string()])
    );
    // Deleting after everyone left removes the group from a replayed coordinator too.
    let (_, r1) = send(&mut c, hb_req("b", 2, None), 30);
    let mut leave = hb_req("s", -1, None);
    leave.instance_id = Some("i".into());
    let (_, r2) = send(&mut c, leave, 30);
    let (_, r3) = send(&mut c, hb_req("b", -1, None), 30);
    let (_, r4) = c.delete_groups(&[G.to_string()], 40);
    for record in r1.iter().chain(&r2).chain(&r3).chain(&r4) {
        replayed.replay(record, 1_000);
    }
    assert!(replayed.consumer_group(G).is_none());
}
