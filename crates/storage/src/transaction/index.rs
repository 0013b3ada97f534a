//! The aborted-transaction index of a partition: every aborted transaction, kept in memory
//! for Fetch and persisted as one `<base_offset:020>.txnindex` file per segment, holding the
//! entries whose ABORT marker lies in that segment (Kafka's `TransactionIndex`).
//!
//! File format (Kafka's, big-endian), a plain sequence of 34-byte entries in marker order:
//! ```text
//! version: i16 (0) | producer_id: i64 | first_offset: i64 | last_offset: i64 | last_stable_offset: i64
//! ```
//! `first_offset` is the transaction's first offset on this partition, `last_offset` the
//! marker's offset, `last_stable_offset` the partition's LSO just after the abort (Kafka uses
//! it to stop scanning early; clients never see it).
//!
//! Like the offset indexes, the files are derived data: a torn trailing entry is ignored,
//! entries past the log end are dropped on open, and missing entries are re-added when
//! producer state is replayed over the log. A file is fsynced when its segment is sealed.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::LogError;
use crate::segment::file_name;

const ENTRY_LEN: usize = 34;
const ENTRY_VERSION: i16 = 0;
const EXTENSION: &str = "txnindex";

/// One aborted transaction, as Fetch returns it (producer id and first offset) plus what the
/// index needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[0..2].copy_from_slice(&ENTRY_VERSION.to_be_bytes());
        out[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        out[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        out[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        out[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        out
    }

    fn decode(raw: &[u8]) -> Option<AbortedTxn> {
        let i64_at = |at: usize| raw.get(at..at + 8)?.try_into().ok().map(i64::from_be_bytes);
        Some(AbortedTxn {
            producer_id: i64_at(2)?,
            first_offset: i64_at(10)?,
            last_offset: i64_at(18)?,
            last_stable_offset: i64_at(26)?,
        })
    }
}

/// All aborted transactions of a partition; each entry tagged with the base offset of the
/// `.txnindex` file holding it. Entries are in marker-offset order.
#[derive(Debug, Default)]
pub(crate) struct TxnIndex {
    dir: PathBuf,
    entries: Vec<(i64, AbortedTxn)>,
}

impl TxnIndex {
    /// Loads every `.txnindex` file of `dir`, dropping entries whose marker is at or past
    /// `log_end_offset` (a torn tail was truncated) and files below `first_segment_base`.
    pub(crate) fn load(
        dir: &Path,
        first_segment_base: i64,
        log_end_offset: i64,
    ) -> Result<TxnIndex, LogError> {
        let mut index = TxnIndex {
            dir: dir.to_path_buf(),
            entries: Vec::new(),
        };
        for (base, path) in list_files(dir)? {
            if base < first_segment_base {
                remove_if_exists(&path)?;
                continue;
            }
            let raw = fs::read(&path).map_err(|e| LogError::io(&path, e))?;
            let mut entries: Vec<AbortedTxn> = raw
                .chunks_exact(ENTRY_LEN)
                .filter(|c| c[0..2] == ENTRY_VERSION.to_be_bytes())
                .filter_map(AbortedTxn::decode)
                .collect();
            let complete = raw.len() % ENTRY_LEN == 0;
            let before = entries.len();
            entries.retain(|e| e.last_offset < log_end_offset);
            if entries.len() != before || !complete {
                index.rewrite_file(base, &entries)?;
            }
            index.entries.extend(entries.into_iter().map(|e| (base, e)));
        }
        index.entries.sort_by_key(|(_, e)| e.last_offset);
        Ok(index)
    }

    /// Records an aborted transaction whose marker went to the segment at `segment_base`.
    /// Already known entries (replay after a restart) are not added twice.
    pub(crate) fn append(&mut self, segment_base: i64, txn: AbortedTxn) -> Result<(), LogError> {
        if self.contains(&txn) {
            return Ok(());
        }
        let path = self.path(segment_base);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| LogError::io(&path, e))?;
        file.write_all(&txn.encode())
            .map_err(|e| LogError::io(&path, e))?;
        let at = self
            .entries
            .partition_point(|(_, e)| e.last_offset <= txn.last_offset);
        self.entries.insert(at, (segment_base, txn));
        Ok(())
    }

    fn contains(&self, txn: &AbortedTxn) -> bool {
        self.entries
            .iter()
            .any(|(_, e)| e.producer_id == txn.producer_id && e.last_offset == txn.last_offset)
    }

    /// Aborted transactions that may have records in `[start_offset, upper_bound_offset)`:
    /// those ending at or after `start_offset` and starting before `upper_bound_offset`.
    pub(crate) fn collect(&self, start_offset: i64, upper_bound_offset: i64) -> Vec<AbortedTxn> {
        let from = self
            .entries
            .partition_point(|(_, e)| e.last_offset < start_offset);
        self.entries[from..]
            .iter()
            .map(|(_, e)| *e)
            .filter(|e| e.first_offset < upper_bound_offset)
            .collect()
    }

    /// Drops entries whose marker is at or after `offset` (log truncation).
    pub(crate) fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        let keep = self
            .entries
            .partition_point(|(_, e)| e.last_offset < offset);
        if keep == self.entries.len() {
            return Ok(());
        }
        let dropped: Vec<i64> = self.entries[keep..].iter().map(|(b, _)| *b).collect();
        self.entries.truncate(keep);
        let mut bases = dropped;
        bases.dedup();
        for base in bases {
            let remaining: Vec<AbortedTxn> = self
                .entries
                .iter()
                .filter(|(b, _)| *b == base)
                .map(|(_, e)| *e)
                .collect();
            self.rewrite_file(base, &remaining)?;
        }
        Ok(())
    }

    /// Deletes the files (and entries) of segments below `first_segment_base` (retention).
    pub(crate) fn delete_below(&mut self, first_segment_base: i64) -> Result<(), LogError> {
        self.entries.retain(|(b, _)| *b >= first_segment_base);
        for (base, path) in list_files(&self.dir)? {
            if base < first_segment_base {
                remove_if_exists(&path)?;
            }
        }
        Ok(())
    }

    /// The cleaner replaced the segments with base offsets in `[first_base, next_base)` by one
    /// segment at `first_base` whose index file now holds `entries` (the file work is the
    /// swap's, see `cleaner::swap`): the in-memory entries follow.
    pub(crate) fn replaced_by_clean(
        &mut self,
        first_base: i64,
        next_base: i64,
        entries: &[AbortedTxn],
    ) {
        self.entries
            .retain(|(b, _)| *b < first_base || *b >= next_base);
        self.entries
            .extend(entries.iter().map(|e| (first_base, *e)));
        self.entries.sort_by_key(|(_, e)| e.last_offset);
    }

    /// Deletes every file and entry (the log was emptied).
    pub(crate) fn clear(&mut self) -> Result<(), LogError> {
        self.delete_below(i64::MAX)
    }

    /// fsyncs the file of the segment at `segment_base`, if it has one (sealing the segment).
    pub(crate) fn sync(&self, segment_base: i64) -> Result<(), LogError> {
        let path = self.path(segment_base);
        match fs::File::open(&path) {
            Ok(file) => file.sync_all().map_err(|e| LogError::io(&path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LogError::io(&path, e)),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn path(&self, base: i64) -> PathBuf {
        index_path(&self.dir, base)
    }

    fn rewrite_file(&self, base: i64, entries: &[AbortedTxn]) -> Result<(), LogError> {
        let path = self.path(base);
        if entries.is_empty() {
            return remove_if_exists(&path);
        }
        crate::crashsafe::write_atomically(&path, &encode_entries(entries))
    }
}

/// The `.txnindex` file of the segment at `base_offset`.
pub(crate) fn index_path(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(file_name(base_offset, EXTENSION))
}

/// The bytes of an index file holding `entries`.
pub(crate) fn encode_entries(entries: &[AbortedTxn]) -> Vec<u8> {
    entries.iter().flat_map(|e| e.encode()).collect()
}

fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

fn list_files(dir: &Path) -> Result<Vec<(i64, PathBuf)>, LogError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".txnindex") {
            if let Ok(base) = stem.parse::<i64>() {
                out.push((base, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(producer_id: i64, first_offset: i64, last_offset: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id,
            first_offset,
            last_offset,
            last_stable_offset: last_offset + 1,
        }
    }

    #[test]
    fn entries_are_kafkas_34_bytes() {
        let e = AbortedTxn {
            producer_id: 1,
            first_offset: 2,
            last_offset: 3,
            last_stable_offset: 4,
        };
        let raw = e.encode();
        assert_eq!(
            raw.to_vec(),
            [
                vec![0, 0],
                1i64.to_be_bytes().to_vec(),
                2i64.to_be_bytes().to_vec(),
                3i64.to_be_bytes().to_vec(),
                4i64.to_be_bytes().to_vec()
            ]
            .concat()
        );
        assert_eq!(AbortedTxn::decode(&raw), Some(e));
    }

    #[test]
    fn append_collect_truncate_reload_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = TxnIndex::load(dir.path(), 0, 0).unwrap();
        index.append(0, txn(1, 0, 5)).unwrap();
        index.append(0, txn(2, 3, 9)).unwrap();
        index.append(10, txn(1, 12, 20)).unwrap();
        index.append(10, txn(1, 12, 20)).unwrap(); // replayed: not twice
        assert_eq!(index.len(), 3);
        assert_eq!(index.collect(6, 100), vec![txn(2, 3, 9), txn(1, 12, 20)]);
        assert_eq!(index.collect(0, 3), vec![txn(1, 0, 5)]);
        assert!(index.collect(21, 100).is_empty());

        // A torn trailing entry and an entry past the log end are dropped on load.
        let path = dir.path().join(file_name(10, EXTENSION));
        let mut raw = fs::read(&path).unwrap();
        raw.extend_from_slice(&[0, 0, 1]);
        fs::write(&path, raw).unwrap();
        let mut index = TxnIndex::load(dir.path(), 0, 20).unwrap();
        assert_eq!(index.collect(0, 100), vec![txn(1, 0, 5), txn(2, 3, 9)]);
        assert!(!path.exists(), "file left empty is removed");

        index.truncate_to(9).unwrap();
        assert_eq!(index.collect(0, 100), vec![txn(1, 0, 5)]);
        let index = TxnIndex::load(dir.path(), 0, 100).unwrap();
        assert_eq!(index.len(), 1);

        let mut index = index;
        index.append(10, txn(3, 10, 11)).unwrap();
        index.delete_below(10).unwrap();
        assert_eq!(index.collect(0, 100), vec![txn(3, 10, 11)]);
        assert!(!dir.path().join(file_name(0, EXTENSION)).exists());
        index.clear().unwrap();
        assert_eq!(TxnIndex::load(dir.path(), 0, 100).unwrap().len(), 0);
    }
}
