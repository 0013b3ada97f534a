//! Replacing cleaned segments crash-safely, and finishing an interrupted replacement on open.
//!
//! Files: the cleaner writes `<base:020>.log.cleaned`; renaming it to `<base:020>.log.swap` is
//! the commit point. After that the replaced segments' `.log`, `.index` and `.timeindex` files
//! are deleted and the swap file is renamed to `<base:020>.log`; the indexes are rebuilt from
//! it. A crash before the commit point leaves a `.cleaned` file, which open deletes (the old
//! segments are intact). A crash after it leaves a `.swap` file, which open installs: every
//! segment whose base offset lies in the swap file's offset range (or equals its base) is
//! one it replaced and is deleted first, as Kafka's `LogLoader` does.
//!
//! The aborted-transaction index goes along: before the commit point the group's new index is
//! written to `<base:020>.txnindex.cleaned` (always, empty when no entry stays). After it, the
//! replaced segments' `.txnindex` files are deleted and the `.cleaned` one renamed into place
//! (an empty one is then removed), before the log's swap file is installed. Recovery of a
//! `.swap` file does the same when `<base>.txnindex.cleaned` is present; when it is absent the
//! rename already happened (and the replaced files were already gone), so the `.txnindex` at
//! the swap's base is the new one and stays. Never leaving an entry whose ABORT marker the
//! clean removed matters: a `read_committed` consumer treats every batch of that producer
//! after the entry's first offset as aborted until it meets an ABORT marker.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::config::LogConfig;
use crate::crashsafe::fsync_dir;
use crate::error::LogError;
use crate::scan::HeaderScan;
use crate::segment::{file_name, Segment};
use crate::transaction::index::{encode_entries, index_path};
use crate::transaction::AbortedTxn;

pub(crate) const CLEANED_SUFFIX: &str = ".cleaned";
pub(crate) const SWAP_SUFFIX: &str = ".swap";

fn suffixed(base_offset: i64, suffix: &str) -> String {
    format!("{}{suffix}", file_name(base_offset, "log"))
}

/// The path the cleaner writes the cleaned copy of a group starting at `base_offset` to.
pub(crate) fn cleaned_path(dir: &Path, base_offset: i64) -> std::path::PathBuf {
    dir.join(suffixed(base_offset, CLEANED_SUFFIX))
}

/// Commits a fully written and fsynced `.cleaned` file as the replacement of `replaced`
/// (consecutive segments, the first at `base_offset`), and returns the new sealed segment with
/// its indexes built.
/// `txn_entries` are the aborted transactions whose ABORT marker the cleaned copy kept.
pub(crate) fn complete_swap(
    dir: &Path,
    base_offset: i64,
    replaced: &[Arc<Segment>],
    txn_entries: &[AbortedTxn],
    config: &LogConfig,
) -> Result<Segment, LogError> {
    let cleaned = cleaned_path(dir, base_offset);
    let cleaned_txn_index = cleaned_txn_index_path(dir, base_offset);
    if let Err(e) = write_synced(&cleaned_txn_index, &encode_entries(txn_entries)) {
        let _ = fs::remove_file(&cleaned_txn_index);
        return Err(e);
    }
    let swap = dir.join(suffixed(base_offset, SWAP_SUFFIX));
    fs::rename(&cleaned, &swap).map_err(|e| LogError::io(&cleaned, e))?;
    fsync_dir(dir)?;
    for segment in replaced {
        segment.delete_files()?;
        remove_if_exists(&index_path(dir, segment.base_offset))?;
    }
    install_cleaned_txn_index(dir, base_offset)?;
    install_swap(dir, base_offset, config)
}

fn cleaned_txn_index_path(dir: &Path, base_offset: i64) -> std::path::PathBuf {
    dir.join(format!(
        "{}{CLEANED_SUFFIX}",
        file_name(base_offset, "txnindex")
    ))
}

