//! The partition side of transactions in storage: ongoing transactions hold the first
//! unstable offset, markers close them, aborts go to the `.txnindex` files, and all of it is
//! rebuilt after an unclean stop (torn tail, snapshots), truncated with the log and deleted
//! with its segments by retention.

use std::fs::{self, OpenOptions};
use std::path::Path;

use fjord_storage::testing::{batch, transactional_batch, ProducerFields};
use fjord_storage::{
    AbortedTxn, ControlRecordType, LogConfig, LogError, PartitionLog, TopicPartition, TxnMarker,
};

const T0: i64 = 1_700_000_000_000;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1200,
        index_interval_bytes: 100,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("t", 0), config(), clean).unwrap()
}

fn producer(producer_id: i64, base_sequence: i32) -> ProducerFields {
    ProducerFields {
        producer_id,
        producer_epoch: 0,
        base_sequence,
    }
}

fn commit(epoch: i32) -> TxnMarker {
    TxnMarker {
        control_type: ControlRecordType::Commit,
        coordinator_epoch: epoch,
    }
}

fn abort(epoch: i32) -> TxnMarker {
    TxnMarker {
        control_type: ControlRecordType::Abort,
        coordinator_epoch: epoch,
    }
}

fn txnindex_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txnindex"))
        .collect();
    names.sort();
    names
}

#[test]
fn ongoing_transaction_holds_the_first_unstable_offset_until_its_marker() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    log.append(batch(2, 8, T0, None), 0, None).unwrap();
    assert_eq!(log.first_unstable_offset(), None);
    // Producer 1 opens a transaction at offset 2; producer 2 at offset 5.
    log.append(transactional_batch(3, T0, producer(1, 0)), 0, None)
        .unwrap();
    assert_eq!(log.first_unstable_offset(), Some(2));
    log.append(transactional_batch(1, T0, producer(2, 0)), 0, None)
        .unwrap();
    log.append(transactional_batch(2, T0, producer(1, 3)), 0, None)
        .unwrap();
    assert_eq!(log.first_unstable_offset(), Some(2));
    // A plain idempotent batch from producer 1 while its transaction is open is refused.
    let err = log
        .append(batch(1, 8, T0, Some(producer(1, 5))), 0, None)
        .unwrap_err();
    assert_eq!(err.error_code(), 48);
    let info = log.append_control_marker(1, 0, commit(0), 0).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (8, 8));
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(
        log.first_unstable_offset(),
        Some(5),
        "producer 2 still open"
    );
    assert!(
        log.aborted_transactions(0, 100).is_empty(),
        "a commit is not indexed"
    );
    log.append_control_marker(2, 0, abort(0), 0).unwrap();
    assert_eq!(log.first_unstable_offset(), None);
    assert_eq!(
        log.aborted_transactions(0, 100),
        vec![AbortedTxn {
            producer_id: 2,
            first_offset: 5,
            last_offset: 9,
            last_stable_offset: 10,
        }]
    );
    assert!(log.aborted_transactions(10, 100).is_empty());
    assert!(log.aborted_transactions(0, 5).is_empty());
    assert_eq!(log.producer_entry(2).unwrap().coordinator_epoch, 0);
    // The marker is a stored control batch that reads back as such.
    let read = log.read(9, 1 << 20, i64::MAX).unwrap();
    let header = fjord_protocol::batch::validate(&read.records).unwrap();
    assert!(header.is_control() && header.is_transactional());
    assert_eq!(
        TxnMarker::from_batch(&header, &read.records),
        Some(abort(0))
    );
}

