//! The leader epoch cache of one partition: which leader epoch started at which offset, kept in
//! `leader-epoch-checkpoint` in Kafka's text format:
//! ```text
//! 0            <- version
//! 2            <- number of entries
//! 0 0          <- epoch start_offset
//! 3 1500
//! ```
//! Used to answer OffsetForLeaderEpoch (`end_offset_for_epoch`) so that followers can find
//! where their log diverged from the leader's.

use std::path::{Path, PathBuf};

use crate::checkpoint::{read_lines, write_lines};
use crate::error::LogError;

pub(crate) const LEADER_EPOCH_CHECKPOINT: &str = "leader-epoch-checkpoint";

/// (epoch, start_offset) pairs with both strictly increasing.
#[derive(Debug)]
pub(crate) struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<(i32, i64)>,
}

impl LeaderEpochCache {
    pub(crate) fn load(dir: &Path) -> Result<Self, LogError> {
        let path = dir.join(LEADER_EPOCH_CHECKPOINT);
        let mut entries = Vec::new();
        for line in read_lines(&path)?.unwrap_or_default() {
            let mut parts = line.split_whitespace();
            let parsed = match (parts.next(), parts.next(), parts.next()) {
                (Some(e), Some(o), None) => e.parse::<i32>().ok().zip(o.parse::<i64>().ok()),
                _ => None,
            };
            let Some(entry) = parsed else {
                return Err(LogError::MalformedFile {
                    path,
                    reason: format!("bad line {line:?}"),
                });
            };
            entries.push(entry);
        }
        Ok(LeaderEpochCache { path, entries })
    }

    fn persist(&self) -> Result<(), LogError> {
        let lines: Vec<String> = self
            .entries
            .iter()
            .map(|(e, o)| format!("{e} {o}"))
            .collect();
        write_lines(&self.path, &lines)
    }

    pub(crate) fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|&(e, _)| e)
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[(i32, i64)] {
        &self.entries
    }

    /// Records that `epoch` starts at `start_offset`, if it is newer than the latest epoch.
    /// Entries at or after `start_offset` with an older epoch are dropped (Kafka `assign`).
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: i64) -> Result<(), LogError> {
        if epoch < 0 || self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return Ok(());
        }
        self.entries.retain(|&(_, o)| o < start_offset);
        self.entries.push((epoch, start_offset));
        self.persist()
    }

    /// Drops epochs that start at or after `offset` (the log was truncated to `offset`).
    pub(crate) fn truncate_from_end(&mut self, offset: i64) -> Result<(), LogError> {
        let before = self.entries.len();
        self.entries.retain(|&(_, o)| o < offset);
        if self.entries.len() != before {
            self.persist()?;
        }
        Ok(())
    }

    /// The log now starts at `offset`: epochs that ended before it go, and the epoch in force
    /// at `offset` is moved to start there (Kafka `truncateFromStart`).
    pub(crate) fn truncate_from_start(&mut self, offset: i64) -> Result<(), LogError> {
        let in_force = self.entries.iter().rposition(|&(_, o)| o <= offset);
        let Some(idx) = in_force else { return Ok(()) };
        if idx == 0 && self.entries[0].1 == offset {
            return Ok(());
        }
        self.entries.drain(..idx);
        self.entries[0].1 = offset;
        self.persist()
    }

    /// Removes everything (the log was emptied and restarts).
    pub(crate) fn clear(&mut self) -> Result<(), LogError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        self.entries.clear();
        self.persist()
    }

    /// Kafka's `endOffsetFor`: the largest epoch <= `requested` and the offset where the next
    /// epoch begins (the log end offset for the latest epoch). `None` means UNDEFINED (-1, -1).
    pub(crate) fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> Option<(i32, i64)> {
        if requested < 0 {
            return None;
        }
        if self.latest_epoch() == Some(requested) {
            return Some((requested, log_end_offset));
        }
        let higher = self.entries.iter().find(|&&(e, _)| e > requested)?;
        match self.entries.iter().rev().find(|&&(e, _)| e <= requested) {
            Some(&(floor, _)) => Some((floor, higher.1)),
            None => Some((requested, higher.1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assign_truncate_and_end_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = LeaderEpochCache::load(dir.path()).unwrap();
        cache.assign(0, 0).unwrap();
        cache.assign(0, 5).unwrap();
        cache.assign(2, 10).unwrap();
        cache.assign(5, 20).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LEADER_EPOCH_CHECKPOINT)).unwrap(),
            "0\n3\n0 0\n2 10\n5 20\n"
        );
        assert_eq!(cache.end_offset_for(5, 30), Some((5, 30)));
        assert_eq!(cache.end_offset_for(2, 30), Some((2, 20)));
        assert_eq!(cache.end_offset_for(3, 30), Some((2, 20)));
        assert_eq!(cache.end_offset_for(6, 30), None);
        assert_eq!(cache.end_offset_for(-1, 30), None);
        let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(reloaded.entries(), cache.entries());

        cache.truncate_from_end(15).unwrap();
        assert_eq!(cache.entries(), &[(0, 0), (2, 10)]);
        cache.truncate_from_start(12).unwrap();
        assert_eq!(cache.entries(), &[(2, 12)]);
        // Older than every known epoch: Kafka answers the requested epoch and the first start.
        assert_eq!(cache.end_offset_for(1, 30), Some((1, 12)));
    }
}
