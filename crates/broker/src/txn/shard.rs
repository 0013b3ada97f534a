//! One shard: the [`TransactionCoordinator`] of one `__transaction_state` partition this node
//! leads, behind its own async mutex, with its timer and its marker deliveries.
//!
//! Every write runs the same way under the shard lock: the state machine call, then its
//! records appended to the partition as one batch with `acks=-1` semantics, then the answer.
//! The lock is held across the append so batches reach the log in the order the state machine
//! produced them (a `tokio::sync::Mutex`, so holding it across the await is allowed). The
//! markers an outcome asks for are written only after its records are in the log, each
//! transaction's by its own task ([`super::markers`]), which reports back through
//! [`TxnShard::markers_written`] and so writes the Complete* record.
//!
//! If an append fails, the in-memory state is ahead of the log: the shard replays its
//! partition into a fresh coordinator (Kafka reverts to its last committed state the same way)
//! and answers the call with the append's error.
//!
//! Loading replays the partition, then `load_complete` re-drives the markers of every
//! transaction caught in PrepareCommit/PrepareAbort, so a restart mid-commit finishes the
//! commit; an Ongoing transaction keeps its start time and times out as before.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fjord_coordinator::txn::{AddPartitionsTxn, AddPartitionsTxnResult, TxnError};
use fjord_coordinator::txn::{
    EndTxnRequest, InitProducerIdRequest, ListTransactionsFilter, ListTransactionsResult,
    ProducerIdAndEpoch, TopicPartition, TransactionCoordinator, TransactionDescription, TxnConfig,
    TxnOutcome, TxnRecord,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, warn};

use super::error::TxnRuntimeError;
use super::markers;
use crate::coordinator_host::{HostError, HostedShard};
use crate::coordinator_log::{append_replicated, encode_batch, replay_partition, Replayed};
use crate::group::GroupRuntime;
use crate::replica::{now_ms, Partition, ReplicaManager};

/// A producer-id allocator as the pure coordinator takes it: a negative id means none.
type Allocate<'a> = &'a mut dyn FnMut() -> i64;

/// The coordinator of one `__transaction_state` partition.
pub struct TxnShard {
    partition_index: i32,
    partition: Arc<Partition>,
    replicas: Arc<ReplicaManager>,
    groups: Arc<GroupRuntime>,
    config: TxnConfig,
    /// How often `poll` runs (`transaction.abort.timed.out.transaction.cleanup.interval.ms`).
    tick: Duration,
    loaded: AtomicBool,
    coordinator: tokio::sync::Mutex<TransactionCoordinator>,
    stop: CancellationToken,
    /// Marker deliveries in flight; `run` waits for them after the shard is closed.
    deliveries: TaskTracker,
}

impl TxnShard {
    /// A shard that answers COORDINATOR_LOAD_IN_PROGRESS until it is loaded.
    pub fn new(
        partition_index: i32,
        partition: Arc<Partition>,
        replicas: Arc<ReplicaManager>,
        groups: Arc<GroupRuntime>,
        config: TxnConfig,
        tick: Duration,
    ) -> Self {
        TxnShard {
            partition_index,
            partition,
            replicas,
            groups,
            coordinator: tokio::sync::Mutex::new(TransactionCoordinator::new(config.clone())),
            config,
            tick,
            loaded: AtomicBool::new(false),
            stop: CancellationToken::new(),
            deliveries: TaskTracker::new(),
        }
    }

    /// The `__transaction_state` partition index.
    pub fn partition_index(&self) -> i32 {
        self.partition_index
    }

