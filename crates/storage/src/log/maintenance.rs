//! Retention, truncation, log start offset and close.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{PartitionLog, Writer};
use crate::checkpoint::{write_offset, LOG_START_OFFSET_CHECKPOINT};
use crate::config::LogConfig;
use crate::error::LogError;
use crate::producer_state::ProducerStateManager;
use crate::segment::{now_ms, Segment};

impl PartitionLog {
    /// Removes every record at or after `offset` (a follower whose log diverged from the
    /// leader's). Whole batches go: one that contains `offset` is removed with it. Truncating
    /// below the log start offset empties the log and restarts it at `offset`.
    pub fn truncate_to(&self, offset: i64) -> Result<(), LogError> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        self.truncate_cleaner_checkpoint(offset)?;
        self.aborted_txns
            .write()
            .truncate_to(offset)
            .map_err(|e| self.poison(e))?;
        if offset < self.log_start_offset() {
            return self.truncate_fully_and_start_at(&mut writer, offset);
        }
        let config = self.config();
        let segments = self.segments.load_full();
        let keep = segments.partition_point(|s| s.base_offset < offset).max(1);
        let (kept, dropped) = segments.split_at(keep);
        let new_active = Arc::clone(kept.last().expect("at least one kept"));
        let mut list: Vec<Arc<Segment>> = kept.to_vec();
        // Publish the shorter list first so readers stop finding the dropped segments.
        self.segments.store(Arc::new(list.clone()));
        for segment in dropped {
            segment.delete_files().map_err(|e| self.poison(e))?;
        }
        new_active
            .truncate_to(offset, &config)
            .map_err(|e| self.poison(e))?;
        let log_end_offset = new_active.next_offset().unwrap_or(new_active.base_offset);
        if log_end_offset < self.log_start_offset() {
            // The batch holding the log start offset went: nothing readable is left.
            list.clear();
            let start = self.log_start_offset();
            return self.truncate_fully_and_start_at(&mut writer, start);
        }
        self.log_end_offset.store(log_end_offset, Ordering::Release);
        self.recovery_point
            .fetch_min(log_end_offset, Ordering::AcqRel);
        self.epochs
            .lock()
            .truncate_from_end(log_end_offset)
            .map_err(|e| self.poison(e))?;
        self.reload_producer_state(&mut writer, &config)?;
        self.checkpoint_recovery_point(&mut writer)?;
        Ok(())
    }

    fn truncate_fully_and_start_at(
        &self,
        writer: &mut Writer,
        offset: i64,
    ) -> Result<(), LogError> {
        let config = self.config();
        let segments = self.segments.load_full();
        for segment in segments.iter() {
            segment.delete_files().map_err(|e| self.poison(e))?;
        }
        let segment = Segment::create(&self.dir, offset, &config).map_err(|e| self.poison(e))?;
        self.segments.store(Arc::new(vec![Arc::new(segment)]));
        self.log_end_offset.store(offset, Ordering::Release);
        self.log_start_offset.store(offset, Ordering::Release);
        self.recovery_point.store(offset, Ordering::Release);
        write_offset(&self.dir, LOG_START_OFFSET_CHECKPOINT, &self.tp, offset)
            .map_err(|e| self.poison(e))?;
        self.epochs.lock().clear().map_err(|e| self.poison(e))?;
        writer.producers.clear();
        self.publish_first_unstable(&writer.producers);
        self.aborted_txns
            .write()
            .clear()
            .map_err(|e| self.poison(e))?;
        ProducerStateManager::delete_snapshots_after(&self.dir, i64::MIN)
            .map_err(|e| self.poison(e))?;
        self.checkpoint_recovery_point(writer)?;
        Ok(())
    }

    /// Rebuilds producer state after a truncation: newest snapshot at or below the new end,
    /// then the batch headers after it.
    fn reload_producer_state(
        &self,
        writer: &mut Writer,
        config: &LogConfig,
    ) -> Result<(), LogError> {
        let log_end_offset = self.log_end_offset();
        ProducerStateManager::delete_snapshots_after(&self.dir, log_end_offset)
            .map_err(|e| self.poison(e))?;
        let (from, mut producers) = ProducerStateManager::load_latest(&self.dir, log_end_offset)?
            .unwrap_or((self.log_start_offset(), ProducerStateManager::new()));
        let segments = self.segments.load_full();
        super::txn::replay(
            &segments,
            from,
            config,
            &mut producers,
            &mut self.aborted_txns.write(),
        )?;
        producers.truncate_head(self.log_start_offset());
        self.publish_first_unstable(&producers);
        writer.producers = producers;
        Ok(())
    }

    /// Moves the log start offset forward (DeleteRecords); persisted before returning.
    /// Segments entirely below it are deleted (never the active one).
    pub fn advance_log_start_offset(&self, offset: i64) -> Result<(), LogError> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        let log_end_offset = self.log_end_offset();
        if offset > log_end_offset || offset < 0 {
            return Err(LogError::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset(),
                log_end_offset,
            });
        }
        if offset <= self.log_start_offset() {
            return Ok(());
        }
        self.set_log_start_offset(&mut writer, offset)?;
        self.delete_segments_below_log_start();
        Ok(())
    }

    fn set_log_start_offset(&self, writer: &mut Writer, offset: i64) -> Result<(), LogError> {
        write_offset(&self.dir, LOG_START_OFFSET_CHECKPOINT, &self.tp, offset)
            .map_err(|e| self.poison(e))?;
        self.log_start_offset.store(offset, Ordering::Release);
        self.epochs
            .lock()
            .truncate_from_start(offset)
            .map_err(|e| self.poison(e))?;
        writer.producers.truncate_head(offset);
        self.publish_first_unstable(&writer.producers);
        Ok(())
    }

    /// Drops sealed segments whose records all precede the log start offset.
    fn delete_segments_below_log_start(&self) -> usize {
        let log_start_offset = self.log_start_offset();
        let segments = self.segments.load_full();
        let deletable = segments
            .windows(2)
            .take_while(|pair| pair[1].base_offset <= log_start_offset)
            .count();
        self.delete_oldest(&segments, deletable)
    }

    /// Removes the first `count` segments (never the last) from the list and then from disk.
    fn delete_oldest(&self, segments: &[Arc<Segment>], count: usize) -> usize {
        let count = count.min(segments.len().saturating_sub(1));
        if count == 0 {
            return 0;
        }
        self.segments.store(Arc::new(segments[count..].to_vec()));
        if let Err(e) = self
            .aborted_txns
            .write()
            .delete_below(segments[count].base_offset)
        {
            tracing::warn!(partition = %self.tp, error = %e, "could not delete transaction index files");
        }
        for segment in &segments[..count] {
            // Readers that still hold the segment read through their open file handle.
            if let Err(e) = segment.delete_files() {
                tracing::warn!(partition = %self.tp, error = %e, "could not delete segment files");
            }
        }
        count
    }

    /// Applies `retention.ms`, `retention.bytes` (only when `cleanup.policy` includes
    /// `delete`: a purely compacted log is never deleted by age or size) and the log start
    /// offset (deleting whole sealed segments, oldest first) and `flush.ms`; checkpoints the
    /// recovery point. Returns the number of segments deleted. The broker calls this
    /// periodically.
    pub fn run_maintenance(&self, now_ms: i64) -> Result<usize, LogError> {
        let mut writer = self.writer.lock();
        if self.poisoned.lock().is_some() || self.closed.load(Ordering::Acquire) {
            return Ok(0);
        }
        let config = self.config();
        let segments = self.segments.load_full();
        let log_start_offset = self.log_start_offset();
        let total: u64 = segments.iter().map(|s| s.size()).sum();
        let deletes = config.cleanup_policy.deletes();
        let mut size_excess = if deletes && config.retention_bytes >= 0 {
            total as i64 - config.retention_bytes
        } else {
            i64::MIN
        };
        let mut deletable = 0;
        for (i, segment) in segments.iter().enumerate().take(segments.len() - 1) {
            let below_start = segments[i + 1].base_offset <= log_start_offset;
            let expired = deletes
                && config.retention_ms >= 0
                && now_ms - segment.largest_timestamp_for_retention(&config)? > config.retention_ms;
            let size = segment.size() as i64;
            let too_big = size_excess != i64::MIN && size_excess - size >= 0;
            if !(below_start || expired || too_big) {
                break;
            }
            if size_excess != i64::MIN {
                size_excess -= size;
            }
            deletable += 1;
        }
        let deleted = self.delete_oldest(&segments, deletable);
        if deleted > 0 {
            let first_base = self.segments.load()[0].base_offset;
            if first_base > log_start_offset {
                self.set_log_start_offset(&mut writer, first_base)?;
            }
            tracing::info!(partition = %self.tp, segments = deleted, log_start_offset = self.log_start_offset(), "deleted segments by retention");
        }
        if config.flush_interval_ms != i64::MAX
            && now_ms - writer.last_flush_ms >= config.flush_interval_ms
        {
            self.flush_locked(&mut writer)?;
            writer.last_flush_ms = now_ms;
        }
        self.checkpoint_recovery_point(&mut writer)?;
        Ok(deleted)
    }

    /// Flushes, seals the active segment's indexes, and writes the producer snapshot and the
    /// checkpoints, so the next open after a clean shutdown reads nothing but the last
    /// segment's tail. The log refuses writes afterwards.
    pub fn close(&self) -> Result<(), LogError> {
        let mut writer = self.writer.lock();
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(reason) = self.poisoned.lock().clone() {
            return Err(LogError::Poisoned {
                path: self.dir.clone(),
                reason,
            });
        }
        let active = self.active_segment();
        active.seal().map_err(|e| self.poison(e))?;
        // The snapshot below ends replay at the log end: the index entries must be durable.
        self.aborted_txns
            .read()
            .sync(active.base_offset)
            .map_err(|e| self.poison(e))?;
        self.recovery_point
            .store(self.log_end_offset(), Ordering::Release);
        // Each skipped write saves two fsyncs (file and directory), which is what a shutdown
        // of thousands of idle partitions otherwise spends its time on. The log start offset
        // needs no write here: every change of it is checkpointed when it happens.
        let log_end_offset = self.log_end_offset();
        let nothing_to_record =
            writer.producers.is_empty() && log_end_offset == self.log_start_offset();
        if !nothing_to_record && !writer.producers.has_snapshot_at(&self.dir, log_end_offset) {
            writer
                .producers
                .write_snapshot(&self.dir, log_end_offset)
                .map_err(|e| self.poison(e))?;
        }
        self.checkpoint_recovery_point(&mut writer)?;
        writer.last_flush_ms = now_ms();
        Ok(())
    }
}
