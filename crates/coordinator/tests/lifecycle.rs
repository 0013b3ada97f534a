//! Member-id uniqueness across restarts, DeleteGroups and offset expiry: table tests over
//! (state, request, now) -> (result, records).

mod common;

use common::*;
use fjord_coordinator::{
    CoordinatorRecord, GroupConfig, GroupCoordinator, GroupError, GroupMetadataValue, GroupState,
    LeavingMember, OffsetCommitEntry, OffsetCommitValue, Reply, DEFAULT_OFFSETS_RETENTION_MS,
};

fn first_member_id(c: &mut GroupCoordinator) -> String {
    match c.join_group(join_req("", None, &["range"]), 0).0 {
        Reply::Now(Err(GroupError::MemberIdRequired { member_id })) => member_id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    }
}

#[test]
fn member_ids_are_client_id_dash_uuid_and_differ_across_seeds() {
    let mut before_restart = GroupCoordinator::with_member_id_seed(GroupConfig::default(), 1);
    let mut after_restart = GroupCoordinator::with_member_id_seed(GroupConfig::default(), 2);
    let a = first_member_id(&mut before_restart);
    let b = first_member_id(&mut after_restart);
    assert_ne!(
        a, b,
        "a restarted coordinator with fresh seed must not reuse ids"
    );
    let uuid = a.strip_prefix("client-").expect("client id prefix");
    let parsed = uuid::Uuid::parse_str(uuid).expect("a UUID after the client id");
    assert_eq!(parsed.get_version_num(), 4);
    // The same seed replays the same ids (pure machine), and ids within one seed never repeat.
    let mut again = GroupCoordinator::with_member_id_seed(GroupConfig::default(), 1);
    assert_eq!(first_member_id(&mut again), a);
    assert_ne!(first_member_id(&mut again), a);
    // `new` keeps working and still yields the client-id prefix.
    assert!(first_member_id(&mut coordinator()).starts_with("client-"));
}

fn commit(c: &mut GroupCoordinator, group_id: &str, partition: i32, now_ms: i64) {
    let entry = OffsetCommitEntry {
        topic: "t".into(),
        partition,
        offset: 10,
        leader_epoch: -1,
        metadata: None,
    };
    c.commit_offsets(group_id, "", None, -1, &[entry], now_ms)
        .expect("admin commit");
}

fn offset_of(c: &GroupCoordinator, group_id: &str, partition: i32) -> i64 {
    c.fetch_offsets(group_id, Some(&[("t".to_string(), partition)]))[0].offset
}

fn offset_tombstone(group_id: &str, partition: i32) -> CoordinatorRecord {
    CoordinatorRecord::OffsetCommit {
        group_id: group_id.into(),
        topic: "t".into(),
        partition,
        value: None,
    }
}

fn group_tombstone(group_id: &str) -> CoordinatorRecord {
    CoordinatorRecord::GroupMetadata {
        group_id: group_id.into(),
        value: None,
    }
}

/// A group that had one consumer member, committed offsets at 3_000 and emptied at `left_ms`.
fn emptied_group(c: &mut GroupCoordinator, left_ms: i64) {
    let (ids, _, generation, now_ms) = stable_group(c, 1);
    let entry = OffsetCommitEntry {
        topic: "t".into(),
        partition: 0,
        offset: 7,
        leader_epoch: -1,
        metadata: None,
    };
    c.commit_offsets(GROUP, &ids[0], None, generation, &[entry], now_ms)
        .expect("member commit");
    let leaving = [LeavingMember {
        member_id: ids[0].clone(),
        group_instance_id: None,
    }];
    let (results, _) = c.leave_group(GROUP, &leaving, left_ms);
    assert_eq!(results, vec![Ok(())]);
    assert_eq!(c.group(GROUP).map(|g| g.state), Some(GroupState::Empty));
}

