//! One test per transition: (state, request, now) -> (state, response, records).

mod common;

use bytes::Bytes;
use common::*;
use fjord_coordinator::{
    CoordinatorRecord, GroupConfig, GroupCoordinator, GroupError, GroupState, LeavingMember,
    OffsetCommitEntry, Reply,
};

fn state(c: &GroupCoordinator) -> GroupState {
    c.group(GROUP).expect("group exists").state
}

fn generation(c: &GroupCoordinator) -> i32 {
    c.group(GROUP).expect("group exists").generation_id
}

fn entry(partition: i32, offset: i64, metadata: &str) -> OffsetCommitEntry {
    OffsetCommitEntry {
        topic: "t".into(),
        partition,
        offset,
        leader_epoch: 4,
        metadata: Some(metadata.into()),
    }
}

#[test]
fn empty_first_dynamic_join_v4_gets_member_id_required() {
    let mut c = coordinator();
    let (reply, out) = c.join_group(join_req("", None, &["range"]), 0);
    let Reply::Now(Err(GroupError::MemberIdRequired { member_id })) = reply else {
        panic!("{reply:?}")
    };
    assert!(member_id.starts_with("client-"));
    assert_eq!(state(&c), GroupState::Empty);
    assert!(out.records.is_empty() && out.ready.is_empty());
}

#[test]
fn old_join_versions_join_without_member_id_round_trip() {
    let mut c = coordinator();
    let mut req = join_req("", None, &["range"]);
    req.require_known_member_id = false;
    let (reply, _) = c.join_group(req, 0);
    assert!(matches!(reply, Reply::Parked { .. }));
    assert_eq!(state(&c), GroupState::PreparingRebalance);
}

#[test]
fn empty_to_preparing_waits_initial_delay_then_completing() {
    let mut c = coordinator();
    let (member_id, out) = join_new(&mut c, 0);
    assert!(out.ready.is_empty(), "initial delay holds the join");
    assert_eq!(state(&c), GroupState::PreparingRebalance);
    assert!(c.poll(2_999).ready.is_empty());
    let out = c.poll(3_000);
    let answers = joins(&out);
    assert_eq!(answers.len(), 1);
    let response = answers[0].1.clone().expect("join ok");
    assert_eq!(response.generation_id, 1);
    assert_eq!(response.leader, member_id);
    assert_eq!(response.protocol_name.as_deref(), Some("range"));
    assert_eq!(response.members.len(), 1, "the leader sees the members");
    assert_eq!(response.members[0].metadata, Bytes::from("meta-range"));
    assert_eq!(state(&c), GroupState::CompletingRebalance);
    assert!(out.records.is_empty());
}

#[test]
fn initial_delay_extends_per_new_member_up_to_rebalance_timeout() {
    let mut c = coordinator();
    join_new(&mut c, 0);
    join_new(&mut c, 2_000);
    assert!(
        c.poll(3_000).ready.is_empty(),
        "second member bought more time"
    );
    let out = c.poll(5_000);
    let answers = joins(&out);
    assert_eq!(answers.len(), 2);
    let leaders: Vec<usize> = answers
        .iter()
        .map(|(_, r)| r.as_ref().expect("ok").members.len())
        .collect();
    assert_eq!(leaders.iter().filter(|n| **n == 2).count(), 1, "one leader");
}

