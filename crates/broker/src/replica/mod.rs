//! The replica manager: the partitions this broker hosts and every data-path operation on them
//! (produce, fetch with long polling, offsets lookups, record deletion, log-dir listing).
//!
//! * It follows the metadata image (a `tokio::sync::watch` of `Arc<MetadataImage>`): for each
//!   partition whose replica set names this node it opens (or creates) the log with the topic's
//!   `LogConfig`, applies leadership (leader, epoch, ISR) and config changes, and deletes the
//!   logs of partitions that left the image (topic deleted or reassigned). Logs it never hosted
//!   through the image (the metadata log itself) are not its business.
//! * Partition state (leader epoch, ISR, high watermark) lives in [`partition::Partition`];
//!   waiting requests park in the purgatory ([`purgatory`]) and are woken by appends.
//! * Fetch sessions (KIP-227) are cached in [`fetch_session::FetchSessionCache`].
//! * Maintenance (retention, timed flushes) runs on tokio intervals, each run on the blocking
//!   pool because it deletes and fsyncs files.

pub mod error;
pub mod fetch;
pub mod fetch_session;
pub mod partition;
pub mod producer_ids;
pub mod purgatory;
pub mod throughput;
pub mod topic_settings;
pub mod validation;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fjord_config::ServerConfig;
use fjord_metadata::{MetadataImage, TopicImage};
use fjord_storage::{LogManager, TimestampOffset, TopicPartition};
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};
use uuid::Uuid;

/// How long a transaction marker waits for replication (Kafka's `request.timeout.ms` default).
pub const MARKER_REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);

pub use error::ReplicaError;
pub use fetch::{FetchParams, FetchPartitionResult, FetchTarget};
pub use fetch_session::FetchSessionCache;
pub use partition::{AppendResult, FetchIsolation, Partition, PartitionOffsets};
pub use producer_ids::{ProducerIdAllocator, ProducerIdManager};
pub use throughput::{Throughput, ThroughputTotals};
pub use topic_settings::TopicDefaults;

/// ListOffsets' special timestamp for the earliest offset still on local storage (KIP-405).
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;

/// Settings of the replica manager, taken from the server configuration.
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    pub node_id: i32,
    pub topic_defaults: TopicDefaults,
    pub fetch_session_cache_slots: usize,
    pub fetch_session_eviction_ms: u64,
    pub retention_check_interval_ms: u64,
    pub flush_scheduler_interval_ms: u64,
}

impl From<&ServerConfig> for ReplicaConfig {
    fn from(config: &ServerConfig) -> Self {
        ReplicaConfig {
            node_id: config.node_id,
            topic_defaults: TopicDefaults::from(config),
            fetch_session_cache_slots: fetch_session::DEFAULT_CACHE_SLOTS,
            fetch_session_eviction_ms: fetch_session::DEFAULT_EVICTION_MS,
            retention_check_interval_ms: config.log_retention_check_interval_ms.max(1) as u64,
            flush_scheduler_interval_ms: config.log_flush_scheduler_interval_ms.max(1) as u64,
        }
    }
}

/// A partition answer for ListOffsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    pub timestamp: i64,
    pub offset: i64,
    pub leader_epoch: i32,
}

/// One data directory for DescribeLogDirs.
#[derive(Debug, Clone)]
pub struct LogDirDescription {
    pub path: PathBuf,
    pub total_bytes: i64,
    pub usable_bytes: i64,
    /// (topic, partition, size in bytes, offset lag)
    pub partitions: Vec<(String, i32, i64, i64)>,
}

