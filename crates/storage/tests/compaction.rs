//! Log compaction end to end: what a compacted log serves after cleans, restarts and crashes
//! in the middle of a swap, against a model of what was written.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use bytes::Bytes;
use fjord_protocol::batch::{self, BatchFrames, BatchHeader};
use fjord_protocol::testing::{encode_batch, TestProducer, TestRecord};
use fjord_storage::{
    CleanerConfig, CleanupPolicy, LogConfig, LogManager, PartitionLog, TopicPartition,
};
use kafka_protocol::records::{Compression as Codec, RecordBatchDecoder};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn compact_config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
        retention_ms: 1,
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, config: LogConfig, clean_shutdown: bool) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("c", 0), config, clean_shutdown).unwrap()
}

/// One record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Read {
    offset: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    timestamp_ms: i64,
}

fn record(key: &str, value: Option<&str>, timestamp_ms: i64) -> TestRecord {
    TestRecord {
        key: Some(Bytes::copy_from_slice(key.as_bytes())),
        value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
        timestamp_ms,
    }
}

fn append(log: &PartitionLog, records: Vec<TestRecord>, codec: Codec) -> i64 {
    log.append(encode_batch(records, None, codec), 0, None)
        .unwrap()
        .info()
        .first_offset
}

/// Every stored batch header and record from the log start on.
fn read_all(log: &PartitionLog) -> (Vec<BatchHeader>, Vec<Read>) {
    let mut headers = Vec::new();
    let mut records = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        if r.records.is_empty() {
            // Kafka's behaviour too: when the cleaner removed everything after `offset` and
            // the active segment is still empty, a fetch there is empty (the consumer waits
            // for the next record). Anywhere else a read skips the gaps.
            let active_base = *log.segment_base_offsets().last().unwrap();
            assert_eq!(
                active_base,
                log.log_end_offset(),
                "nothing served at {offset}"
            );
            break;
        }
        for range in BatchFrames::new(&r.records) {
            let bytes = r.records.slice(range.unwrap());
            let h = batch::validate(&bytes).expect("every served batch is valid");
            offset = h.next_offset();
            headers.push(h);
            if h.record_count == 0 {
                continue;
            }
            let mut buf = bytes.clone();
            for rec in RecordBatchDecoder::decode(&mut buf).unwrap().records {
                assert!(rec.offset >= h.base_offset && rec.offset <= h.last_offset());
                records.push(Read {
                    offset: rec.offset,
                    key: rec.key,
                    value: rec.value,
                    timestamp_ms: rec.timestamp,
                });
            }
        }
    }
    (headers, records)
}

fn latest_per_key(records: &[Read]) -> BTreeMap<Bytes, Option<Bytes>> {
    records
        .iter()
        .filter_map(|r| r.key.clone().map(|k| (k, r.value.clone())))
        .collect()
}

fn assert_increasing(records: &[Read]) {
    for pair in records.windows(2) {
        assert!(pair[0].offset < pair[1].offset, "{pair:?}");
    }
}

fn clean(log: &PartitionLog, now_ms: i64) -> Option<fjord_storage::CleanStats> {
    log.clean(now_ms, i64::MAX, &CleanerConfig::default())
        .unwrap()
}

/// 120 single-record batches over 10 keys, then a roll so all of them are sealed, then two
/// batches in the new active segment.
fn fill_keyed(log: &PartitionLog) -> HashMap<i64, Read> {
    let mut written = HashMap::new();
    for i in 0..120 {
        let key = format!("k{}", i % 10);
        let value = format!("v{i}");
        let ts = T0 + i;
        let offset = append(log, vec![record(&key, Some(&value), ts)], Codec::None);
        written.insert(
            offset,
            Read {
                offset,
                key: Some(key.into()),
                value: Some(value.into()),
                timestamp_ms: ts,
            },
        );
    }
    log.roll().unwrap();
    for i in 120..122 {
        let key = format!("k{}", i % 10);
        let value = format!("v{i}");
        let offset = append(log, vec![record(&key, Some(&value), T0 + i)], Codec::None);
        written.insert(
            offset,
            Read {
                offset,
                key: Some(key.into()),
                value: Some(value.into()),
                timestamp_ms: T0 + i,
            },
        );
    }
    written
}