#[test]
fn completing_leader_sync_goes_stable_and_answers_parked_followers() {
    let mut c = coordinator();
    let (a, _) = join_new(&mut c, 0);
    let (b, _) = join_new(&mut c, 0);
    let out = c.poll(3_000);
    let leader = joins(&out)[0].1.clone().expect("ok").leader;
    let follower = if leader == a { b.clone() } else { a.clone() };
    let (reply, out) = c.sync_group(sync_req(&follower, 1, &[]), 3_100);
    assert_eq!(
        reply,
        Reply::Parked {
            member_id: follower.clone()
        }
    );
    assert!(out.ready.is_empty());
    // Assignments are opaque and may be large; they must come back byte for byte.
    let big = Bytes::from((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
    let assignments = [
        (follower.as_str(), big.clone()),
        (leader.as_str(), Bytes::new()),
    ];
    let (reply, out) = c.sync_group(sync_req(&leader, 1, &assignments), 3_200);
    assert!(matches!(reply, Reply::Parked { .. }));
    assert_eq!(state(&c), GroupState::Stable);
    let answers = syncs(&out);
    assert_eq!(answers.len(), 2);
    let got = answers
        .iter()
        .find(|(m, _)| *m == follower)
        .expect("follower answered");
    assert_eq!(got.1.clone().expect("ok").assignment, big);
    assert_eq!(out.records.len(), 1);
    let CoordinatorRecord::GroupMetadata {
        value: Some(value), ..
    } = &out.records[0]
    else {
        panic!("expected group metadata")
    };
    assert_eq!(value.generation_id, 1);
    assert_eq!(value.members.len(), 2);
    // A follower syncing again in Stable gets its assignment at once.
    let (reply, _) = c.sync_group(sync_req(&follower, 1, &[]), 3_300);
    assert_eq!(
        reply.clone(),
        match reply {
            Reply::Now(Ok(ref r)) if r.assignment == big => reply.clone(),
            other => panic!("{other:?}"),
        }
    );
}

#[test]
fn sync_checks_generation_member_and_rebalance() {
    let mut c = coordinator();
    let (ids, leader, generation_id, now) = stable_group(&mut c, 2);
    let (reply, _) = c.sync_group(sync_req(&leader, generation_id + 1, &[]), now);
    assert_eq!(reply, Reply::Now(Err(GroupError::IllegalGeneration)));
    let (reply, _) = c.sync_group(sync_req("nobody", generation_id, &[]), now);
    assert_eq!(reply, Reply::Now(Err(GroupError::UnknownMemberId)));
    let mut wrong_protocol = sync_req(&ids[0], generation_id, &[]);
    wrong_protocol.protocol_name = Some("roundrobin".into());
    let (reply, _) = c.sync_group(wrong_protocol, now);
    assert_eq!(
        reply,
        Reply::Now(Err(GroupError::InconsistentGroupProtocol))
    );
    join_new(&mut c, now);
    assert_eq!(state(&c), GroupState::PreparingRebalance);
    let (reply, _) = c.sync_group(sync_req(&leader, generation_id, &[]), now);
    assert_eq!(reply, Reply::Now(Err(GroupError::RebalanceInProgress)));
}

#[test]
fn stable_heartbeats() {
    let mut c = coordinator();
    let (ids, _, generation_id, now) = stable_group(&mut c, 2);
    assert_eq!(
        c.heartbeat(GROUP, &ids[0], None, generation_id, now),
        Ok(())
    );
    assert_eq!(
        c.heartbeat(GROUP, &ids[0], None, generation_id - 1, now),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        c.heartbeat(GROUP, "ghost", None, generation_id, now),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        c.heartbeat("other", &ids[0], None, generation_id, now),
        Err(GroupError::UnknownMemberId)
    );
}

#[test]
fn stable_new_member_triggers_rebalance_completed_when_all_rejoin() {
    let mut c = coordinator();
    let (ids, _, generation_id, now) = stable_group(&mut c, 2);
    let (newcomer, out) = join_new(&mut c, now + 10);
    assert_eq!(state(&c), GroupState::PreparingRebalance);
    assert!(out.ready.is_empty());
    assert_eq!(
        c.heartbeat(GROUP, &ids[0], None, generation_id, now + 20),
        Err(GroupError::RebalanceInProgress)
    );
    let (_, out) = c.join_group(join_req(&ids[0], None, &["range"]), now + 30);
    assert!(out.ready.is_empty());
    let (reply, out) = c.join_group(join_req(&ids[1], None, &["range"]), now + 40);
    assert!(matches!(reply, Reply::Parked { .. }));
    let answers = joins(&out);
    assert_eq!(
        answers.len(),
        3,
        "no initial delay for a group with members"
    );
    assert!(answers.iter().any(|(m, _)| *m == newcomer));
    assert!(answers
        .iter()
        .all(|(_, r)| r.as_ref().is_ok_and(|r| r.generation_id == 2)));
    assert_eq!(state(&c), GroupState::CompletingRebalance);
}

#[test]
fn preparing_rebalance_timeout_drops_members_that_did_not_rejoin() {
    let mut c = coordinator();
    let (ids, _, _, now) = stable_group(&mut c, 2);
    let (_, _) = c.join_group(join_req(&ids[0], None, &["roundrobin", "range"]), now);
    assert_eq!(state(&c), GroupState::PreparingRebalance);
    // ids[1] keeps heartbeating (it gets REBALANCE_IN_PROGRESS) but never rejoins.
    for at in [now + 8_000, now + 16_000, now + 24_000] {
        let heartbeat = c.heartbeat(GROUP, &ids[1], None, 1, at);
        assert_eq!(heartbeat, Err(GroupError::RebalanceInProgress));
        assert!(c.poll(at).ready.is_empty());
    }
    assert!(c.poll(now + 29_999).ready.is_empty());
    let out = c.poll(now + 30_000);
    let answers = joins(&out);
    assert_eq!(answers.len(), 1, "only the parked join is answered");
    assert_eq!(
        c.heartbeat(GROUP, &ids[1], None, 2, now + 30_001),
        Err(GroupError::UnknownMemberId)
    );
    let ok = answers
        .iter()
        .find(|(m, _)| *m == ids[0])
        .expect("answered");
    let ok = ok.1.clone().expect("ok");
    assert_eq!((ok.generation_id, ok.leader.clone()), (2, ids[0].clone()));
    assert_eq!(c.group(GROUP).expect("group").members.len(), 1);
}

#[test]
fn stable_session_expiry_rebalances_and_last_member_gone_empties() {
    let mut c = coordinator();
    let (_, _, generation_id, now) = stable_group(&mut c, 1);
    assert!(c.poll(now + 9_999).records.is_empty());
    let out = c.poll(now + 10_000);
    assert_eq!(state(&c), GroupState::Empty);
    assert_eq!(generation(&c), generation_id + 1);
    let [CoordinatorRecord::GroupMetadata {
        value: Some(value), ..
    }] = &out.records[..]
    else {
        panic!("{:?}", out.records)
    };
    assert!(value.members.is_empty());
    assert_eq!(value.generation_id, generation_id + 1);
}

#[test]
fn leave_group_batch_removes_members_and_empties() {
    let mut c = coordinator();
    let (ids, _, generation_id, now) = stable_group(&mut c, 2);
    let leaving: Vec<LeavingMember> = ids
        .iter()
        .map(|id| LeavingMember {
            member_id: id.clone(),
            group_instance_id: None,
        })
        .chain(std::iter::once(LeavingMember {
            member_id: "ghost".into(),
            group_instance_id: None,
        }))
        .collect();
    let (results, out) = c.leave_group(GROUP, &leaving, now);
    assert_eq!(
        results,
        vec![Ok(()), Ok(()), Err(GroupError::UnknownMemberId)]
    );
    assert_eq!(state(&c), GroupState::Empty);
    assert_eq!(generation(&c), generation_id + 1);
    assert_eq!(out.records.len(), 1);
}

#[test]
fn leave_of_one_member_rebalances_the_rest() {
    let mut c = coordinator();
    let (ids, _, _, now) = stable_group(&mut c, 2);
    let leaving = [LeavingMember {
        member_id: ids[0].clone(),
        group_instance_id: None,
    }];
    let (results, _) = c.leave_group(GROUP, &leaving, now);
    assert_eq!(results, vec![Ok(())]);
    assert_eq!(state(&c), GroupState::PreparingRebalance);
    let (_, out) = c.join_group(join_req(&ids[1], None, &["range"]), now + 1);
    assert_eq!(joins(&out).len(), 1);
    assert_eq!(state(&c), GroupState::CompletingRebalance);
}

#[test]
fn completing_sync_timeout_drops_unsynced_members() {
    let mut c = coordinator();
    let (a, _) = join_new(&mut c, 0);
    let (b, _) = join_new(&mut c, 0);
    let leader = joins(&c.poll(3_000))[0].1.clone().expect("ok").leader;
    let follower = if leader == a { b } else { a };
    // The follower syncs and waits; the leader never sends its assignments.
    let (reply, _) = c.sync_group(sync_req(&follower, 1, &[]), 3_000);
    assert!(matches!(reply, Reply::Parked { .. }));
    let out = c.poll(3_000 + 30_000);
    let group = c.group(GROUP).expect("group");
    assert!(!group.members.contains_key(&leader));
    assert!(group.members.contains_key(&follower));
    assert_eq!(group.state, GroupState::PreparingRebalance);
    assert!(syncs(&out).contains(&(follower.clone(), Err(GroupError::RebalanceInProgress))));
}

#[test]
fn join_refusals() {
    let mut c = GroupCoordinator::new(GroupConfig {
        group_max_size: 1,
        ..GroupConfig::default()
    });
    let (reply, _) = c.join_group(join_req("stranger", None, &["range"]), 0);
    assert_eq!(reply, Reply::Now(Err(GroupError::UnknownMemberId)));
    let mut short = join_req("", None, &["range"]);
    short.session_timeout_ms = 10;
    let (reply, _) = c.join_group(short, 0);
    assert_eq!(
        reply,
        Reply::Now(Err(GroupError::InvalidSessionTimeout {
            session_timeout_ms: 10
        }))
    );
    join_new(&mut c, 0);
    let (reply, _) = c.join_group(join_req("", None, &["range"]), 0);
    assert_eq!(reply, Reply::Now(Err(GroupError::GroupMaxSizeReached)));
    let mut c = coordinator();
    join_new(&mut c, 0);
    let mut other_type = join_req("", None, &["range"]);
    other_type.protocol_type = "connect".into();
    let (reply, _) = c.join_group(other_type, 0);
    assert_eq!(
        reply,
        Reply::Now(Err(GroupError::InconsistentGroupProtocol))
    );
    let (reply, _) = c.join_group(join_req("", None, &["sticky"]), 0);
    assert_eq!(
        reply,
        Reply::Now(Err(GroupError::InconsistentGroupProtocol))
    );
}

#[test]
fn static_member_rejoin_keeps_generation_and_fences_old_id() {
    let mut c = coordinator();
    let (reply, _) = c.join_group(join_req("", Some("i-1"), &["range"]), 0);
    let Reply::Parked { member_id: old } = reply else {
        panic!("{reply:?}")
    };
    c.poll(3_000);
    let (_, out) = c.sync_group(
        sync_req(&old, 1, &[(old.as_str(), Bytes::from("a"))]),
        3_000,
    );
    assert_eq!(syncs(&out).len(), 1);
    let (reply, out) = c.join_group(join_req("", Some("i-1"), &["range"]), 4_000);
    let Reply::Now(Ok(response)) = reply else {
        panic!("{reply:?}")
    };
    assert_ne!(response.member_id, old);
    assert_eq!(
        response.generation_id, 1,
        "no rebalance for a returning static member"
    );
    assert_eq!(state(&c), GroupState::Stable);
    assert_eq!(out.records.len(), 1);
    assert_eq!(
        c.heartbeat(GROUP, &old, Some("i-1"), 1, 4_000),
        Err(GroupError::FencedInstanceId)
    );
    assert_eq!(
        c.heartbeat(GROUP, &response.member_id, Some("i-1"), 1, 4_000),
        Ok(())
    );
    let (reply, _) = c.join_group(join_req(&old, Some("i-1"), &["range"]), 4_000);
    assert_eq!(reply, Reply::Now(Err(GroupError::FencedInstanceId)));
    let leaving = [LeavingMember {
        member_id: String::new(),
        group_instance_id: Some("i-1".into()),
    }];
    let (results, _) = c.leave_group(GROUP, &leaving, 5_000);
    assert_eq!(results, vec![Ok(())]);
    assert_eq!(state(&c), GroupState::Empty);
}

#[test]
fn offset_commit_checks_generation_and_member() {
    let mut c = coordinator();
    let (ids, _, generation_id, now) = stable_group(&mut c, 1);
    let (results, records) = c
        .commit_offsets(
            GROUP,
            &ids[0],
            None,
            generation_id,
            &[entry(0, 42, "meta")],
            now,
        )
        .expect("commit ok");
    assert_eq!(results[0].error, None);
    assert_eq!(records.len(), 1);
    let fetched = c.fetch_offsets(GROUP, Some(&[("t".into(), 0), ("t".into(), 1)]));
    assert_eq!((fetched[0].offset, fetched[0].leader_epoch), (42, 4));
    assert_eq!(fetched[0].metadata, "meta");
    assert_eq!(fetched[1].offset, -1);
    let stale = c.commit_offsets(
        GROUP,
        &ids[0],
        None,
        generation_id - 1,
        &[entry(0, 1, "")],
        now,
    );
    assert_eq!(stale, Err(GroupError::IllegalGeneration));
    let ghost = c.commit_offsets(GROUP, "ghost", None, generation_id, &[entry(0, 1, "")], now);
    assert_eq!(ghost, Err(GroupError::UnknownMemberId));
    // The admin commit (no member, generation -1) is refused while the group has members.
    let admin = c.commit_offsets(GROUP, "", None, -1, &[entry(0, 0, "")], now);
    assert_eq!(admin, Err(GroupError::UnknownMemberId));
    let big = "x".repeat(4_097);
    let (results, records) = c
        .commit_offsets(
            GROUP,
            &ids[0],
            None,
            generation_id,
            &[entry(1, 5, &big)],
            now,
        )
        .expect("group-level ok");
    assert_eq!(
        results[0].error,
        Some(GroupError::OffsetMetadataTooLarge {
            metadata_bytes: 4_097
        })
    );
    assert!(records.is_empty());
}

#[test]
fn offset_commit_during_completing_rebalance_is_refused() {
    let mut c = coordinator();
    let (a, _) = join_new(&mut c, 0);
    c.poll(3_000);
    let result = c.commit_offsets(GROUP, &a, None, 1, &[entry(0, 1, "")], 3_000);
    assert_eq!(result, Err(GroupError::RebalanceInProgress));
}

#[test]
fn admin_commit_on_empty_or_unknown_group_and_delete_tombstones() {
    let mut c = coordinator();
    let (_, records) = c
        .commit_offsets("simple", "", None, -1, &[entry(0, 7, "m")], 1)
        .expect("simple group commit");
    assert_eq!(records.len(), 1);
    assert_eq!(
        c.commit_offsets("nope", "m", None, 3, &[entry(0, 7, "")], 1),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(c.fetch_offsets("simple", None).len(), 1);
    let (results, records) = c
        .delete_offsets("simple", &[("t".into(), 0)])
        .expect("delete");
    assert_eq!(results[0].error, None);
    assert!(matches!(
        &records[..],
        [CoordinatorRecord::OffsetCommit { value: None, .. }]
    ));
    assert_eq!(
        c.fetch_offsets("simple", Some(&[("t".into(), 0)]))[0].offset,
        -1
    );
}

#[test]
fn delete_offsets_refused_while_group_has_members() {
    let mut c = coordinator();
    let (ids, _, generation_id, now) = stable_group(&mut c, 1);
    c.commit_offsets(GROUP, &ids[0], None, generation_id, &[entry(0, 1, "")], now)
        .expect("commit");
    let (results, records) = c
        .delete_offsets(GROUP, &[("t".into(), 0)])
        .expect("group ok");
    assert_eq!(results[0].error, Some(GroupError::GroupSubscribedToTopic));
    assert!(records.is_empty());
}

#[test]
fn completing_heartbeat_is_ok_and_unchanged_rejoin_gets_the_same_generation() {
    let mut c = coordinator();
    let (a, _) = join_new(&mut c, 0);
    let (b, _) = join_new(&mut c, 0);
    c.poll(3_000);
    assert_eq!(state(&c), GroupState::CompletingRebalance);
    assert_eq!(c.heartbeat(GROUP, &a, None, 1, 3_100), Ok(()));
    let (reply, out) = c.join_group(join_req(&b, None, &["range"]), 3_200);
    let Reply::Now(Ok(response)) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(response.generation_id, 1);
    assert!(out.ready.is_empty() && out.records.is_empty());
    assert_eq!(state(&c), GroupState::CompletingRebalance);
    // Changed protocols mean a new rebalance.
    let (reply, _) = c.join_group(join_req(&b, None, &["roundrobin", "range"]), 3_300);
    assert!(matches!(reply, Reply::Parked { .. }));
    assert_eq!(state(&c), GroupState::PreparingRebalance);
}

#[test]
fn dead_is_terminal_and_empty_only_goes_to_preparing_or_dead() {
    use GroupState::*;
    let all = [Empty, PreparingRebalance, CompletingRebalance, Stable, Dead];
    let allowed: Vec<(GroupState, GroupState)> = all
        .iter()
        .flat_map(|from| all.iter().map(move |to| (*from, *to)))
        .filter(|(from, to)| from.can_transition_to(*to))
        .collect();
    assert_eq!(
        allowed,
        vec![
            (Empty, PreparingRebalance),
            (Empty, Dead),
            (PreparingRebalance, Empty),
            (PreparingRebalance, CompletingRebalance),
            (PreparingRebalance, Dead),
            (CompletingRebalance, PreparingRebalance),
            (CompletingRebalance, Stable),
            (CompletingRebalance, Dead),
            (Stable, PreparingRebalance),
            (Stable, Dead),
        ]
    );
}
