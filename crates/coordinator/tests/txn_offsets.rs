//! TxnOffsetCommit: pending offsets per producer, completed by transaction markers, replayed
//! from transactional batches; OffsetFetch's `require_stable`; KIP-447 member checks; DeleteGroups
//! and expiry around open transactions.

mod common;

use common::*;
use fjord_coordinator::{
    CoordinatorRecord, GroupCoordinator, GroupError, OffsetCommitEntry, TxnOffsetCommitRequest,
    DEFAULT_OFFSETS_RETENTION_MS,
};

const PRODUCER: i64 = 4_000;

fn entry(partition: i32, offset: i64) -> OffsetCommitEntry {
    OffsetCommitEntry {
        topic: "t".into(),
        partition,
        offset,
        leader_epoch: -1,
        metadata: Some("txn".into()),
    }
}

fn txn_req(producer_id: i64, entries: Vec<OffsetCommitEntry>) -> TxnOffsetCommitRequest {
    TxnOffsetCommitRequest {
        transactional_id: "tx".into(),
        group_id: GROUP.into(),
        producer_id,
        producer_epoch: 0,
        generation_id: -1,
        member_id: String::new(),
        group_instance_id: None,
        entries,
    }
}

fn stage(
    c: &mut GroupCoordinator,
    producer_id: i64,
    partition: i32,
    offset: i64,
) -> Vec<CoordinatorRecord> {
    let (results, records) = c
        .txn_commit_offsets(&txn_req(producer_id, vec![entry(partition, offset)]), 1_000)
        .expect("staged");
    assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
    records
}

fn visible(c: &GroupCoordinator, partition: i32) -> i64 {
    c.fetch_offsets(GROUP, Some(&[("t".to_string(), partition)]))[0].offset
}

fn stable(c: &GroupCoordinator, partition: i32) -> (i64, Option<GroupError>) {
    let fetched = c.fetch_offsets_stable(GROUP, Some(&[("t".to_string(), partition)]), true);
    (fetched[0].fetched.offset, fetched[0].error.clone())
}

fn plain_commit(c: &mut GroupCoordinator, partition: i32, offset: i64) -> Vec<CoordinatorRecord> {
    c.commit_offsets(GROUP, "", None, -1, &[entry(partition, offset)], 2_000)
        .expect("plain commit")
        .1
}

#[test]
fn pending_offsets_are_invisible_until_the_commit_marker() {
    let mut c = coordinator();
    plain_commit(&mut c, 0, 5);
    let records = stage(&mut c, PRODUCER, 0, 42);
    assert_eq!(records.len(), 1, "one OffsetCommit record per partition");
    assert_eq!(
        visible(&c, 0),
        5,
        "OffsetFetch without require_stable: last committed"
    );
    assert_eq!(stable(&c, 0), (-1, Some(GroupError::UnstableOffsetCommit)));
    assert_eq!(GroupError::UnstableOffsetCommit.error_code(), 88);
    assert!(c.has_pending_txn_offset(GROUP, "t", 0));
    assert_eq!(c.pending_txn_producers(), vec![PRODUCER]);
    // Another partition of the group is stable.
    assert_eq!(stable(&c, 1), (-1, None));

    assert_eq!(c.complete_transaction(PRODUCER, true, 3_000), 1);
    assert_eq!(visible(&c, 0), 42);
    assert_eq!(stable(&c, 0), (42, None));
    assert!(c.pending_txn_producers().is_empty());
    // A repeated marker finds nothing.
    assert_eq!(c.complete_transaction(PRODUCER, true, 3_000), 0);
}