#[test]
fn latest_value_per_key_kept_offsets_unchanged_active_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config(), true);
    let written = fill_keyed(&log);
    let (_, before) = read_all(&log);
    let segments_before = log.segment_count();
    let active_base = *log.segment_base_offsets().last().unwrap();
    let active_before = log.read(active_base, 1 << 20, i64::MAX).unwrap().records;

    let stats = clean(&log, T0 + 1000).expect("a dirty compacted log is cleaned");
    assert_eq!(stats.first_dirty_offset, 0);
    assert_eq!(stats.cleaned_up_to, active_base);
    assert_eq!(log.cleaner_checkpoint().unwrap(), Some(active_base));

    let (_, after) = read_all(&log);
    assert_increasing(&after);
    for r in &after {
        assert_eq!(
            Some(r),
            written.get(&r.offset),
            "served what was written at that offset"
        );
    }
    // Below the active segment each key appears once, with its latest value.
    let sealed: Vec<_> = after.iter().filter(|r| r.offset < active_base).collect();
    assert_eq!(sealed.len(), 10);
    assert_eq!(latest_per_key(&after), latest_per_key(&before));
    assert_eq!(
        log.read(active_base, 1 << 20, i64::MAX).unwrap().records,
        active_before,
        "the active segment is untouched"
    );
    assert!(
        log.segment_count() < segments_before,
        "small cleaned segments are grouped"
    );
    assert_eq!(log.log_start_offset(), 0);
    assert_eq!(log.log_end_offset(), 122);
    // Nothing new is dirty: a second clean has nothing to do.
    assert_eq!(clean(&log, T0 + 2000), None);

    // Both after a clean shutdown and after recovery, the cleaned log reads the same.
    log.close().unwrap();
    drop(log);
    for clean_shutdown in [true, false] {
        let log = open(dir.path(), compact_config(), clean_shutdown);
        assert_eq!(read_all(&log).1, after);
        assert_eq!(log.log_end_offset(), 122);
        log.close().unwrap();
    }
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".cleaned") && !n.ends_with(".swap")),
        "{names:?}"
    );
}

#[test]
fn appends_and_reads_continue_after_a_clean() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config(), true);
    fill_keyed(&log);
    // A reader holding the old segment list still reads the old data.
    let old = log.read(0, 1 << 20, i64::MAX).unwrap();
    clean(&log, T0 + 1000).unwrap();
    let old_again = log.read(0, 100, i64::MAX).unwrap();
    assert!(!old.records.is_empty() && !old_again.records.is_empty());
    for i in 0..50 {
        append(
            &log,
            vec![record("k1", Some(&format!("w{i}")), T0 + 500 + i)],
            Codec::None,
        );
    }
    log.roll().unwrap();
    clean(&log, T0 + 2000).unwrap();
    let (_, after) = read_all(&log);
    assert_increasing(&after);
    assert_eq!(
        latest_per_key(&after)[&Bytes::from_static(b"k1")],
        Some(Bytes::from_static(b"w49"))
    );
    assert_eq!(
        after
            .iter()
            .filter(|r| r.key.as_deref() == Some(b"k1"))
            .count(),
        1
    );
}