/// The data path of one broker. Shared as `Arc` through the `BrokerContext`.
pub struct ReplicaManager {
    config: ReplicaConfig,
    logs: Arc<LogManager>,
    metadata: watch::Receiver<Arc<MetadataImage>>,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    /// Held while partitions are hosted or dropped. `apply_image` decides from one image which
    /// hosted partitions are stale and deletes their logs; a partition hosted meanwhile from a
    /// newer image (a handler opening a topic created a moment ago) would look stale to it and
    /// lose its data. Both paths take this lock and read the newest image under it.
    hosting: Mutex<()>,
    fetch_sessions: FetchSessionCache,
    producer_ids: ProducerIdManager,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Client bytes and messages in and out (the console's metrics).
    throughput: Throughput,
}

impl ReplicaManager {
    /// Applies the current metadata image, then starts following image changes and running
    /// log maintenance in background tasks (stopped by [`ReplicaManager::shutdown`]).
    pub async fn start(
        config: ReplicaConfig,
        logs: Arc<LogManager>,
        metadata: watch::Receiver<Arc<MetadataImage>>,
        producer_id_allocator: Arc<dyn ProducerIdAllocator>,
    ) -> Arc<ReplicaManager> {
        let manager = Arc::new(ReplicaManager {
            fetch_sessions: FetchSessionCache::new(
                config.fetch_session_cache_slots,
                config.fetch_session_eviction_ms,
            ),
            producer_ids: ProducerIdManager::new(producer_id_allocator),
            config,
            logs,
            metadata,
            partitions: RwLock::new(HashMap::new()),
            hosting: Mutex::new(()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            throughput: Throughput::default(),
        });
        manager.apply_image_blocking().await;
        let sweeper = Arc::clone(&manager);
        if let Err(e) = tokio::task::spawn_blocking(move || sweeper.delete_stray_logs()).await {
            error!(error = %e, "deleting stray partition logs failed");
        }
        manager.tasks.spawn(Arc::clone(&manager).follow_metadata());
        manager.tasks.spawn(Arc::clone(&manager).run_maintenance());
        info!(node_id = manager.config.node_id, "replica manager started");
        manager
    }

    /// Stops the background tasks and wakes every parked request so it answers now.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        for partition in self.partitions.read().values() {
            partition.wake_waiters();
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Cancelled when the manager shuts down; parked requests watch it.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    pub fn node_id(&self) -> i32 {
        self.config.node_id
    }

    pub fn fetch_sessions(&self) -> &FetchSessionCache {
        &self.fetch_sessions
    }

    pub fn producer_ids(&self) -> &ProducerIdManager {
        &self.producer_ids
    }

    /// Client traffic counters (produce in, consumer fetch out).
    pub fn throughput(&self) -> &Throughput {
        &self.throughput
    }

    pub fn log_manager(&self) -> &Arc<LogManager> {
        &self.logs
    }

    /// The newest metadata image.
    pub fn metadata_image(&self) -> Arc<MetadataImage> {
        self.metadata.borrow().clone()
    }

    /// The topic name for a topic id (Produce v13+, Fetch v13+).
    pub fn topic_name(&self, topic_id: &Uuid) -> Option<String> {
        self.metadata_image()
            .topic_by_id(topic_id)
            .map(|t| t.name.clone())
    }

    /// The topic id for a name (nil when unknown).
    pub fn topic_id(&self, topic: &str) -> Uuid {
        self.metadata_image()
            .topic(topic)
            .map_or(Uuid::nil(), |t| t.topic_id)
    }

    /// The hosted replica of `topic`-`partition`, leader or not. Unknown to the image:
    /// UNKNOWN_TOPIC_OR_PARTITION; known but not hosted here: NOT_LEADER_OR_FOLLOWER.
    pub fn partition(&self, topic: &str, partition: i32) -> Result<Arc<Partition>, ReplicaError> {
        let tp = TopicPartition::new(topic, partition);
        if let Some(p) = self.partitions.read().get(&tp) {
            return Ok(Arc::clone(p));
        }
        let _hosting = self.hosting.lock();
        if let Some(p) = self.partitions.read().get(&tp) {
            return Ok(Arc::clone(p));
        }
        let image = self.metadata_image();
        let Some(topic_image) = image.topic(topic) else {
            return Err(ReplicaError::UnknownTopicOrPartition {
                topic: topic.to_string(),
                partition,
            });
        };
        let Some(registration) = topic_image.partitions.get(&partition) else {
            return Err(ReplicaError::UnknownTopicOrPartition {
                topic: topic.to_string(),
                partition,
            });
        };
        if !registration.replicas.contains(&self.config.node_id) {
            return Err(ReplicaError::NotLeaderOrFollower {
                topic: topic.to_string(),
                partition,
            });
        }
        // The image already names this node but the follower task has not caught up yet (a
        // topic created a moment ago): open the log now rather than bouncing the client.
        self.host_partition(&image, topic_image, partition)
            .map_err(|e| {
                error!(topic, partition, error = %e, "opening partition log failed");
                e
            })
    }

    /// The partition if this node leads it.
    pub fn leader_partition(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Arc<Partition>, ReplicaError> {
        let p = self.partition(topic, partition)?;
        p.ensure_leader()?;
        Ok(p)
    }

    /// Writes an end-transaction marker for (`producer_id`, `producer_epoch`) to a partition
    /// led here and waits until it is replicated (Kafka writes markers with `acks=all`), at
    /// most [`MARKER_REPLICATION_TIMEOUT`]. The transaction coordinator's way in.
    pub async fn write_txn_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        marker: fjord_storage::TxnMarker,
    ) -> Result<AppendResult, ReplicaError> {
        let p = self.leader_partition(topic, partition)?;
        let appended = p
            .append_txn_marker(producer_id, producer_epoch, marker)
            .await?;
        let deadline = tokio::time::Instant::now() + MARKER_REPLICATION_TIMEOUT;
        p.wait_for_high_watermark(appended.last_offset + 1, deadline)
            .await?;
        Ok(appended)
    }

    /// Every hosted partition.
    pub fn hosted_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().values().cloned().collect()
    }