    /// Whether the shard has replayed its partition and serves requests.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    pub(super) fn replicas(&self) -> &Arc<ReplicaManager> {
        &self.replicas
    }

    pub(super) fn groups(&self) -> &Arc<GroupRuntime> {
        &self.groups
    }

    pub(super) fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// The leader epoch of the `__transaction_state` partition: the coordinator epoch the
    /// markers carry, so a partition refuses markers of a coordinator that lost leadership.
    pub(super) fn coordinator_epoch(&self) -> i32 {
        self.partition.leader_epoch()
    }

    fn ensure_serving(&self) -> Result<(), TxnRuntimeError> {
        let partition = self.partition_index;
        if self.stop.is_cancelled() {
            return Err(HostError::NotCoordinator { partition }.into());
        }
        if !self.is_loaded() {
            return Err(HostError::LoadInProgress { partition }.into());
        }
        Ok(())
    }

    /// InitProducerId with a transactional id.
    pub async fn init_producer_id(
        self: &Arc<Self>,
        req: InitProducerIdRequest,
    ) -> Result<ProducerIdAndEpoch, TxnRuntimeError> {
        let id = req.transactional_id.clone();
        let needs_id = move |c: &TransactionCoordinator| {
            c.transaction(&id)
                .is_none_or(|m| m.is_producer_epoch_exhausted())
        };
        self.write(needs_id, |c, now, allocate| {
            c.init_producer_id(req, now, &mut &mut *allocate)
        })
        .await?
        .map_err(TxnRuntimeError::from)
    }

    /// AddPartitionsToTxn v0–3 (one transaction, partitions added).
    pub async fn add_partitions(
        self: &Arc<Self>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<(), TxnRuntimeError> {
        self.write(
            |_| false,
            |c, now, _| {
                c.add_partitions(
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    partitions,
                    now,
                )
            },
        )
        .await?
        .map_err(TxnRuntimeError::from)
    }

    /// AddPartitionsToTxn v4+: adds and verify-only checks of several transactions.
    pub async fn add_partitions_batch(
        self: &Arc<Self>,
        transactions: Vec<AddPartitionsTxn>,
    ) -> Result<Vec<AddPartitionsTxnResult>, TxnRuntimeError> {
        self.write(
            |_| false,
            |c, now, _| c.add_partitions_batch(transactions, now),
        )
        .await
    }

    /// AddOffsetsToTxn: `offsets_partition` is the group's `__consumer_offsets` partition.
    pub async fn add_offsets(
        self: &Arc<Self>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
        offsets_partition: i32,
    ) -> Result<(), TxnRuntimeError> {
        self.write(
            |_| false,
            |c, now, _| {
                c.add_offsets(
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    group_id,
                    |_| offsets_partition,
                    now,
                )
            },
        )
        .await?
        .map_err(TxnRuntimeError::from)
    }

    /// EndTxn: the answer comes once the Prepare* record is in the log; the markers follow.
    pub async fn end_txn(
        self: &Arc<Self>,
        req: EndTxnRequest,
    ) -> Result<ProducerIdAndEpoch, TxnRuntimeError> {
        let id = req.transactional_id.clone();
        let v2 = req.client_transaction_version.supports_epoch_bump();
        let needs_id = move |c: &TransactionCoordinator| {
            v2 && c
                .transaction(&id)
                .is_some_and(|m| m.is_producer_epoch_exhausted())
        };
        self.write(needs_id, |c, now, allocate| {
            c.end_txn(req, now, &mut &mut *allocate)
        })
        .await?
        .map_err(TxnRuntimeError::from)
    }

    /// A marker task wrote the markers of `partitions`: the transaction may complete.
    pub(super) async fn markers_written(
        self: &Arc<Self>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Result<(), TxnRuntimeError> {
        self.write(
            |_| false,
            |c, now, _| {
                let outcome = c.markers_written(
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    partitions,
                    now,
                );
                ((), outcome)
            },
        )
        .await
    }

    /// DescribeTransactions for the ids of this partition.
    pub async fn describe(
        &self,
        transactional_ids: &[String],
    ) -> Result<Vec<(String, Result<TransactionDescription, TxnError>)>, TxnRuntimeError> {
        self.ensure_serving()?;
        let coordinator = self.coordinator.lock().await;
        Ok(coordinator.describe(transactional_ids))
    }

    /// ListTransactions over this partition.
    pub async fn list(
        &self,
        filter: &ListTransactionsFilter,
    ) -> Result<ListTransactionsResult, TxnRuntimeError> {
        self.ensure_serving()?;
        let coordinator = self.coordinator.lock().await;
        Ok(coordinator.list(filter, now_ms()))
    }

    /// Runs one state-machine call at the current time and appends its records; markers are
    /// handed to delivery tasks once the records are in the log. `needs_producer_id` says,
    /// from the state before the call, whether it will ask the allocator for an id: the id is
    /// fetched (asynchronously, from the controller's blocks) before the call, which is
    /// synchronous.
    async fn write<T>(
        self: &Arc<Self>,
        needs_producer_id: impl FnOnce(&TransactionCoordinator) -> bool,
        op: impl FnOnce(&mut TransactionCoordinator, i64, Allocate<'_>) -> (T, TxnOutcome),
    ) -> Result<T, TxnRuntimeError> {
        self.ensure_serving()?;
        let mut coordinator = self.coordinator.lock().await;
        self.ensure_serving()?;
        let mut producer_id = None;
        if needs_producer_id(&coordinator) {
            match self.replicas.producer_ids().next_producer_id().await {
                Ok(id) => producer_id = Some(id),
                // The coordinator answers its own "allocation failed" (retriable) below.
                Err(e) => warn!(error = %e, "producer id allocation failed"),
            }
        }
        let mut allocate = move || producer_id.take().unwrap_or(-1);
        let now = now_ms();
        let (value, outcome) = op(&mut coordinator, now, &mut allocate);
        self.commit(&mut coordinator, outcome, now).await?;
        Ok(value)
    }

    /// Appends `outcome.records`, then starts the deliveries of `outcome.markers`. On a failed
    /// append, reverts the coordinator to what the log holds and re-drives the markers still
    /// owed there (a repeated marker is harmless: the partition side accepts it).
    async fn commit(
        self: &Arc<Self>,
        coordinator: &mut TransactionCoordinator,
        outcome: TxnOutcome,
        now: i64,
    ) -> Result<(), TxnRuntimeError> {
        if !outcome.records.is_empty() {
            if let Err(e) = self.append(&outcome.records, now).await {
                match self.replay().await {
                    Ok(fresh) => {
                        *coordinator = fresh;
                        for pending in coordinator.pending_markers() {
                            markers::spawn_delivery(self, pending);
                        }
                    }
                    Err(reload) => {
                        error!(partition = self.partition_index, error = %reload,
                            "reverting the shard after a failed append failed; it stays ahead of its log");
                    }
                }
                return Err(e);
            }
        }
        for pending in outcome.markers {
            markers::spawn_delivery(self, pending);
        }
        Ok(())
    }

    async fn append(&self, records: &[TxnRecord], now: i64) -> Result<(), TxnRuntimeError> {
        let pairs: Vec<_> = records
            .iter()
            .map(|r| (r.key_bytes(), r.value_bytes()))
            .collect();
        let batch = encode_batch(&pairs, now, None);
        append_replicated(&self.partition, batch, now)
            .await
            .map_err(|e| {
                warn!(partition = self.partition_index, records = records.len(), error = %e,
                    "appending transaction records failed");
                TxnRuntimeError::from_append(&e)
            })
    }

    /// Rebuilds the coordinator from the partition, on the blocking pool.
    async fn replay(&self) -> Result<TransactionCoordinator, TxnRuntimeError> {
        let partition = Arc::clone(&self.partition);
        let config = self.config.clone();
        let started = std::time::Instant::now();
        let replayed = tokio::task::spawn_blocking(move || {
            let mut fresh = TransactionCoordinator::new(config);
            let topic_partition = partition.topic_partition().clone();
            replay_partition(&partition, |event| {
                // Markers are for the partitions a transaction wrote to, never this log.
                let Replayed::Record {
                    offset, key, value, ..
                } = event
                else {
                    return;
                };
                match TxnRecord::decode(key, value) {
                    Ok(record) => fresh.replay(&record),
                    Err(e) => warn!(partition = %topic_partition, offset, error = %e,
                        "skipping an unreadable __transaction_state record"),
                }
            })
            .map(|n| (fresh, n))
        })
        .await;
        match replayed {
            Ok(Ok((fresh, applied))) => {
                debug!(
                    partition = self.partition_index,
                    records = applied,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "loaded transaction coordinator shard"
                );
                Ok(fresh)
            }
            Ok(Err(e)) => {
                error!(partition = self.partition_index, error = %e, "replaying __transaction_state failed");
                Err(TxnRuntimeError::from_append(&e))
            }
            Err(e) => {
                error!(partition = self.partition_index, error = %e, "the replay task failed");
                Err(HostError::CoordinatorNotAvailable.into())
            }
        }
    }

    /// Replays the partition, finishes what the log left half done, and starts serving.
    async fn load(self: &Arc<Self>) -> Result<(), TxnRuntimeError> {
        let mut coordinator = self.coordinator.lock().await;
        let mut fresh = self.replay().await?;
        let now = now_ms();
        let outcome = fresh.load_complete(now);
        *coordinator = fresh;
        self.commit(&mut coordinator, outcome, now).await?;
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// The timer's work: abort transactions past their timeout, forget expired ids.
    async fn tick(self: &Arc<Self>) {
        if self.ensure_serving().is_err() {
            return;
        }
        let mut coordinator = self.coordinator.lock().await;
        let now = now_ms();
        let outcome = coordinator.poll(now);
        if outcome.is_empty() {
            return;
        }
        debug!(
            partition = self.partition_index,
            records = outcome.records.len(),
            aborts = outcome.markers.len(),
            "transaction timers fired"
        );
        if let Err(e) = self.commit(&mut coordinator, outcome, now).await {
            warn!(partition = self.partition_index, error = %e, "timer write failed");
        }
    }

    /// Loads the shard (retrying a failed load every second), then runs its timer until the
    /// shard is closed, then waits for its marker deliveries to stop.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.load().await {
                Ok(()) => break,
                Err(e) => {
                    warn!(partition = self.partition_index, error = %e,
                        "loading a transaction coordinator shard failed; retrying");
                    tokio::select! {
                        _ = self.stop.cancelled() => return self.drain().await,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        let mut interval = tokio::time::interval(self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = interval.tick() => self.tick().await,
            }
        }
        self.drain().await;
    }

    async fn drain(&self) {
        self.deliveries.close();
        self.deliveries.wait().await;
    }

    pub(super) fn deliveries(&self) -> &TaskTracker {
        &self.deliveries
    }

    /// Stops serving; deliveries in flight stop at their next step.
    pub fn close(&self) {
        self.stop.cancel();
    }
}

impl HostedShard for TxnShard {
    fn partition_index(&self) -> i32 {
        self.partition_index
    }

    fn partition(&self) -> &Arc<Partition> {
        &self.partition
    }

    fn run(self: Arc<Self>) -> impl std::future::Future<Output = ()> + Send + 'static {
        TxnShard::run(self)
    }

    fn close(&self, _reason: HostError) {
        // No request waits on a transaction shard: the next request learns the reason from
        // the host (NOT_COORDINATOR, or COORDINATOR_NOT_AVAILABLE during shutdown).
        TxnShard::close(self);
    }
}
