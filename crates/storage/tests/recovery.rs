//! Recovery on damaged files: a torn batch at the tail, flipped bytes in the tail, deleted
//! indexes, a zero-filled (preallocated-looking) tail, a corrupted time index and garbage in the
//! middle of a segment. Each case reopens without the clean-shutdown marker and checks that
//! exactly the intact prefix of whole batches is served, that the truncation was logged, and
//! that appends continue after it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use fjord_protocol::batch::{self, BatchFrames};
use fjord_storage::testing::batch;
use fjord_storage::{LogConfig, LogManager, PartitionLog, TopicPartition};

const T0: i64 = 1_700_000_000_000;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 2000,
        index_interval_bytes: 200,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, clean: bool) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("r", 0), config(), clean).unwrap()
}

/// Writes 40 batches of 3 records; returns the stored batches, oldest first.
fn fill(dir: &Path) -> Vec<Bytes> {
    let log = open(dir, true);
    for i in 0..40 {
        log.append(batch(3, 30, T0 + i * 100, None), 0, None)
            .unwrap();
    }
    let batches = all_batches(&log);
    assert_eq!(batches.len(), 40);
    assert!(log.segment_count() >= 3);
    batches
}

fn all_batches(log: &PartitionLog) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        assert!(!r.records.is_empty());
        for range in BatchFrames::new(&r.records) {
            let b = r.records.slice(range.unwrap());
            let h = batch::validate(&b).expect("nothing corrupt is served");
            offset = h.next_offset();
            out.push(b);
        }
    }
    out
}

fn segment_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// Captures what the storage crate logs while `f` runs.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (result, text)
}

/// Reopens uncleanly, checks the surviving prefix and that appends continue.
fn reopen_and_check(dir: &Path, expected: &[Bytes]) -> String {
    let (log, logs) = capture_logs(|| open(dir, false));
    let got = all_batches(&log);
    assert_eq!(got.len(), expected.len(), "surviving batches");
    assert_eq!(got, expected);
    let end = expected
        .last()
        .map_or(0, |b| batch::validate(b).unwrap().next_offset());
    assert_eq!(log.log_end_offset(), end);
    let info = log
        .append(batch(2, 10, T0 + 10_000, None), 0, None)
        .unwrap();
    assert_eq!(info.info().first_offset, end);
    drop(log);
    // And the repaired log reopens cleanly as well.
    let log = open(dir, false);
    assert_eq!(log.log_end_offset(), end + 2);
    logs
}

#[test]
fn torn_batch_at_the_tail_is_truncated_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path());
    let last_log = segment_files(dir.path(), "log").pop().unwrap();
    let len = fs::metadata(&last_log).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&last_log)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let logs = reopen_and_check(dir.path(), &batches[..39]);
    assert!(
        logs.contains("truncated a torn or corrupt log tail"),
        "{logs}"
    );
    assert!(logs.contains("bytes_dropped"), "{logs}");
    assert!(
        logs.contains(&last_log.display().to_string()),
        "path logged: {logs}"
    );
}

#[test]
fn flipped_bytes_in_the_tail_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path());
    let last_log = segment_files(dir.path(), "log").pop().unwrap();
    let mut raw = fs::read(&last_log).unwrap();
    let at = raw.len() - 5;
    raw[at] ^= 0xff;
    fs::write(&last_log, raw).unwrap();
    let logs = reopen_and_check(dir.path(), &batches[..39]);
    assert!(logs.contains("CRC"), "reason logged: {logs}");
}

#[test]
fn zero_filled_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path());
    let last_log = segment_files(dir.path(), "log").pop().unwrap();
    let mut f = OpenOptions::new().append(true).open(&last_log).unwrap();
    f.write_all(&[0u8; 4096]).unwrap();
    drop(f);
    let logs = reopen_and_check(dir.path(), &batches);
    assert!(logs.contains("bytes_dropped=4096"), "{logs}");
}

#[test]
fn deleted_indexes_are_rebuilt_for_clean_and_unclean_opens() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let batches = fill(dir.path());
        {
            let log = open(dir.path(), true);
            log.close().unwrap();
        }
        for index in segment_files(dir.path(), "index") {
            fs::remove_file(index).unwrap();
        }
        let log = open(dir.path(), clean);
        assert_eq!(all_batches(&log), batches);
        // Lookups through the rebuilt index land in the right batch.
        for offset in (0..120).step_by(7) {
            let r = log.read(offset, 1, i64::MAX).unwrap();
            let h = batch::validate(&r.records).unwrap();
            assert!(h.base_offset <= offset && offset <= h.last_offset());
        }
        assert!(
            !segment_files(dir.path(), "index").is_empty(),
            "rebuilt files"
        );
    }
}

