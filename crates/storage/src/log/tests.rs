//! Unit tests of `PartitionLog` (append, read, roll, retention, truncation, timestamps,
//! producer state, leader epochs, reopen).

use bytes::Bytes;
use fjord_protocol::batch::{validate, BatchFrames, BatchHeader};

use super::*;
use crate::testing::{batch, batch_with_timestamps, ProducerFields};

const T0: i64 = 1_700_000_000_000;

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 100,
        segment_index_bytes: 4096,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, config: LogConfig, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("t", 0), config, clean).unwrap()
}

fn headers(bytes: &[u8]) -> Vec<BatchHeader> {
    BatchFrames::new(bytes)
        .map(|r| validate(&bytes[r.unwrap()]).unwrap())
        .collect()
}

fn append(log: &PartitionLog, count: usize, ts: i64) -> AppendInfo {
    match log.append(batch(count, 20, ts, None), 0, None).unwrap() {
        AppendOutcome::Appended(info) => info,
        other => panic!("{other:?}"),
    }
}

#[test]
fn append_assigns_offsets_and_reads_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default(), true);
    let a = append(&log, 3, T0);
    let b = append(&log, 2, T0 + 10);
    assert_eq!((a.first_offset, a.last_offset, a.record_count), (0, 2, 3));
    assert_eq!((b.first_offset, b.last_offset), (3, 4));
    assert_eq!(b.max_timestamp, T0 + 11);
    assert_eq!(
        log.log_end_offset(),
        5,
        "after the last record, not the last batch"
    );

    // Mid-batch read returns the whole batch containing the offset.
    let r = log.read(1, 1 << 20, i64::MAX).unwrap();
    let hs = headers(&r.records);
    assert_eq!(
        hs.iter().map(|h| h.base_offset).collect::<Vec<_>>(),
        vec![0, 3]
    );
    assert_eq!(r.log_end_offset, 5);
    // A tiny limit still returns one whole batch.
    let r = log.read(3, 1, i64::MAX).unwrap();
    assert_eq!(headers(&r.records).len(), 1);
    assert_eq!(headers(&r.records)[0].base_offset, 3);
    // max_offset (high watermark) excludes batches at or after it.
    let r = log.read(0, 1 << 20, 3).unwrap();
    assert_eq!(headers(&r.records).len(), 1);
    assert!(log.read(3, 1 << 20, 3).unwrap().records.is_empty());
    // At the end: empty; past it: out of range.
    assert!(log.read(5, 100, i64::MAX).unwrap().records.is_empty());
    let err = log.read(6, 100, i64::MAX).unwrap_err();
    assert_eq!(err.error_code(), 1);
    // The stored bytes differ from the produced ones only in offset and epoch.
    let produced = batch(2, 20, T0 + 10, None);
    let stored = log.read(3, 1 << 20, i64::MAX).unwrap().records;
    assert_eq!(&stored[21..], &produced[21..]);
}

#[test]
fn corrupt_batches_are_refused_with_kafka_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default(), true);
    let mut bad = batch(2, 10, T0, None).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = log.append(Bytes::from(bad), 0, None).unwrap_err();
    assert_eq!(err.error_code(), 2, "CORRUPT_MESSAGE");
    let mut magic = batch(1, 10, T0, None).to_vec();
    magic[16] = 1;
    assert_eq!(
        log.append(Bytes::from(magic), 0, None)
            .unwrap_err()
            .error_code(),
        2
    );
    // All or nothing: a good batch followed by a torn one writes nothing.
    let mut two = batch(1, 10, T0, None).to_vec();
    two.extend_from_slice(&batch(1, 10, T0, None)[..30]);
    assert!(log.append(Bytes::from(two), 0, None).is_err());
    assert_eq!(log.log_end_offset(), 0);
    assert!(log.append(Bytes::new(), 0, None).is_err());
}

