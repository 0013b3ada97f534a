//! Appending to a partition log (as leader and as follower), rolling and flushing.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use fjord_protocol::batch::{self, BatchError, BatchFrames, BatchHeader, HEADER_LEN};

use super::{AppendInfo, AppendOutcome, PartitionLog, Writer};
use crate::checkpoint::{write_offset, RECOVERY_POINT_CHECKPOINT};
use crate::config::LogConfig;
use crate::error::LogError;
use crate::producer_state::SequenceCheck;
use crate::scan::Located;
use crate::segment::{now_ms, Segment};

/// The bytes of a batch header the leader rewrites for a CreateTime batch: base offset
/// (0..8), batch length (8..12, unchanged) and partition leader epoch (12..16).
const PATCH_LEN: usize = 16;

/// Splits a run of batches into (range, header), checking each with `check`.
fn frames(
    records: &[u8],
    check: fn(&[u8]) -> Result<BatchHeader, BatchError>,
) -> Result<Vec<Located>, LogError> {
    let mut out = Vec::new();
    for frame in BatchFrames::new(records) {
        let range = frame?;
        let header = check(&records[range.clone()])?;
        out.push(Located {
            position: range.start as u64,
            header,
        });
    }
    if out.is_empty() {
        return Err(LogError::CorruptBatch(BatchError::Truncated {
            needed: HEADER_LEN,
            available: records.len(),
        }));
    }
    Ok(out)
}

impl PartitionLog {
    /// Appends one or more concatenated v2 batches as a producer sent them. Each is validated
    /// (`validate_produced`), gets offsets from the log end offset and `leader_epoch` as its
    /// partition leader epoch; with `log_append_time_ms: Some(now)` its timestamp becomes the
    /// append time. All or nothing per call. Only the base offset and leader epoch bytes are
    /// rewritten (plus timestamp and CRC for LogAppendTime).
    pub fn append(
        &self,
        records: Bytes,
        leader_epoch: i32,
        log_append_time_ms: Option<i64>,
    ) -> Result<AppendOutcome, LogError> {
        let mut located = frames(&records, batch::validate_produced)?;
        let config = self.config();
        if records.len() as u64 > config.segment_bytes {
            return Err(LogError::RecordTooLarge {
                size: records.len(),
                segment_bytes: config.segment_bytes,
            });
        }
        if config.cleanup_policy.compacts() {
            self.check_keys(&records, &located)?;
        }
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let log_start_offset = self.log_start_offset();

        // Assign offsets on the parsed headers and check producer state before touching bytes.
        let mut next_offset = self.log_end_offset();
        let mut pending = HashMap::new();
        for b in &mut located {
            b.header.base_offset = next_offset;
            b.header.partition_leader_epoch = leader_epoch;
            if let Some(t) = log_append_time_ms {
                b.header.max_timestamp = t;
            }
            if let SequenceCheck::Duplicate(original) =
                writer.producers.check(&b.header, &pending)?
            {
                return Ok(AppendOutcome::Duplicate(AppendInfo {
                    first_offset: original.first_offset,
                    last_offset: original.last_offset,
                    max_timestamp: original.max_timestamp,
                    log_append_time_ms: log_append_time_ms.map(|_| original.max_timestamp),
                    log_start_offset,
                    record_count: (original.last_offset - original.first_offset + 1) as u64,
                    bytes: 0,
                }));
            }
            if let Some(entry) = writer.producers.updated_entry(&b.header, &pending) {
                pending.insert(b.header.producer_id, entry);
            }
            next_offset = b.header.next_offset();
        }

        let info = match log_append_time_ms {
            // CreateTime (the usual case): only the base offset and the partition leader epoch
            // change, both in the first PATCH_LEN bytes of each batch and outside its CRC. The
            // patched prefixes and the rest of the request's bytes are written as separate
            // pieces: the records are never copied in user space (the request's `Bytes` is
            // shared with the rest of the decoded request, so it cannot be made mutable).
            None => {
                let prefixes: Vec<[u8; PATCH_LEN]> = located
                    .iter()
                    .map(|b| {
                        let start = b.position as usize;
                        let mut prefix = [0u8; PATCH_LEN];
                        prefix.copy_from_slice(&records[start..start + PATCH_LEN]);
                        batch::set_base_offset(&mut prefix, b.header.base_offset);
                        batch::set_partition_leader_epoch(&mut prefix, leader_epoch);
                        prefix
                    })
                    .collect();
                let mut pieces: Vec<&[u8]> = Vec::with_capacity(2 * located.len());
                for (b, prefix) in located.iter().zip(&prefixes) {
                    pieces.push(prefix);
                    pieces.push(&records[b.position as usize + PATCH_LEN..b.end() as usize]);
                }
                self.write_batches(&mut writer, &config, &pieces, &located)?
            }
            // LogAppendTime rewrites the timestamp and so the CRC over the whole batch: that
            // needs the batch in a mutable buffer (a copy unless the `Bytes` is unique).
            Some(t) => {
                let mut buf = records
                    .try_into_mut()
                    .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
                for b in &located {
                    let bytes = &mut buf[b.position as usize..b.end() as usize];
                    batch::set_base_offset(bytes, b.header.base_offset);
                    batch::set_partition_leader_epoch(bytes, leader_epoch);
                    batch::set_log_append_time(bytes, t);
                }
                self.write_batches(&mut writer, &config, &[&buf[..]], &located)?
            }
        };
        writer.producers.commit(pending);
        self.publish_first_unstable(&writer.producers);
        self.assign_epoch(leader_epoch, info.first_offset)?;
        let info = AppendInfo {
            log_append_time_ms,
            ..info
        };
        self.after_append(&mut writer, &config, info.record_count)?;
        Ok(AppendOutcome::Appended(info))
    }

