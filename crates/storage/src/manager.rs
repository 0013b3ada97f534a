//! `LogManager`: every partition log of a node across its data directories (`log.dirs`).
//!
//! Each data directory holds `meta.properties` (see [`crate::meta_properties`]), a `.lock`
//! file held with `flock` while the process runs (two processes on one directory would corrupt
//! each other's logs), the clean-shutdown marker `.fjord_cleanshutdown` (written by
//! [`LogManager::shutdown`] after every log closed, deleted on open), and one directory per
//! partition. A partition being deleted is first renamed to `<topic>-<partition>.<id>-delete`
//! so that a crash half-way through leaves nothing that looks like a live partition.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use crate::cleaner::{CleanStats, CleanerConfig};
use crate::config::LogConfig;
use crate::crashsafe::{fsync_dir, write_atomically};
use crate::error::LogError;
use crate::log::PartitionLog;
use crate::meta_properties::{random_directory_id, MetaProperties, META_PROPERTIES};
use crate::topic_partition::TopicPartition;

/// Present in a data directory when the previous process shut down cleanly.
pub const CLEAN_SHUTDOWN_MARKER: &str = ".fjord_cleanshutdown";
const LOCK_FILE: &str = ".lock";
const DELETE_SUFFIX: &str = "-delete";
/// Threads closing logs at shutdown (see [`LogManager::shutdown`]).
const CLOSE_THREADS: usize = 8;

struct DataDir {
    path: PathBuf,
    meta: Mutex<MetaProperties>,
    /// Holds the flock for as long as the manager lives.
    _lock: File,
}

/// All partitions of a node. `Send + Sync`.
pub struct LogManager {
    dirs: Vec<DataDir>,
    node_id: i32,
    default_config: LogConfig,
    logs: RwLock<HashMap<TopicPartition, (Arc<PartitionLog>, usize)>>,
    /// Serializes creation and deletion so two callers never open one directory twice.
    create_lock: Mutex<()>,
    cleaner_config: RwLock<CleanerConfig>,
}

/// Names fjord itself leaves in a data directory.
fn is_fjord_entry(name: &str) -> bool {
    name == META_PROPERTIES
        || name == CLEAN_SHUTDOWN_MARKER
        || name == LOCK_FILE
        || name == "lost+found"
        || name.ends_with(".tmp")
        || name.ends_with(DELETE_SUFFIX)
        || name.parse::<TopicPartition>().is_ok()
}

fn lock_dir(path: &Path) -> Result<File, LogError> {
    let lock_path = path.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| LogError::io(&lock_path, e))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(LogError::ForeignDataDir {
            path: path.to_path_buf(),
            reason: format!(
                "locked by another process ({})",
                std::io::Error::last_os_error()
            ),
        });
    }
    Ok(file)
}

fn prepare_dir(path: &Path, node_id: i32) -> Result<DataDir, LogError> {
    fs::create_dir_all(path).map_err(|e| LogError::io(path, e))?;
    let meta = match MetaProperties::read(path)? {
        Some(meta) => {
            if meta.node_id != node_id {
                return Err(LogError::ForeignDataDir {
                    path: path.to_path_buf(),
                    reason: format!(
                        "meta.properties has node.id={} but this node is node.id={node_id}",
                        meta.node_id
                    ),
                });
            }
            meta
        }
        None => {
            for entry in fs::read_dir(path).map_err(|e| LogError::io(path, e))? {
                let entry = entry.map_err(|e| LogError::io(path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !is_fjord_entry(&name) {
                    return Err(LogError::ForeignDataDir {
                        path: path.to_path_buf(),
                        reason: format!(
                            "it has no meta.properties and holds {name:?}, which is not fjord's"
                        ),
                    });
                }
            }
            let meta = MetaProperties {
                node_id,
                cluster_id: None,
                directory_id: random_directory_id(),
                other: Default::default(),
            };
            meta.write(path)?;
            meta
        }
    };
    let lock = lock_dir(path)?;
    Ok(DataDir {
        path: path.to_path_buf(),
        meta: Mutex::new(meta),
        _lock: lock,
    })
}

impl std::fmt::Debug for LogManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogManager")
            .field("dirs", &self.dirs())
            .field("node_id", &self.node_id)
            .field("partitions", &self.logs.read().len())
            .finish()
    }
}