#[test]
fn rolls_by_size_and_by_time_and_reads_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config(), true);
    for i in 0..40 {
        append(&log, 2, T0 + i);
    }
    assert!(log.segment_count() > 3, "segments: {}", log.segment_count());
    let bases = log.segment_base_offsets();
    assert_eq!(bases[0], 0);
    for offset in 0..80 {
        let r = log.read(offset, 10, i64::MAX).unwrap();
        let h = headers(&r.records);
        assert!(
            h[0].base_offset <= offset && offset <= h[0].last_offset(),
            "offset {offset}"
        );
    }
    for w in dir.path().read_dir().unwrap() {
        let name = w.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".log") {
            assert_eq!(name.len(), 24, "20-digit names: {name}");
        }
    }

    // segment.ms: the batch timestamps span more than segment.ms from the first batch.
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            segment_ms: 1000,
            ..LogConfig::default()
        },
        true,
    );
    append(&log, 1, T0);
    append(&log, 1, T0 + 500);
    assert_eq!(log.segment_count(), 1);
    append(&log, 1, T0 + 1500);
    assert_eq!(log.segment_base_offsets(), vec![0, 2]);
}

#[test]
fn index_bytes_are_preallocated_while_active_and_trimmed_on_roll() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config(), true);
    let index = dir.path().join("00000000000000000000.index");
    assert_eq!(std::fs::metadata(&index).unwrap().len(), 4096);
    for i in 0..10 {
        append(&log, 2, T0 + i);
    }
    let size = std::fs::metadata(&index).unwrap().len();
    assert!(
        size < 4096 && size.is_multiple_of(8),
        "trimmed to entries: {size}"
    );
    assert!(
        std::fs::metadata(dir.path().join("00000000000000000000.timeindex"))
            .unwrap()
            .len()
            .is_multiple_of(12)
    );
}

#[test]
fn reopen_clean_and_unclean_keeps_everything() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), small_config(), true);
        for i in 0..15 {
            append(&log, 3, T0 + i * 10);
        }
        let before = log.read(0, usize::MAX, i64::MAX).unwrap().records;
        let leo = log.log_end_offset();
        if clean {
            log.close().unwrap();
            assert!(
                log.append(batch(1, 1, T0, None), 0, None).is_err(),
                "closed"
            );
        }
        drop(log);
        let log = open(dir.path(), small_config(), clean);
        assert_eq!(log.log_end_offset(), leo);
        assert_eq!(log.read(0, usize::MAX, i64::MAX).unwrap().records, before);
        let next = append(&log, 1, T0 + 1000);
        assert_eq!(next.first_offset, leo);
        assert_eq!(
            log.offset_for_timestamp(T0 + 55).unwrap().unwrap().offset,
            18
        );
    }
}

#[test]
fn timestamp_lookups_walk_compressed_batches() {
    use fjord_protocol::testing::{encode_batch, TestRecord};
    use kafka_protocol::records::Compression;
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), small_config(), true);
        let records = [100, 500, 300].map(|ts| TestRecord::value(&b"value"[..], ts));
        log.append(encode_batch(records, None, codec), 0, None)
            .unwrap();
        let at = |ts| {
            log.offset_for_timestamp(ts)
                .unwrap()
                .map(|t| (t.offset, t.timestamp_ms))
        };
        // Record-exact answers (a batch-level answer would be (0, 500) for both).
        assert_eq!(at(50), Some((0, 100)), "{codec:?}");
        assert_eq!(at(200), Some((1, 500)), "{codec:?}");
        assert_eq!(at(501), None, "{codec:?}");
    }
}