    /// ListOffsets for one partition as a `read_uncommitted` consumer sees it (see
    /// [`ReplicaManager::list_offset_isolated`]).
    pub async fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
        current_leader_epoch: i32,
    ) -> Result<ListedOffset, ReplicaError> {
        self.list_offset_isolated(topic, partition, timestamp, current_leader_epoch, 0)
            .await
    }

    /// ListOffsets for one partition: -2 earliest, -1 latest (the high watermark, or the last
    /// stable offset for `isolation_level` 1 = READ_COMMITTED, as Kafka answers), -3 max
    /// timestamp, -4 earliest local, else the first offset whose timestamp is >= `timestamp`
    /// (-1/-1 when none or past what the isolation level may read). Timestamp lookups read
    /// index files: run on the blocking pool.
    pub async fn list_offset_isolated(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
        current_leader_epoch: i32,
        isolation_level: i8,
    ) -> Result<ListedOffset, ReplicaError> {
        let p = self.leader_partition(topic, partition)?;
        p.check_leader_epoch(current_leader_epoch)?;
        let leader_epoch = p.leader_epoch();
        // The last offset this consumer may read up to ("high watermark" below).
        let high_watermark = match FetchIsolation::for_consumer(isolation_level) {
            FetchIsolation::TxnCommitted => p.last_stable_offset(),
            _ => p.high_watermark(),
        };
        let log = Arc::clone(p.log());
        let found: Option<TimestampOffset> = match timestamp {
            fjord_storage::LATEST_TIMESTAMP => Some(TimestampOffset {
                timestamp_ms: -1,
                offset: high_watermark,
            }),
            fjord_storage::EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP => Some(TimestampOffset {
                timestamp_ms: -1,
                offset: log.log_start_offset(),
            }),
            _ => tokio::task::spawn_blocking(move || log.offset_for_timestamp(timestamp)).await??,
        };
        // Records above the high watermark are not visible to consumers yet.
        let found = found.filter(|f| f.offset <= high_watermark);
        Ok(match found {
            Some(f) => ListedOffset {
                timestamp: f.timestamp_ms,
                offset: f.offset,
                // The epoch that last wrote to the log; on a log one leader wrote, the only
                // one. (Kafka looks up the epoch of the batch found; the answer only differs
                // after leadership changes, which single-leader logs do not have.)
                leader_epoch: p.log().latest_epoch().unwrap_or(leader_epoch),
            },
            None => ListedOffset {
                timestamp: -1,
                offset: -1,
                leader_epoch: -1,
            },
        })
    }