#[test]
fn tombstones_kept_until_delete_retention_then_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        delete_retention_ms: DAY_MS,
        ..compact_config()
    };
    let log = open(dir.path(), config.clone(), true);
    append(
        &log,
        vec![record("a", Some("1"), T0), record("b", Some("1"), T0)],
        Codec::None,
    );
    append(&log, vec![record("a", None, T0 + 1)], Codec::None);
    log.roll().unwrap();
    append(&log, vec![record("c", Some("1"), T0 + 2)], Codec::None);

    let now = T0 + 10;
    clean(&log, now).unwrap();
    let (_, after) = read_all(&log);
    let a: Vec<_> = after
        .iter()
        .filter(|r| r.key.as_deref() == Some(b"a"))
        .collect();
    assert_eq!(a.len(), 1, "{after:?}");
    assert_eq!(
        (a[0].offset, a[0].value.clone(), a[0].timestamp_ms),
        (2, None, T0 + 1)
    );

    // Before the horizon nothing forces a clean, and a forced one keeps the tombstone.
    let state = log
        .cleanable_state(now + DAY_MS - 1, i64::MAX)
        .unwrap()
        .unwrap();
    assert!(!state.must_clean && state.dirty_bytes == 0);
    assert_eq!(clean(&log, now + DAY_MS - 1), None);
    assert_eq!(read_all(&log).1, after);

    // At the horizon the log must be cleaned, and the tombstone goes; a restart in between
    // finds the horizon again in the batch headers.
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), config, false);
    let state = log
        .cleanable_state(now + DAY_MS - 1, i64::MAX)
        .unwrap()
        .unwrap();
    assert!(!state.must_clean);
    let state = log
        .cleanable_state(now + DAY_MS, i64::MAX)
        .unwrap()
        .unwrap();
    assert!(state.must_clean);
    clean(&log, now + DAY_MS).unwrap();
    let (_, after) = read_all(&log);
    assert!(
        after.iter().all(|r| r.key.as_deref() != Some(b"a")),
        "{after:?}"
    );
    assert_eq!(after.len(), 2, "b and c stay: {after:?}");
    assert_eq!(log.log_end_offset(), 4);
}

#[test]
fn compressed_batches_of_every_codec_are_cleaned() {
    for codec in [
        Codec::None,
        Codec::Gzip,
        Codec::Snappy,
        Codec::Lz4,
        Codec::Zstd,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), compact_config(), true);
        for round in 0..6 {
            let records = (0..5)
                .map(|k| record(&format!("k{k}"), Some(&format!("r{round}-{k}")), T0 + round))
                .collect();
            append(&log, records, codec);
        }
        log.roll().unwrap();
        clean(&log, T0 + 100).unwrap();
        let (headers, after) = read_all(&log);
        assert_eq!(after.len(), 5, "{codec:?}");
        for (k, r) in after.iter().enumerate() {
            assert_eq!(r.offset, 25 + k as i64);
            assert_eq!(r.value.as_deref(), Some(format!("r5-{k}").as_bytes()));
            assert_eq!(r.timestamp_ms, T0 + 5);
        }
        assert!(
            headers
                .iter()
                .all(|h| h.compression() == batch::Compression::from(codec as i16)),
            "{codec:?}: the codec is kept"
        );
    }
}

#[test]
fn retention_deletes_only_under_the_delete_policy() {
    let far_future = T0 + 365 * DAY_MS;
    for (policy, deleted) in [
        (CleanupPolicy::Compact, false),
        (CleanupPolicy::CompactDelete, true),
        (CleanupPolicy::Delete, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            cleanup_policy: policy,
            retention_ms: DAY_MS,
            retention_bytes: 100,
            ..compact_config()
        };
        let log = open(dir.path(), config, true);
        fill_keyed(&log);
        let segments = log.segment_count();
        let removed = log.run_maintenance(far_future).unwrap();
        assert_eq!(removed > 0, deleted, "{policy}");
        if !deleted {
            assert_eq!(log.segment_count(), segments);
            assert_eq!(log.log_start_offset(), 0);
            // DeleteRecords still moves the log start offset of a compacted log.
            log.advance_log_start_offset(50).unwrap();
            assert_eq!(log.log_start_offset(), 50);
            assert!(log.segment_base_offsets()[0] <= 50);
        }
    }
}

/// Builds the same log twice (appends are deterministic), cleans one copy and returns
/// (cleaned copy's dir, untouched copy's dir, the cleaned content).
fn twin_logs() -> (tempfile::TempDir, tempfile::TempDir, Vec<Read>, Vec<i64>) {
    let cleaned = tempfile::tempdir().unwrap();
    let pristine = tempfile::tempdir().unwrap();
    let mut content = Vec::new();
    let mut bases = Vec::new();
    for (i, dir) in [&cleaned, &pristine].into_iter().enumerate() {
        let log = open(dir.path(), compact_config(), true);
        fill_keyed(&log);
        if i == 0 {
            bases = log.segment_base_offsets();
            clean(&log, T0 + 1000).unwrap();
            content = read_all(&log).1;
        }
        log.close().unwrap();
    }
    (cleaned, pristine, content, bases)
}

