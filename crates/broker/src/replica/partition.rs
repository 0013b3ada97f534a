//! `Partition`: one partition replica hosted by this broker — its log, its leadership state
//! from the metadata image (leader, leader epoch, replicas, ISR), the high watermark, the
//! followers' log end offsets, and the purgatory waiters woken when any of that moves.
//!
//! The high watermark is the offset below which every in-sync replica has the data: the
//! minimum of the leader's log end offset and each other ISR member's last fetch offset. With
//! a replication factor of one the ISR is the leader alone, so an append moves the high
//! watermark to the new log end offset at once; the same code serves multi-replica partitions
//! once followers fetch (they report their log end offset with every fetch).
//!
//! Appends go through one writer at a time: a FIFO `tokio::sync::Mutex` keeps produce requests
//! in arrival order while the blocking write itself runs on tokio's blocking pool. A produce
//! request that writes several partitions takes their locks in one global order (topic, then
//! partition; nothing that holds an append lock waits for a second one otherwise, so there is
//! no cycle) and writes them all in one blocking task ([`append_many_as_leader`]): one thread
//! hand-off per request instead of one per partition.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use fjord_metadata::PartitionRegistration;
use fjord_storage::{
    AppendOutcome, LogConfig, PartitionLog, ReadResult, TopicPartition, TxnMarker,
};
use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use super::error::ReplicaError;
use super::purgatory::{Waiter, WaiterList};
use super::validation::{validate_produce_records, ProduceLimits, TopicTimestampType};

/// Leadership facts from the latest metadata image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderState {
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl From<&PartitionRegistration> for LeaderState {
    fn from(reg: &PartitionRegistration) -> Self {
        LeaderState {
            leader_id: reg.leader,
            leader_epoch: reg.leader_epoch,
            partition_epoch: reg.partition_epoch,
            replicas: reg.replicas.clone(),
            isr: reg.isr.clone(),
        }
    }
}

/// Topic settings the data path enforces beyond what the log itself reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSettings {
    pub produce: ProduceLimits,
    pub min_insync_replicas: i32,
}

/// The answer of one append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_append_time_ms: i64,
    pub log_start_offset: i64,
    pub duplicate: bool,
}

/// How far a read may go (Kafka `FetchIsolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchIsolation {
    /// Followers: everything written.
    LogEnd,
    /// `read_uncommitted` consumers: everything replicated.
    HighWatermark,
    /// `read_committed` consumers: up to the last stable offset.
    TxnCommitted,
}

impl FetchIsolation {
    /// The isolation of a consumer's `isolation_level` field (1 = READ_COMMITTED).
    pub fn for_consumer(isolation_level: i8) -> FetchIsolation {
        if isolation_level == 1 {
            FetchIsolation::TxnCommitted
        } else {
            FetchIsolation::HighWatermark
        }
    }
}

/// Offsets of a partition at one instant, as Fetch reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_end_offset: i64,
}

/// One hosted partition replica. Shared as `Arc`.
pub struct Partition {
    topic_partition: TopicPartition,
    topic_id: Uuid,
    local_id: i32,
    log: Arc<PartitionLog>,
    state: RwLock<LeaderState>,
    settings: RwLock<PartitionSettings>,
    high_watermark: AtomicI64,
    /// Log end offsets the followers reported with their last fetch.
    follower_end_offsets: Mutex<HashMap<i32, i64>>,
    waiters: WaiterList,
    append_lock: tokio::sync::Mutex<()>,
    /// Transactions whose marker is in the log but not yet below the high watermark, as
    /// (first offset, marker offset): they still hold the last stable offset back, as Kafka's
    /// `unreplicatedTxns` do, so a read_committed fetch never reads past an open transaction
    /// while the marker that ends it is not yet committed.
    unreplicated_txns: Mutex<Vec<(i64, i64)>>,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("topic_partition", &self.topic_partition)
            .field("high_watermark", &self.high_watermark())
            .finish()
    }
}