    /// Appends batches that already carry offsets (replication, metadata log replay). Each
    /// must be valid and start at or after the end of the previous one and the log end offset.
    pub fn append_as_follower(&self, records: Bytes) -> Result<AppendInfo, LogError> {
        let located = frames(&records, batch::validate)?;
        let config = self.config();
        if records.len() as u64 > config.segment_bytes {
            return Err(LogError::RecordTooLarge {
                size: records.len(),
                segment_bytes: config.segment_bytes,
            });
        }
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let mut expected = self.log_end_offset();
        for b in &located {
            if b.header.base_offset < expected {
                return Err(LogError::NonMonotonicOffset {
                    base_offset: b.header.base_offset,
                    log_end_offset: expected,
                });
            }
            expected = b.header.next_offset();
        }
        // A follower's first batch may start past the log end offset (the leader compacted or
        // deleted records); the active segment must still be able to index it.
        let info = self.write_batches(&mut writer, &config, &[&records[..]], &located)?;
        for b in &located {
            let marker = if b.header.is_control() {
                let bytes = records.slice(b.position as usize..b.end() as usize);
                crate::transaction::TxnMarker::from_batch(&b.header, &bytes)
            } else {
                None
            };
            let completed = writer.producers.apply(&b.header, marker.as_ref());
            self.record_completed(&writer.producers, completed)?;
            self.assign_epoch(b.header.partition_leader_epoch, b.header.base_offset)?;
        }
        self.publish_first_unstable(&writer.producers);
        self.after_append(&mut writer, &config, info.record_count)?;
        Ok(info)
    }

    /// Refuses records without a key in a compacted log, as Kafka's `LogValidator` does
    /// (checked before taking the writer lock: it may decompress).
    fn check_keys(&self, records: &Bytes, located: &[Located]) -> Result<(), LogError> {
        for (batch_index, b) in located.iter().enumerate() {
            if b.header.is_control() {
                continue;
            }
            let bytes = records.slice(b.position as usize..b.end() as usize);
            let mut keyless = None;
            let mut index = 0;
            crate::cleaner::filter::for_each_key(&bytes, &b.header, |_, key| {
                if key.is_none() && keyless.is_none() {
                    keyless = Some(index);
                }
                index += 1;
            })
            .map_err(|_| {
                LogError::CorruptBatch(BatchError::MalformedRecords {
                    reason: "records cannot be decoded",
                })
            })?;
            if let Some(record_index) = keyless {
                return Err(LogError::KeylessRecordInCompactedLog {
                    partition: self.tp.to_string(),
                    batch_index,
                    record_index,
                });
            }
        }
        Ok(())
    }

    pub(super) fn assign_epoch(&self, epoch: i32, start_offset: i64) -> Result<(), LogError> {
        self.epochs
            .lock()
            .assign(epoch, start_offset)
            .map_err(|e| self.poison(e))
    }