#[test]
fn crash_before_the_commit_point_keeps_the_old_log() {
    let (cleaned, pristine, _, _) = twin_logs();
    let before = read_all(&open(pristine.path(), compact_config(), true)).1;
    // A half-written .cleaned file, as left by a crash while writing it.
    let cleaned_log = fs::read(cleaned.path().join(format!("{:020}.log", 0))).unwrap();
    fs::write(
        pristine.path().join(format!("{:020}.log.cleaned", 0)),
        &cleaned_log[..cleaned_log.len() / 2],
    )
    .unwrap();
    let log = open(pristine.path(), compact_config(), false);
    assert_eq!(read_all(&log).1, before);
    assert!(!pristine
        .path()
        .join(format!("{:020}.log.cleaned", 0))
        .exists());
}

#[test]
fn crash_after_the_commit_point_completes_the_swap() {
    for deleted_before_crash in [0usize, 1, 3] {
        let (cleaned, pristine, content, bases) = twin_logs();
        let cleaned_log = fs::read(cleaned.path().join(format!("{:020}.log", 0))).unwrap();
        fs::write(
            pristine.path().join(format!("{:020}.log.swap", 0)),
            &cleaned_log,
        )
        .unwrap();
        // The crash came while the replaced segments were being deleted.
        for base in bases.iter().take(deleted_before_crash) {
            for ext in ["log", "index", "timeindex"] {
                let _ = fs::remove_file(pristine.path().join(format!("{base:020}.{ext}")));
            }
        }
        for clean_shutdown in [true, false] {
            let log = open(pristine.path(), compact_config(), clean_shutdown);
            assert_eq!(read_all(&log).1, content, "deleted {deleted_before_crash}");
            assert_eq!(log.log_end_offset(), 122);
            log.close().unwrap();
        }
    }
}

#[test]
fn a_tiny_dedupe_buffer_converges_over_several_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config(), true);
    let mut last = BTreeMap::new();
    for round in 0..3 {
        for k in 0..40 {
            let (key, value) = (format!("k{k}"), format!("{round}-{k}"));
            append(&log, vec![record(&key, Some(&value), T0 + k)], Codec::None);
            last.insert(Bytes::from(key), Some(Bytes::from(value)));
        }
    }
    log.roll().unwrap();
    let tiny = CleanerConfig {
        dedupe_buffer_size: 24 * 11,
        ..CleanerConfig::default()
    };
    let mut rounds = 0;
    while let Some(stats) = log.clean(T0 + 1000, i64::MAX, &tiny).unwrap() {
        assert!(stats.map_memory_bytes <= tiny.dedupe_buffer_size);
        assert!(stats.map_entries <= 9);
        rounds += 1;
        assert!(rounds < 100, "no convergence");
    }
    assert!(rounds > 5, "the map had to stop {rounds} times");
    let (_, after) = read_all(&log);
    assert_increasing(&after);
    assert_eq!(after.len(), 40);
    assert_eq!(latest_per_key(&after), last);
}

#[test]
fn a_producers_last_batch_survives_empty_and_keeps_its_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config(), true);
    let producer = |seq| TestProducer {
        producer_id: 42,
        producer_epoch: 3,
        base_sequence: seq,
    };
    for seq in 0..4 {
        let records = vec![record("p", Some(&format!("{seq}")), T0 + i64::from(seq))];
        log.append(
            encode_batch(records, Some(producer(seq)), Codec::Gzip),
            0,
            None,
        )
        .unwrap();
    }
    // Another producer overwrites the key: every batch of producer 42 is now obsolete.
    append(&log, vec![record("p", Some("other"), T0 + 10)], Codec::None);
    log.roll().unwrap();
    clean(&log, T0 + 100).unwrap();
    let (headers, after) = read_all(&log);
    assert_eq!(after.len(), 1);
    let kept: Vec<_> = headers.iter().filter(|h| h.producer_id == 42).collect();
    assert_eq!(kept.len(), 1, "only the producer's last batch, emptied");
    assert_eq!(
        (
            kept[0].base_offset,
            kept[0].record_count,
            kept[0].last_sequence()
        ),
        (3, 0, 3)
    );
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), compact_config(), false);
    let entry = log
        .producer_entry(42)
        .expect("producer state survives the clean");
    assert_eq!(entry.producer_epoch, 3);
    let next = vec![record("p", Some("4"), T0 + 20)];
    let appended = log
        .append(encode_batch(next, Some(producer(4)), Codec::None), 0, None)
        .unwrap();
    assert!(matches!(
        appended,
        fjord_storage::AppendOutcome::Appended(_)
    ));
}