#[test]
fn abort_drops_pending_offsets_and_other_producers_are_untouched() {
    let mut c = coordinator();
    stage(&mut c, PRODUCER, 0, 42);
    stage(&mut c, PRODUCER + 1, 1, 77);
    assert_eq!(c.complete_transaction(PRODUCER, false, 3_000), 0);
    assert_eq!(visible(&c, 0), -1);
    assert_eq!(stable(&c, 0), (-1, None), "nothing pending after the abort");
    assert_eq!(stable(&c, 1).1, Some(GroupError::UnstableOffsetCommit));
    assert_eq!(c.complete_transaction(PRODUCER + 1, true, 3_000), 1);
    assert_eq!(visible(&c, 1), 77);
}

#[test]
fn a_later_plain_commit_wins_over_an_earlier_transaction() {
    let mut c = coordinator();
    stage(&mut c, PRODUCER, 0, 42);
    stage(&mut c, PRODUCER, 1, 43);
    plain_commit(&mut c, 0, 100);
    c.complete_transaction(PRODUCER, true, 3_000);
    assert_eq!(visible(&c, 0), 100, "the plain commit is later in the log");
    assert_eq!(visible(&c, 1), 43);
}

#[test]
fn replay_sees_transactional_offsets_only_with_a_commit_marker() {
    let mut live = coordinator();
    let committed = stage(&mut live, PRODUCER, 0, 42);
    let aborted = stage(&mut live, PRODUCER + 1, 1, 43);
    let open = stage(&mut live, PRODUCER + 2, 2, 44);

    // The log: three transactional batches, a COMMIT marker for the first producer and an
    // ABORT for the second; the third transaction is still open.
    let mut replayed = coordinator();
    for r in &committed {
        replayed.replay_txn(PRODUCER, r, 0);
    }
    for r in &aborted {
        replayed.replay_txn(PRODUCER + 1, r, 0);
    }
    for r in &open {
        replayed.replay_txn(PRODUCER + 2, r, 0);
    }
    replayed.complete_transaction(PRODUCER, true, 0);
    replayed.complete_transaction(PRODUCER + 1, false, 0);
    assert_eq!(visible(&replayed, 0), 42);
    assert_eq!(visible(&replayed, 1), -1);
    assert_eq!(visible(&replayed, 2), -1);
    assert_eq!(
        stable(&replayed, 2).1,
        Some(GroupError::UnstableOffsetCommit)
    );
    assert!(
        replayed.group(GROUP).is_some(),
        "a group with only txn offsets exists"
    );

    // Without any marker nothing is visible.
    let mut unmarked = coordinator();
    for r in &committed {
        unmarked.replay_txn(PRODUCER, r, 0);
    }
    assert_eq!(visible(&unmarked, 0), -1);
}

#[test]
fn member_checks_follow_kip_447() {
    let mut c = coordinator();
    let (ids, _, generation, now_ms) = stable_group(&mut c, 1);
    let member = ids[0].clone();
    let mut req = txn_req(PRODUCER, vec![entry(0, 1)]);

    // v0-2 (no member fields) are accepted even while the group has members.
    assert!(c.txn_commit_offsets(&req, now_ms).is_ok());

    req.member_id = member.clone();
    req.generation_id = generation;
    assert!(c.txn_commit_offsets(&req, now_ms).is_ok());

    req.generation_id = generation + 1;
    assert_eq!(
        c.txn_commit_offsets(&req, now_ms).unwrap_err(),
        GroupError::IllegalGeneration
    );
    req.generation_id = generation;
    req.member_id = "zombie".into();
    assert_eq!(
        c.txn_commit_offsets(&req, now_ms).unwrap_err(),
        GroupError::UnknownMemberId
    );
    req.member_id = member;
    req.group_instance_id = Some("instance-of-nobody".into());
    assert_eq!(
        c.txn_commit_offsets(&req, now_ms).unwrap_err(),
        GroupError::FencedInstanceId
    );

    // An unknown group with a generation is refused; without one it becomes a simple group.
    let mut fresh = coordinator();
    let mut unknown = txn_req(PRODUCER, vec![entry(0, 1)]);
    unknown.generation_id = 3;
    unknown.member_id = "m".into();
    assert_eq!(
        fresh.txn_commit_offsets(&unknown, 0).unwrap_err(),
        GroupError::IllegalGeneration
    );
    unknown.group_id = String::new();
    assert_eq!(
        fresh.txn_commit_offsets(&unknown, 0).unwrap_err(),
        GroupError::InvalidGroupId
    );
}

