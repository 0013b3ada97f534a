//! Compaction of one partition log: the dirty section, the offset map, the rewrite of sealed
//! segments and their swap. The steps, files and rules are described in [`crate::cleaner`].
//!
//! Locking: the `cleaner` mutex makes cleans of one log one at a time. Reading segments and
//! writing `.cleaned` files happen without the writer lock, so appends continue during a clean;
//! each swap takes the writer lock and first checks that the segments it replaces are still
//! the log's (retention, DeleteRecords or a truncation may have removed them meanwhile, and
//! then the clean stops without touching anything).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use fjord_protocol::batch::BatchError;
use parking_lot::Mutex;

use super::PartitionLog;
use crate::checkpoint::{read_offset, write_offset};
use crate::cleaner::filter::{
    delete_horizon_ms, filter_batch, for_each_key, FilterContext, FilterCounts, Filtered,
};
use crate::cleaner::offset_map::OffsetMap;
use crate::cleaner::txn::TxnCleanState;
use crate::cleaner::{
    cleaned_path, complete_swap, CleanStats, CleanableState, CleanerConfig, CLEANER_CHECKPOINT,
};
use crate::config::LogConfig;
use crate::error::LogError;
use crate::segment::Segment;
use crate::transaction::{AbortedTxn, TxnMarker};

/// Per producer: the last offset of its last data batch and its epoch (producer state's
/// `last_records`).
type LastRecords = HashMap<i64, (Option<i64>, i16)>;

/// What the rewrite walk knows about producers and transactions.
struct ProducerWalk<'a> {
    last_records: &'a LastRecords,
    txns: TxnCleanState,
}

/// Marks a delete horizon not yet looked for since the log was opened.
const HORIZON_UNKNOWN: i64 = i64::MIN;
/// Marks "no tombstone kept".
const NO_HORIZON: i64 = i64::MAX;

/// What a log remembers between cleans.
#[derive(Debug)]
pub(super) struct CleanerState {
    /// Held for the duration of one clean.
    running: Mutex<()>,
    /// The earliest delete horizon of a tombstone the last clean kept (once it passes, the
    /// log needs a clean even if nothing new is dirty); found by a header scan after open.
    earliest_delete_horizon_ms: AtomicI64,
}

impl Default for CleanerState {
    fn default() -> Self {
        CleanerState {
            running: Mutex::new(()),
            earliest_delete_horizon_ms: AtomicI64::new(HORIZON_UNKNOWN),
        }
    }
}

impl PartitionLog {
    /// The offset up to which the cleaner has compacted this log (its checkpoint), if any.
    pub fn cleaner_checkpoint(&self) -> Result<Option<i64>, LogError> {
        read_offset(&self.dir, CLEANER_CHECKPOINT, &self.tp)
    }

    /// Bounds what the cleaner may compact to offsets below `offset` (the broker passes the
    /// high watermark or last stable offset: records consumers cannot read yet stay dirty).
    pub fn set_cleaner_upper_bound(&self, offset: i64) {
        self.cleaner_upper_bound.store(offset, Ordering::Release);
    }

    /// The bound set by [`PartitionLog::set_cleaner_upper_bound`] (`i64::MAX` when unset).
    pub fn cleaner_upper_bound(&self) -> i64 {
        self.cleaner_upper_bound.load(Ordering::Acquire)
    }

    /// How dirty this log is; `None` when its `cleanup.policy` does not compact.
    pub fn cleanable_state(
        &self,
        now_ms: i64,
        upper_bound: i64,
    ) -> Result<Option<CleanableState>, LogError> {
        let config = self.config();
        if !config.cleanup_policy.compacts() {
            return Ok(None);
        }
        let horizon = self.earliest_delete_horizon()?;
        self.compute_cleanable(&config, now_ms, upper_bound, horizon)
            .map(Some)
    }

    /// The earliest delete horizon among kept tombstones; after open, found once by scanning
    /// the sealed segments' batch headers for the delete-horizon flag.
    fn earliest_delete_horizon(&self) -> Result<Option<i64>, LogError> {
        let known = self
            .cleaner
            .earliest_delete_horizon_ms
            .load(Ordering::Acquire);
        if known != HORIZON_UNKNOWN {
            return Ok((known != NO_HORIZON).then_some(known));
        }
        let segments = self.segments.load_full();
        let mut earliest = NO_HORIZON;
        for segment in &segments[..segments.len() - 1] {
            segment.for_each_header_from_start(|b| {
                if let Some(h) = delete_horizon_ms(&b.header) {
                    earliest = earliest.min(h);
                }
                true
            })?;
        }
        self.cleaner
            .earliest_delete_horizon_ms
            .store(earliest, Ordering::Release);
        Ok((earliest != NO_HORIZON).then_some(earliest))
    }