#[test]
fn upper_bound_and_min_compaction_lag_limit_the_dirty_section() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config(), true);
    fill_keyed(&log);
    let bases = log.segment_base_offsets();
    // Nothing at or above the bound is compacted.
    let bound = bases[bases.len() / 2] + 1;
    let stats = log
        .clean(T0 + 1000, bound, &CleanerConfig::default())
        .unwrap()
        .unwrap();
    assert!(stats.cleaned_up_to <= bound, "{stats:?}");
    let (_, after) = read_all(&log);
    let above: Vec<_> = after.iter().filter(|r| r.offset >= bound).collect();
    assert_eq!(
        above.len() as i64,
        122 - bound,
        "records above the bound are all there"
    );

    // With a lag longer than every record's age, nothing is cleanable.
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        min_compaction_lag_ms: DAY_MS,
        ..compact_config()
    };
    let log = open(dir.path(), config, true);
    fill_keyed(&log);
    assert_eq!(clean(&log, T0 + 1000), None);
    assert!(clean(&log, T0 + 2 * DAY_MS).is_some());
}

#[test]
fn the_manager_cleans_dirty_compacted_logs_only_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let manager = LogManager::open(&[dir.path().to_path_buf()], 1, LogConfig::default()).unwrap();
    let compacted = manager
        .get_or_create(
            &TopicPartition::new("__consumer_offsets", 0),
            compact_config(),
        )
        .unwrap();
    let deleted = manager
        .get_or_create(
            &TopicPartition::new("plain", 0),
            LogConfig {
                cleanup_policy: CleanupPolicy::Delete,
                retention_ms: -1,
                ..compact_config()
            },
        )
        .unwrap();
    fill_keyed(&compacted);
    fill_keyed(&deleted);
    manager.set_cleaner_config(CleanerConfig {
        enabled: false,
        ..CleanerConfig::default()
    });
    assert!(manager.clean_logs(T0 + 1000).is_empty());
    manager.set_cleaner_config(CleanerConfig::default());
    let cleaned = manager.clean_logs(T0 + 1000);
    assert_eq!(cleaned.len(), 1);
    assert_eq!(cleaned[0].0, TopicPartition::new("__consumer_offsets", 0));
    // Clean now: below min.cleanable.dirty.ratio, nothing more to do.
    assert!(manager.clean_logs(T0 + 2000).is_empty());
    assert_eq!(read_all(&deleted).1.len(), 122);
    manager.shutdown().unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(u8, Option<u8>)>, u8),
    Roll,
    Clean,
    Reopen(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec((0u8..8, prop::option::weighted(0.8, any::<u8>())), 1..5), 0u8..5)
            .prop_map(|(records, codec)| Op::Append(records, codec)),
        2 => Just(Op::Roll),
        2 => Just(Op::Clean),
        1 => any::<bool>().prop_map(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random keyed appends, rolls, cleans and restarts: every key's last value read back is
    /// the last value written (a deleted key may also be gone once its tombstone expired), and
    /// every record read is exactly one that was written at that offset.
    #[test]
    fn compaction_keeps_the_last_value_of_every_key(
        ops in prop::collection::vec(op(), 1..40),
        delete_retention_ms in prop_oneof![Just(0i64), Just(25), Just(DAY_MS)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig { delete_retention_ms, ..compact_config() };
        let mut log = open(dir.path(), config.clone(), true);
        let mut written: HashMap<i64, Read> = HashMap::new();
        let mut last: BTreeMap<Bytes, Option<Bytes>> = BTreeMap::new();
        let mut now = T0;
        for op in ops {
            now += 10;
            match op {
                Op::Append(records, codec) => {
                    let codec = [Codec::None, Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd][codec as usize];
                    let records: Vec<TestRecord> = records
                        .iter()
                        .map(|(k, v)| TestRecord {
                            key: Some(Bytes::from(format!("key{k}"))),
                            value: v.map(|v| Bytes::from(format!("value{v}"))),
                            timestamp_ms: now,
                        })
                        .collect();
                    let first = append(&log, records.clone(), codec);
                    for (i, r) in records.into_iter().enumerate() {
                        let offset = first + i as i64;
                        last.insert(r.key.clone().unwrap(), r.value.clone());
                        written.insert(offset, Read { offset, key: r.key, value: r.value, timestamp_ms: now });
                    }
                }
                Op::Roll => log.roll().unwrap(),
                Op::Clean => {
                    clean(&log, now);
                }
                Op::Reopen(clean_shutdown) => {
                    if clean_shutdown {
                        log.close().unwrap();
                    }
                    drop(log);
                    log = open(dir.path(), config.clone(), clean_shutdown);
                }
            }
            let (_, read) = read_all(&log);
            for pair in read.windows(2) {
                prop_assert!(pair[0].offset < pair[1].offset);
            }
            for r in &read {
                prop_assert_eq!(Some(r), written.get(&r.offset));
            }
            let read_last = latest_per_key(&read);
            for (key, value) in &last {
                match (read_last.get(key), value) {
                    (Some(got), want) => prop_assert_eq!(got, want, "key {:?}", key),
                    // Only an expired tombstone may take its key away.
                    (None, None) => prop_assert!(delete_retention_ms < DAY_MS),
                    (None, Some(_)) => prop_assert!(false, "key {:?} lost its value", key),
                }
            }
            prop_assert!(read_last.keys().all(|k| last.contains_key(k)));
        }
    }
}

#[test]
fn cleans_run_while_appends_retention_and_reads_continue() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        cleanup_policy: CleanupPolicy::CompactDelete,
        retention_ms: -1,
        ..compact_config()
    };
    let log = std::sync::Arc::new(open(dir.path(), config, true));
    let writer = {
        let log = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for i in 0..600i64 {
                let key = format!("k{}", i % 13);
                append(
                    &log,
                    vec![record(&key, Some(&format!("v{i}")), T0 + i)],
                    Codec::None,
                );
                if i == 300 {
                    // DeleteRecords in the middle of it all.
                    log.advance_log_start_offset(100).unwrap();
                }
            }
        })
    };
    let mut cleans = 0;
    while !writer.is_finished() {
        if clean(&log, T0 + 10_000).is_some() {
            cleans += 1;
        }
        let (_, read) = read_all(&log);
        assert_increasing(&read);
    }
    writer.join().unwrap();
    log.roll().unwrap();
    clean(&log, T0 + 20_000);
    assert!(cleans > 0 || log.cleaner_checkpoint().unwrap().is_some());
    let (_, read) = read_all(&log);
    assert_increasing(&read);
    assert_eq!(read.len(), 13, "{read:?}");
    for r in &read {
        let i: i64 = std::str::from_utf8(r.value.as_deref().unwrap()).unwrap()[1..]
            .parse()
            .unwrap();
        assert_eq!(r.offset, i, "a record keeps its offset");
        assert!(i >= 600 - 13);
    }
    assert!(log.log_start_offset() >= 100);
}

#[test]
fn a_compacted_log_refuses_records_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), compact_config(), true);
    for codec in [Codec::None, Codec::Zstd] {
        let keyless = encode_batch(
            vec![record("a", Some("1"), T0), TestRecord::value("no key", T0)],
            None,
            codec,
        );
        let err = log.append(keyless, 0, None).unwrap_err();
        assert_eq!(err.error_code(), 87, "{err}");
        assert!(matches!(
            err,
            fjord_storage::LogError::KeylessRecordInCompactedLog {
                record_index: 1,
                ..
            }
        ));
    }
    assert_eq!(log.log_end_offset(), 0);
    // A delete-policy log takes them.
    let dir = tempfile::tempdir().unwrap();
    let plain = open(
        dir.path(),
        LogConfig {
            cleanup_policy: CleanupPolicy::Delete,
            ..compact_config()
        },
        true,
    );
    plain
        .append(
            encode_batch(vec![TestRecord::value("v", T0)], None, Codec::None),
            0,
            None,
        )
        .unwrap();
}