#[test]
fn timestamp_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config(), true);
    // Out-of-order timestamps inside and across batches.
    log.append(batch_with_timestamps(&[100, 300, 200], 10, None), 0, None)
        .unwrap();
    log.append(batch_with_timestamps(&[250, 260], 10, None), 0, None)
        .unwrap();
    for i in 0..20 {
        log.append(batch_with_timestamps(&[1000 + i * 10], 10, None), 0, None)
            .unwrap();
    }
    let at = |ts| {
        log.offset_for_timestamp(ts)
            .unwrap()
            .map(|t| (t.offset, t.timestamp_ms))
    };
    assert_eq!(at(0), Some((0, 100)));
    assert_eq!(at(150), Some((1, 300)));
    assert_eq!(at(255), Some((1, 300)), "first record with ts >= target");
    assert_eq!(at(301), Some((5, 1000)));
    assert_eq!(at(1095), Some((15, 1100)));
    assert_eq!(at(1190), Some((24, 1190)));
    assert_eq!(at(1191), None);
    assert_eq!(at(EARLIEST_TIMESTAMP), Some((0, -1)));
    assert_eq!(at(LATEST_TIMESTAMP), Some((25, -1)));
    let max = log.max_timestamp_offset().unwrap();
    assert_eq!((max.offset, max.timestamp_ms), (24, 1190));

    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default(), true);
    log.append(batch_with_timestamps(&[5, 900, 7], 10, None), 0, None)
        .unwrap();
    log.append(batch_with_timestamps(&[10, 20], 10, None), 0, None)
        .unwrap();
    let max = log.max_timestamp_offset().unwrap();
    assert_eq!((max.offset, max.timestamp_ms), (1, 900));
}

#[test]
fn log_append_time_rewrites_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default(), true);
    let info = log.append(batch(3, 10, T0, None), 0, Some(42_000)).unwrap();
    assert_eq!(info.info().log_append_time_ms, Some(42_000));
    assert_eq!(info.info().max_timestamp, 42_000);
    let r = log.read(0, 1000, i64::MAX).unwrap();
    let h = headers(&r.records);
    assert_eq!(h[0].max_timestamp, 42_000);
    assert_eq!(log.offset_for_timestamp(41_000).unwrap().unwrap().offset, 0);
}

#[test]
fn retention_by_size_and_time_never_deletes_the_active_segment() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_bytes: 1500,
        ..small_config()
    };
    let log = open(dir.path(), config, true);
    for i in 0..30 {
        append(&log, 2, T0 + i);
    }
    let before = log.segment_count();
    let deleted = log.run_maintenance(T0).unwrap();
    assert!(deleted > 0);
    assert_eq!(log.segment_count(), before - deleted);
    assert!(log.size_bytes() <= 1500 + 1024);
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0]);
    assert!(log.read(0, 100, i64::MAX).is_err());

    // Time: everything is old, only the active segment survives.
    log.update_config(LogConfig {
        retention_ms: 1000,
        retention_bytes: -1,
        ..small_config()
    });
    log.run_maintenance(T0 + 1_000_000).unwrap();
    assert_eq!(log.segment_count(), 1);
    assert!(log.log_start_offset() > 0);
    let lso = log.log_start_offset();
    drop(log);
    let log = open(dir.path(), small_config(), false);
    assert_eq!(log.log_start_offset(), lso);
}

#[test]
fn truncate_to_removes_whole_batches_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config(), true);
    for i in 0..20 {
        log.append(batch(2, 20, T0 + i, None), i as i32 / 5, None)
            .unwrap();
    }
    assert_eq!(log.end_offset_for_epoch(1), Some((1, 20)));
    log.truncate_to(25).unwrap();
    assert_eq!(log.log_end_offset(), 24, "batch 24-25 removed whole");
    assert_eq!(log.end_offset_for_epoch(3), None);
    assert_eq!(log.end_offset_for_epoch(2), Some((2, 24)));
    log.truncate_to(13).unwrap();
    assert_eq!(log.log_end_offset(), 12);
    let r = log.read(10, usize::MAX, i64::MAX).unwrap();
    assert_eq!(headers(&r.records).last().unwrap().last_offset(), 11);
    assert_eq!(append(&log, 1, T0 + 100).first_offset, 12);
    drop(log);
    let log = open(dir.path(), small_config(), false);
    assert_eq!(log.log_end_offset(), 13);
    // Below the log start offset: the log restarts there.
    log.advance_log_start_offset(5).unwrap();
    log.truncate_to(3).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (3, 3));
    assert_eq!(log.segment_count(), 1);
    assert_eq!(append(&log, 1, T0).first_offset, 3);
}

