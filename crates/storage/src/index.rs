//! The two sparse per-segment indexes, in Kafka's on-disk formats (all integers big-endian):
//!
//! * `.index` (offset index), 8-byte entries: `relative_offset: u32` (offset - segment base
//!   offset), `position: u32` (byte position of a batch in the `.log`). An entry maps the LAST
//!   offset of a batch to the position where that batch starts, so "the largest entry <= target"
//!   gives a position from which a forward scan reaches the batch holding `target`.
//! * `.timeindex` (time index), 12-byte entries: `timestamp: i64` (the largest timestamp seen in
//!   the segment so far), `relative_offset: u32` (the last offset of the batch that carried it).
//!   Timestamps strictly increase from entry to entry.
//!
//! Both files are preallocated to `segment.index.bytes` while their segment is active (so that
//! appends never extend the file) and trimmed to their entries on roll and close, as Kafka does.
//! Entries are kept in memory too: the file is written, never read, on the hot path. A sealed
//! segment's index is read lazily on first use, and one that fails its sanity check (length not a
//! multiple of the entry size, entries out of order, positions past the log) is reported so the
//! segment can rebuild it from the log. Indexes carry no checksum; they are rebuilt, never
//! trusted blindly (Kafka `OffsetIndex`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;

use crate::error::LogError;

pub(crate) const OFFSET_ENTRY_BYTES: usize = 8;
pub(crate) const TIME_ENTRY_BYTES: usize = 12;

/// One entry of either index, decoded: `key` is the relative offset (offset index) or the
/// timestamp (time index), `value` the position (offset index) or relative offset (time index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: i64,
    value: u32,
}

/// Why an index file cannot be used as it is.
#[derive(Debug)]
pub(crate) enum IndexProblem {
    Io(LogError),
    Insane(String),
}

struct State {
    /// `None` until loaded (sealed segments are loaded lazily).
    entries: Option<Vec<Entry>>,
    /// The write handle, present while the segment is active.
    file: Option<File>,
    /// Entries the preallocated file can hold.
    max_entries: usize,
}

/// Shared machinery of the offset and the time index.
struct IndexFile {
    path: PathBuf,
    entry_bytes: usize,
    state: RwLock<State>,
}

impl IndexFile {
    fn new(path: PathBuf, entry_bytes: usize) -> Self {
        IndexFile {
            path,
            entry_bytes,
            state: RwLock::new(State {
                entries: None,
                file: None,
                max_entries: usize::MAX,
            }),
        }
    }

    fn decode(&self, raw: &[u8]) -> Entry {
        if self.entry_bytes == OFFSET_ENTRY_BYTES {
            Entry {
                key: i64::from(u32::from_be_bytes(raw[0..4].try_into().expect("4 bytes"))),
                value: u32::from_be_bytes(raw[4..8].try_into().expect("4 bytes")),
            }
        } else {
            Entry {
                key: i64::from_be_bytes(raw[0..8].try_into().expect("8 bytes")),
                value: u32::from_be_bytes(raw[8..12].try_into().expect("4 bytes")),
            }
        }
    }

