//! `PartitionLog`: one partition's durable log, a directory `<topic>-<partition>` holding
//!
//! * segments `<base_offset:020>.log` with their `.index` and `.timeindex` ([`crate::segment`]),
//! * `<offset:020>.snapshot` producer-state snapshots ([`crate::producer_state`]),
//! * `<base_offset:020>.txnindex` aborted-transaction indexes ([`crate::transaction::index`]),
//! * `leader-epoch-checkpoint` ([`crate::leader_epoch`]),
//! * `log-start-offset-checkpoint`, `recovery-point-offset-checkpoint` and
//!   `cleaner-offset-checkpoint` ([`crate::checkpoint`], [`crate::cleaner`]),
//! * transiently, `<base_offset:020>.log.cleaned` and `.log.swap` while the cleaner replaces
//!   segments of a compacted log ([`crate::cleaner`]).
//!
//! Concurrency: one writer at a time (the `writer` mutex serializes appends, rolls,
//! truncations, retention and flushes). Readers never take that lock: they load the offsets
//! (atomics), then an immutable snapshot of the segment list (`ArcSwap`), and `pread` from the
//! segment files, so a read never waits behind an append's fsync.
//!
//! Offsets: `log_end_offset` is the offset after the last record written (visible to readers);
//! `recovery_point` is the offset up to which everything is fsynced. After an unclean stop,
//! segments from the one holding the persisted recovery point on are scanned and repaired.

mod append;
mod compact;
mod maintenance;
mod open;
mod txn;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::config::LogConfig;
use crate::error::LogError;
use crate::leader_epoch::LeaderEpochCache;
use crate::producer_state::ProducerStateManager;
use crate::segment::{Segment, TimestampOffset};
use crate::topic_partition::TopicPartition;
use crate::transaction::index::TxnIndex;

/// ListOffsets' special timestamps, answered here as Kafka's `fetchOffsetByTimestamp` does.
pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const LATEST_TIMESTAMP: i64 = -1;
pub const MAX_TIMESTAMP: i64 = -3;

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    Appended(AppendInfo),
    /// The batch repeats one of the producer's last 5 batches: nothing was written and the
    /// original offsets are returned (the producer retried after a lost response).
    Duplicate(AppendInfo),
}

impl AppendOutcome {
    pub fn info(&self) -> &AppendInfo {
        match self {
            AppendOutcome::Appended(info) | AppendOutcome::Duplicate(info) => info,
        }
    }
}

/// Offsets and sizes of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: i64,
    pub last_offset: i64,
    /// Largest batch max timestamp appended (the append time for LogAppendTime topics).
    pub max_timestamp: i64,
    /// `Some(t)` when the topic uses LogAppendTime (the produce response reports it).
    pub log_append_time_ms: Option<i64>,
    pub log_start_offset: i64,
    pub record_count: u64,
    pub bytes: usize,
}

/// Whole batches read from the log, and the offsets at the time of the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    pub records: Bytes,
    pub log_start_offset: i64,
    pub log_end_offset: i64,
}

struct Writer {
    producers: ProducerStateManager,
    /// Records appended since the last fsync (for `flush.messages`).
    unflushed_messages: u64,
    last_flush_ms: i64,
    /// The recovery point last written to `recovery-point-offset-checkpoint`.
    checkpointed_recovery_point: i64,
}

/// One partition's log. `Send + Sync`; see the module docs for the locking scheme.
pub struct PartitionLog {
    tp: TopicPartition,
    dir: PathBuf,
    config: RwLock<LogConfig>,
    segments: ArcSwap<Vec<Arc<Segment>>>,
    writer: Mutex<Writer>,
    epochs: Mutex<LeaderEpochCache>,
    log_start_offset: AtomicI64,
    log_end_offset: AtomicI64,
    recovery_point: AtomicI64,
    poisoned: Mutex<Option<String>>,
    closed: AtomicBool,
    /// Held for the duration of a clean (see `compact.rs`).
    cleaner: compact::CleanerState,
    /// The cleaner compacts nothing at or above this offset (high watermark / LSO).
    cleaner_upper_bound: AtomicI64,
    /// Aborted transactions (written under the writer lock, read by fetches).
    aborted_txns: RwLock<TxnIndex>,
    /// First offset of the oldest ongoing transaction (`txn::NO_UNSTABLE_OFFSET`: none).
    first_unstable_offset: AtomicI64,
}

