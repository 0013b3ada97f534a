//! The metadata log: where the controller's record batches go, and where replay reads them.
//!
//! [`MetadataLog`] is the narrow interface the controller needs — append one batch durably,
//! read whole batches from an offset, know the end. The real implementation is the
//! `__cluster_metadata-0` [`PartitionLog`] in the first log dir, opened with
//! `flush.on.ack=true` (a metadata commit is fsynced before the controller answers) and
//! without retention (metadata records are never deleted by age or size; snapshots will come
//! with Raft). [`MemoryMetadataLog`] is the in-memory fake the unit tests use.
//!
//! The calls are blocking (an fsync per append); the controller runs them on the blocking pool.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use fjord_storage::{AppendOutcome, LogConfig, LogManager, PartitionLog, TopicPartition};

use crate::error::{MetadataError, Result};
use crate::record::CLUSTER_METADATA_TOPIC;

/// The leader epoch metadata batches are stamped with. A quorum of one voter never changes
/// leader; Raft will bring real epochs.
pub const METADATA_LEADER_EPOCH: i32 = 0;

/// How much replay reads per call.
const REPLAY_READ_BYTES: usize = 1024 * 1024;

/// The operations the controller needs from its log.
pub trait MetadataLog: Send + Sync + 'static {
    /// Appends one record batch and makes it durable before returning its base offset.
    fn append(&self, batch: Bytes) -> Result<i64>;
    /// Whole batches from the one containing `offset`, at most about `max_bytes` (at least one
    /// batch when there is one); empty at the log end.
    fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes>;
    fn log_start_offset(&self) -> i64;
    fn log_end_offset(&self) -> i64;
}

/// The partition of the metadata log.
pub fn metadata_topic_partition() -> TopicPartition {
    TopicPartition::new(CLUSTER_METADATA_TOPIC, 0)
}

/// The log config of `__cluster_metadata-0`: fsync on every commit, never delete by retention.
pub fn metadata_log_config(base: &LogConfig) -> LogConfig {
    LogConfig {
        flush_on_ack: true,
        retention_ms: -1,
        retention_bytes: -1,
        ..base.clone()
    }
}

/// Opens (or creates) `__cluster_metadata-0` through the log manager and pins its config, since
/// a log found on disk at start was opened with the broker's default config.
pub fn open_metadata_log(logs: &LogManager) -> Result<Arc<PartitionLog>> {
    let config = metadata_log_config(logs.default_config());
    let log = logs
        .get_or_create(&metadata_topic_partition(), config.clone())
        .map_err(|e| MetadataError::Log {
            context: "opening the metadata log".into(),
            source: Box::new(e),
        })?;
    log.update_config(config);
    Ok(log)
}

impl MetadataLog for PartitionLog {
    fn append(&self, batch: Bytes) -> Result<i64> {
        let outcome =
            PartitionLog::append(self, batch, METADATA_LEADER_EPOCH, None).map_err(|e| {
                MetadataError::Log {
                    context: "appending to the metadata log".into(),
                    source: Box::new(e),
                }
            })?;
        match outcome {
            AppendOutcome::Appended(info) => Ok(info.first_offset),
            // metadata batches carry no producer id, so storage cannot see them as retries
            AppendOutcome::Duplicate(info) => Err(MetadataError::CorruptRecord {
                offset: info.first_offset,
                reason: "metadata batch reported as a producer duplicate".into(),
            }),
        }
    }

    fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes> {
        PartitionLog::read(self, offset, max_bytes, i64::MAX)
            .map(|r| r.records)
            .map_err(|e| MetadataError::Log {
                context: format!("reading the metadata log at offset {offset}"),
                source: Box::new(e),
            })
    }

    fn log_start_offset(&self) -> i64 {
        PartitionLog::log_start_offset(self)
    }

    fn log_end_offset(&self) -> i64 {
        PartitionLog::log_end_offset(self)
    }
}

/// An in-memory metadata log for tests: batches kept with their assigned base offset written
/// into the header, as storage does.
#[derive(Default)]
pub struct MemoryMetadataLog {
    batches: Mutex<Vec<(i64, Bytes)>>,
    /// When set, the next append fails (tests of the poisoned-log path).
    fail_appends: std::sync::atomic::AtomicBool,
}