    fn compute_cleanable(
        &self,
        config: &LogConfig,
        now_ms: i64,
        upper_bound: i64,
        delete_horizon_ms: Option<i64>,
    ) -> Result<CleanableState, LogError> {
        let segments = self.segments.load_full();
        let log_start_offset = self.log_start_offset();
        let active_base = segments.last().map_or(0, |s| s.base_offset);
        let first_dirty_offset = match self.cleaner_checkpoint()? {
            Some(c) if c >= log_start_offset && c <= active_base => c,
            _ => log_start_offset,
        };
        // Records of an ongoing transaction stay dirty until it ends (Kafka bounds the clean by
        // the last stable offset).
        let mut first_uncleanable_offset = active_base
            .min(upper_bound)
            .min(self.first_unstable_offset().unwrap_or(i64::MAX));
        let sealed = &segments[..segments.len().saturating_sub(1)];
        if config.min_compaction_lag_ms > 0 {
            for (i, segment) in sealed.iter().enumerate() {
                if segments[i + 1].base_offset <= first_dirty_offset {
                    continue;
                }
                let newest = segment.largest_timestamp_for_retention(config)?;
                if newest > now_ms.saturating_sub(config.min_compaction_lag_ms) {
                    first_uncleanable_offset = first_uncleanable_offset.min(segment.base_offset);
                    break;
                }
            }
        }
        let first_uncleanable_offset = first_uncleanable_offset.max(first_dirty_offset);
        let (mut clean_bytes, mut dirty_bytes) = (0, 0);
        let mut first_dirty_segment = None;
        for (i, segment) in sealed.iter().enumerate() {
            let next_base = segments[i + 1].base_offset;
            if next_base <= log_start_offset {
                continue;
            }
            if next_base <= first_dirty_offset {
                clean_bytes += segment.size();
            } else if segment.base_offset < first_uncleanable_offset {
                dirty_bytes += segment.size();
                first_dirty_segment.get_or_insert(segment);
            }
        }
        let mut must_clean = delete_horizon_ms.is_some_and(|h| h <= now_ms);
        if let (Some(segment), true) =
            (first_dirty_segment, config.max_compaction_lag_ms < i64::MAX)
        {
            let mut first_timestamp = None;
            segment.for_each_header_from_start(|b| {
                if b.header.last_offset() < first_dirty_offset {
                    return true;
                }
                first_timestamp = Some(b.header.max_timestamp);
                false
            })?;
            must_clean |= first_timestamp
                .is_some_and(|ts| now_ms.saturating_sub(ts) > config.max_compaction_lag_ms);
        }
        Ok(CleanableState {
            first_dirty_offset,
            first_uncleanable_offset,
            clean_bytes,
            dirty_bytes,
            must_clean,
        })
    }