    fn encode(&self, entry: Entry) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entry_bytes);
        if self.entry_bytes == OFFSET_ENTRY_BYTES {
            out.extend_from_slice(&(entry.key as u32).to_be_bytes());
        } else {
            out.extend_from_slice(&entry.key.to_be_bytes());
        }
        out.extend_from_slice(&entry.value.to_be_bytes());
        out
    }

    /// Reads the file and checks that it is a plausible index: whole entries, keys and values
    /// non-decreasing (keys strictly increasing for the time index), values within `limit`.
    /// Trailing all-zero entries are the unused preallocated tail of an index that was active
    /// when the process stopped; they are dropped.
    fn read_checked(&self, value_limit: u32) -> Result<Vec<Entry>, IndexProblem> {
        let bytes =
            std::fs::read(&self.path).map_err(|e| IndexProblem::Io(LogError::io(&self.path, e)))?;
        if bytes.len() % self.entry_bytes != 0 {
            return Err(IndexProblem::Insane(format!(
                "length {} is not a multiple of {}",
                bytes.len(),
                self.entry_bytes
            )));
        }
        let mut entries: Vec<Entry> = bytes
            .chunks_exact(self.entry_bytes)
            .map(|c| self.decode(c))
            .collect();
        while entries.len() > 1 && entries.last() == Some(&Entry { key: 0, value: 0 }) {
            entries.pop();
        }
        if entries.len() == 1
            && entries[0] == (Entry { key: 0, value: 0 })
            && self.entry_bytes == TIME_ENTRY_BYTES
        {
            entries.pop();
        }
        for pair in entries.windows(2) {
            let ordered = if self.entry_bytes == TIME_ENTRY_BYTES {
                pair[0].key < pair[1].key && pair[0].value <= pair[1].value
            } else {
                pair[0].key < pair[1].key && pair[0].value < pair[1].value
            };
            if !ordered {
                return Err(IndexProblem::Insane(format!(
                    "entries out of order: {:?}",
                    pair
                )));
            }
        }
        if let Some(last) = entries.last() {
            if last.value > value_limit {
                return Err(IndexProblem::Insane(format!(
                    "last entry value {} is past the limit {value_limit}",
                    last.value
                )));
            }
        }
        Ok(entries)
    }

    fn is_loaded(&self) -> bool {
        self.state.read().entries.is_some()
    }

    /// Loads the file if needed. `value_limit` bounds plausible values (log size, or relative
    /// offset range).
    fn ensure_loaded(&self, value_limit: u32) -> Result<(), IndexProblem> {
        if self.is_loaded() {
            return Ok(());
        }
        let entries = self.read_checked(value_limit)?;
        let mut state = self.state.write();
        if state.entries.is_none() {
            state.entries = Some(entries);
        }
        Ok(())
    }

    /// Replaces the content (after a rebuild) and rewrites the file, preallocated if active.
    fn reset(&self, entries: Vec<Entry>, active: bool, index_bytes: u64) -> Result<(), LogError> {
        let mut state = self.state.write();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.path)
            .map_err(|e| LogError::io(&self.path, e))?;
        let mut raw = Vec::with_capacity(entries.len() * self.entry_bytes);
        for e in &entries {
            raw.extend_from_slice(&self.encode(*e));
        }
        file.write_all_at(&raw, 0)
            .map_err(|e| LogError::io(&self.path, e))?;
        if active {
            let max_entries = (index_bytes as usize / self.entry_bytes).max(entries.len() + 1);
            file.set_len((max_entries * self.entry_bytes) as u64)
                .map_err(|e| LogError::io(&self.path, e))?;
            state.max_entries = max_entries;
            state.file = Some(file);
        } else {
            state.max_entries = usize::MAX;
            state.file = None;
        }
        state.entries = Some(entries);
        Ok(())
    }

    /// Opens the (loaded) index for appends, preallocating the file.
    fn activate(&self, index_bytes: u64) -> Result<(), LogError> {
        let entries = self.state.read().entries.clone().unwrap_or_default();
        self.reset(entries, true, index_bytes)
    }

    fn append(&self, entry: Entry) -> Result<(), LogError> {
        let mut state = self.state.write();
        let raw = self.encode(entry);
        let position = state.entries.as_ref().map_or(0, Vec::len) * self.entry_bytes;
        if let Some(file) = &state.file {
            file.write_all_at(&raw, position as u64)
                .map_err(|e| LogError::io(&self.path, e))?;
        }
        state.entries.get_or_insert_with(Vec::new).push(entry);
        Ok(())
    }

    fn last(&self) -> Option<Entry> {
        self.state
            .read()
            .entries
            .as_ref()
            .and_then(|e| e.last().copied())
    }

    fn is_full(&self) -> bool {
        let state = self.state.read();
        state.entries.as_ref().map_or(0, Vec::len) >= state.max_entries
    }

    /// The largest entry with `key <= target`.
    fn floor(&self, target: i64) -> Option<Entry> {
        let state = self.state.read();
        let entries = state.entries.as_ref()?;
        let idx = entries.partition_point(|e| e.key <= target);
        idx.checked_sub(1).map(|i| entries[i])
    }

    /// Trims the preallocated file to its entries, fsyncs it and drops the write handle.
    fn seal(&self) -> Result<(), LogError> {
        let mut state = self.state.write();
        let used = state.entries.as_ref().map_or(0, Vec::len) * self.entry_bytes;
        if let Some(file) = state.file.take() {
            file.set_len(used as u64)
                .map_err(|e| LogError::io(&self.path, e))?;
            file.sync_all().map_err(|e| LogError::io(&self.path, e))?;
        }
        state.max_entries = usize::MAX;
        Ok(())
    }
}