impl std::fmt::Debug for PartitionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionLog")
            .field("topic_partition", &self.tp)
            .field("log_start_offset", &self.log_start_offset())
            .field("log_end_offset", &self.log_end_offset())
            .finish()
    }
}

impl PartitionLog {
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset.load(Ordering::Acquire)
    }

    pub fn log_end_offset(&self) -> i64 {
        self.log_end_offset.load(Ordering::Acquire)
    }

    /// Everything below this offset is fsynced.
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point.load(Ordering::Acquire)
    }

    pub fn config(&self) -> LogConfig {
        self.config.read().clone()
    }

    /// New topic config (AlterConfigs); applies from the next append / maintenance run.
    pub fn update_config(&self, config: LogConfig) {
        *self.config.write() = config;
    }

    /// True after a failed write or fsync: the log refuses writes (KAFKA_STORAGE_ERROR).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.lock().is_some()
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.load().iter().map(|s| s.size()).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.load().len()
    }

    /// Base offsets of the segments, oldest first (diagnostics, console, tests).
    pub fn segment_base_offsets(&self) -> Vec<i64> {
        self.segments.load().iter().map(|s| s.base_offset).collect()
    }

    /// Whole batches starting with the one containing `offset`, up to `max_bytes` (at least
    /// one whole batch when any exists below `max_offset`), never including batches whose base
    /// offset is at or after `max_offset` (the broker passes the high watermark or last stable
    /// offset). A read at the log end offset returns no records.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
    ) -> Result<ReadResult, LogError> {
        // Offsets first, then the segment list: a roll publishes the new segment before the
        // new log end offset, so every offset below `log_end_offset` is in `segments`.
        let log_end_offset = self.log_end_offset();
        let log_start_offset = self.log_start_offset();
        let segments = self.segments.load_full();
        if offset < log_start_offset || offset > log_end_offset {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset,
                log_end_offset,
            });
        }
        let config = self.config();
        let max_offset = max_offset.min(log_end_offset);
        let first = segments
            .partition_point(|s| s.base_offset <= offset)
            .saturating_sub(1);
        let mut records = Bytes::new();
        if offset < max_offset {
            for segment in &segments[first..] {
                if segment.base_offset >= max_offset {
                    break;
                }
                if let Some(bytes) = segment.read(offset, max_bytes, max_offset, &config)? {
                    records = bytes;
                    break;
                }
            }
        }
        Ok(ReadResult {
            records,
            log_start_offset,
            log_end_offset,
        })
    }

    /// The first record whose timestamp is >= `timestamp_ms` (ListOffsets). `None` when every
    /// record is older (Kafka answers offset -1). The special timestamps -2 (earliest), -1
    /// (latest) and -3 (max timestamp) answer with timestamp -1 and the log start / end offset,
    /// or the max-timestamp record.
    pub fn offset_for_timestamp(
        &self,
        timestamp_ms: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        match timestamp_ms {
            EARLIEST_TIMESTAMP => {
                return Ok(Some(TimestampOffset {
                    timestamp_ms: -1,
                    offset: self.log_start_offset(),
                }))
            }
            LATEST_TIMESTAMP => {
                return Ok(Some(TimestampOffset {
                    timestamp_ms: -1,
                    offset: self.log_end_offset(),
                }))
            }
            MAX_TIMESTAMP => return Ok(self.max_timestamp_offset()),
            _ => {}
        }
        let log_start_offset = self.log_start_offset();
        let segments = self.segments.load_full();
        let config = self.config();
        for (i, segment) in segments.iter().enumerate() {
            if segments
                .get(i + 1)
                .is_some_and(|next| next.base_offset <= log_start_offset)
            {
                continue;
            }
            let Some((max_ts, _)) = segment.max_timestamp(&config)? else {
                continue;
            };
            if max_ts < timestamp_ms {
                continue;
            }
            if let Some(found) =
                segment.find_offset_by_timestamp(timestamp_ms, log_start_offset, &config)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// The record with the largest timestamp (ListOffsets MAX_TIMESTAMP, KIP-734); the first
    /// such record when several share it.
    pub fn max_timestamp_offset(&self) -> Option<TimestampOffset> {
        let log_start_offset = self.log_start_offset();
        let segments = self.segments.load_full();
        let config = self.config();
        let mut best: Option<(i64, &Arc<Segment>)> = None;
        for segment in segments.iter() {
            match segment.max_timestamp(&config) {
                Ok(Some((ts, last_offset))) if last_offset >= log_start_offset => {
                    if best.is_none_or(|(b, _)| ts > b) {
                        best = Some((ts, segment));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(partition = %self.tp, error = %e, "max timestamp lookup failed");
                    return None;
                }
            }
        }
        let (_, segment) = best?;
        match segment.max_timestamp_record(&config, log_start_offset) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(partition = %self.tp, error = %e, "max timestamp lookup failed");
                None
            }
        }
    }

    /// Kafka's OffsetForLeaderEpoch answer: the largest epoch <= `leader_epoch` and the offset
    /// where the next epoch starts (the log end offset for the current one). `None` = unknown.
    pub fn end_offset_for_epoch(&self, leader_epoch: i32) -> Option<(i32, i64)> {
        self.epochs
            .lock()
            .end_offset_for(leader_epoch, self.log_end_offset())
    }

    /// The latest leader epoch that appended to this log.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.lock().latest_epoch()
    }

    /// The idempotence state of one producer (epoch, last batches), for the broker and tests.
    pub fn producer_entry(&self, producer_id: i64) -> Option<crate::producer_state::ProducerEntry> {
        self.writer.lock().producers.entry(producer_id).cloned()
    }

    /// Every producer this partition remembers, by producer id (DescribeProducers).
    pub fn producer_entries(&self) -> Vec<(i64, crate::producer_state::ProducerEntry)> {
        let writer = self.writer.lock();
        let mut entries: Vec<_> = writer
            .producers
            .entries()
            .map(|(id, entry)| (id, entry.clone()))
            .collect();
        entries.sort_by_key(|(id, _)| *id);
        entries
    }

    /// Refuses every further write (the partition is being deleted).
    pub(crate) fn mark_deleted(&self) {
        let _writer = self.writer.lock();
        self.closed.store(true, Ordering::Release);
    }

    fn check_writable(&self) -> Result<(), LogError> {
        if let Some(reason) = self.poisoned.lock().as_ref() {
            return Err(LogError::Poisoned {
                path: self.dir.clone(),
                reason: reason.clone(),
            });
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(LogError::Poisoned {
                path: self.dir.clone(),
                reason: "log is closed".to_string(),
            });
        }
        Ok(())
    }

    /// Records a failed write/fsync: from now on the log refuses writes.
    fn poison(&self, error: LogError) -> LogError {
        tracing::error!(partition = %self.tp, error = %error, "log write failed; refusing further writes");
        let mut poisoned = self.poisoned.lock();
        if poisoned.is_none() {
            *poisoned = Some(error.to_string());
        }
        error
    }

    fn active_segment(&self) -> Arc<Segment> {
        Arc::clone(
            self.segments
                .load()
                .last()
                .expect("a log always has an active segment"),
        )
    }
}

#[cfg(test)]
mod tests;