#[test]
fn delete_groups_table() {
    let mut c = coordinator();
    stable_group(&mut c, 2);
    commit(&mut c, "simple", 0, 0);
    commit(&mut c, "simple", 1, 0);
    let asked: Vec<String> = ["", "missing", GROUP, "simple", "simple"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (results, records) = c.delete_groups(&asked, 10);
    let codes: Vec<(String, i16)> = results
        .iter()
        .map(|(g, r)| (g.clone(), r.as_ref().map_or_else(|e| e.error_code(), |_| 0)))
        .collect();
    let expected: Vec<(String, i16)> = [
        ("", 24),
        ("missing", 69),
        (GROUP, 68),
        ("simple", 0),
        // Already deleted by the previous entry of the same request.
        ("simple", 69),
    ]
    .iter()
    .map(|(g, code)| (g.to_string(), *code))
    .collect();
    assert_eq!(codes, expected);
    assert_eq!(
        records,
        vec![
            offset_tombstone("simple", 0),
            offset_tombstone("simple", 1),
            group_tombstone("simple"),
        ]
    );
    assert!(c.group("simple").is_none());
    assert_eq!(offset_of(&c, "simple", 0), -1);
    assert_eq!(
        c.group(GROUP).map(|g| g.state),
        Some(GroupState::Stable),
        "a refused delete leaves the group alone"
    );
}

#[test]
fn delete_of_an_emptied_consumer_group_and_replay_of_its_tombstones() {
    let mut c = coordinator();
    let mut log: Vec<CoordinatorRecord> = Vec::new();
    let (ids, _, generation, now_ms) = stable_group(&mut c, 1);
    let entry = OffsetCommitEntry {
        topic: "t".into(),
        partition: 3,
        offset: 7,
        leader_epoch: -1,
        metadata: None,
    };
    let (_, commits) = c
        .commit_offsets(GROUP, &ids[0], None, generation, &[entry], now_ms)
        .expect("commit");
    log.extend(commits);
    let leaving = [LeavingMember {
        member_id: ids[0].clone(),
        group_instance_id: None,
    }];
    let (_, out) = c.leave_group(GROUP, &leaving, 4_000);
    log.extend(out.records);
    let mut replayed = coordinator();
    for record in &log {
        replayed.replay(record, 5_000);
    }
    assert_eq!(offset_of(&replayed, GROUP, 3), 7);
    let (results, tombstones) = c.delete_groups(&[GROUP.to_string()], 5_000);
    assert_eq!(results, vec![(GROUP.to_string(), Ok(()))]);
    assert_eq!(
        tombstones,
        vec![offset_tombstone(GROUP, 3), group_tombstone(GROUP)]
    );
    for record in &tombstones {
        // Through the bytes, as the broker reads them back.
        let value = record.value_bytes();
        let decoded =
            CoordinatorRecord::decode(&record.key_bytes(), value.as_deref()).expect("decodes");
        replayed.replay(&decoded, 6_000);
    }
    assert!(replayed.group(GROUP).is_none());
    assert_eq!(offset_of(&replayed, GROUP, 3), -1);
    assert!(replayed.fetch_offsets(GROUP, None).is_empty());
}

#[test]
fn standalone_offsets_expire_retention_after_their_commit() {
    let mut c = coordinator();
    commit(&mut c, "simple", 0, 0);
    commit(&mut c, "simple", 1, 5_000);
    assert!(c.expire_offsets(9_999, 10_000).is_empty());
    assert_eq!(
        c.expire_offsets(10_000, 10_000),
        vec![offset_tombstone("simple", 0)]
    );
    assert_eq!(offset_of(&c, "simple", 0), -1);
    assert_eq!(offset_of(&c, "simple", 1), 10);
    assert_eq!(
        c.expire_offsets(15_000, 10_000),
        vec![offset_tombstone("simple", 1), group_tombstone("simple")],
        "the last offset gone, the empty group goes too"
    );
    assert!(c.group("simple").is_none());
    assert!(c.expire_offsets(99_000, 10_000).is_empty());
}

#[test]
fn consumer_group_offsets_expire_only_after_the_group_is_empty_for_retention() {
    let mut c = coordinator();
    let (ids, _, generation, now_ms) = stable_group(&mut c, 1);
    let entry = OffsetCommitEntry {
        topic: "t".into(),
        partition: 0,
        offset: 7,
        leader_epoch: -1,
        metadata: None,
    };
    c.commit_offsets(GROUP, &ids[0], None, generation, &[entry], now_ms)
        .expect("commit");
    // Stable with a member: the offset is kept however old it is.
    assert!(c.expire_offsets(now_ms + 1_000_000, 10_000).is_empty());
    let leaving = [LeavingMember {
        member_id: ids[0].clone(),
        group_instance_id: None,
    }];
    c.leave_group(GROUP, &leaving, 2_000_000);
    // Retention counts from the moment the group emptied, not from the commit.
    assert!(c.expire_offsets(2_009_999, 10_000).is_empty());
    assert_eq!(
        c.expire_offsets(2_010_000, 10_000),
        vec![offset_tombstone(GROUP, 0), group_tombstone(GROUP)]
    );
    assert!(c.group(GROUP).is_none());
}

#[test]
fn emptied_group_survives_replay_with_its_state_timestamp() {
    let mut c = coordinator();
    emptied_group(&mut c, 50_000);
    // Rebuild from what a log would hold: the offset and the Empty group metadata.
    let mut replayed = coordinator();
    let group = c.group(GROUP).expect("group").clone();
    replayed.replay(
        &CoordinatorRecord::GroupMetadata {
            group_id: GROUP.into(),
            value: Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation_id: group.generation_id,
                protocol_name: None,
                leader: None,
                current_state_timestamp_ms: group.state_timestamp_ms,
                members: Vec::new(),
            }),
        },
        900_000,
    );
    for fetched in c.fetch_offsets(GROUP, None) {
        replayed.replay(
            &CoordinatorRecord::OffsetCommit {
                group_id: GROUP.into(),
                topic: fetched.topic,
                partition: fetched.partition,
                value: Some(OffsetCommitValue {
                    offset: fetched.offset,
                    leader_epoch: fetched.leader_epoch,
                    metadata: fetched.metadata,
                    commit_timestamp_ms: 3_000,
                    expire_timestamp_ms: None,
                }),
            },
            900_000,
        );
    }
    // Loaded at 900_000, but emptied at 50_000: that is what retention counts from.
    assert!(replayed.expire_offsets(59_999, 10_000).is_empty());
    assert_eq!(replayed.expire_offsets(60_000, 10_000).len(), 2);
}