impl Partition {
    pub fn new(
        topic_id: Uuid,
        local_id: i32,
        log: Arc<PartitionLog>,
        state: LeaderState,
        settings: PartitionSettings,
    ) -> Self {
        // Without a checkpoint of the high watermark, a log this node leads alone is committed
        // up to its end (everything in it was acknowledged or recovered); with followers the
        // safe start is the log start offset until they report in.
        let initial_hw = if state.isr.iter().all(|&id| id == local_id) {
            log.log_end_offset()
        } else {
            log.log_start_offset()
        };
        // The cleaner compacts nothing consumers cannot read yet.
        log.set_cleaner_upper_bound(initial_hw);
        Partition {
            topic_partition: log.topic_partition().clone(),
            topic_id,
            local_id,
            log,
            state: RwLock::new(state),
            settings: RwLock::new(settings),
            high_watermark: AtomicI64::new(initial_hw),
            follower_end_offsets: Mutex::new(HashMap::new()),
            waiters: WaiterList::new(),
            append_lock: tokio::sync::Mutex::new(()),
            unreplicated_txns: Mutex::new(Vec::new()),
        }
    }

    pub fn topic_partition(&self) -> &TopicPartition {
        &self.topic_partition
    }

    pub fn topic_id(&self) -> Uuid {
        self.topic_id
    }

    pub fn log(&self) -> &Arc<PartitionLog> {
        &self.log
    }

    pub fn leader_state(&self) -> LeaderState {
        self.state.read().clone()
    }

    pub fn leader_epoch(&self) -> i32 {
        self.state.read().leader_epoch
    }

    pub fn is_leader(&self) -> bool {
        self.state.read().leader_id == self.local_id
    }

