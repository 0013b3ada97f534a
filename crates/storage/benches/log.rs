//! Storage micro-benchmark: append throughput of 1 KiB records in 16 KiB batches (with and
//! without `flush_on_ack`) and sequential read throughput, each next to the raw sequential
//! write / read bandwidth of the same disk measured by the same harness (a plain `File` write
//! of the same bytes, read back), printed as a ratio. Also times reopening a large log after a
//! clean shutdown (`FJORD_BENCH_REOPEN_MB`, default 1024).
//!
//! Run: `cargo bench -p fjord-storage --bench log -- --measurement-time 5`

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, Criterion, Throughput};
use fjord_storage::testing::batch;
use fjord_storage::{LogConfig, PartitionLog, TopicPartition};

const RECORD_BYTES: usize = 1024;
const RECORDS_PER_BATCH: usize = 16;
/// Volume per measured pass: large enough to leave the CPU caches, small enough for /tmp.
const PASS_BYTES: usize = 256 * 1024 * 1024;

fn sample_batch() -> Bytes {
    batch(
        RECORDS_PER_BATCH,
        RECORD_BYTES - 20,
        1_700_000_000_000,
        None,
    )
}

fn open(dir: &Path, flush_on_ack: bool) -> PartitionLog {
    let config = LogConfig {
        flush_on_ack,
        retention_ms: -1,
        ..LogConfig::default()
    };
    PartitionLog::open(dir, TopicPartition::new("bench", 0), config, true).unwrap()
}

/// Appends `bytes` worth of batches; returns the elapsed time.
fn append_pass(flush_on_ack: bool, bytes: usize) -> Duration {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let log = open(dir.path(), flush_on_ack);
    let batch = sample_batch();
    let n = bytes / batch.len();
    let start = Instant::now();
    for _ in 0..n {
        // Each append gets its own buffer, as a produce request would.
        log.append(Bytes::copy_from_slice(&batch), 0, None).unwrap();
    }
    start.elapsed()
}

/// Plain `File` writes of the same batches.
fn raw_write_pass(bytes: usize, fsync_each: bool) -> Duration {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let mut file = File::create(dir.path().join("raw")).unwrap();
    let batch = sample_batch();
    let n = bytes / batch.len();
    let start = Instant::now();
    for _ in 0..n {
        file.write_all(&Bytes::copy_from_slice(&batch)).unwrap();
        if fsync_each {
            file.sync_data().unwrap();
        }
    }
    start.elapsed()
}

fn bench_dir() -> std::path::PathBuf {
    std::env::var_os("FJORD_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into)
}

fn mib_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64()
}

