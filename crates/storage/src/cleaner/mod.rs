//! Log compaction (Kafka's log cleaner) for logs whose `cleanup.policy` includes `compact`.
//!
//! A clean of one partition log ([`crate::PartitionLog::clean`]) works in Kafka's steps:
//!
//! 1. **Dirty section**: from the cleaner checkpoint (`cleaner-offset-checkpoint` in the
//!    partition directory, Kafka's offset-checkpoint text format; the log start offset when
//!    absent or out of range) to the first uncleanable offset: the lowest of the active
//!    segment's base offset, the caller's `upper_bound` (high watermark / last stable offset)
//!    and the base offset of the first segment holding a record younger than
//!    `min.compaction.lag.ms`.
//! 2. **Offset map** ([`offset_map`]): key digest → latest offset, over the dirty section's
//!    batches, in at most `log.cleaner.dedupe.buffer.size` bytes. When the map is full the
//!    clean stops where it got; the next clean continues from there.
//! 3. **Rewrite** ([`filter`]): every sealed segment from the log start up to where the map
//!    ends, in groups whose combined size fits `segment.bytes` (and whose offsets fit the
//!    index's 32-bit relative offsets), into `<base>.log.cleaned`. A record stays when no later
//!    offset for its key is in the map; keyless records go; a tombstone stays until
//!    `delete.retention.ms` after the clean that first saw it (KIP-534's delete horizon).
//!    Offsets are never rewritten.
//! 4. **Swap**, crash-safely: the `.cleaned` file is fsynced and renamed to `<base>.log.swap`
//!    (the commit point), the replaced segments' files are deleted, the swap file is renamed
//!    to `<base>.log` and the indexes rebuilt; then the new segment list is published.
//!    Readers holding the old segments keep reading them through their open files. On open,
//!    a leftover `.cleaned` file is deleted and a leftover `.swap` file completes its swap
//!    ([`recover_swaps`]).
//! 5. The checkpoint moves to the end of the cleaned section.
//!
//! Transactions ([`txn`], KIP-98): the dirty section also ends at the first unstable offset,
//! so records of ongoing transactions are neither mapped nor removed. Records of aborted
//! transactions (known from the aborted-transaction index) never enter the offset map and are
//! removed by the rewrite, so an aborted newest value cannot hide a key's committed one. A
//! transaction marker stays while any batch of its transaction is left; after that it gets a
//! delete horizon (`delete.retention.ms`) and a later clean removes it. A producer's last data
//! batch stays (empty if need be), and so does the marker of a producer with no data batch
//! left, so producer state (sequence, epoch) is rebuilt the same after a restart. Each cleaned
//! segment's `.txnindex` holds exactly the aborted transactions whose ABORT marker it kept; it
//! is swapped in with the segment ([`swap`]'s docs give the file steps).
//!
//! [`crate::LogManager::clean_logs`] picks the logs to clean: dirty ratio above
//! `min.cleanable.dirty.ratio`, or a dirty record older than `max.compaction.lag.ms`, or a
//! tombstone whose delete horizon has passed; the dirtiest first.

pub(crate) mod filter;
pub(crate) mod offset_map;
mod swap;
pub(crate) mod txn;

pub(crate) use swap::{cleaned_path, complete_swap, recover_swaps, CLEANED_SUFFIX, SWAP_SUFFIX};

/// The cleaner's checkpoint file in each partition directory.
pub(crate) const CLEANER_CHECKPOINT: &str = "cleaner-offset-checkpoint";

/// Node-wide cleaner settings (Kafka's `log.cleaner.*` server keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanerConfig {
    /// log.cleaner.enable, true
    pub enabled: bool,
    /// log.cleaner.dedupe.buffer.size, 134217728: the most memory one clean's offset map may
    /// take. fjord allocates only what the dirty section can need, up to this.
    pub dedupe_buffer_size: usize,
}

impl Default for CleanerConfig {
    fn default() -> Self {
        CleanerConfig {
            enabled: true,
            dedupe_buffer_size: 128 * 1024 * 1024,
        }
    }
}

/// What one clean did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// The dirty section this clean covered: [first_dirty_offset, cleaned_up_to).
    pub first_dirty_offset: i64,
    pub cleaned_up_to: i64,
    pub segments_before: usize,
    pub segments_after: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub records_read: u64,
    pub records_removed: u64,
    /// Keyless records dropped (a compacted topic should refuse them at produce time).
    pub records_without_key: u64,
    /// Distinct keys in the offset map, and the map's memory.
    pub map_entries: usize,
    pub map_memory_bytes: usize,
}

/// How dirty a compacted log is, for choosing what to clean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CleanableState {
    pub first_dirty_offset: i64,
    pub first_uncleanable_offset: i64,
    /// Bytes of segments below the first dirty offset, and of the dirty section.
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
    /// True when `max.compaction.lag.ms` or an expired delete horizon require a clean now.
    pub must_clean: bool,
}

impl CleanableState {
    /// dirty / (clean + dirty), Kafka's cleanable ratio.
    pub fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.dirty_bytes;
        if total == 0 {
            0.0
        } else {
            self.dirty_bytes as f64 / total as f64
        }
    }
}
