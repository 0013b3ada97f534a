//! A coordinator rebuilt from the records another one emitted has the same offsets and the
//! group's last generation.

mod common;

use bytes::Bytes;
use common::*;
use fjord_coordinator::{CoordinatorRecord, GroupState, OffsetCommitEntry, Outcome, Reply};

#[test]
fn replayed_coordinator_has_offsets_and_last_generation() {
    let mut c = coordinator();
    let mut records: Vec<CoordinatorRecord> = Vec::new();
    let keep = |out: Outcome, records: &mut Vec<CoordinatorRecord>| records.extend(out.records);
    let (a, out) = join_new(&mut c, 0);
    keep(out, &mut records);
    let (b, out) = join_new(&mut c, 0);
    keep(out, &mut records);
    let out = c.poll(3_000);
    let leader = joins(&out)[0].1.clone().expect("ok").leader;
    keep(out, &mut records);
    let assignments = [
        (a.as_str(), Bytes::from("A")),
        (b.as_str(), Bytes::from("B")),
    ];
    let follower = if leader == a { &b } else { &a };
    let (_, out) = c.sync_group(sync_req(follower, 1, &[]), 3_000);
    keep(out, &mut records);
    let (_, out) = c.sync_group(sync_req(&leader, 1, &assignments), 3_000);
    keep(out, &mut records);
    let entries: Vec<OffsetCommitEntry> = (0..3)
        .map(|partition| OffsetCommitEntry {
            topic: "orders".into(),
            partition,
            offset: 100 + i64::from(partition),
            leader_epoch: 2,
            metadata: Some(format!("m{partition}")),
        })
        .collect();
    let (_, commits) = c
        .commit_offsets(GROUP, &a, None, 1, &entries, 4_000)
        .expect("commit");
    records.extend(commits);
    // A second commit of partition 0 supersedes the first in the log.
    let again = [OffsetCommitEntry {
        offset: 150,
        ..entries[0].clone()
    }];
    let (_, commits) = c
        .commit_offsets(GROUP, &b, None, 1, &again, 4_500)
        .expect("commit");
    records.extend(commits);
    let (_, deletes) = c
        .commit_offsets("other", "", None, -1, &entries[..1], 5_000)
        .expect("simple commit");
    records.extend(deletes);
    let (_, tombstones) = c
        .delete_offsets("other", &[("orders".into(), 0)])
        .expect("delete");
    records.extend(tombstones);

    // Through the bytes, as the broker would read __consumer_offsets back.
    let mut restarted = coordinator();
    for record in &records {
        let key = record.key_bytes();
        let value = record.value_bytes();
        let decoded = CoordinatorRecord::decode(&key, value.as_deref()).expect("decodes");
        assert_eq!(&decoded, record);
        restarted.replay(&decoded, 10_000);
    }

    assert_eq!(
        restarted.fetch_offsets(GROUP, None),
        c.fetch_offsets(GROUP, None)
    );
    assert_eq!(restarted.fetch_offsets(GROUP, None)[0].offset, 150);
    assert_eq!(
        restarted.fetch_offsets("other", Some(&[("orders".into(), 0)]))[0].offset,
        -1
    );
    let group = restarted.group(GROUP).expect("group loaded");
    assert_eq!(group.state, GroupState::Stable);
    assert_eq!(group.generation_id, 1);
    assert_eq!(group.leader.as_deref(), Some(leader.as_str()));
    assert_eq!(group.members[&a].assignment, Bytes::from("A"));
    assert_eq!(group.members[&b].assignment, Bytes::from("B"));
    // Members carry on after the fail-over without rejoining...
    assert_eq!(restarted.heartbeat(GROUP, &a, None, 1, 10_001), Ok(()));
    let (reply, _) = restarted.sync_group(sync_req(&b, 1, &[]), 10_002);
    let Reply::Now(Ok(sync)) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(sync.assignment, Bytes::from("B"));
    // ...and the next rebalance continues the generation sequence, with fresh member ids.
    let (newcomer, _) = join_new(&mut restarted, 10_003);
    assert!(newcomer != a && newcomer != b);
    restarted.join_group(join_req(&a, None, &["range"]), 10_004);
    let (_, out) = restarted.join_group(join_req(&b, None, &["range"]), 10_005);
    let answers = joins(&out);
    assert_eq!(answers.len(), 3);
    assert!(answers
        .iter()
        .all(|(_, r)| r.as_ref().is_ok_and(|r| r.generation_id == 2)));
}

#[test]
fn group_tombstone_removes_the_group_but_not_offsets_with_their_own_records() {
    let mut c = coordinator();
    let entry = OffsetCommitEntry {
        topic: "t".into(),
        partition: 0,
        offset: 9,
        leader_epoch: -1,
        metadata: None,
    };
    let (_, records) = c
        .commit_offsets(GROUP, "", None, -1, &[entry], 1)
        .expect("commit");
    let (_, out) = join_new(&mut c, 2);
    assert!(out.records.is_empty());
    let out = c.poll(3_002);
    assert_eq!(joins(&out).len(), 1);
    let mut restarted = coordinator();
    for record in &records {
        restarted.replay(record, 5);
    }
    let tombstone = CoordinatorRecord::GroupMetadata {
        group_id: GROUP.into(),
        value: None,
    };
    restarted.replay(&tombstone, 6);
    assert!(restarted.group(GROUP).is_none());
    assert_eq!(restarted.fetch_offsets(GROUP, None)[0].offset, 9);
    assert_eq!(restarted.fetch_offsets(GROUP, None)[0].metadata, "");
}

#[test]
fn offsets_only_group_comes_back_empty_after_replay() {
    let mut c = coordinator();
    let entry = OffsetCommitEntry {
        topic: "orders".into(),
        partition: 0,
        offset: 7,
        leader_epoch: -1,
        metadata: None,
    };
    // An admin commit (no member, generation -1): the group has offsets and nothing else.
    let (_, records) = c
        .commit_offsets(
            "admin-only",
            "",
            None,
            -1,
            std::slice::from_ref(&entry),
            1_000,
        )
        .expect("admin commit");
    let listed_before = c.list_groups();
    let mut replayed = coordinator();
    for record in &records {
        replayed.replay(record, 2_000);
    }
    let group = replayed
        .group("admin-only")
        .expect("rebuilt from its offsets");
    assert_eq!(group.state, GroupState::Empty);
    assert_eq!(group.protocol_type, None, "listed with protocol type \"\"");
    assert_eq!(replayed.list_groups(), listed_before);
    assert_eq!(replayed.fetch_offsets("admin-only", None)[0].offset, 7);
}