    /// Compacts the log once (see [`crate::cleaner`]): builds the offset map over the dirty
    /// section below `upper_bound`, rewrites the sealed segments up to where the map ends and
    /// moves the cleaner checkpoint there. Returns `None` when there was nothing to do (the
    /// policy does not compact, nothing is dirty, another clean of this log is running, or the
    /// log changed under the clean).
    pub fn clean(
        &self,
        now_ms: i64,
        upper_bound: i64,
        cleaner: &CleanerConfig,
    ) -> Result<Option<CleanStats>, LogError> {
        let Some(_running) = self.cleaner.running.try_lock() else {
            return Ok(None);
        };
        if self.poisoned.lock().is_some() || self.closed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let config = self.config();
        if !config.cleanup_policy.compacts() {
            return Ok(None);
        }
        let horizon = self.earliest_delete_horizon()?;
        let cleanable = self.compute_cleanable(&config, now_ms, upper_bound, horizon)?;
        if cleanable.dirty_bytes == 0 && !cleanable.must_clean {
            return Ok(None);
        }
        let segments = self.segments.load_full();
        let Some(map) = self.build_offset_map(&segments, &cleanable, cleaner)? else {
            return Ok(None);
        };
        let end = map.latest_offset() + 1;
        let last_records = self.writer.lock().producers.last_records();
        let candidates = cleanable_segments(&segments, self.log_start_offset(), end);
        // The walk starts at the log start, so every aborted transaction with data in it is
        // known before its first batch is met.
        let walk_start = candidates.first().map_or(end, |(s, _)| s.base_offset);
        let mut walk = ProducerWalk {
            last_records: &last_records,
            txns: TxnCleanState::new(self.aborted_txns.read().collect(walk_start, end)),
        };
        let mut stats = CleanStats {
            first_dirty_offset: cleanable.first_dirty_offset,
            cleaned_up_to: end,
            map_entries: map.len(),
            map_memory_bytes: map.memory_bytes(),
            ..CleanStats::default()
        };
        let ctx = FilterContext {
            map: &map,
            now_ms,
            delete_retention_ms: config.delete_retention_ms,
            last_batch_of_producer: false,
            aborted: false,
            marker_discardable: false,
        };
        let mut counts = FilterCounts::default();
        let mut next = 0;
        while next < candidates.len() {
            let (group, txn_entries) = self.write_cleaned_group(
                &candidates[next..],
                &ctx,
                &mut walk,
                &config,
                &mut counts,
            )?;
            next += group.len();
            stats.segments_before += group.len();
            stats.bytes_before += group.iter().map(|s| s.size()).sum::<u64>();
            let Some(new_segment) = self.swap_in(&group, &txn_entries, &config)? else {
                tracing::info!(partition = %self.tp, "log changed during cleaning; will retry");
                return Ok(None);
            };
            stats.segments_after += 1;
            stats.bytes_after += new_segment.size();
        }
        drop(map);
        {
            let _writer = self.writer.lock();
            let active_base = self.active_segment().base_offset;
            if end <= active_base && end >= self.log_start_offset() {
                write_offset(&self.dir, CLEANER_CHECKPOINT, &self.tp, end)
                    .map_err(|e| self.poison(e))?;
            }
        }
        self.cleaner.earliest_delete_horizon_ms.store(
            counts.earliest_delete_horizon_ms.unwrap_or(NO_HORIZON),
            Ordering::Release,
        );
        stats.records_read = counts.records_read;
        stats.records_removed = counts.records_removed;
        stats.records_without_key = counts.records_without_key;
        if counts.records_without_key > 0 {
            tracing::warn!(partition = %self.tp, records = counts.records_without_key, "removed records without a key from a compacted log");
        }
        tracing::info!(
            partition = %self.tp,
            first_dirty_offset = stats.first_dirty_offset,
            cleaned_up_to = stats.cleaned_up_to,
            segments_before = stats.segments_before,
            segments_after = stats.segments_after,
            bytes_before = stats.bytes_before,
            bytes_after = stats.bytes_after,
            records_removed = stats.records_removed,
            "cleaned log"
        );
        Ok(Some(stats))
    }

    /// Key → latest offset over the dirty section, stopping when the map is full. `None` when
    /// not even the first dirty batch fits the dedupe buffer.
    fn build_offset_map(
        &self,
        segments: &[Arc<Segment>],
        cleanable: &CleanableState,
        cleaner: &CleanerConfig,
    ) -> Result<Option<OffsetMap>, LogError> {
        let first_dirty = cleanable.first_dirty_offset;
        let first_uncleanable = cleanable.first_uncleanable_offset;
        let expected_keys =
            usize::try_from(first_uncleanable.saturating_sub(first_dirty)).unwrap_or(usize::MAX);
        let mut map = OffsetMap::new(cleaner.dedupe_buffer_size, expected_keys);
        // Records of aborted transactions are nobody's latest value: a key whose newest record
        // was aborted keeps its newest committed one.
        let mut txns = TxnCleanState::new(
            self.aborted_txns
                .read()
                .collect(first_dirty, first_uncleanable),
        );
        // Everything below the first dirty offset is clean: judged by the map, never kept
        // merely for lying past its end.
        map.advance_latest_offset(first_dirty - 1);
        let mut stopped = false;
        let mut too_small = false;
        for (i, segment) in segments.iter().enumerate().take(segments.len() - 1) {
            if stopped {
                break;
            }
            if segments[i + 1].base_offset <= first_dirty {
                continue;
            }
            if segment.base_offset >= first_uncleanable {
                break;
            }
            segment.for_each_batch(|b, bytes| {
                let h = b.header;
                if h.last_offset() < first_dirty {
                    return Ok(true);
                }
                if h.last_offset() >= first_uncleanable {
                    stopped = true;
                    return Ok(false);
                }
                if h.is_control() {
                    txns.on_control_batch(&h, TxnMarker::from_batch(&h, &bytes).as_ref());
                } else if txns.on_data_batch(&h) {
                    // aborted: its keys stay out of the map
                } else {
                    let records = usize::try_from(h.record_count).unwrap_or(0);
                    if !map.has_room_for(records) {
                        too_small = map.latest_offset() < first_dirty;
                        stopped = true;
                        return Ok(false);
                    }
                    let mut full = false;
                    let keys = for_each_key(&bytes, &h, |offset, key| {
                        if let Some(key) = key {
                            if offset >= first_dirty && !map.put(key, offset) {
                                full = true;
                            }
                        }
                    });
                    if let Err(e) = keys {
                        // Its records will be kept as they are: leaving its keys out of the
                        // map only means older values of them are kept too.
                        tracing::warn!(partition = %self.tp, offset = h.base_offset, error = %e, "cannot read keys of a batch; keeping it");
                    }
                    if full {
                        // Defensive: has_room_for said yes, so this only happens if a batch
                        // holds more keys than it declares records. Stop before this batch's
                        // end so none of its records are judged against a partial map.
                        stopped = true;
                        return Ok(false);
                    }
                }
                map.advance_latest_offset(h.last_offset());
                Ok(true)
            })?;
        }
        if too_small {
            tracing::warn!(partition = %self.tp, offset = first_dirty, "log.cleaner.dedupe.buffer.size cannot hold the keys of one batch; not cleaning");
            return Ok(None);
        }
        Ok(Some(map))
    }