impl MemoryMetadataLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later append fail, as a log poisoned by a failed fsync does.
    pub fn fail_appends(&self, fail: bool) {
        self.fail_appends
            .store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(i64, Bytes)>> {
        // a panic while holding the lock leaves a consistent Vec: recover the guard
        self.batches.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The offset after the batch starting at `bytes[0]`: base offset + last offset delta + 1.
fn next_offset_of_batch(base_offset: i64, batch: &[u8]) -> i64 {
    let delta = batch
        .get(23..27)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_be_bytes)
        .unwrap_or(0);
    base_offset + i64::from(delta) + 1
}

impl MetadataLog for MemoryMetadataLog {
    fn append(&self, batch: Bytes) -> Result<i64> {
        if self.fail_appends.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MetadataError::Log {
                context: "appending to the metadata log".into(),
                source: "injected failure".into(),
            });
        }
        let mut batches = self.lock();
        let base = batches
            .last()
            .map(|(b, bytes)| next_offset_of_batch(*b, bytes))
            .unwrap_or(0);
        let mut bytes = BytesMut::from(&batch[..]);
        if bytes.len() < 61 {
            return Err(MetadataError::CorruptRecord {
                offset: base,
                reason: "short batch".into(),
            });
        }
        bytes[..8].copy_from_slice(&base.to_be_bytes());
        batches.push((base, bytes.freeze()));
        Ok(base)
    }

    fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes> {
        let batches = self.lock();
        let mut out = BytesMut::new();
        for (base, bytes) in batches.iter() {
            if next_offset_of_batch(*base, bytes) <= offset {
                continue;
            }
            if !out.is_empty() && out.len() + bytes.len() > max_bytes {
                break;
            }
            out.extend_from_slice(bytes);
        }
        Ok(out.freeze())
    }

    fn log_start_offset(&self) -> i64 {
        0
    }

    fn log_end_offset(&self) -> i64 {
        self.lock()
            .last()
            .map(|(b, bytes)| next_offset_of_batch(*b, bytes))
            .unwrap_or(0)
    }
}

/// Reads the whole log from its start, handing each record to `apply` in order. Returns the
/// offset after the last batch read.
pub fn replay<F>(log: &dyn MetadataLog, mut apply: F) -> Result<i64>
where
    F: FnMut(i64, crate::record::MetadataRecord) -> Result<()>,
{
    let end = log.log_end_offset();
    let mut offset = log.log_start_offset();
    while offset < end {
        let bytes = log.read(offset, REPLAY_READ_BYTES)?;
        if bytes.is_empty() {
            return Err(MetadataError::CorruptRecord {
                offset,
                reason: format!("no batch found below the log end offset {end}"),
            });
        }
        let decoded = crate::record::decode_batches(bytes)?;
        if decoded.next_offset <= offset {
            return Err(MetadataError::CorruptRecord {
                offset,
                reason: "replay made no progress".into(),
            });
        }
        for (record_offset, record) in decoded.records {
            if record_offset >= offset {
                apply(record_offset, record)?;
            }
        }
        offset = decoded.next_offset;
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{encode_batch, ClusterIdRecord, MetadataRecord};

    fn cluster(id: &str) -> MetadataRecord {
        MetadataRecord::ClusterId(ClusterIdRecord {
            cluster_id: id.into(),
        })
    }

    #[test]
    fn memory_log_assigns_offsets_and_replays() {
        let log = MemoryMetadataLog::new();
        assert_eq!(
            log.append(encode_batch(&[cluster("a"), cluster("a")], 0).unwrap())
                .unwrap(),
            0
        );
        assert_eq!(
            log.append(encode_batch(&[cluster("a")], 0).unwrap())
                .unwrap(),
            2
        );
        assert_eq!(log.log_end_offset(), 3);
        let mut seen = Vec::new();
        let end = replay(&log, |o, _| {
            seen.push(o);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [0, 1, 2]);
        assert_eq!(end, 3);
    }

    #[test]
    fn partition_log_round_trip_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let tp = metadata_topic_partition();
        let path = dir.path().join(tp.to_string());
        let config = metadata_log_config(&LogConfig::default());
        {
            let log = PartitionLog::open(&path, tp.clone(), config.clone(), true).unwrap();
            let log: &dyn MetadataLog = &log;
            assert_eq!(
                log.append(encode_batch(&[cluster("x")], 1).unwrap())
                    .unwrap(),
                0
            );
            assert_eq!(
                log.append(encode_batch(&[cluster("x"), cluster("x")], 1).unwrap())
                    .unwrap(),
                1
            );
        }
        let log = PartitionLog::open(&path, tp, config, false).unwrap();
        let mut seen = Vec::new();
        replay(&log, |o, r| {
            assert_eq!(r, cluster("x"));
            seen.push(o);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [0, 1, 2]);
    }
}