    pub fn settings(&self) -> PartitionSettings {
        *self.settings.read()
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// The last stable offset: no `read_committed` consumer reads at or past it. It is the
    /// high watermark, held back by the first offset of the oldest ongoing transaction
    /// (Kafka `UnifiedLog.lastStableOffset`).
    pub fn last_stable_offset(&self) -> i64 {
        let high_watermark = self.high_watermark();
        let unreplicated = {
            let mut txns = self.unreplicated_txns.lock();
            txns.retain(|&(_, marker_offset)| marker_offset >= high_watermark);
            txns.iter().map(|&(first, _)| first).min()
        };
        let first_unstable = match (self.log.first_unstable_offset(), unreplicated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        first_unstable.map_or(high_watermark, |first| first.min(high_watermark))
    }

    pub fn offsets(&self) -> PartitionOffsets {
        let high_watermark = self.high_watermark();
        PartitionOffsets {
            log_start_offset: self.log.log_start_offset(),
            high_watermark,
            last_stable_offset: self.last_stable_offset().min(high_watermark),
            log_end_offset: self.log.log_end_offset(),
        }
    }

    /// Registers `waiter` to be woken by the next append, high-watermark move or leadership
    /// change of this partition.
    pub fn register_waiter(&self, waiter: &Waiter) {
        self.waiters.register(waiter);
    }

    /// Wakes every waiter (used by appends and by metadata changes and shutdown).
    pub fn wake_waiters(&self) {
        self.waiters.wake_all();
    }

    /// Applies a new registration from the metadata image and new settings; wakes waiters when
    /// leadership changed so that parked requests re-check and answer NOT_LEADER_OR_FOLLOWER.
    pub fn update(&self, state: LeaderState, settings: PartitionSettings, log_config: LogConfig) {
        let changed = {
            let mut current = self.state.write();
            let changed = *current != state;
            *current = state;
            changed
        };
        *self.settings.write() = settings;
        if self.log.config() != log_config {
            self.log.update_config(log_config);
        }
        if changed {
            self.follower_end_offsets
                .lock()
                .retain(|id, _| self.state.read().isr.contains(id));
            self.maybe_advance_high_watermark();
            self.wake_waiters();
        }
    }

    /// Checks the client's view of the leader epoch (-1 = no check), as Kafka does for Fetch,
    /// ListOffsets and OffsetForLeaderEpoch.
    pub fn check_leader_epoch(&self, current_leader_epoch: i32) -> Result<(), ReplicaError> {
        if current_leader_epoch < 0 {
            return Ok(());
        }
        let epoch = self.leader_epoch();
        if current_leader_epoch < epoch {
            return Err(ReplicaError::FencedLeaderEpoch {
                request_epoch: current_leader_epoch,
                current_epoch: epoch,
            });
        }
        if current_leader_epoch > epoch {
            return Err(ReplicaError::UnknownLeaderEpoch {
                request_epoch: current_leader_epoch,
                current_epoch: epoch,
            });
        }
        Ok(())
    }

    pub fn ensure_leader(&self) -> Result<(), ReplicaError> {
        if self.is_leader() {
            Ok(())
        } else {
            Err(ReplicaError::NotLeaderOrFollower {
                topic: self.topic_partition.topic.clone(),
                partition: self.topic_partition.partition,
            })
        }
    }

    /// Validates and appends a producer's records as leader. Returns once the records are in
    /// the log (not yet replicated: see [`Partition::high_watermark`] for `acks=all`).
    pub async fn append_as_leader(
        self: &Arc<Self>,
        records: Option<Bytes>,
        required_acks: i16,
        now_ms: i64,
    ) -> Result<AppendResult, ReplicaError> {
        let (records, log_append_time) = self.prepare_append(records, required_acks, now_ms)?;
        let _writer = self.append_lock.lock().await;
        let leader_epoch = self.leader_epoch();
        let log = Arc::clone(&self.log);
        let outcome =
            tokio::task::spawn_blocking(move || log.append(records, leader_epoch, log_append_time))
                .await??;
        Ok(self.finish_append(outcome))
    }

    /// The checks before a leader append (leadership, the batch, `acks=all` against
    /// `min.insync.replicas`): the records to write and the append time to stamp, if any.
    fn prepare_append(
        &self,
        records: Option<Bytes>,
        required_acks: i16,
        now_ms: i64,
    ) -> Result<(Bytes, Option<i64>), ReplicaError> {
        self.ensure_leader()?;
        let settings = self.settings();
        validate_produce_records(records.as_ref(), &settings.produce, now_ms)?;
        let log_append_time = match settings.produce.timestamp_type {
            TopicTimestampType::LogAppendTime => Some(now_ms),
            TopicTimestampType::CreateTime => None,
        };
        if required_acks == -1 {
            let isr_len = self.state.read().isr.len() as i32;
            if isr_len < settings.min_insync_replicas {
                return Err(ReplicaError::NotEnoughReplicas {
                    isr: isr_len,
                    min_insync_replicas: settings.min_insync_replicas,
                });
            }
        }
        // `records` is Some: validation refused None.
        Ok((records.unwrap_or_default(), log_append_time))
    }

    /// After a leader append, with the append lock still held: moves the high watermark and
    /// wakes the waiting fetches.
    fn finish_append(&self, outcome: AppendOutcome) -> AppendResult {
        let (info, duplicate) = match outcome {
            AppendOutcome::Appended(info) => (info, false),
            AppendOutcome::Duplicate(info) => (info, true),
        };
        if !duplicate {
            self.maybe_advance_high_watermark();
            // Long-poll fetches wake on appends even when the high watermark did not move:
            // followers read up to the log end offset.
            self.wake_waiters();
        }
        AppendResult {
            base_offset: info.first_offset,
            last_offset: info.last_offset,
            log_append_time_ms: info.log_append_time_ms.unwrap_or(-1),
            log_start_offset: info.log_start_offset,
            duplicate,
        }
    }

    /// Writes the end-transaction marker of (`producer_id`, `producer_epoch`) as leader (the
    /// transaction coordinator's WriteTxnMarkers). Wakes long-poll fetches: the last stable
    /// offset may have moved even when the high watermark did not.
    pub async fn append_txn_marker(
        self: &Arc<Self>,
        producer_id: i64,
        producer_epoch: i16,
        marker: TxnMarker,
    ) -> Result<AppendResult, ReplicaError> {
        self.ensure_leader()?;
        let _writer = self.append_lock.lock().await;
        let leader_epoch = self.leader_epoch();
        let log = Arc::clone(&self.log);
        // Registered before the log closes the transaction (with no marker offset yet), so it
        // never looks finished to a reader until the high watermark passes its marker.
        let first_offset = log
            .producer_entry(producer_id)
            .and_then(|e| e.current_txn_first_offset);
        if let Some(first_offset) = first_offset {
            self.unreplicated_txns.lock().push((first_offset, i64::MAX));
        }
        let appended = tokio::task::spawn_blocking(move || {
            log.append_control_marker(producer_id, producer_epoch, marker, leader_epoch)
        })
        .await
        .map_err(ReplicaError::from)
        .and_then(|r| r.map_err(ReplicaError::from));
        if let Some(first_offset) = first_offset {
            let mut txns = self.unreplicated_txns.lock();
            if let Some(pos) = txns.iter().position(|&t| t == (first_offset, i64::MAX)) {
                match &appended {
                    Ok(info) => txns[pos].1 = info.last_offset,
                    Err(_) => {
                        txns.swap_remove(pos);
                    }
                }
            }
        }
        let info = appended?;
        self.maybe_advance_high_watermark();
        self.wake_waiters();
        Ok(AppendResult {
            base_offset: info.first_offset,
            last_offset: info.last_offset,
            log_append_time_ms: -1,
            log_start_offset: info.log_start_offset,
            duplicate: false,
        })
    }

    /// Waits until the high watermark reaches `required_offset` (`acks=all`), or `deadline`.
    pub async fn wait_for_high_watermark(
        &self,
        required_offset: i64,
        deadline: tokio::time::Instant,
    ) -> Result<(), ReplicaError> {
        loop {
            let waiter = Waiter::new();
            self.register_waiter(&waiter);
            if self.high_watermark() >= required_offset {
                return Ok(());
            }
            self.ensure_leader()?;
            if !waiter.wait_until(deadline).await {
                return Err(ReplicaError::RequestTimedOut {
                    topic: self.topic_partition.topic.clone(),
                    partition: self.topic_partition.partition,
                });
            }
        }
    }

    /// A follower reported its log end offset (its fetch offset); the high watermark may move.
    pub fn record_follower_fetch(&self, replica_id: i32, fetch_offset: i64) {
        if !self.state.read().replicas.contains(&replica_id) {
            return;
        }
        self.follower_end_offsets
            .lock()
            .insert(replica_id, fetch_offset);
        self.maybe_advance_high_watermark();
    }

    /// Recomputes the high watermark as the minimum log end offset over the ISR; it only moves
    /// forward. Wakes waiters when it moved.
    pub fn maybe_advance_high_watermark(&self) {
        let log_end_offset = self.log.log_end_offset();
        let mut candidate = log_end_offset;
        {
            let state = self.state.read();
            if state.leader_id != self.local_id {
                return;
            }
            let followers = self.follower_end_offsets.lock();
            for id in state.isr.iter().filter(|&&id| id != self.local_id) {
                candidate = candidate.min(followers.get(id).copied().unwrap_or(i64::MIN));
            }
        }
        let previous = self.high_watermark.fetch_max(candidate, Ordering::AcqRel);
        if candidate > previous {
            // The cleaner must not touch undecided transactions: it stops at the LSO.
            self.log.set_cleaner_upper_bound(self.last_stable_offset());
            self.wake_waiters();
        }
    }

    /// Reads whole batches from `fetch_offset`: up to the high watermark for consumers, up to
    /// the log end offset for followers. Blocking (`pread`): call from the blocking pool.
    pub fn read(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        for_follower: bool,
    ) -> Result<ReadResult, ReplicaError> {
        let isolation = if for_follower {
            FetchIsolation::LogEnd
        } else {
            FetchIsolation::HighWatermark
        };
        self.read_isolated(fetch_offset, max_bytes, isolation, &self.offsets())
    }

    /// Reads whole batches from `fetch_offset` up to the bound `isolation` names in the
    /// snapshot `offsets` (taken before the read, and reported with it). Blocking.
    pub fn read_isolated(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
        offsets: &PartitionOffsets,
    ) -> Result<ReadResult, ReplicaError> {
        let max_offset = match isolation {
            FetchIsolation::LogEnd => offsets.log_end_offset,
            FetchIsolation::HighWatermark => offsets.high_watermark,
            FetchIsolation::TxnCommitted => offsets.last_stable_offset,
        };
        Ok(self.log.read(fetch_offset, max_bytes, max_offset)?)
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1 = the high watermark).
    /// Blocking: call from the blocking pool. Returns the new low watermark.
    pub fn delete_records_before(&self, offset: i64) -> Result<i64, ReplicaError> {
        self.ensure_leader()?;
        let high_watermark = self.high_watermark();
        let target = if offset == -1 { high_watermark } else { offset };
        if target < 0 || target > high_watermark {
            return Err(ReplicaError::OffsetBeyondHighWatermark {
                offset: target,
                high_watermark,
            });
        }
        if target > self.log.log_start_offset() {
            self.log.advance_log_start_offset(target)?;
            self.wake_waiters();
        }
        Ok(self.log.log_start_offset())
    }
}

/// Appends the records of one produce request to several partitions as leader, with one
/// blocking task for all the writes. Results are in the order of `appends`; each partition
/// fails or succeeds on its own, as with [`Partition::append_as_leader`], which a request
/// naming one partition, or one partition twice, uses instead.
pub async fn append_many_as_leader(
    appends: Vec<(Arc<Partition>, Option<Bytes>)>,
    required_acks: i16,
    now_ms: i64,
) -> Vec<Result<AppendResult, ReplicaError>> {
    let repeated = appends
        .iter()
        .enumerate()
        .any(|(i, (p, _))| appends[..i].iter().any(|(q, _)| Arc::ptr_eq(p, q)));
    if appends.len() < 2 || repeated {
        let mut results = Vec::with_capacity(appends.len());
        for (partition, records) in appends {
            results.push(
                partition
                    .append_as_leader(records, required_acks, now_ms)
                    .await,
            );
        }
        return results;
    }
    // `None` until written: every index left `None` below is in `ready`.
    let mut results: Vec<Option<Result<AppendResult, ReplicaError>>> =
        Vec::with_capacity(appends.len());
    // (index in `results`, partition, records, append time) of the appends that passed checks.
    let mut ready = Vec::with_capacity(appends.len());
    for (i, (partition, records)) in appends.into_iter().enumerate() {
        match partition.prepare_append(records, required_acks, now_ms) {
            Ok((records, log_append_time)) => {
                ready.push((i, partition, records, log_append_time));
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    ready.sort_by(|a, b| {
        let (a, b) = (a.1.topic_partition(), b.1.topic_partition());
        (a.topic.as_str(), a.partition).cmp(&(b.topic.as_str(), b.partition))
    });
    let locking: Vec<Arc<Partition>> = ready.iter().map(|r| Arc::clone(&r.1)).collect();
    let mut guards = Vec::with_capacity(locking.len());
    for partition in &locking {
        guards.push(partition.append_lock.lock().await);
    }
    let jobs: Vec<_> = ready
        .iter_mut()
        .map(|(_, partition, records, log_append_time)| {
            (
                Arc::clone(&partition.log),
                std::mem::take(records),
                partition.leader_epoch(),
                *log_append_time,
            )
        })
        .collect();
    let written = tokio::task::spawn_blocking(move || {
        jobs.into_iter()
            .map(|(log, records, leader_epoch, log_append_time)| {
                log.append(records, leader_epoch, log_append_time)
            })
            .collect::<Vec<_>>()
    })
    .await;
    match written {
        Ok(outcomes) => {
            for ((i, partition, _, _), outcome) in ready.iter().zip(outcomes) {
                results[*i] = Some(
                    outcome
                        .map(|outcome| partition.finish_append(outcome))
                        .map_err(ReplicaError::from),
                );
            }
        }
        Err(join_error) => {
            let text = join_error.to_string();
            for (i, _, _, _) in &ready {
                results[*i] = Some(Err(ReplicaError::TaskFailed(text.clone())));
            }
        }
    }
    drop(guards);
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ReplicaError::TaskFailed("append not run".into()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_config::TimestampType;
    use fjord_protocol::testing::{encode_batch, TestRecord};
    use kafka_protocol::records::Compression;

    pub(crate) fn settings() -> PartitionSettings {
        PartitionSettings {
            produce: ProduceLimits {
                max_message_bytes: 1_048_588,
                segment_bytes: 1 << 30,
                timestamp_type: TimestampType::CreateTime,
                timestamp_before_max_ms: i64::MAX,
                timestamp_after_max_ms: i64::MAX,
            },
            min_insync_replicas: 1,
        }
    }

    fn open(dir: &std::path::Path, isr: Vec<i32>) -> Arc<Partition> {
        let tp = TopicPartition::new("t", 0);
        let log = PartitionLog::open(&dir.join("t-0"), tp, LogConfig::default(), true).unwrap();
        Arc::new(Partition::new(
            Uuid::new_v4(),
            1,
            Arc::new(log),
            LeaderState {
                leader_id: 1,
                leader_epoch: 3,
                partition_epoch: 0,
                replicas: isr.clone(),
                isr,
            },
            settings(),
        ))
    }

    fn batch(n: usize) -> Bytes {
        let records = (0..n).map(|_| TestRecord::value(&b"v"[..], 1_700_000_000_000));
        encode_batch(records, None, Compression::None)
    }

    #[tokio::test]
    async fn single_replica_append_moves_the_high_watermark_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), vec![1]);
        let r = p
            .append_as_leader(Some(batch(3)), -1, 1_700_000_000_000)
            .await
            .unwrap();
        assert_eq!((r.base_offset, r.last_offset), (0, 2));
        assert_eq!(p.high_watermark(), 3);
        let deadline = tokio::time::Instant::now();
        p.wait_for_high_watermark(3, deadline).await.unwrap();
    }

    #[tokio::test]
    async fn with_a_follower_the_high_watermark_waits_for_its_fetch() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), vec![1, 2]);
        p.append_as_leader(Some(batch(2)), -1, 1_700_000_000_000)
            .await
            .unwrap();
        assert_eq!(p.high_watermark(), 0);
        let waiting = {
            let p = Arc::clone(&p);
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
                p.wait_for_high_watermark(2, deadline).await
            })
        };
        p.record_follower_fetch(2, 2);
        assert_eq!(p.high_watermark(), 2);
        waiting.await.unwrap().unwrap();
        // Consumers only see what is below the high watermark.
        assert_eq!(
            p.read(0, 1 << 20, false).unwrap().records.len(),
            batch(2).len()
        );
    }

    #[tokio::test]
    async fn leader_epochs_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), vec![1]);
        assert!(p.check_leader_epoch(-1).is_ok());
        assert!(p.check_leader_epoch(3).is_ok());
        assert_eq!(p.check_leader_epoch(2).unwrap_err().error_code(), 74);
        assert_eq!(p.check_leader_epoch(4).unwrap_err().error_code(), 75);
    }

    #[tokio::test]
    async fn delete_records_stops_at_the_high_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let p = open(dir.path(), vec![1]);
        p.append_as_leader(Some(batch(5)), 1, 1_700_000_000_000)
            .await
            .unwrap();
        assert_eq!(p.delete_records_before(3).unwrap(), 3);
        assert_eq!(p.delete_records_before(6).unwrap_err().error_code(), 1);
        assert_eq!(p.delete_records_before(-1).unwrap(), 5);
    }
}