#[test]
fn advance_log_start_offset_is_persisted_and_deletes_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config(), true);
    for i in 0..20 {
        append(&log, 2, T0 + i);
    }
    let segments = log.segment_count();
    log.advance_log_start_offset(21).unwrap();
    assert_eq!(log.log_start_offset(), 21);
    assert!(log.segment_count() < segments);
    assert!(log.read(20, 100, i64::MAX).is_err());
    let r = log.read(21, 100, i64::MAX).unwrap();
    assert_eq!(
        headers(&r.records)[0].base_offset,
        20,
        "whole batch containing 21"
    );
    assert!(log.advance_log_start_offset(41).is_err());
    drop(log);
    let log = open(dir.path(), small_config(), false);
    assert_eq!(log.log_start_offset(), 21);
}

#[test]
fn idempotent_producer_duplicates_and_sequence_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), small_config(), true);
    let p = |seq| {
        Some(ProducerFields {
            producer_id: 9,
            producer_epoch: 0,
            base_sequence: seq,
        })
    };
    let first = log.append(batch(3, 10, T0, p(0)), 0, None).unwrap();
    assert!(matches!(first, AppendOutcome::Appended(_)));
    log.append(batch(2, 10, T0, p(3)), 0, None).unwrap();
    let dup = log.append(batch(3, 10, T0, p(0)), 0, None).unwrap();
    assert_eq!(
        dup,
        AppendOutcome::Duplicate(AppendInfo {
            bytes: 0,
            ..first.info().clone()
        })
    );
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(
        log.append(batch(1, 10, T0, p(7)), 0, None)
            .unwrap_err()
            .error_code(),
        45
    );
    let old = Some(ProducerFields {
        producer_id: 9,
        producer_epoch: -1,
        base_sequence: 5,
    });
    assert!(log.append(batch(1, 10, T0, old), 0, None).is_err());
    let new_epoch = Some(ProducerFields {
        producer_id: 9,
        producer_epoch: 1,
        base_sequence: 1,
    });
    assert_eq!(
        log.append(batch(1, 10, T0, new_epoch), 0, None)
            .unwrap_err()
            .error_code(),
        45
    );
    // Unknown producer with a non-zero sequence is accepted.
    let other = Some(ProducerFields {
        producer_id: 10,
        producer_epoch: 0,
        base_sequence: 17,
    });
    assert!(matches!(
        log.append(batch(1, 10, T0, other), 0, None).unwrap(),
        AppendOutcome::Appended(_)
    ));

    // State survives a clean reopen (snapshot) and an unclean one (replayed from the log).
    for clean in [true, false] {
        if clean {
            log.close().unwrap();
        }
        let log2 = open(dir.path(), small_config(), clean);
        assert!(matches!(
            log2.append(batch(2, 10, T0, p(3)), 0, None).unwrap(),
            AppendOutcome::Duplicate(_)
        ));
        assert_eq!(
            log2.append(batch(1, 10, T0, p(9)), 0, None)
                .unwrap_err()
                .error_code(),
            45
        );
        drop(log2);
    }
}

#[test]
fn flush_on_ack_moves_the_recovery_point_and_follower_appends_keep_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(
        dir.path(),
        LogConfig {
            flush_on_ack: true,
            ..LogConfig::default()
        },
        true,
    );
    append(&log, 2, T0);
    assert_eq!(log.recovery_point(), 2);
    let lazy = tempfile::tempdir().unwrap();
    let follower = open(lazy.path(), LogConfig::default(), true);
    let leader_bytes = log.read(0, usize::MAX, i64::MAX).unwrap().records;
    let info = follower.append_as_follower(leader_bytes.clone()).unwrap();
    assert_eq!((info.first_offset, info.last_offset), (0, 1));
    assert_eq!(follower.recovery_point(), 0, "no fsync by default");
    assert_eq!(
        follower.read(0, usize::MAX, i64::MAX).unwrap().records,
        leader_bytes
    );
    assert!(matches!(
        follower.append_as_follower(leader_bytes),
        Err(LogError::NonMonotonicOffset { .. })
    ));
    follower.flush().unwrap();
    assert_eq!(follower.recovery_point(), 2);
}
