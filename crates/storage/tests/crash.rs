//! Crash test: a child process (this test binary re-executed with `FJORD_CRASH_CHILD_DIR`)
//! appends in a loop with `flush_on_ack=false` and prints each acknowledged append; the parent
//! kills it with SIGKILL at random moments, several times, and finally checks that every
//! acknowledged append reads back intact and in order and that nothing corrupt is served. The
//! OS page cache survives a process kill, so an acknowledged write must too.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use fjord_protocol::batch::{self, BatchFrames};
use fjord_protocol::testing::{encode_batch, TestRecord};
use fjord_storage::{LogConfig, PartitionLog, TopicPartition};
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use rand::Rng;

const CHILD_ENV: &str = "FJORD_CRASH_CHILD_DIR";

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 1024,
        flush_on_ack: false,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

fn open(dir: &Path) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("crash", 0), config(), false).unwrap()
}

/// The record values of the batch appended at `first_offset`: derived from the offset, so the
/// parent can check content without the child telling it.
fn values_for(first_offset: i64, count: usize) -> Vec<Bytes> {
    (0..count)
        .map(|i| Bytes::from(format!("record-{}", first_offset + i as i64)))
        .collect()
}

fn batch_for(first_offset: i64, count: usize) -> Bytes {
    let timestamp_ms = 1_700_000_000_000 + first_offset;
    let records = values_for(first_offset, count)
        .into_iter()
        .map(|value| TestRecord::value(value, timestamp_ms));
    encode_batch(records, None, Compression::None)
}

/// Child mode: append forever, printing `ack <first> <last>` after each append returns.
#[test]
fn crash_child_entry() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = open(Path::new(&dir));
    let stdout = std::io::stdout();
    let mut rng = rand::thread_rng();
    loop {
        let first = log.log_end_offset();
        let count = rng.gen_range(1..20);
        let info = log.append(batch_for(first, count), 0, None).unwrap();
        assert_eq!(info.info().first_offset, first);
        let mut out = stdout.lock();
        writeln!(out, "ack {} {}", first, info.info().last_offset).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(i64, i64)> = Vec::new();
    let mut rng = rand::thread_rng();
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut parts = line.split_whitespace();
                if parts.next() == Some("ack") {
                    let first: i64 = parts.next().unwrap().parse().unwrap();
                    let last: i64 = parts.next().unwrap().parse().unwrap();
                    lines.push((first, last));
                }
            }
            lines
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(150..600)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let round_acks = reader.join().unwrap();
        assert!(!round_acks.is_empty() || round > 0, "child made progress");
        acked.extend(round_acks);
    }
    assert!(
        acked.len() > 10,
        "only {} appends acknowledged",
        acked.len()
    );

    let log = open(dir.path());
    let (_, max_last) = *acked.iter().max_by_key(|(_, last)| *last).unwrap();
    assert!(log.log_end_offset() > max_last);

    // Every acknowledged append reads back with the right content.
    for &(first, last) in &acked {
        let r = log.read(first, 1, i64::MAX).unwrap();
        let header = batch::validate(&r.records).unwrap();
        assert_eq!((header.base_offset, header.last_offset()), (first, last));
        let mut buf = r.records.clone();
        let set = RecordBatchDecoder::decode(&mut buf).unwrap();
        let values: Vec<Bytes> = set.records.into_iter().map(|r| r.value.unwrap()).collect();
        assert_eq!(values, values_for(first, (last - first + 1) as usize));
    }
    // And the whole log is a contiguous run of valid batches.
    let mut offset = 0;
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        for range in BatchFrames::new(&r.records) {
            let h = batch::validate(&r.records[range.unwrap()]).unwrap();
            assert_eq!(h.base_offset, offset, "contiguous offsets");
            offset = h.next_offset();
        }
    }
}