/// The `.index` file of one segment.
pub(crate) struct OffsetIndex {
    base_offset: i64,
    inner: IndexFile,
}

impl OffsetIndex {
    pub(crate) fn new(path: PathBuf, base_offset: i64) -> Self {
        OffsetIndex {
            base_offset,
            inner: IndexFile::new(path, OFFSET_ENTRY_BYTES),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn is_loaded(&self) -> bool {
        self.inner.is_loaded()
    }

    /// Loads and sanity-checks the file against the size of its log.
    pub(crate) fn load(&self, log_size: u64) -> Result<(), IndexProblem> {
        self.inner
            .ensure_loaded(u32::try_from(log_size).unwrap_or(u32::MAX))
    }

    /// Replaces the index with `entries` (offset, position), e.g. after a rebuild.
    pub(crate) fn reset(
        &self,
        entries: &[(i64, u32)],
        active: bool,
        index_bytes: u64,
    ) -> Result<(), LogError> {
        let entries = entries
            .iter()
            .map(|&(offset, position)| Entry {
                key: offset - self.base_offset,
                value: position,
            })
            .collect();
        self.inner.reset(entries, active, index_bytes)
    }

    pub(crate) fn activate(&self, index_bytes: u64) -> Result<(), LogError> {
        self.inner.activate(index_bytes)
    }

    pub(crate) fn append(&self, offset: i64, position: u32) -> Result<(), LogError> {
        self.inner.append(Entry {
            key: offset - self.base_offset,
            value: position,
        })
    }

    /// Position from which a forward scan finds the batch containing `offset`
    /// (0 when no entry is at or below it).
    pub(crate) fn lookup(&self, offset: i64) -> u32 {
        self.inner
            .floor(offset - self.base_offset)
            .map_or(0, |e| e.value)
    }

    /// (offset, position) of the last entry.
    pub(crate) fn last(&self) -> Option<(i64, u32)> {
        self.inner
            .last()
            .map(|e| (self.base_offset + e.key, e.value))
    }

    pub(crate) fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    pub(crate) fn seal(&self) -> Result<(), LogError> {
        self.inner.seal()
    }
}

/// The `.timeindex` file of one segment.
pub(crate) struct TimeIndex {
    base_offset: i64,
    inner: IndexFile,
}

impl TimeIndex {
    pub(crate) fn new(path: PathBuf, base_offset: i64) -> Self {
        TimeIndex {
            base_offset,
            inner: IndexFile::new(path, TIME_ENTRY_BYTES),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn is_loaded(&self) -> bool {
        self.inner.is_loaded()
    }

    pub(crate) fn load(&self) -> Result<(), IndexProblem> {
        self.inner.ensure_loaded(u32::MAX)
    }

    /// Replaces the index with `entries` (timestamp, offset).
    pub(crate) fn reset(
        &self,
        entries: &[(i64, i64)],
        active: bool,
        index_bytes: u64,
    ) -> Result<(), LogError> {
        let entries = entries
            .iter()
            .map(|&(timestamp, offset)| Entry {
                key: timestamp,
                value: (offset - self.base_offset) as u32,
            })
            .collect();
        self.inner.reset(entries, active, index_bytes)
    }

    pub(crate) fn activate(&self, index_bytes: u64) -> Result<(), LogError> {
        self.inner.activate(index_bytes)
    }

    /// Appends (timestamp, offset) unless the timestamp does not exceed the last entry's.
    pub(crate) fn maybe_append(&self, timestamp: i64, offset: i64) -> Result<(), LogError> {
        if self.inner.last().is_some_and(|last| last.key >= timestamp) {
            return Ok(());
        }
        self.inner.append(Entry {
            key: timestamp,
            value: (offset - self.base_offset) as u32,
        })
    }

    /// Offset from which to scan for the first record with a timestamp >= `timestamp`: the
    /// offset of the largest entry whose timestamp is below it, or the segment start.
    pub(crate) fn lookup(&self, timestamp: i64) -> i64 {
        // Entries with key < timestamp prove every earlier record is older than the target.
        self.inner
            .floor(timestamp.saturating_sub(1))
            .map_or(self.base_offset, |e| self.base_offset + i64::from(e.value))
    }

    /// (timestamp, offset) of the last entry: the segment's largest timestamp once sealed.
    pub(crate) fn last(&self) -> Option<(i64, i64)> {
        self.inner
            .last()
            .map(|e| (e.key, self.base_offset + i64::from(e.value)))
    }

    pub(crate) fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    pub(crate) fn seal(&self) -> Result<(), LogError> {
        self.inner.seal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_and_kafka_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.index");
        let index = OffsetIndex::new(path.clone(), 100);
        index.reset(&[], true, 80).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 80, "preallocated");
        index.append(104, 0).unwrap();
        index.append(110, 4096).unwrap();
        index.append(120, 9000).unwrap();
        assert_eq!(index.lookup(100), 0);
        assert_eq!(index.lookup(109), 0);
        assert_eq!(index.lookup(110), 4096);
        assert_eq!(index.lookup(119), 4096);
        assert_eq!(index.lookup(500), 9000);
        index.seal().unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 24, "trimmed on seal");
        assert_eq!(&raw[8..16], &[0, 0, 0, 10, 0, 0, 0x10, 0]);

        let reloaded = OffsetIndex::new(path, 100);
        reloaded.load(10_000).unwrap();
        assert_eq!(reloaded.lookup(115), 4096);
        assert_eq!(reloaded.last(), Some((120, 9000)));
        assert!(matches!(
            OffsetIndex::new(reloaded.path().to_path_buf(), 100).load(5000),
            Err(IndexProblem::Insane(_))
        ));
    }

    #[test]
    fn time_index_only_grows_and_finds_scan_start() {
        let dir = tempfile::tempdir().unwrap();
        let index = TimeIndex::new(dir.path().join("0.timeindex"), 0);
        index.reset(&[], true, 120).unwrap();
        index.maybe_append(1000, 5).unwrap();
        index.maybe_append(900, 6).unwrap();
        index.maybe_append(2000, 9).unwrap();
        assert_eq!(index.last(), Some((2000, 9)));
        assert_eq!(index.lookup(500), 0);
        assert_eq!(index.lookup(1000), 0);
        assert_eq!(index.lookup(1001), 5);
        assert_eq!(index.lookup(5000), 9);
    }

    #[test]
    fn corrupt_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        std::fs::write(&path, [1u8; 13]).unwrap();
        assert!(matches!(
            TimeIndex::new(path.clone(), 0).load(),
            Err(IndexProblem::Insane(_))
        ));
        let mut raw = Vec::new();
        raw.extend_from_slice(&10i64.to_be_bytes());
        raw.extend_from_slice(&5u32.to_be_bytes());
        raw.extend_from_slice(&9i64.to_be_bytes());
        raw.extend_from_slice(&6u32.to_be_bytes());
        std::fs::write(&path, raw).unwrap();
        assert!(matches!(
            TimeIndex::new(path, 0).load(),
            Err(IndexProblem::Insane(_))
        ));
    }
}
