//! Opening a partition log: listing segments, recovering after an unclean stop, and
//! rebuilding producer state and leader epochs.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::{Mutex, RwLock};

use super::{PartitionLog, Writer};
use crate::checkpoint::{
    read_offset, write_offset, LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT,
};
use crate::cleaner::{recover_swaps, CLEANED_SUFFIX, SWAP_SUFFIX};
use crate::config::LogConfig;
use crate::error::LogError;
use crate::leader_epoch::LeaderEpochCache;
use crate::producer_state::ProducerStateManager;
use crate::segment::{now_ms, Segment};
use crate::topic_partition::TopicPartition;
use crate::transaction::index::TxnIndex;

/// Leftovers of interrupted operations, removed on open (`.swap` files are installed first by
/// [`crate::cleaner::recover_swaps`]; one still here is not a segment's).
const STALE_SUFFIXES: [&str; 4] = [".deleted", ".tmp", CLEANED_SUFFIX, SWAP_SUFFIX];

/// Base offsets of the `.log` files in `dir`, sorted; removes stale and orphaned files.
fn list_segments(dir: &Path) -> Result<Vec<i64>, LogError> {
    let mut bases = Vec::new();
    let mut index_files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if STALE_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            fs::remove_file(entry.path()).map_err(|e| LogError::io(entry.path(), e))?;
            continue;
        }
        let Some((stem, ext)) = name.split_once('.') else {
            continue;
        };
        let Ok(base) = stem.parse::<i64>() else {
            continue;
        };
        match ext {
            "log" => bases.push(base),
            "index" | "timeindex" => index_files.push((base, entry.path())),
            _ => {}
        }
    }
    bases.sort_unstable();
    for (base, path) in index_files {
        if bases.binary_search(&base).is_err() {
            fs::remove_file(&path).map_err(|e| LogError::io(&path, e))?;
        }
    }
    Ok(bases)
}

impl PartitionLog {
    /// Opens (creating if needed) the log in `dir`, the partition's own directory
    /// (`<data dir>/<topic>-<partition>`). `clean_shutdown` says the previous process closed
    /// every log and left the clean-shutdown marker: then only the last segment's indexes are
    /// checked and its tail after the last index entry read. Otherwise every segment from the
    /// one holding the persisted recovery point on is validated batch by batch, a torn or
    /// corrupt tail is truncated (logged with path, offset and bytes dropped), later segments
    /// are deleted, and indexes are rebuilt.
    pub fn open(
        dir: &Path,
        tp: TopicPartition,
        config: LogConfig,
        clean_shutdown: bool,
    ) -> Result<PartitionLog, LogError> {
        fs::create_dir_all(dir).map_err(|e| LogError::io(dir, e))?;
        // A cleaner swap past its commit point is finished before anything else looks at the
        // segments; its new segment is then recovered like any other.
        let swapped = recover_swaps(dir, &config)?;
        let clean_shutdown = clean_shutdown && swapped == 0;
        let bases = list_segments(dir)?;
        let checkpoint_log_start = read_offset(dir, LOG_START_OFFSET_CHECKPOINT, &tp)?;
        let checkpoint_recovery_point = read_offset(dir, RECOVERY_POINT_CHECKPOINT, &tp)?;

        let mut segments = Vec::with_capacity(bases.len().max(1));
        for &base in &bases {
            segments.push(Arc::new(Segment::open(dir, base)?));
        }
        let mut recovered = false;
        if segments.is_empty() {
            let base = checkpoint_log_start.unwrap_or(0).max(0);
            segments.push(Arc::new(Segment::create(dir, base, &config)?));
        } else {
            let last = segments.len() - 1;
            let mut recover_from = if clean_shutdown {
                None
            } else {
                let rp = checkpoint_recovery_point.unwrap_or(i64::MIN);
                Some(
                    segments
                        .partition_point(|s| s.base_offset <= rp)
                        .saturating_sub(1),
                )
            };
            if recover_from.is_none() && !segments[last].load_as_active(&config)? {
                tracing::warn!(partition = %tp, "last segment does not parse after a clean shutdown; recovering it");
                recover_from = Some(last);
            }
            if let Some(from) = recover_from {
                recovered = true;
                recover_segments(&tp, dir, &mut segments, from, &config)?;
            }
        }

        let last = segments.last().expect("at least one segment");
        let log_end_offset = last.next_offset().unwrap_or(last.base_offset);
        let first_base = segments[0].base_offset;
        let log_start_offset = checkpoint_log_start
            .unwrap_or(first_base)
            .max(first_base)
            .min(log_end_offset);

        let mut epochs = LeaderEpochCache::load(dir)?;
        epochs.truncate_from_end(log_end_offset)?;
        epochs.truncate_from_start(log_start_offset)?;

        let config_for_replay = config.clone();
        let mut aborted_txns = TxnIndex::load(dir, first_base, log_end_offset)?;
        let producers = rebuild_producer_state(
            dir,
            &segments,
            log_start_offset,
            log_end_offset,
            &config_for_replay,
            &mut aborted_txns,
        )?;
        let first_unstable_offset = producers
            .first_unstable_offset()
            .unwrap_or(super::txn::NO_UNSTABLE_OFFSET);

        if recovered {
            write_offset(dir, RECOVERY_POINT_CHECKPOINT, &tp, log_end_offset)?;
        }
        let log = PartitionLog {
            tp,
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            segments: ArcSwap::from_pointee(segments),
            writer: Mutex::new(Writer {
                producers,
                unflushed_messages: 0,
                last_flush_ms: now_ms(),
                checkpointed_recovery_point: if recovered {
                    log_end_offset
                } else {
                    checkpoint_recovery_point.unwrap_or(-1)
                },
            }),
            epochs: Mutex::new(epochs),
            log_start_offset: AtomicI64::new(log_start_offset),
            log_end_offset: AtomicI64::new(log_end_offset),
            // After a clean shutdown everything was fsynced; after recovery the scanned
            // segments were fsynced before this point.
            recovery_point: AtomicI64::new(log_end_offset),
            poisoned: Mutex::new(None),
            closed: AtomicBool::new(false),
            cleaner: Default::default(),
            cleaner_upper_bound: AtomicI64::new(i64::MAX),
            aborted_txns: RwLock::new(aborted_txns),
            first_unstable_offset: AtomicI64::new(first_unstable_offset),
        };
        Ok(log)
    }
}

