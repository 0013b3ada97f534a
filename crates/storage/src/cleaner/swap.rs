//! Replacing cleaned segments crash-safely, and finishing an interrupted replacement on open.
//!
//! Files: the cleaner writes `<base:020>.log.cleaned`; renaming it to `<base:020>.log.swap` is
//! the commit point. After that the replaced segments' `.log`, `.index` and `.timeindex` files
//! are deleted and the swap file is renamed to `<base:020>.log`; the indexes are rebuilt from
//! it. A crash before the commit point leaves a `.cleaned` file, which open deletes (the old
//! segments are intact). A crash after it leaves a `.swap` file, which open installs: every
//! segment whose base offset lies in the swap file's offset range (or equals its base) is
//! one it replaced and is deleted first, as Kafka's `LogLoader` does.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use crate::config::LogConfig;
use crate::crashsafe::fsync_dir;
use crate::error::LogError;
use crate::scan::HeaderScan;
use crate::segment::{file_name, Segment};

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
pub(crate) fn complete_swap(
    dir: &Path,
    base_offset: i64,
    replaced: &[Arc<Segment>],
    config: &LogConfig,
) -> Result<Segment, LogError> {
    let cleaned = cleaned_path(dir, base_offset);
    let swap = dir.join(suffixed(base_offset, SWAP_SUFFIX));
    fs::rename(&cleaned, &swap).map_err(|e| LogError::io(&cleaned, e))?;
    fsync_dir(dir)?;
    for segment in replaced {
        segment.delete_files()?;
    }
    install_swap(dir, base_offset, config)
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
            files.push((base, entry.path()));
        }
    }
    swaps.sort_unstable();
    for &base in &swaps {
        let swap = dir.join(suffixed(base, SWAP_SUFFIX));
        let next = swap_next_offset(&swap, base)?;
        for (file_base, path) in &files {
            if *file_base == base || (*file_base >= base && *file_base < next) {
                match fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(LogError::io(path, e)),
                }
            }
        }
        tracing::warn!(path = %swap.display(), base_offset = base, next_offset = next, "completing a cleaner swap interrupted by a crash");
        install_swap(dir, base, config)?;
    }
    Ok(swaps.len())
}