fn write_synced(path: &Path, contents: &[u8]) -> Result<(), LogError> {
    let mut file = File::create(path).map_err(|e| LogError::io(path, e))?;
    file.write_all(contents)
        .map_err(|e| LogError::io(path, e))?;
    file.sync_all().map_err(|e| LogError::io(path, e))
}

fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

/// Renames `<base>.txnindex.cleaned` to `<base>.txnindex` (removing both when it is empty).
fn install_cleaned_txn_index(dir: &Path, base_offset: i64) -> Result<(), LogError> {
    let cleaned = cleaned_txn_index_path(dir, base_offset);
    let target = index_path(dir, base_offset);
    let empty = fs::metadata(&cleaned)
        .map_err(|e| LogError::io(&cleaned, e))?
        .len()
        == 0;
    if empty {
        remove_if_exists(&target)?;
        remove_if_exists(&cleaned)?;
    } else {
        fs::rename(&cleaned, &target).map_err(|e| LogError::io(&cleaned, e))?;
    }
    fsync_dir(dir)
}

fn install_swap(dir: &Path, base_offset: i64, config: &LogConfig) -> Result<Segment, LogError> {
    let swap = dir.join(suffixed(base_offset, SWAP_SUFFIX));
    let log = dir.join(file_name(base_offset, "log"));
    fs::rename(&swap, &log).map_err(|e| LogError::io(&swap, e))?;
    fsync_dir(dir)?;
    let segment = Segment::open(dir, base_offset)?;
    segment.rebuild_sealed_indexes(config)?;
    Ok(segment)
}

/// Offset after the last whole batch of a swap file (its base offset when empty).
fn swap_next_offset(path: &Path, base_offset: i64) -> Result<i64, LogError> {
    let file = File::open(path).map_err(|e| LogError::io(path, e))?;
    let size = file.metadata().map_err(|e| LogError::io(path, e))?.len();
    let mut scan = HeaderScan::new(&file, path, 0, size);
    let mut next = base_offset;
    while let Some(b) = scan.next_header()? {
        next = b.header.next_offset();
    }
    Ok(next)
}

/// Installs every `.log.swap` file left in `dir` by a crash after the commit point. Returns
/// how many swaps were completed.
pub(crate) fn recover_swaps(dir: &Path, config: &LogConfig) -> Result<usize, LogError> {
    let mut swaps = Vec::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(&format!(".log{SWAP_SUFFIX}")) {
            if let Ok(base) = stem.parse::<i64>() {
                swaps.push(base);
            }
            continue;
        }
        let Some((stem, ext)) = name.split_once('.') else {
            continue;
        };
        if let ("log" | "index" | "timeindex", Ok(base)) = (ext, stem.parse::<i64>()) {
            files.push((base, entry.path(), false));
        }
        if let ("txnindex", Ok(base)) = (ext, stem.parse::<i64>()) {
            files.push((base, entry.path(), true));
        }
    }
    swaps.sort_unstable();
    for &base in &swaps {
        let swap = dir.join(suffixed(base, SWAP_SUFFIX));
        let next = swap_next_offset(&swap, base)?;
        // Without a `.txnindex.cleaned` file its rename is done and the replaced index files
        // are already gone: the `.txnindex` at `base` is then the cleaned one.
        let txn_index_pending = cleaned_txn_index_path(dir, base).exists();
        for (file_base, path, is_txn_index) in &files {
            if *is_txn_index && !txn_index_pending {
                continue;
            }
            if *file_base == base || (*file_base >= base && *file_base < next) {
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io(path, e)),
                }
            }
        }
        tracing::warn!(path = %swap.display(), base_offset = base, next_offset = next, "completing a cleaner swap interrupted by a crash");
        if txn_index_pending {
            install_cleaned_txn_index(dir, base)?;
        }
        install_swap(dir, base, config)?;
    }
    Ok(swaps.len())
}