impl LogManager {
    /// Opens (creating if needed) the data dirs, validates or writes `meta.properties`, reads
    /// and deletes the clean-shutdown marker and opens every partition directory, recovering
    /// those that need it. Partitions open with `default_config`; the broker applies topic
    /// overrides with [`PartitionLog::update_config`].
    pub fn open(
        dirs: &[PathBuf],
        node_id: i32,
        default_config: LogConfig,
    ) -> Result<LogManager, LogError> {
        let started = Instant::now();
        let mut data_dirs = Vec::with_capacity(dirs.len());
        for path in dirs {
            data_dirs.push(prepare_dir(path, node_id)?);
        }
        let cluster_ids: Vec<String> = data_dirs
            .iter()
            .filter_map(|d| d.meta.lock().cluster_id.clone())
            .collect();
        if let Some(first) = cluster_ids.first() {
            if let Some((dir, other)) = data_dirs
                .iter()
                .zip(cluster_ids.iter())
                .find(|(_, id)| *id != first)
            {
                return Err(LogError::ForeignDataDir {
                    path: dir.path.clone(),
                    reason: format!("cluster.id {other} differs from {first} in another log dir"),
                });
            }
        }

        let mut logs = HashMap::new();
        let mut segments = 0;
        let mut recovered = 0;
        for (idx, dir) in data_dirs.iter().enumerate() {
            let marker = dir.path.join(CLEAN_SHUTDOWN_MARKER);
            let clean = marker.exists();
            for entry in fs::read_dir(&dir.path).map_err(|e| LogError::io(&dir.path, e))? {
                let entry = entry.map_err(|e| LogError::io(&dir.path, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !entry
                    .file_type()
                    .map_err(|e| LogError::io(entry.path(), e))?
                    .is_dir()
                {
                    continue;
                }
                if name.ends_with(DELETE_SUFFIX) {
                    fs::remove_dir_all(entry.path()).map_err(|e| LogError::io(entry.path(), e))?;
                    continue;
                }
                let Ok(tp) = name.parse::<TopicPartition>() else {
                    if name != "lost+found" {
                        tracing::warn!(path = %entry.path().display(), "ignoring a directory that is not a partition");
                    }
                    continue;
                };
                if logs.contains_key(&tp) {
                    return Err(LogError::ForeignDataDir {
                        path: entry.path(),
                        reason: format!("partition {tp} exists in more than one log dir"),
                    });
                }
                let log =
                    PartitionLog::open(&entry.path(), tp.clone(), default_config.clone(), clean)?;
                segments += log.segment_count();
                if !clean {
                    recovered += 1;
                }
                logs.insert(tp, (Arc::new(log), idx));
            }
            if clean {
                fs::remove_file(&marker).map_err(|e| LogError::io(&marker, e))?;
                fsync_dir(&dir.path)?;
            }
        }
        tracing::info!(
            partitions = logs.len(),
            segments,
            recovered,
            took_ms = started.elapsed().as_millis() as u64,
            "loaded logs"
        );
        Ok(LogManager {
            dirs: data_dirs,
            node_id,
            default_config,
            logs: RwLock::new(logs),
            create_lock: Mutex::new(()),
            cleaner_config: RwLock::new(CleanerConfig::default()),
        })
    }

    pub fn node_id(&self) -> i32 {
        self.node_id
    }

    pub fn default_config(&self) -> &LogConfig {
        &self.default_config
    }

    /// The data directories, in configuration order.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.path.clone()).collect()
    }

    /// `cluster.id` from meta.properties, once known.
    pub fn cluster_id(&self) -> Option<String> {
        self.dirs
            .iter()
            .find_map(|d| d.meta.lock().cluster_id.clone())
    }

    /// Records the cluster id in every data dir's meta.properties (crash-safe rewrite).
    pub fn set_cluster_id(&self, id: &str) -> Result<(), LogError> {
        for dir in &self.dirs {
            let mut meta = dir.meta.lock();
            let mut updated = meta.clone();
            updated.cluster_id = Some(id.to_string());
            updated.write(&dir.path)?;
            *meta = updated;
        }
        Ok(())
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<Arc<PartitionLog>> {
        self.logs.read().get(tp).map(|(log, _)| Arc::clone(log))
    }

    /// The partition's log, created in the data dir holding the fewest partitions if new.
    /// An existing log keeps its config (use `update_config`).
    pub fn get_or_create(
        &self,
        tp: &TopicPartition,
        config: LogConfig,
    ) -> Result<Arc<PartitionLog>, LogError> {
        if let Some(log) = self.get(tp) {
            return Ok(log);
        }
        let _guard = self.create_lock.lock();
        if let Some(log) = self.get(tp) {
            return Ok(log);
        }
        let idx = {
            let logs = self.logs.read();
            let mut counts = vec![0usize; self.dirs.len()];
            for (_, dir) in logs.values() {
                counts[*dir] += 1;
            }
            (0..self.dirs.len()).min_by_key(|&i| counts[i]).unwrap_or(0)
        };
        let dir = &self.dirs[idx].path;
        let log = Arc::new(PartitionLog::open(
            &dir.join(tp.to_string()),
            tp.clone(),
            config,
            true,
        )?);
        fsync_dir(dir)?;
        self.logs
            .write()
            .insert(tp.clone(), (Arc::clone(&log), idx));
        Ok(log)
    }

    /// Removes the partition and its data: the directory is renamed to `...-delete` (durably)
    /// and then removed. Holders of the `Arc` can no longer write to it.
    pub fn delete(&self, tp: &TopicPartition) -> Result<(), LogError> {
        let _guard = self.create_lock.lock();
        let Some((log, idx)) = self.logs.write().remove(tp) else {
            return Ok(());
        };
        log.mark_deleted();
        let parent = &self.dirs[idx].path;
        let from = log.dir().to_path_buf();
        let to = parent.join(format!(
            "{tp}.{}{DELETE_SUFFIX}",
            uuid::Uuid::new_v4().simple()
        ));
        fs::rename(&from, &to).map_err(|e| LogError::io(&from, e))?;
        fsync_dir(parent)?;
        fs::remove_dir_all(&to).map_err(|e| LogError::io(&to, e))?;
        Ok(())
    }

    pub fn partitions(&self) -> Vec<Arc<PartitionLog>> {
        self.logs
            .read()
            .values()
            .map(|(log, _)| Arc::clone(log))
            .collect()
    }

    /// Retention and timed flushes of every partition, then the cleaner
    /// ([`LogManager::clean_logs`]); errors are logged, not returned.
    pub fn run_maintenance(&self, now_ms: i64) {
        for log in self.partitions() {
            if let Err(e) = log.run_maintenance(now_ms) {
                tracing::error!(partition = %log.topic_partition(), error = %e, "log maintenance failed");
            }
        }
        self.clean_logs(now_ms);
    }

    /// The node's `log.cleaner.*` settings (the broker sets them at start).
    pub fn set_cleaner_config(&self, config: CleanerConfig) {
        *self.cleaner_config.write() = config;
    }

    pub fn cleaner_config(&self) -> CleanerConfig {
        self.cleaner_config.read().clone()
    }

    /// Compacts the logs that need it, dirtiest first: those whose `cleanup.policy` includes
    /// `compact` and whose dirty ratio exceeds `min.cleanable.dirty.ratio`, or that hold a
    /// dirty record older than `max.compaction.lag.ms` or a tombstone past its delete horizon.
    /// Each log is bounded by its [`PartitionLog::cleaner_upper_bound`]. Does nothing when
    /// `log.cleaner.enable=false`. Runs on the caller's (blocking) thread; errors are logged.
    pub fn clean_logs(&self, now_ms: i64) -> Vec<(TopicPartition, CleanStats)> {
        let cleaner = self.cleaner_config();
        if !cleaner.enabled {
            return Vec::new();
        }
        let mut candidates = Vec::new();
        for log in self.partitions() {
            let config = log.config();
            match log.cleanable_state(now_ms, log.cleaner_upper_bound()) {
                Ok(Some(state)) => {
                    let ratio = state.dirty_ratio();
                    let worth = (state.dirty_bytes > 0 && ratio > config.min_cleanable_dirty_ratio)
                        || state.must_clean;
                    if worth {
                        candidates.push((ratio, log));
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(partition = %log.topic_partition(), error = %e, "cannot measure the log's dirty section")
                }
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut cleaned = Vec::new();
        for (_, log) in candidates {
            match log.clean(now_ms, log.cleaner_upper_bound(), &cleaner) {
                Ok(Some(stats)) => cleaned.push((log.topic_partition().clone(), stats)),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(partition = %log.topic_partition(), error = %e, "cleaning the log failed")
                }
            }
        }
        cleaned
    }

    /// Closes every log and, if all closed cleanly, writes the clean-shutdown marker in each
    /// data dir so that the next start skips recovery.
    pub fn shutdown(&self) -> Result<(), LogError> {
        let logs = self.partitions();
        let next = AtomicUsize::new(0);
        let first_error = Mutex::new(None);
        // Closing is a few fsyncs per log; overlapping them on several threads lets the file
        // system batch its journal commits, so thousands of partitions close in seconds.
        let workers = logs.len().min(CLOSE_THREADS);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while let Some(log) = logs.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if let Err(e) = log.close() {
                            tracing::error!(partition = %log.topic_partition(), error = %e, "closing log failed");
                            first_error.lock().get_or_insert(e);
                        }
                    }
                });
            }
        });
        if let Some(e) = first_error.into_inner() {
            return Err(e);
        }
        for dir in &self.dirs {
            write_atomically(&dir.path.join(CLEAN_SHUTDOWN_MARKER), b"")?;
        }
        Ok(())
    }
}
