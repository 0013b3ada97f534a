//! OffsetCommit v2-4's `retention_time_ms`: an explicit per-commit expiry, as Kafka 4.x keeps
//! it (an offset value v1 with `expire_timestamp`), against the default (-1), which leaves the
//! offset to `offsets.retention.minutes`.

use fjord_coordinator::{
    CoordinatorRecord, GroupConfig, GroupCoordinator, OffsetCommitEntry,
    DEFAULT_OFFSETS_RETENTION_MS,
};

const GROUP: &str = "retained";

fn entry(partition: i32) -> OffsetCommitEntry {
    OffsetCommitEntry {
        topic: "t".into(),
        partition,
        offset: 7,
        leader_epoch: -1,
        metadata: None,
    }
}

fn expire_timestamp(records: &[CoordinatorRecord]) -> Option<i64> {
    match records {
        [CoordinatorRecord::OffsetCommit {
            value: Some(value), ..
        }] => value.expire_timestamp_ms,
        other => panic!("expected one offset record, got {other:?}"),
    }
}

#[test]
fn retention_time_ms_sets_an_explicit_expiry_written_as_value_v1() {
    let mut c = GroupCoordinator::new(GroupConfig::default());
    // p0: a 5 s retention committed at t=1000; p1: the default.
    let (_, records) = c
        .commit_offsets_with_retention(GROUP, "", None, -1, &[entry(0)], 5_000, 1_000)
        .expect("commit");
    assert_eq!(expire_timestamp(&records), Some(6_000));
    let value = records[0].value_bytes().expect("a value");
    assert_eq!(&value[..2], &1i16.to_be_bytes(), "offset value v1");
    let decoded = CoordinatorRecord::decode(&records[0].key_bytes(), Some(&value)).unwrap();
    assert_eq!(
        decoded, records[0],
        "v1 reads back with its expire timestamp"
    );
    let (_, records) = c
        .commit_offsets_with_retention(GROUP, "", None, -1, &[entry(1)], -1, 1_000)
        .expect("commit");
    assert_eq!(expire_timestamp(&records), None);
    let value = records[0].value_bytes().expect("a value");
    assert_ne!(&value[..2], &1i16.to_be_bytes(), "no expiry: not v1");

    // At the expire timestamp p0 goes, well before the broker's retention; p1 stays.
    assert!(c
        .expire_offsets(5_999, DEFAULT_OFFSETS_RETENTION_MS)
        .is_empty());
    let expired = c.expire_offsets(6_000, DEFAULT_OFFSETS_RETENTION_MS);
    assert_eq!(
        expired,
        vec![CoordinatorRecord::OffsetCommit {
            group_id: GROUP.into(),
            topic: "t".into(),
            partition: 0,
            value: None,
        }]
    );
    let left = c.fetch_offsets(GROUP, Some(&[("t".into(), 0), ("t".into(), 1)]));
    assert_eq!(left[0].offset, -1);
    assert_eq!(left[1].offset, 7);
}

#[test]
fn the_expiry_survives_replay() {
    let mut c = GroupCoordinator::new(GroupConfig::default());
    let (_, records) = c
        .commit_offsets_with_retention(GROUP, "", None, -1, &[entry(0)], 5_000, 1_000)
        .expect("commit");
    let mut replayed = GroupCoordinator::new(GroupConfig::default());
    for record in &records {
        let decoded =
            CoordinatorRecord::decode(&record.key_bytes(), record.value_bytes().as_deref())
                .unwrap();
        replayed.replay(&decoded, 1_000);
    }
    assert!(replayed
        .expire_offsets(5_999, DEFAULT_OFFSETS_RETENTION_MS)
        .is_empty());
    // Expired at its replayed expire timestamp (and the group, left with nothing, goes too).
    let expired = replayed.expire_offsets(6_000, DEFAULT_OFFSETS_RETENTION_MS);
    assert_eq!(
        expired.first(),
        Some(&CoordinatorRecord::OffsetCommit {
            group_id: GROUP.into(),
            topic: "t".into(),
            partition: 0,
            value: None,
        }),
        "{expired:?}"
    );
    assert!(replayed
        .fetch_offsets(GROUP, Some(&[("t".into(), 0)]))
        .iter()
        .all(|o| o.offset == -1));
}