    /// Writes the cleaned copy of the next group of `candidates` (sealed segments with the
    /// base offset of the segment after each) to `<base>.log.cleaned`, fsyncs it and returns
    /// the group. A group takes consecutive segments while their cleaned output fits
    /// `segment.bytes` and their offsets fit the indexes' 32-bit relative offsets (Kafka groups
    /// by input size, so its first clean of a log never merges; measuring the output merges at
    /// once, at the cost of filtering again the one segment that did not fit).
    fn write_cleaned_group(
        &self,
        candidates: &[(Arc<Segment>, i64)],
        ctx: &FilterContext<'_>,
        walk: &mut ProducerWalk<'_>,
        config: &LogConfig,
        counts: &mut FilterCounts,
    ) -> Result<(Vec<Arc<Segment>>, Vec<AbortedTxn>), LogError> {
        let base = candidates[0].0.base_offset;
        let path = cleaned_path(&self.dir, base);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| LogError::io(&path, e))?;
        let result = (|| {
            let mut group = Vec::new();
            let mut written = 0u64;
            for (segment, next_base) in candidates {
                if !group.is_empty() && next_base - 1 - base > i64::from(i32::MAX) {
                    break;
                }
                let counts_before = *counts;
                let txns_before = walk.txns.clone();
                let size = self.write_cleaned_segment(&file, &path, segment, ctx, walk, counts)?;
                if !group.is_empty() && written + size > config.segment_bytes {
                    // Undo this segment's output; it starts the next group.
                    *counts = counts_before;
                    walk.txns = txns_before;
                    file.set_len(written).map_err(|e| LogError::io(&path, e))?;
                    (&file)
                        .seek(SeekFrom::Start(written))
                        .map_err(|e| LogError::io(&path, e))?;
                    break;
                }
                written += size;
                group.push(Arc::clone(segment));
            }
            file.sync_all().map_err(|e| LogError::io(&path, e))?;
            // The ABORT markers kept in this group: its new `.txnindex`.
            let txn_entries = walk.txns.retained_aborts().to_vec();
            walk.txns.clear_retained();
            Ok((group, txn_entries))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&path);
        }
        result
    }

    /// Appends the cleaned batches of one segment to `file`; returns the bytes written.
    fn write_cleaned_segment(
        &self,
        file: &File,
        path: &Path,
        segment: &Segment,
        ctx: &FilterContext<'_>,
        walk: &mut ProducerWalk<'_>,
        counts: &mut FilterCounts,
    ) -> Result<u64, LogError> {
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let mut written = 0u64;
        segment.for_each_batch(|b, bytes| {
            let h = b.header;
            if bytes.len() != h.total_size() {
                // The segment shrank under us (a truncation made it the active one); the swap
                // would refuse this group anyway.
                return Err(LogError::CorruptBatch(BatchError::Truncated {
                    needed: h.total_size(),
                    available: bytes.len(),
                }));
            }
            // Kafka keeps a producer's last data batch (its last sequence) and, for a producer
            // with no data batch left in its state, its marker of the current epoch.
            let last = h
                .has_producer_id()
                .then(|| walk.last_records.get(&h.producer_id))
                .flatten();
            let ctx = if h.is_control() {
                let marker = TxnMarker::from_batch(&h, &bytes);
                FilterContext {
                    marker_discardable: walk.txns.on_control_batch(&h, marker.as_ref()),
                    last_batch_of_producer: last.is_some_and(|(data, epoch)| {
                        data.is_none() && *epoch == h.producer_epoch
                    }),
                    ..*ctx
                }
            } else {
                FilterContext {
                    aborted: walk.txns.on_data_batch(&h),
                    last_batch_of_producer: last
                        .is_some_and(|(data, _)| *data == Some(h.last_offset())),
                    ..*ctx
                }
            };
            let kept: &[u8] = match filter_batch(&bytes, &h, &ctx, counts) {
                Ok(Filtered::Keep) => &bytes,
                Ok(Filtered::Drop) => &[],
                Ok(Filtered::Rewrite(new)) => {
                    written += new.len() as u64;
                    return out.write_all(&new).map(|()| true).map_err(|e| LogError::io(path, e));
                }
                Err(e) => {
                    tracing::warn!(partition = %self.tp, offset = h.base_offset, error = %e, "cannot filter a batch; keeping it");
                    &bytes
                }
            };
            written += kept.len() as u64;
            out.write_all(kept).map_err(|e| LogError::io(path, e))?;
            Ok(true)
        })?;
        out.flush().map_err(|e| LogError::io(path, e))?;
        Ok(written)
    }

    /// Replaces `group` with its cleaned copy if the group is still part of the log; `None`
    /// (and the `.cleaned` file removed) when it is not.
    fn swap_in(
        &self,
        group: &[Arc<Segment>],
        txn_entries: &[AbortedTxn],
        config: &LogConfig,
    ) -> Result<Option<Arc<Segment>>, LogError> {
        let base = group[0].base_offset;
        let _writer = self.writer.lock();
        let current = self.segments.load_full();
        let position = current.iter().position(|s| Arc::ptr_eq(s, &group[0]));
        let still_there = position.is_some_and(|p| {
            p + group.len() < current.len()
                && group
                    .iter()
                    .zip(&current[p..])
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        let writable = self.poisoned.lock().is_none() && !self.closed.load(Ordering::Acquire);
        let (Some(p), true, true) = (position, still_there, writable) else {
            let path = cleaned_path(&self.dir, base);
            match fs::remove_file(&path) {
                // A deleted partition's directory may already be gone.
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(LogError::io(&path, e))
                }
                _ => return Ok(None),
            }
        };
        // Readers that still hold the old segments must find their indexes in memory once
        // the files are gone.
        for segment in group {
            segment.ensure_indexes(config)?;
        }
        let segment = complete_swap(&self.dir, base, group, txn_entries, config)
            .map_err(|e| self.poison(e))?;
        let segment = Arc::new(segment);
        let next_base = current[p + group.len()].base_offset;
        let mut list: Vec<Arc<Segment>> = current.to_vec();
        list.splice(p..p + group.len(), [Arc::clone(&segment)]);
        // The index changes with the segment list under its lock, so a Fetch that loads the
        // new segments reads the new index. One still reading the old segments may get the
        // new index too: that is safe, because an entry only goes when its ABORT marker went,
        // and a marker only goes when none of its transaction's data was left before this
        // clean either.
        let mut aborted_txns = self.aborted_txns.write();
        self.segments.store(Arc::new(list));
        aborted_txns.replaced_by_clean(base, next_base, txn_entries);
        Ok(Some(segment))
    }

    /// A truncation below the cleaner checkpoint makes what follows dirty again.
    pub(super) fn truncate_cleaner_checkpoint(&self, offset: i64) -> Result<(), LogError> {
        if self.cleaner_checkpoint()?.is_some_and(|c| c > offset) {
            write_offset(&self.dir, CLEANER_CHECKPOINT, &self.tp, offset)
                .map_err(|e| self.poison(e))?;
        }
        Ok(())
    }
}

/// Sealed segments from the one holding the log start offset up to the one holding `end - 1`,
/// each with the base offset of the segment after it.
fn cleanable_segments(
    segments: &[Arc<Segment>],
    log_start_offset: i64,
    end: i64,
) -> Vec<(Arc<Segment>, i64)> {
    segments
        .windows(2)
        .filter(|pair| pair[1].base_offset > log_start_offset)
        .take_while(|pair| pair[0].base_offset < end)
        .map(|pair| (Arc::clone(&pair[0]), pair[1].base_offset))
        .collect()
}
