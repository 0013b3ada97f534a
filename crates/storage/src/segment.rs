//! One segment of a partition log: `<base_offset:020>.log` holding v2 record batches byte for
//! byte as stored (offsets assigned), with its `.index` and `.timeindex` (see [`crate::index`]).
//!
//! Concurrency: the partition's writer lock serializes every mutation (append, truncate, seal);
//! readers use `&Segment` concurrently. The writer publishes appended bytes by storing the new
//! size (`Release`) after the `pwrite`; readers load the size (`Acquire`) and never read past
//! it, so they see only whole appends. A truncation bumps `generation` before shrinking the
//! file, so a reader that raced with it notices and retries instead of serving mixed bytes.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use fjord_protocol::batch::{BatchHeader, Compression, RecordTimings, TimestampType, HEADER_LEN};
use parking_lot::Mutex;

use crate::config::LogConfig;
use crate::error::LogError;
use crate::index::{IndexProblem, OffsetIndex, TimeIndex};
use crate::scan::{self, HeaderScan, Located};

/// Kafka's file name of a segment or index: the base offset zero-padded to 20 digits.
pub(crate) fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A record timestamp, and the offset of the record carrying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp_ms: i64,
    pub offset: i64,
}

/// Writer-side bookkeeping, only known for the active segment and recovered ones.
#[derive(Debug, Clone, Copy)]
struct Meta {
    /// Offset after the last batch; `None` for a sealed segment opened without scanning it.
    next_offset: Option<i64>,
    /// Largest batch max timestamp and the last offset of the batch carrying it.
    max_timestamp: Option<(i64, i64)>,
    bytes_since_last_index_entry: u64,
    /// Max timestamp of the first batch: what `segment.ms` rolling is measured from.
    first_batch_timestamp: Option<i64>,
    created_ms: i64,
}

pub(crate) struct Segment {
    pub(crate) base_offset: i64,
    log_path: PathBuf,
    file: File,
    size: AtomicU64,
    generation: AtomicU64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    meta: Mutex<Meta>,
}

/// What [`Segment::recover`] found.
pub(crate) struct Recovered {
    pub truncated_bytes: u64,
    pub reason: Option<String>,
}

impl Segment {
    fn paths(dir: &Path, base_offset: i64) -> (PathBuf, PathBuf, PathBuf) {
        (
            dir.join(file_name(base_offset, "log")),
            dir.join(file_name(base_offset, "index")),
            dir.join(file_name(base_offset, "timeindex")),
        )
    }

    fn with_file(dir: &Path, base_offset: i64, create: bool) -> Result<Segment, LogError> {
        let (log_path, index_path, time_path) = Self::paths(dir, base_offset);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(&log_path)
            .map_err(|e| LogError::io(&log_path, e))?;
        let metadata = file.metadata().map_err(|e| LogError::io(&log_path, e))?;
        let created_ms = if create {
            now_ms()
        } else {
            metadata
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or_else(now_ms, |d| d.as_millis() as i64)
        };
        Ok(Segment {
            base_offset,
            log_path,
            file,
            size: AtomicU64::new(metadata.len()),
            generation: AtomicU64::new(0),
            offset_index: OffsetIndex::new(index_path, base_offset),
            time_index: TimeIndex::new(time_path, base_offset),
            meta: Mutex::new(Meta {
                next_offset: None,
                max_timestamp: None,
                bytes_since_last_index_entry: 0,
                first_batch_timestamp: None,
                created_ms,
            }),
        })
    }