#[test]
fn oversized_metadata_is_refused_per_partition() {
    let mut c = coordinator();
    let mut big = entry(1, 9);
    big.metadata = Some("x".repeat(5_000));
    let (results, records) = c
        .txn_commit_offsets(&txn_req(PRODUCER, vec![entry(0, 8), big]), 0)
        .expect("request accepted");
    assert_eq!(results[0].error, None);
    assert!(matches!(
        results[1].error,
        Some(GroupError::OffsetMetadataTooLarge { .. })
    ));
    assert_eq!(records.len(), 1);
}

#[test]
fn delete_groups_drops_pending_offsets_with_tombstones() {
    let mut c = coordinator();
    plain_commit(&mut c, 0, 5);
    stage(&mut c, PRODUCER, 1, 42);
    let (results, records) = c.delete_groups(&[GROUP.to_string()], 0);
    assert_eq!(results[0].1, Ok(()));
    let tombstoned: Vec<i32> = records
        .iter()
        .filter_map(|r| match r {
            CoordinatorRecord::OffsetCommit {
                partition,
                value: None,
                ..
            } => Some(*partition),
            _ => None,
        })
        .collect();
    assert_eq!(tombstoned, vec![0, 1], "committed and pending partitions");
    assert!(!c.has_pending_txn_offsets(GROUP));
    // The commit marker that follows finds nothing to commit.
    assert_eq!(c.complete_transaction(PRODUCER, true, 0), 0);
    assert_eq!(visible(&c, 1), -1);

    // Replay of a tombstone after the transactional batch drops it too.
    let mut replayed = coordinator();
    for r in stage(&mut coordinator(), PRODUCER, 1, 42) {
        replayed.replay_txn(PRODUCER, &r, 0);
    }
    for r in &records {
        replayed.replay(r, 0);
    }
    replayed.complete_transaction(PRODUCER, true, 0);
    assert_eq!(visible(&replayed, 1), -1);
}

#[test]
fn expiry_keeps_partitions_and_groups_with_open_transactions() {
    let mut c = coordinator();
    plain_commit(&mut c, 0, 5);
    stage(&mut c, PRODUCER, 0, 42);
    let later = 2_000 + DEFAULT_OFFSETS_RETENTION_MS + 1;
    let records = c.expire_offsets(later, DEFAULT_OFFSETS_RETENTION_MS);
    assert!(records.is_empty(), "{records:?}");
    assert!(c.group(GROUP).is_some());
    c.complete_transaction(PRODUCER, true, later);
    assert_eq!(visible(&c, 0), 42);

    // A group with only pending offsets is not deleted either.
    let mut only_pending = coordinator();
    stage(&mut only_pending, PRODUCER, 0, 42);
    assert!(only_pending
        .expire_offsets(later, DEFAULT_OFFSETS_RETENTION_MS)
        .is_empty());
    assert!(only_pending.group(GROUP).is_some());
}

#[test]
fn offset_delete_of_a_pending_partition_writes_a_tombstone_and_drops_it() {
    let mut c = coordinator();
    stage(&mut c, PRODUCER, 3, 42);
    let (results, records) = c
        .delete_offsets(GROUP, &[("t".to_string(), 3)])
        .expect("deleted");
    assert_eq!(results[0].error, None);
    assert_eq!(
        records,
        vec![CoordinatorRecord::OffsetCommit {
            group_id: GROUP.into(),
            topic: "t".into(),
            partition: 3,
            value: None,
        }]
    );
    assert!(!c.has_pending_txn_offset(GROUP, "t", 3));
    assert_eq!(c.complete_transaction(PRODUCER, true, 0), 0);
    assert_eq!(visible(&c, 3), -1);
}