/// Validates segments `from..` in place; truncates the first bad one and deletes the rest.
fn recover_segments(
    tp: &TopicPartition,
    dir: &Path,
    segments: &mut Vec<Arc<Segment>>,
    from: usize,
    config: &LogConfig,
) -> Result<(), LogError> {
    let mut i = from;
    while i < segments.len() {
        let active = i == segments.len() - 1;
        let segment = Arc::clone(&segments[i]);
        let result = segment.recover(config, active, |_| {})?;
        if result.truncated_bytes > 0 {
            tracing::warn!(
                partition = %tp,
                path = %segment.log_path().display(),
                offset = segment.next_offset().unwrap_or(segment.base_offset),
                bytes_dropped = result.truncated_bytes,
                reason = result.reason.as_deref().unwrap_or("unknown"),
                "truncated a torn or corrupt log tail during recovery"
            );
            for later in segments.drain(i + 1..) {
                tracing::warn!(
                    partition = %tp,
                    path = %later.log_path().display(),
                    bytes_dropped = later.size(),
                    "deleting segment after a corrupt batch"
                );
                later.delete_files()?;
            }
            if !active {
                // It became the last segment: make its indexes appendable again.
                segment.recover(config, true, |_| {})?;
            }
        }
        segment.flush()?;
        i += 1;
    }
    crate::crashsafe::fsync_dir(dir)?;
    Ok(())
}

/// Loads the newest producer snapshot at or below the log end offset and replays the batch
/// headers after it (re-indexing aborted transactions found on the way).
fn rebuild_producer_state(
    dir: &Path,
    segments: &[Arc<Segment>],
    log_start_offset: i64,
    log_end_offset: i64,
    config: &LogConfig,
    aborted_txns: &mut TxnIndex,
) -> Result<ProducerStateManager, LogError> {
    let (from, mut producers) = ProducerStateManager::load_latest(dir, log_end_offset)?
        .unwrap_or((log_start_offset, ProducerStateManager::new()));
    if from < log_end_offset {
        super::txn::replay(segments, from, config, &mut producers, aborted_txns)?;
    }
    producers.truncate_head(log_start_offset);
    Ok(producers)
}