    /// OffsetForLeaderEpoch: the largest epoch <= `leader_epoch` this log knows and the offset
    /// where the epoch after it begins. (-1, -1) when the log knows no such epoch.
    pub fn offset_for_leader_epoch(
        &self,
        topic: &str,
        partition: i32,
        current_leader_epoch: i32,
        leader_epoch: i32,
    ) -> Result<(i32, i64), ReplicaError> {
        let p = self.leader_partition(topic, partition)?;
        p.check_leader_epoch(current_leader_epoch)?;
        Ok(p.log()
            .end_offset_for_epoch(leader_epoch)
            .unwrap_or((-1, -1)))
    }

    /// DeleteRecords for one partition; returns the new low watermark (log start offset).
    pub async fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<i64, ReplicaError> {
        let p = self.leader_partition(topic, partition)?;
        tokio::task::spawn_blocking(move || p.delete_records_before(offset)).await?
    }

    /// DescribeLogDirs: each data directory with its hosted partitions (optionally only those
    /// in `filter`) and the file system's total and usable bytes.
    pub fn describe_log_dirs(
        &self,
        filter: Option<&HashSet<(String, i32)>>,
    ) -> Vec<LogDirDescription> {
        let mut dirs: Vec<LogDirDescription> = self
            .logs
            .dirs()
            .into_iter()
            .map(|path| {
                let (total_bytes, usable_bytes) = disk_space(&path);
                LogDirDescription {
                    path,
                    total_bytes,
                    usable_bytes,
                    partitions: Vec::new(),
                }
            })
            .collect();
        for p in self.hosted_partitions() {
            let tp = p.topic_partition();
            if filter.is_some_and(|f| !f.contains(&(tp.topic.clone(), tp.partition))) {
                continue;
            }
            let log = p.log();
            let Some(dir) = dirs
                .iter_mut()
                .find(|d| log.dir().parent() == Some(d.path.as_path()))
            else {
                continue;
            };
            let lag = (log.log_end_offset() - p.high_watermark()).max(0);
            dir.partitions
                .push((tp.topic.clone(), tp.partition, log.size_bytes() as i64, lag));
        }
        dirs
    }

    fn host_partition(
        &self,
        image: &MetadataImage,
        topic: &TopicImage,
        partition: i32,
    ) -> Result<Arc<Partition>, ReplicaError> {
        let Some(registration) = topic.partitions.get(&partition) else {
            return Err(ReplicaError::UnknownTopicOrPartition {
                topic: topic.name.clone(),
                partition,
            });
        };
        let tp = TopicPartition::new(topic.name.clone(), partition);
        let (log_config, settings) =
            topic_settings::resolve(image, &topic.name, &self.config.topic_defaults);
        let state = partition::LeaderState::from(registration);
        if let Some(existing) = self.partitions.read().get(&tp).cloned() {
            if existing.topic_id() == topic.topic_id {
                existing.update(state, settings, log_config);
                return Ok(existing);
            }
        }
        let log = self.logs.get_or_create(&tp, log_config.clone())?;
        if log.config() != log_config {
            log.update_config(log_config);
        }
        let mut partitions = self.partitions.write();
        // Another caller may have won the race; keep one Partition per log.
        if let Some(existing) = partitions.get(&tp) {
            if existing.topic_id() == topic.topic_id {
                return Ok(Arc::clone(existing));
            }
        }
        let hosted = Arc::new(Partition::new(
            topic.topic_id,
            self.config.node_id,
            log,
            state,
            settings,
        ));
        partitions.insert(tp, Arc::clone(&hosted));
        Ok(hosted)
    }