    /// Creates a new, empty, active segment (any leftover files of that name are replaced).
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
    ) -> Result<Segment, LogError> {
        let segment = Self::with_file(dir, base_offset, true)?;
        segment
            .file
            .set_len(0)
            .map_err(|e| LogError::io(&segment.log_path, e))?;
        segment.size.store(0, Ordering::Release);
        segment
            .offset_index
            .reset(&[], true, config.segment_index_bytes)?;
        segment
            .time_index
            .reset(&[], true, config.segment_index_bytes)?;
        segment.meta.lock().next_offset = Some(base_offset);
        Ok(segment)
    }

    /// Opens an existing segment without reading it; indexes load lazily.
    pub(crate) fn open(dir: &Path, base_offset: i64) -> Result<Segment, LogError> {
        Self::with_file(dir, base_offset, false)
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Bytes of whole batches readers may see.
    pub(crate) fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    pub(crate) fn next_offset(&self) -> Option<i64> {
        self.meta.lock().next_offset
    }

    /// Fully scans the log from the start: validates every batch, rebuilds both indexes, and
    /// truncates the file after the last valid batch. `on_batch` sees each valid header in
    /// order (producer state and leader epochs are rebuilt from it).
    pub(crate) fn recover(
        &self,
        config: &LogConfig,
        active: bool,
        mut on_batch: impl FnMut(&BatchHeader),
    ) -> Result<Recovered, LogError> {
        let file_len = self
            .file
            .metadata()
            .map_err(|e| LogError::io(&self.log_path, e))?
            .len();
        let mut offset_entries = Vec::new();
        let mut time_entries: Vec<(i64, i64)> = Vec::new();
        let mut expected = self.base_offset;
        let mut since_index = 0u64;
        let mut max_ts: Option<(i64, i64)> = None;
        let mut first_ts = None;
        let run = scan::validate_all(&self.file, &self.log_path, file_len, |b: &Located| {
            let h = &b.header;
            // Offsets must grow and fit the 4-byte relative offsets of the indexes.
            if h.base_offset < expected || h.last_offset() - self.base_offset > i64::from(i32::MAX)
            {
                return Ok(false);
            }
            expected = h.next_offset();
            first_ts.get_or_insert(h.max_timestamp);
            if max_ts.is_none_or(|(ts, _)| h.max_timestamp > ts) {
                max_ts = Some((h.max_timestamp, h.last_offset()));
            }
            since_index += h.total_size() as u64;
            if since_index > config.index_interval_bytes {
                offset_entries.push((h.last_offset(), b.position as u32));
                if let Some((ts, off)) = max_ts {
                    if time_entries.last().is_none_or(|&(last, _)| ts > last) {
                        time_entries.push((ts, off));
                    }
                }
                since_index = 0;
            }
            on_batch(h);
            Ok(true)
        })?;
        if !active {
            if let Some((ts, off)) = max_ts {
                if time_entries.last().is_none_or(|&(last, _)| ts > last) {
                    time_entries.push((ts, off));
                }
            }
        }
        let truncated_bytes = file_len - run.valid_end;
        if truncated_bytes > 0 {
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.file
                .set_len(run.valid_end)
                .map_err(|e| LogError::io(&self.log_path, e))?;
        }
        self.size.store(run.valid_end, Ordering::Release);
        self.offset_index
            .reset(&offset_entries, active, config.segment_index_bytes)?;
        self.time_index
            .reset(&time_entries, active, config.segment_index_bytes)?;
        let mut meta = self.meta.lock();
        meta.next_offset = Some(expected);
        meta.max_timestamp = max_ts;
        meta.bytes_since_last_index_entry = since_index;
        meta.first_batch_timestamp = first_ts;
        Ok(Recovered {
            truncated_bytes,
            reason: run.stopped_by,
        })
    }

    /// Rebuilds the indexes of a healthy segment from its batch headers (no CRC checks).
    fn rebuild_indexes(
        &self,
        config_index_interval_bytes: u64,
        active: bool,
        index_bytes: u64,
    ) -> Result<(), LogError> {
        let mut offset_entries = Vec::new();
        let mut time_entries: Vec<(i64, i64)> = Vec::new();
        let mut since_index = 0u64;
        let mut max_ts: Option<(i64, i64)> = None;
        let mut first_ts = None;
        let mut next = self.base_offset;
        let mut scan = HeaderScan::new(&self.file, &self.log_path, 0, self.size());
        while let Some(b) = scan.next_header()? {
            let h = b.header;
            next = h.next_offset();
            first_ts.get_or_insert(h.max_timestamp);
            if max_ts.is_none_or(|(ts, _)| h.max_timestamp > ts) {
                max_ts = Some((h.max_timestamp, h.last_offset()));
            }
            since_index += h.total_size() as u64;
            if since_index > config_index_interval_bytes {
                offset_entries.push((h.last_offset(), b.position as u32));
                if let Some((ts, off)) = max_ts {
                    if time_entries.last().is_none_or(|&(last, _)| ts > last) {
                        time_entries.push((ts, off));
                    }
                }
                since_index = 0;
            }
        }
        if !active {
            if let Some((ts, off)) = max_ts {
                if time_entries.last().is_none_or(|&(last, _)| ts > last) {
                    time_entries.push((ts, off));
                }
            }
        }
        self.offset_index
            .reset(&offset_entries, active, index_bytes)?;
        self.time_index.reset(&time_entries, active, index_bytes)?;
        let mut meta = self.meta.lock();
        meta.next_offset = Some(next);
        meta.max_timestamp = max_ts;
        meta.bytes_since_last_index_entry = since_index;
        meta.first_batch_timestamp = first_ts;
        Ok(())
    }

    /// Rebuilds a sealed segment's indexes from its log (a segment the cleaner just wrote).
    pub(crate) fn rebuild_sealed_indexes(&self, config: &LogConfig) -> Result<(), LogError> {
        self.rebuild_indexes(
            config.index_interval_bytes,
            false,
            config.segment_index_bytes,
        )
    }

    /// Calls `f` with every whole batch of the segment, header and bytes, oldest first;
    /// `f` returns false to stop. Reads one batch at a time, so memory stays at one batch.
    pub(crate) fn for_each_batch(
        &self,
        mut f: impl FnMut(&Located, Bytes) -> Result<bool, LogError>,
    ) -> Result<(), LogError> {
        let size = self.size();
        let mut scan = HeaderScan::new(&self.file, &self.log_path, 0, size);
        while let Some(b) = scan.next_header()? {
            let bytes = self.read_batch(&b)?;
            if !f(&b, bytes)? {
                break;
            }
        }
        Ok(())
    }

    /// Calls `f` with every batch header of the segment (no record bytes read).
    pub(crate) fn for_each_header_from_start(
        &self,
        mut f: impl FnMut(&Located) -> bool,
    ) -> Result<(), LogError> {
        let size = self.size();
        let mut scan = HeaderScan::new(&self.file, &self.log_path, 0, size);
        while let Some(b) = scan.next_header()? {
            if !f(&b) {
                break;
            }
        }
        Ok(())
    }

    /// Makes sure a sealed segment's indexes are in memory, rebuilding them from the log when
    /// the files are missing or fail their sanity check.
    pub(crate) fn ensure_indexes(&self, config: &LogConfig) -> Result<(), LogError> {
        if self.offset_index.is_loaded() && self.time_index.is_loaded() {
            return Ok(());
        }
        let offset = self.offset_index.load(self.size());
        let time = self.time_index.load();
        let problem = match (offset, time) {
            (Ok(()), Ok(())) => {
                // A time index pointing past the offsets the segment holds is as insane as
                // a broken file.
                match (self.time_index.last(), self.offset_index.last()) {
                    (Some((_, t)), Some((o, _))) if t > o + i64::from(i32::MAX) => {
                        Some("time index past offsets".to_string())
                    }
                    _ => None,
                }
            }
            (Err(IndexProblem::Io(e)), _) | (_, Err(IndexProblem::Io(e))) => Some(e.to_string()),
            (Err(IndexProblem::Insane(r)), _) | (_, Err(IndexProblem::Insane(r))) => Some(r),
        };
        if let Some(reason) = problem {
            tracing::warn!(path = %self.log_path.display(), %reason, "rebuilding segment indexes");
            self.rebuild_indexes(
                config.index_interval_bytes,
                false,
                config.segment_index_bytes,
            )?;
        }
        Ok(())
    }

    /// Opens the last segment after a clean shutdown: checks its indexes (rebuilding them if
    /// they are not sane) and scans only the batches after the last offset-index entry to find
    /// the next offset. Returns false when that tail does not parse, so the caller recovers.
    pub(crate) fn load_as_active(&self, config: &LogConfig) -> Result<bool, LogError> {
        self.ensure_indexes(config)?;
        let start = self
            .offset_index
            .last()
            .map_or(0, |(_, pos)| u64::from(pos));
        let size = self.size();
        let mut next = self.base_offset;
        let mut end = start;
        let mut scan = HeaderScan::new(&self.file, &self.log_path, start, size);
        let mut max_ts = self.time_index.last();
        let mut since_index = 0;
        while let Some(b) = scan.next_header()? {
            next = b.header.next_offset();
            end = b.end();
            since_index += b.header.total_size() as u64;
            if max_ts.is_none_or(|(ts, _)| b.header.max_timestamp > ts) {
                max_ts = Some((b.header.max_timestamp, b.header.last_offset()));
            }
        }
        if end != size {
            return Ok(false);
        }
        let first_ts = if size > 0 {
            HeaderScan::new(&self.file, &self.log_path, 0, size)
                .next_header()?
                .map(|b| b.header.max_timestamp)
        } else {
            None
        };
        self.offset_index.activate(config.segment_index_bytes)?;
        self.time_index.activate(config.segment_index_bytes)?;
        let mut meta = self.meta.lock();
        meta.next_offset = Some(next);
        meta.max_timestamp = max_ts;
        meta.bytes_since_last_index_entry = since_index;
        meta.first_batch_timestamp = first_ts;
        Ok(true)
    }

    /// Kafka's roll rule for appending `append_bytes` whose largest timestamp is `max_timestamp`
    /// and whose last offset is `last_offset`.
    pub(crate) fn should_roll(
        &self,
        config: &LogConfig,
        append_bytes: u64,
        max_timestamp: i64,
        last_offset: i64,
        now_ms: i64,
    ) -> bool {
        let size = self.size();
        if size == 0 {
            return false;
        }
        let meta = *self.meta.lock();
        let waited_ms = match meta.first_batch_timestamp {
            Some(first) if first >= 0 => max_timestamp.saturating_sub(first),
            _ => now_ms.saturating_sub(meta.created_ms),
        };
        size + append_bytes > config.segment_bytes
            || waited_ms > config.segment_ms
            || self.offset_index.is_full()
            || self.time_index.is_full()
            || last_offset - self.base_offset > i64::from(i32::MAX)
    }

    /// Writes `pieces` (concatenated, whole batches whose headers are `batches`, positions
    /// relative to the concatenation) at the end of the segment with one vectored write, and
    /// indexes them. The caller publishes the new log end offset afterwards.
    pub(crate) fn append(
        &self,
        pieces: &[&[u8]],
        batches: &[Located],
        index_interval_bytes: u64,
    ) -> Result<(), LogError> {
        let start = self.size();
        let len: usize = pieces.iter().map(|p| p.len()).sum();
        write_all_vectored_at(&self.file, pieces, start)
            .map_err(|e| LogError::io(&self.log_path, e))?;
        let mut meta = self.meta.lock();
        for b in batches {
            let h = &b.header;
            meta.first_batch_timestamp.get_or_insert(h.max_timestamp);
            if meta
                .max_timestamp
                .is_none_or(|(ts, _)| h.max_timestamp > ts)
            {
                meta.max_timestamp = Some((h.max_timestamp, h.last_offset()));
            }
            meta.bytes_since_last_index_entry += h.total_size() as u64;
            if meta.bytes_since_last_index_entry > index_interval_bytes {
                self.offset_index
                    .append(h.last_offset(), (start + b.position) as u32)?;
                if let Some((ts, off)) = meta.max_timestamp {
                    self.time_index.maybe_append(ts, off)?;
                }
                meta.bytes_since_last_index_entry = 0;
            }
            meta.next_offset = Some(h.next_offset());
        }
        drop(meta);
        self.size.store(start + len as u64, Ordering::Release);
        Ok(())
    }

    /// The first batch whose last offset is >= `offset`, if the segment has one.
    pub(crate) fn locate(&self, offset: i64, size: u64) -> Result<Option<Located>, LogError> {
        let start = u64::from(self.offset_index.lookup(offset)).min(size);
        let mut scan = HeaderScan::new(&self.file, &self.log_path, start, size);
        while let Some(b) = scan.next_header()? {
            if b.header.last_offset() >= offset {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Whole batches from the one containing `offset`: at most `max_bytes` unless the first
    /// batch alone is larger, none whose base offset is >= `max_offset`. `None` when the segment
    /// holds nothing at or after `offset`. One read, one copy, from the page cache into the
    /// returned buffer, which is allocated once at its final size and not zero-filled.
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        max_offset: i64,
        config: &LogConfig,
    ) -> Result<Option<Bytes>, LogError> {
        self.ensure_indexes(config)?;
        loop {
            let generation = self.generation.load(Ordering::Acquire);
            let size = self.size();
            let Some(first) = self.locate(offset, size)? else {
                return Ok(None);
            };
            if first.header.base_offset >= max_offset {
                return Ok(Some(Bytes::new()));
            }
            let available = (size - first.position) as usize;
            let want = max_bytes.min(available).max(first.header.total_size());
            let mut buf = BytesMut::with_capacity(want);
            let n =
                scan::read_into_spare(&self.file, &self.log_path, &mut buf, want, first.position)?;
            if n < want || self.generation.load(Ordering::Acquire) != generation {
                continue; // truncated under us: retry against the new content
            }
            let mut end = 0;
            for frame in fjord_protocol::batch::BatchFrames::new(&buf) {
                let Ok(range) = frame else { break };
                let Ok(header) = BatchHeader::parse(&buf[range.clone()]) else {
                    break;
                };
                if header.base_offset >= max_offset || (end > 0 && range.end > max_bytes) {
                    break;
                }
                end = range.end;
            }
            buf.truncate(end);
            return Ok(Some(buf.freeze()));
        }
    }

    /// The first record with a timestamp >= `timestamp_ms` at or after `min_offset`.
    pub(crate) fn find_offset_by_timestamp(
        &self,
        timestamp_ms: i64,
        min_offset: i64,
        config: &LogConfig,
    ) -> Result<Option<TimestampOffset>, LogError> {
        self.ensure_indexes(config)?;
        let size = self.size();
        let from = self.time_index.lookup(timestamp_ms).max(min_offset);
        let start = u64::from(self.offset_index.lookup(from)).min(size);
        let mut scan = HeaderScan::new(&self.file, &self.log_path, start, size);
        while let Some(b) = scan.next_header()? {
            let h = b.header;
            if h.last_offset() < min_offset || h.max_timestamp < timestamp_ms {
                continue;
            }
            if let Some(found) = self.first_record_at_or_after(&b, timestamp_ms, min_offset)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn read_batch(&self, b: &Located) -> Result<Bytes, LogError> {
        let want = b.header.total_size();
        let mut buf = BytesMut::with_capacity(want);
        scan::read_into_spare(&self.file, &self.log_path, &mut buf, want, b.position)?;
        Ok(buf.freeze())
    }

    /// Walks the records of one batch (decompressed if need be) to find the first whose
    /// timestamp is >= `target`. Only offsets and timestamps are read: keys, values and headers
    /// are skipped by length, so a forged header count costs nothing.
    fn first_record_at_or_after(
        &self,
        b: &Located,
        target: i64,
        min_offset: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        let h = &b.header;
        if h.timestamp_type() == TimestampType::LogAppendTime {
            return Ok(Some(TimestampOffset {
                timestamp_ms: h.max_timestamp,
                offset: h.base_offset.max(min_offset),
            }));
        }
        let batch = self.read_batch(b)?;
        let shallow = TimestampOffset {
            timestamp_ms: h.max_timestamp,
            offset: h.base_offset.max(min_offset),
        };
        let records = match records_section(&batch, h) {
            Ok(records) => records,
            Err(e) => {
                // A batch that validated but cannot be decompressed (unknown codec, say):
                // answer with the batch, as Kafka's shallow index would.
                tracing::warn!(path = %self.log_path.display(), offset = h.base_offset, error = %e, "cannot decompress batch for timestamp lookup");
                return Ok(Some(shallow));
            }
        };
        for timing in RecordTimings::new(&records, h) {
            match timing {
                Ok(t) if t.timestamp_ms >= target && t.offset >= min_offset => {
                    return Ok(Some(TimestampOffset {
                        timestamp_ms: t.timestamp_ms,
                        offset: t.offset,
                    }))
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(path = %self.log_path.display(), offset = h.base_offset, error = %e, "malformed records in timestamp lookup");
                    return Ok(Some(shallow));
                }
            }
        }
        Ok(None)
    }

    /// Largest timestamp in the segment and the batch's last offset carrying it.
    pub(crate) fn max_timestamp(&self, config: &LogConfig) -> Result<Option<(i64, i64)>, LogError> {
        if let Some(max) = self.meta.lock().max_timestamp {
            return Ok(Some(max));
        }
        self.ensure_indexes(config)?;
        Ok(self.time_index.last())
    }

    /// The record (offset, timestamp) with the largest timestamp in this segment.
    pub(crate) fn max_timestamp_record(
        &self,
        config: &LogConfig,
        min_offset: i64,
    ) -> Result<Option<TimestampOffset>, LogError> {
        let Some((ts, offset)) = self.max_timestamp(config)? else {
            return Ok(None);
        };
        let size = self.size();
        let Some(b) = self.locate(offset, size)? else {
            return Ok(None);
        };
        self.first_record_at_or_after(&b, ts, min_offset)
    }

    /// What time-based retention compares: the largest timestamp, or the file's age when the
    /// segment has no timestamps (Kafka does the same).
    pub(crate) fn largest_timestamp_for_retention(
        &self,
        config: &LogConfig,
    ) -> Result<i64, LogError> {
        Ok(match self.max_timestamp(config)? {
            Some((ts, _)) if ts >= 0 => ts,
            _ => self
                .file
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or_else(now_ms, |d| d.as_millis() as i64),
        })
    }

    /// Removes every batch whose last offset is >= `offset` and makes this the active segment
    /// (indexes rebuilt and preallocated). Returns the bytes removed.
    pub(crate) fn truncate_to(&self, offset: i64, config: &LogConfig) -> Result<u64, LogError> {
        self.ensure_indexes(config)?;
        let size = self.size();
        let mut removed = 0;
        if let Some(first) = self.locate(offset, size)? {
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.size.store(first.position, Ordering::Release);
            self.file
                .set_len(first.position)
                .map_err(|e| LogError::io(&self.log_path, e))?;
            removed = size - first.position;
        }
        // Rebuilding from the remaining headers keeps indexes, next offset and max timestamp
        // exact (a sealed segment's next offset is not known without a scan); truncation is
        // rare (replication divergence), so the scan is affordable.
        self.rebuild_indexes(
            config.index_interval_bytes,
            true,
            config.segment_index_bytes,
        )?;
        Ok(removed)
    }

    /// Turns the active segment into a sealed one: final time-index entry, indexes trimmed and
    /// fsynced, log fsynced.
    pub(crate) fn seal(&self) -> Result<(), LogError> {
        if let Some((ts, off)) = self.meta.lock().max_timestamp {
            self.time_index.maybe_append(ts, off)?;
        }
        self.offset_index.seal()?;
        self.time_index.seal()?;
        self.flush()
    }

    /// fdatasync of the log file (indexes are rebuilt after a crash, so they need no fsync).
    pub(crate) fn flush(&self) -> Result<(), LogError> {
        self.file
            .sync_data()
            .map_err(|e| LogError::io(&self.log_path, e))
    }

    /// Deletes the segment's files. Readers holding the segment keep reading through the open
    /// file handle until they drop it.
    pub(crate) fn delete_files(&self) -> Result<(), LogError> {
        for path in [
            &self.log_path,
            self.offset_index.path(),
            self.time_index.path(),
        ] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(path, e)),
            }
        }
        Ok(())
    }

    /// Calls `f` for every batch header from `from_offset` on (producer-state replay), with
    /// the bytes of control batches (transaction markers), which replay must read.
    pub(crate) fn for_each_header_with_control(
        &self,
        from_offset: i64,
        config: &LogConfig,
        mut f: impl FnMut(&BatchHeader, Option<&Bytes>),
    ) -> Result<(), LogError> {
        self.ensure_indexes(config)?;
        let size = self.size();
        let start = u64::from(self.offset_index.lookup(from_offset)).min(size);
        let mut scan = HeaderScan::new(&self.file, &self.log_path, start, size);
        while let Some(b) = scan.next_header()? {
            if b.header.last_offset() >= from_offset {
                if b.header.is_control() {
                    let bytes = self.read_batch(&b)?;
                    f(&b.header, Some(&bytes));
                } else {
                    f(&b.header, None);
                }
            }
        }
        Ok(())
    }
}

/// The records section of `batch` (after the 61-byte header), decompressed when the batch is.
pub(crate) fn records_section(batch: &Bytes, header: &BatchHeader) -> Result<Bytes, String> {
    use kafka_protocol::compression::{Decompressor, Gzip, Lz4, Snappy, Zstd};
    let mut compressed = batch.slice(HEADER_LEN.min(batch.len())..);
    let take_all = |b: &mut Bytes| Ok(std::mem::take(b));
    let result = match header.compression() {
        Compression::None => return Ok(compressed),
        Compression::Gzip => Gzip::decompress(&mut compressed, take_all),
        Compression::Snappy => Snappy::decompress(&mut compressed, take_all),
        Compression::Lz4 => Lz4::decompress(&mut compressed, take_all),
        Compression::Zstd => Zstd::decompress(&mut compressed, take_all),
        Compression::Unknown(codec) => return Err(format!("unknown compression codec {codec}")),
    };
    result.map_err(|e| format!("{e:#}"))
}

/// `pwritev` of all of `pieces` at `position`, retrying short writes: the produce path hands
/// the patched batch headers and the request's own bytes as separate pieces, so record bytes
/// are not copied into a contiguous buffer before the write.
pub(crate) fn write_all_vectored_at(
    file: &File,
    pieces: &[&[u8]],
    position: u64,
) -> std::io::Result<()> {
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    // Linux's IOV_MAX; a longer list is written in several calls.
    const IOV_MAX: usize = 1024;
    let mut slices: Vec<IoSlice<'_>> = pieces
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| IoSlice::new(p))
        .collect();
    let mut rest = &mut slices[..];
    let mut position = position;
    while !rest.is_empty() {
        let count = rest.len().min(IOV_MAX);
        let offset = libc::off_t::try_from(position)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // SAFETY: `IoSlice` is ABI-compatible with `iovec` on Unix (std guarantees it), the
        // `count` slices are borrowed for the call, and the fd stays open (`file` is borrowed).
        let written = unsafe {
            libc::pwritev(
                file.as_raw_fd(),
                rest.as_ptr().cast::<libc::iovec>(),
                count as libc::c_int,
                offset,
            )
        };
        if written < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        position += written as u64;
        IoSlice::advance_slices(&mut rest, written as usize);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    #[test]
    fn vectored_writes_put_every_piece_in_order_even_past_iov_max() {
        let file = tempfile::tempfile().unwrap();
        file.write_all_at(b"0123", 0).unwrap();
        let owned: Vec<Vec<u8>> = (0..2500u32)
            .map(|i| vec![(i % 251) as u8; (i % 7) as usize])
            .collect();
        let pieces: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        write_all_vectored_at(&file, &pieces, 4).unwrap();
        let expected: Vec<u8> = b"0123".iter().copied().chain(owned.concat()).collect();
        let mut actual = vec![0u8; expected.len()];
        file.read_exact_at(&mut actual, 0).unwrap();
        assert_eq!(actual, expected);
        assert_eq!(file.metadata().unwrap().len(), expected.len() as u64);
    }
}