    /// Rolls if needed and writes the batches to the active segment; publishes the new log
    /// end offset.
    pub(super) fn write_batches(
        &self,
        writer: &mut Writer,
        config: &LogConfig,
        pieces: &[&[u8]],
        located: &[Located],
    ) -> Result<AppendInfo, LogError> {
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        let first = located.first().expect("at least one batch").header;
        let last = located.last().expect("at least one batch").header;
        let max_timestamp = located
            .iter()
            .map(|b| b.header.max_timestamp)
            .max()
            .unwrap_or(-1);
        let active = self.active_segment();
        if active.should_roll(
            config,
            len as u64,
            max_timestamp,
            last.last_offset(),
            now_ms(),
        ) || first.base_offset - active.base_offset > i64::from(i32::MAX)
        {
            self.roll_locked(writer, config, first.base_offset)?;
        }
        let active = self.active_segment();
        active
            .append(pieces, located, config.index_interval_bytes)
            .map_err(|e| self.poison(e))?;
        self.log_end_offset
            .store(last.next_offset(), Ordering::Release);
        Ok(AppendInfo {
            first_offset: first.base_offset,
            last_offset: last.last_offset(),
            max_timestamp,
            log_append_time_ms: None,
            log_start_offset: self.log_start_offset(),
            record_count: located
                .iter()
                .map(|b| (b.header.last_offset_delta as u64) + 1)
                .sum(),
            bytes: len,
        })
    }

    pub(super) fn after_append(
        &self,
        writer: &mut Writer,
        config: &LogConfig,
        record_count: u64,
    ) -> Result<(), LogError> {
        writer.unflushed_messages += record_count;
        if config.flush_on_ack || writer.unflushed_messages >= config.flush_interval_messages {
            self.flush_locked(writer)?;
        }
        Ok(())
    }

    /// Starts a new segment at the log end offset (the current one is sealed and fsynced).
    /// Does nothing when the active segment is empty.
    pub fn roll(&self) -> Result<(), LogError> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let config = self.config();
        let next = self.log_end_offset();
        self.roll_locked(&mut writer, &config, next)
    }

    /// Seals the active segment and starts one at `base_offset`. Everything before it is then
    /// fsynced, so the recovery point moves there; a producer snapshot is written for it.
    pub(super) fn roll_locked(
        &self,
        writer: &mut Writer,
        config: &LogConfig,
        base_offset: i64,
    ) -> Result<(), LogError> {
        let segments = self.segments.load_full();
        let active = segments.last().expect("a log always has an active segment");
        let mut list: Vec<Arc<Segment>> = segments.iter().cloned().collect();
        if active.size() == 0 {
            if active.base_offset == base_offset {
                return Ok(());
            }
            // An empty active segment is replaced rather than kept as an empty sealed one.
            list.pop();
            active.delete_files().map_err(|e| self.poison(e))?;
        } else {
            active.seal().map_err(|e| self.poison(e))?;
            self.aborted_txns
                .read()
                .sync(active.base_offset)
                .map_err(|e| self.poison(e))?;
        }
        let segment =
            Segment::create(&self.dir, base_offset, config).map_err(|e| self.poison(e))?;
        list.push(Arc::new(segment));
        self.segments.store(Arc::new(list));
        crate::crashsafe::fsync_dir(&self.dir).map_err(|e| self.poison(e))?;
        let recovered_to = self.log_end_offset().min(base_offset);
        self.recovery_point
            .fetch_max(recovered_to, Ordering::AcqRel);
        writer.unflushed_messages = 0;
        writer
            .producers
            .write_snapshot(&self.dir, base_offset)
            .map_err(|e| self.poison(e))?;
        self.checkpoint_recovery_point(writer)?;
        Ok(())
    }

    /// fsyncs everything written so far and moves the recovery point to the log end offset.
    pub fn flush(&self) -> Result<(), LogError> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        self.flush_locked(&mut writer)
    }

    pub(super) fn flush_locked(&self, writer: &mut Writer) -> Result<(), LogError> {
        let log_end_offset = self.log_end_offset();
        if self.recovery_point() >= log_end_offset {
            return Ok(());
        }
        // Only the active segment can hold unflushed data: a roll fsyncs the segment it seals.
        self.active_segment().flush().map_err(|e| self.poison(e))?;
        self.recovery_point.store(log_end_offset, Ordering::Release);
        writer.unflushed_messages = 0;
        writer.last_flush_ms = now_ms();
        Ok(())
    }

    /// Persists the recovery point if it moved since the last checkpoint.
    pub(super) fn checkpoint_recovery_point(&self, writer: &mut Writer) -> Result<(), LogError> {
        let recovery_point = self.recovery_point();
        if recovery_point != writer.checkpointed_recovery_point {
            write_offset(
                &self.dir,
                RECOVERY_POINT_CHECKPOINT,
                &self.tp,
                recovery_point,
            )
            .map_err(|e| self.poison(e))?;
            writer.checkpointed_recovery_point = recovery_point;
        }
        Ok(())
    }
}