#[test]
fn corrupted_time_index_is_rebuilt() {
    for clean in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        fill(dir.path());
        {
            let log = open(dir.path(), true);
            log.close().unwrap();
        }
        for (i, index) in segment_files(dir.path(), "timeindex")
            .into_iter()
            .enumerate()
        {
            if i % 2 == 0 {
                // Not a whole number of entries.
                fs::write(&index, [7u8; 13]).unwrap();
            } else {
                // Whole entries, but timestamps going backwards.
                let mut raw = Vec::new();
                for ts in [T0 + 5000, T0] {
                    raw.extend_from_slice(&ts.to_be_bytes());
                    raw.extend_from_slice(&1u32.to_be_bytes());
                }
                fs::write(&index, raw).unwrap();
            }
        }
        let log = open(dir.path(), clean);
        // Batch i holds records stamped T0 + 100 i .. + 2 at offsets 3i .. 3i + 2.
        for i in [0i64, 5, 17, 39] {
            let found = log.offset_for_timestamp(T0 + i * 100 + 1).unwrap().unwrap();
            assert_eq!(
                (found.offset, found.timestamp_ms),
                (3 * i + 1, T0 + i * 100 + 1)
            );
        }
        assert_eq!(log.offset_for_timestamp(T0 + 100_000).unwrap(), None);
        assert_eq!(log.max_timestamp_offset().unwrap().offset, 119);
    }
}

#[test]
fn garbage_in_the_middle_truncates_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let batches = fill(dir.path());
    let logs_before = segment_files(dir.path(), "log");
    // Damage the middle of the first segment and forget the recovery point, as after a crash
    // before it was ever checkpointed: recovery must scan from the start.
    let first = &logs_before[0];
    let mut raw = fs::read(first).unwrap();
    let frames: Vec<_> = BatchFrames::new(&raw).map(|r| r.unwrap()).collect();
    let victim = frames.len() / 2;
    let start = frames[victim].start;
    for b in &mut raw[start + 30..start + 40] {
        *b = 0xAB;
    }
    fs::write(first, raw).unwrap();
    let _ = fs::remove_file(dir.path().join("recovery-point-offset-checkpoint"));
    let logs = reopen_and_check(dir.path(), &batches[..victim]);
    assert!(
        logs.contains("deleting segment after a corrupt batch"),
        "{logs}"
    );
    assert_eq!(segment_files(dir.path(), "log").len(), 1);
}

#[test]
fn log_manager_uses_the_clean_shutdown_marker() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = vec![dir.path().join("data")];
    let tp = TopicPartition::new("orders-v1", 2);
    {
        let manager = LogManager::open(&dirs, 1, config()).unwrap();
        let log = manager.get_or_create(&tp, config()).unwrap();
        log.append(batch(5, 10, T0, None), 0, None).unwrap();
        manager.shutdown().unwrap();
    }
    assert!(dirs[0].join(".fjord_cleanshutdown").exists());
    // Damage the tail: after a clean shutdown only the last segment's tail is parsed, and a
    // tail that does not parse is still recovered.
    let seg = dirs[0].join("orders-v1-2").join("00000000000000000000.log");
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[1, 2, 3]).unwrap();
    drop(f);
    let manager = LogManager::open(&dirs, 1, config()).unwrap();
    assert!(
        !dirs[0].join(".fjord_cleanshutdown").exists(),
        "marker consumed"
    );
    let log = manager.get(&tp).unwrap();
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(all_batches(&log).len(), 1);
    manager.set_cluster_id("abcdefghijklmnopqrstuv").unwrap();
    drop(log);
    drop(manager);
    // Without the marker (killed), the log is recovered.
    let manager = LogManager::open(&dirs, 1, config()).unwrap();
    assert_eq!(
        manager.cluster_id().as_deref(),
        Some("abcdefghijklmnopqrstuv")
    );
    assert_eq!(manager.get(&tp).unwrap().log_end_offset(), 5);
    manager.delete(&tp).unwrap();
    assert!(manager.get(&tp).is_none());
    assert!(!dirs[0].join("orders-v1-2").exists());
    drop(manager);
    // A different node id is refused with a clear error.
    let err = LogManager::open(&dirs, 2, config()).unwrap_err();
    assert!(err.to_string().contains("node.id"), "{err}");
    // A directory holding something that is not fjord's is refused.
    let foreign = dir.path().join("foreign");
    fs::create_dir_all(&foreign).unwrap();
    fs::write(foreign.join("photo.jpg"), b"x").unwrap();
    let err = LogManager::open(&[foreign], 1, config()).unwrap_err();
    assert!(err.to_string().contains("photo.jpg"), "{err}");
}

#[test]
fn a_locked_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = vec![dir.path().to_path_buf()];
    let _first = LogManager::open(&dirs, 1, config()).unwrap();
    let err = LogManager::open(&dirs, 1, config()).unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
}