#[test]
fn stale_markers_are_fenced_and_repeated_markers_are_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    log.append(
        transactional_batch(
            1,
            T0,
            ProducerFields {
                producer_id: 7,
                producer_epoch: 3,
                base_sequence: 0,
            },
        ),
        0,
        None,
    )
    .unwrap();
    let err = log.append_control_marker(7, 2, commit(5), 0).unwrap_err();
    assert!(matches!(err, LogError::InvalidProducerEpoch { .. }));
    assert_eq!(err.error_code(), 47);
    log.append_control_marker(7, 3, abort(5), 0).unwrap();
    let err = log.append_control_marker(7, 3, abort(4), 0).unwrap_err();
    assert_eq!(err.error_code(), 52, "older coordinator epoch is fenced");
    // The coordinator restarted and resends the same marker: written, closes nothing.
    let before = log.aborted_transactions(0, 100);
    log.append_control_marker(7, 3, abort(5), 0).unwrap();
    assert_eq!(log.aborted_transactions(0, 100), before);
    assert_eq!(log.first_unstable_offset(), None);
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn recovery_after_a_kill_rebuilds_ongoing_transactions_and_the_index() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), true);
        let mut seq = 0;
        // Enough transactions to roll segments (snapshots at each roll).
        for round in 0..12 {
            log.append(transactional_batch(2, T0, producer(1, seq)), 0, None)
                .unwrap();
            seq += 2;
            let marker = if round % 2 == 0 { abort(0) } else { commit(0) };
            log.append_control_marker(1, 0, marker, 0).unwrap();
        }
        log.append(transactional_batch(2, T0, producer(1, seq)), 0, None)
            .unwrap();
        assert!(log.segment_count() > 2);
        assert_eq!(log.first_unstable_offset(), Some(36));
        assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 6);
        // Killed: no close, no final snapshot.
    }
    let expected: Vec<AbortedTxn> = (0..6)
        .map(|i| AbortedTxn {
            producer_id: 1,
            first_offset: i * 6,
            last_offset: i * 6 + 2,
            last_stable_offset: i * 6 + 3,
        })
        .collect();
    // Lose the index files: replay from the snapshots must restore the entries it covers,
    // and the ongoing transaction.
    let log = open(dir.path(), false);
    assert_eq!(log.first_unstable_offset(), Some(36));
    assert_eq!(log.aborted_transactions(0, i64::MAX), expected);
    drop(log);
    for name in txnindex_files(dir.path()) {
        fs::remove_file(dir.path().join(name)).unwrap();
    }
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snapshot") {
            fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), false);
    assert_eq!(log.aborted_transactions(0, i64::MAX), expected);
    assert_eq!(log.first_unstable_offset(), Some(36));
    // A clean close writes a snapshot holding the ongoing transaction.
    log.close().unwrap();
    let log = open(dir.path(), true);
    assert_eq!(log.first_unstable_offset(), Some(36));
    log.append_control_marker(1, 0, commit(0), 0).unwrap();
    assert_eq!(log.first_unstable_offset(), None);
}

#[test]
fn a_torn_abort_marker_is_dropped_from_the_index() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path(), true);
        log.append(transactional_batch(2, T0, producer(1, 0)), 0, None)
            .unwrap();
        log.append_control_marker(1, 0, abort(0), 0).unwrap();
        assert_eq!(log.aborted_transactions(0, 10).len(), 1);
    }
    // Cut the marker in half: the transaction is ongoing again and no longer aborted. (The
    // marker, stamped now, may have rolled a segment after the T0-stamped data: cut the last.)
    let mut logs: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let seg = logs.pop().unwrap();
    let len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 30)
        .unwrap();
    let log = open(dir.path(), false);
    assert_eq!(log.log_end_offset(), 2);
    assert!(log.aborted_transactions(0, 10).is_empty());
    assert_eq!(log.first_unstable_offset(), Some(0));
}

#[test]
fn truncation_and_retention_drop_index_entries_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    let mut seq = 0;
    for _ in 0..10 {
        log.append(transactional_batch(2, T0, producer(1, seq)), 0, None)
            .unwrap();
        seq += 2;
        log.append_control_marker(1, 0, abort(0), 0).unwrap();
    }
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 10);
    assert!(txnindex_files(dir.path()).len() > 1);
    // A follower truncation at offset 26 removes the aborts whose markers were at 26 and 29
    // and reopens the transaction that started at 24.
    log.truncate_to(26).unwrap();
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 8);
    assert_eq!(log.first_unstable_offset(), Some(24));
    log.append_control_marker(1, 0, abort(0), 0).unwrap();
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 9);
    drop(log);
    let log = open(dir.path(), false);
    assert_eq!(log.aborted_transactions(0, i64::MAX).len(), 9);

    // Retention: everything below the new log start offset goes with its index files.
    log.roll().unwrap();
    let bases = log.segment_base_offsets();
    log.advance_log_start_offset(*bases.last().unwrap())
        .unwrap();
    log.run_maintenance(T0).unwrap();
    assert!(log.aborted_transactions(0, i64::MAX).is_empty());
    assert!(
        txnindex_files(dir.path()).is_empty(),
        "{:?}",
        txnindex_files(dir.path())
    );
}