fn bench_append(c: &mut Criterion) {
    let batch_len = sample_batch().len();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Bytes(batch_len as u64));
    group.sample_size(10);
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let log = open(dir.path(), false);
    let b = sample_batch();
    group.bench_function("log_append_16KiB_no_fsync", |bench| {
        bench.iter(|| log.append(Bytes::copy_from_slice(&b), 0, None).unwrap())
    });
    let dir2 = tempfile::tempdir_in(bench_dir()).unwrap();
    let mut raw = File::create(dir2.path().join("raw")).unwrap();
    group.bench_function("raw_write_16KiB", |bench| {
        bench.iter(|| raw.write_all(&Bytes::copy_from_slice(&b)).unwrap())
    });
    let dir3 = tempfile::tempdir_in(bench_dir()).unwrap();
    let synced = open(dir3.path(), true);
    group.bench_function("log_append_16KiB_flush_on_ack", |bench| {
        bench.iter(|| synced.append(Bytes::copy_from_slice(&b), 0, None).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_append);

/// Side-by-side passes over the same volume, printed as ratios.
fn comparison() {
    let batch_len = sample_batch().len();
    let bytes = PASS_BYTES / batch_len * batch_len;
    let raw_w = raw_write_pass(bytes, false);
    let log_w = append_pass(false, bytes);
    println!(
        "append (no fsync):   {:8.1} MiB/s   raw write {:8.1} MiB/s   ratio {:.2}",
        mib_per_s(bytes, log_w),
        mib_per_s(bytes, raw_w),
        raw_w.as_secs_f64() / log_w.as_secs_f64()
    );
    let synced_bytes = 16 * 1024 * 1024 / batch_len * batch_len;
    let raw_ws = raw_write_pass(synced_bytes, true);
    let log_ws = append_pass(true, synced_bytes);
    println!(
        "append (flush.on.ack): {:8.1} MiB/s ({:.0} appends/s)   raw write+fdatasync {:8.1} MiB/s   ratio {:.2}",
        mib_per_s(synced_bytes, log_ws),
        (synced_bytes / batch_len) as f64 / log_ws.as_secs_f64(),
        mib_per_s(synced_bytes, raw_ws),
        raw_ws.as_secs_f64() / log_ws.as_secs_f64()
    );

    // Sequential reads: the log in 1 MiB fetches vs. the raw file in 1 MiB reads, both warm.
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let log = open(dir.path(), false);
    let b = sample_batch();
    for _ in 0..bytes / batch_len {
        log.append(Bytes::copy_from_slice(&b), 0, None).unwrap();
    }
    let raw_dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let raw_path = raw_dir.path().join("raw");
    {
        let mut f = File::create(&raw_path).unwrap();
        for _ in 0..bytes / batch_len {
            f.write_all(&b).unwrap();
        }
    }
    let start = Instant::now();
    let mut f = File::open(&raw_path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    let raw_r = start.elapsed();
    let start = Instant::now();
    let mut offset = 0;
    let mut read = 0;
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        read += r.records.len();
        let last = fjord_protocol::batch::BatchFrames::new(&r.records)
            .last()
            .unwrap()
            .unwrap();
        offset = fjord_protocol::batch::BatchHeader::parse(&r.records[last])
            .unwrap()
            .next_offset();
    }
    let log_r = start.elapsed();
    assert_eq!(read, total);
    println!(
        "read (1 MiB fetches): {:8.1} MiB/s   raw read {:8.1} MiB/s   ratio {:.2}",
        mib_per_s(read, log_r),
        mib_per_s(total, raw_r),
        raw_r.as_secs_f64() / log_r.as_secs_f64()
    );
}

/// Writes a large log, closes it cleanly, and times the reopen.
fn reopen() {
    let mb: usize = std::env::var("FJORD_BENCH_REOPEN_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let config = LogConfig {
        segment_bytes: 128 * 1024 * 1024,
        retention_ms: -1,
        ..LogConfig::default()
    };
    let tp = TopicPartition::new("bench", 0);
    {
        let log = PartitionLog::open(dir.path(), tp.clone(), config.clone(), true).unwrap();
        let b = sample_batch();
        for _ in 0..mb * 1024 * 1024 / b.len() {
            log.append(Bytes::copy_from_slice(&b), 0, None).unwrap();
        }
        log.close().unwrap();
    }
    // Cold cache where the machine allows it, so the figure cannot hide a scan of cached data.
    let dropped = std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok();
    println!("page cache dropped before reopen: {dropped}");
    let start = Instant::now();
    let log = PartitionLog::open(dir.path(), tp, config, true).unwrap();
    let took = start.elapsed();
    println!(
        "reopen after clean shutdown: {} MiB in {} segments, log_end_offset {}, took {:.1} ms",
        log.size_bytes() / (1024 * 1024),
        log.segment_count(),
        log.log_end_offset(),
        took.as_secs_f64() * 1000.0
    );
}

fn main() {
    // `FJORD_BENCH_ONLY=reopen` measures only the reopen (e.g. of a 10 GiB log).
    if std::env::var("FJORD_BENCH_ONLY").as_deref() != Ok("reopen") {
        benches();
        Criterion::default().configure_from_args().final_summary();
        comparison();
    }
    reopen();
}