    /// Brings the hosted partitions in line with the newest image (never an older one than a
    /// partition was hosted from: see `hosting`). Blocking (opens, creates and deletes log
    /// directories).
    fn apply_image(&self) {
        let _hosting = self.hosting.lock();
        let image = &*self.metadata_image();
        let node_id = self.config.node_id;
        let mut wanted: HashSet<TopicPartition> = HashSet::new();
        for topic in image.topics() {
            for (&partition, registration) in &topic.partitions {
                if !registration.replicas.contains(&node_id) {
                    continue;
                }
                wanted.insert(TopicPartition::new(topic.name.clone(), partition));
                if let Err(e) = self.host_partition(image, topic, partition) {
                    error!(topic = %topic.name, partition, error = %e, "cannot host partition");
                }
            }
        }
        // A topic re-created under the same name has a new id: its old log goes too.
        let gone: Vec<Arc<Partition>> = {
            let mut partitions = self.partitions.write();
            let stale: Vec<TopicPartition> = partitions
                .iter()
                .filter(|(tp, p)| {
                    !wanted.contains(*tp)
                        || image
                            .topic(&tp.topic)
                            .is_none_or(|t| t.topic_id != p.topic_id())
                })
                .map(|(tp, _)| tp.clone())
                .collect();
            stale
                .into_iter()
                .filter_map(|tp| partitions.remove(&tp))
                .collect()
        };
        for partition in gone {
            partition.wake_waiters();
            let tp = partition.topic_partition().clone();
            match self.logs.delete(&tp) {
                Ok(()) => info!(partition = %tp, "deleted partition log"),
                Err(e) => error!(partition = %tp, error = %e, "deleting partition log failed"),
            }
            // A re-created topic with the same name gets a fresh log on the next image.
            if let Some(topic) = image.topic(&tp.topic) {
                if wanted.contains(&tp) {
                    if let Err(e) = self.host_partition(image, topic, tp.partition) {
                        error!(partition = %tp, error = %e, "cannot host partition");
                    }
                }
            }
        }
    }

    /// Deletes the logs found on disk at start-up that the image does not place here: a topic
    /// deleted (its RemoveTopic record committed) by a broker that died before removing the
    /// files. Left alone, such a log would come back as the data of a re-created topic of the
    /// same name. The metadata log itself is not a partition of the image and is kept.
    fn delete_stray_logs(&self) {
        let _hosting = self.hosting.lock();
        let image = self.metadata_image();
        let hosted = self.partitions.read();
        for log in self.logs.partitions() {
            let tp = log.topic_partition().clone();
            if tp.topic == fjord_metadata::record::CLUSTER_METADATA_TOPIC
                || hosted.contains_key(&tp)
            {
                continue;
            }
            let in_image = image
                .topic(&tp.topic)
                .is_some_and(|t| t.partitions.contains_key(&tp.partition));
            if in_image {
                continue;
            }
            match self.logs.delete(&tp) {
                Ok(()) => {
                    warn!(partition = %tp, "deleted a log the metadata does not place on this broker")
                }
                Err(e) => {
                    error!(partition = %tp, error = %e, "deleting a stray partition log failed")
                }
            }
        }
    }

    async fn apply_image_blocking(self: &Arc<Self>) {
        let manager = Arc::clone(self);
        if let Err(e) = tokio::task::spawn_blocking(move || manager.apply_image()).await {
            error!(error = %e, "applying the metadata image failed");
        }
    }

    async fn follow_metadata(self: Arc<Self>) {
        let mut metadata = self.metadata.clone();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                changed = metadata.changed() => {
                    if changed.is_err() {
                        warn!("metadata publisher gone; replica manager stops following it");
                        return;
                    }
                }
            }
            metadata.borrow_and_update();
            self.apply_image_blocking().await;
        }
    }

    async fn run_maintenance(self: Arc<Self>) {
        let period_ms = self
            .config
            .retention_check_interval_ms
            .min(self.config.flush_scheduler_interval_ms)
            .max(10);
        let mut interval = tokio::time::interval(Duration::from_millis(period_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick fires at once; skip it so start-up is not slowed by a full pass.
        interval.tick().await;
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            let logs = Arc::clone(&self.logs);
            let run = tokio::task::spawn_blocking(move || logs.run_maintenance(now_ms()));
            if let Err(e) = run.await {
                error!(error = %e, "log maintenance task failed");
            }
        }
    }
}

/// Wall-clock milliseconds, the unit of record timestamps and retention.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Total and available bytes of the file system holding `path` (-1, -1 if unknown).
fn disk_space(path: &std::path::Path) -> (i64, i64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return (-1, -1);
    };
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stat` is a writable buffer of
    // the right type; statvfs only writes into it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return (-1, -1);
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let stat = unsafe { stat.assume_init() };
    let block = stat.f_frsize as i64;
    (
        (stat.f_blocks as i64).saturating_mul(block),
        (stat.f_bavail as i64).saturating_mul(block),
    )
}