#[test]
fn unknown_state_timestamp_falls_back_to_commit_time_and_explicit_expiry_wins() {
    let mut c = coordinator();
    c.replay(
        &CoordinatorRecord::GroupMetadata {
            group_id: GROUP.into(),
            value: Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation_id: 4,
                protocol_name: None,
                leader: None,
                current_state_timestamp_ms: -1,
                members: Vec::new(),
            }),
        },
        0,
    );
    let value = |commit_timestamp_ms, expire_timestamp_ms| OffsetCommitValue {
        offset: 1,
        leader_epoch: -1,
        metadata: String::new(),
        commit_timestamp_ms,
        expire_timestamp_ms,
    };
    for (partition, v) in [(0, value(1_000, None)), (1, value(0, Some(500)))] {
        c.replay(
            &CoordinatorRecord::OffsetCommit {
                group_id: GROUP.into(),
                topic: "t".into(),
                partition,
                value: Some(v),
            },
            0,
        );
    }
    // The v1 expiry (500) wins over retention, however long.
    assert_eq!(
        c.expire_offsets(500, 10_000),
        vec![offset_tombstone(GROUP, 1)]
    );
    assert!(c.expire_offsets(10_999, 10_000).is_empty());
    assert_eq!(
        c.expire_offsets(11_000, 10_000),
        vec![offset_tombstone(GROUP, 0), group_tombstone(GROUP)]
    );
}

#[test]
fn a_pending_kip394_member_keeps_a_fresh_empty_group() {
    let mut c = coordinator();
    let member_id = first_member_id(&mut c);
    assert!(c.expire_offsets(1_000, 0).is_empty());
    let (reply, _) = c.join_group(join_req(&member_id, None, &["range"]), 1_000);
    assert!(matches!(reply, Reply::Parked { .. }));
}

#[test]
fn default_retention_is_seven_days() {
    assert_eq!(DEFAULT_OFFSETS_RETENTION_MS, 604_800_000);
}
