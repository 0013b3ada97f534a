//! One shard: the [`GroupCoordinator`] of one `__consumer_offsets` partition this node leads,
//! behind its own async mutex, with the requests parked on it and its timer task.
//!
//! Every write runs the same way under the shard lock: the state machine call, then its
//! records appended to the partition as one batch with `acks=-1` semantics (in the log and
//! below the high watermark), then the parked requests the call completed are answered. The
//! lock is held across the append so batches reach the log in the order the state machine
//! produced them; it is a `tokio::sync::Mutex`, so holding it across the await is allowed, and
//! the parked-request map is a short `parking_lot` section that never spans an await.
//!
//! If an append fails, the in-memory state is ahead of the log. Kafka reverts to its last
//! committed snapshot; a shard does the same by replaying its partition into a fresh
//! coordinator, and answers every request of that call with the append's error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fjord_coordinator::{ConsumerGroupConfig, GroupConfig, GroupCoordinator, Outcome, Ready};
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

use super::error::GroupRuntimeError;
use super::records::{encode_batch, replay_partition};
use crate::coordinator_log::TxnProducer;
use crate::replica::{now_ms, Partition};

/// How long an append waits for the high watermark (Kafka's `offsets.commit.timeout.ms`).
const APPEND_TIMEOUT: Duration = Duration::from_millis(5_000);

/// How often the timer runs `poll` (session expiry, rebalance and initial-delay deadlines).
pub const TICK: Duration = Duration::from_millis(100);

/// Which parked request a [`Ready`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParkedKind {
    Join,
    Sync,
}

type ParkKey = (String, String, ParkedKind);

/// The answer a parked JoinGroup or SyncGroup receives.
pub type ParkedAnswer = Result<Ready, GroupRuntimeError>;

/// A request waiting for its answer; dropping it (the connection went away) frees its slot at
/// the next registration or delivery.
pub type Parked = oneshot::Receiver<ParkedAnswer>;

/// The coordinator of one `__consumer_offsets` partition.
pub struct Shard {
    partition_index: i32,
    partition: Arc<Partition>,
    config: GroupConfig,
    consumer_config: ConsumerGroupConfig,
    expiry: OffsetExpiry,
    last_expiry_ms: AtomicI64,
    loaded: AtomicBool,
    coordinator: tokio::sync::Mutex<GroupCoordinator>,
    parked: Mutex<HashMap<ParkKey, oneshot::Sender<ParkedAnswer>>>,
    stop: CancellationToken,
}

impl Shard {
    /// A shard that answers COORDINATOR_LOAD_IN_PROGRESS until [`Shard::load`] finished.
    pub fn new(
        partition_index: i32,
        partition: Arc<Partition>,
        config: GroupConfig,
        consumer_config: ConsumerGroupConfig,
        expiry: OffsetExpiry,
    ) -> Self {
        Shard {
            partition_index,
            partition,
            coordinator: tokio::sync::Mutex::new(fresh_coordinator(&config, &consumer_config)),
            config,
            consumer_config,
            expiry,
            last_expiry_ms: AtomicI64::new(now_ms()),
            loaded: AtomicBool::new(false),
            parked: Mutex::new(HashMap::new()),
            stop: CancellationToken::new(),
        }
    }

    pub fn partition_index(&self) -> i32 {
        self.partition_index
    }

    /// The `__consumer_offsets` partition this shard writes to.
    pub fn partition(&self) -> &Arc<Partition> {
        &self.partition
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Replays the partition into a fresh coordinator and starts serving it.
    pub async fn load(&self) -> Result<(), GroupRuntimeError> {
        let mut coordinator = self.coordinator.lock().await;
        *coordinator = self.replay().await?;
        self.loaded.store(true, Ordering::Release);
        Ok(())
    }

    async fn replay(&self) -> Result<GroupCoordinator, GroupRuntimeError> {
        let partition = Arc::clone(&self.partition);
        let config = self.config.clone();
        let consumer_config = self.consumer_config.clone();
        let started = std::time::Instant::now();
        let replayed = tokio::task::spawn_blocking(move || {
            let mut fresh = fresh_coordinator(&config, &consumer_config);
            replay_partition(&partition, &mut fresh, now_ms()).map(|n| (fresh, n))
        })
        .await;
        match replayed {
            Ok(Ok((fresh, applied))) => {
                debug!(
                    partition = self.partition_index,
                    records = applied,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "loaded group coordinator shard"
                );
                Ok(fresh)
            }
            Ok(Err(e)) => {
                error!(partition = self.partition_index, error = %e, "replaying __consumer_offsets failed");
                Err(GroupRuntimeError::from_append(&e))
            }
            Err(e) => {
                error!(partition = self.partition_index, error = %e, "the replay task failed");
                Err(GroupRuntimeError::CoordinatorNotAvailable)
            }
        }
    }

    fn ensure_serving(&self) -> Result<(), GroupRuntimeError> {
        if self.stop.is_cancelled() {
            return Err(GroupRuntimeError::NotCoordinator {
                partition: self.partition_index,
            });
        }
        if !self.is_loaded() {
            return Err(GroupRuntimeError::LoadInProgress {
                partition: self.partition_index,
            });
        }
        Ok(())
    }

    /// Reads the coordinator without changing it.
    pub async fn read<T>(
        &self,
        op: impl FnOnce(&GroupCoordinator) -> T,
    ) -> Result<T, GroupRuntimeError> {
        self.ensure_serving()?;
        let coordinator = self.coordinator.lock().await;
        self.ensure_serving()?;
        Ok(op(&coordinator))
    }

    /// Runs one state-machine call at the current time, appends its records, answers the
    /// requests it completed, and returns its result. When `op` returns a park key, the
    /// caller's request is registered before anything is answered (the same call may complete
    /// it) and its receiver is returned.
    pub async fn write<T>(
        &self,
        op: impl FnOnce(
            &mut GroupCoordinator,
            i64,
        ) -> (T, Outcome, Option<(String, String, ParkedKind)>),
    ) -> Result<(T, Option<Parked>), GroupRuntimeError> {
        self.ensure_serving()?;
        let mut coordinator = self.coordinator.lock().await;
        self.ensure_serving()?;
        let now = now_ms();
        let (value, outcome, park) = op(&mut coordinator, now);
        let parked = park.map(|key| self.register(key));
        self.commit(&mut coordinator, outcome, now, None).await?;
        Ok((value, parked))
    }

    /// Runs one state-machine call whose records belong to `txn`'s transaction (TxnOffsetCommit)
    /// and appends them as one transactional batch of that producer. The log's producer state
    /// refuses a stale epoch (INVALID_PRODUCER_EPOCH), which reverts the call like any failed
    /// append.
    pub async fn write_txn<T>(
        &self,
        txn: TxnProducer,
        op: impl FnOnce(&mut GroupCoordinator, i64) -> (T, Vec<fjord_coordinator::CoordinatorRecord>),
    ) -> Result<T, GroupRuntimeError> {
        self.ensure_serving()?;
        let mut coordinator = self.coordinator.lock().await;
        self.ensure_serving()?;
        let now = now_ms();
        let (value, records) = op(&mut coordinator, now);
        let outcome = Outcome {
            ready: Vec::new(),
            records,
        };
        self.commit(&mut coordinator, outcome, now, Some(txn))
            .await?;
        Ok(value)
    }

    /// The end marker of `producer_id`'s transaction is in this partition's log (and
    /// replicated): its pending offsets become committed or are dropped. Waits for a load in
    /// progress instead of failing: the load holds the coordinator lock while it replays, so
    /// either the replay already saw the marker (and this finds nothing pending) or this
    /// applies it to the replayed state.
    pub async fn complete_transaction(&self, producer_id: i64, commit: bool) {
        if self.stop.is_cancelled() {
            return;
        }
        let mut coordinator = self.coordinator.lock().await;
        let applied = coordinator.complete_transaction(producer_id, commit, now_ms());
        debug!(
            partition = self.partition_index,
            producer_id, commit, applied, "transaction completed on the group coordinator"
        );
    }

    /// The timer's work: expire sessions, finish rebalances whose deadline passed.
    pub async fn tick(&self) {
        if self.ensure_serving().is_err() {
            return;
        }
        let mut coordinator = self.coordinator.lock().await;
        let now = now_ms();
        let mut outcome = coordinator.poll(now);
        let last_expiry_ms = self.last_expiry_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last_expiry_ms) >= self.expiry.check_interval_ms {
            self.last_expiry_ms.store(now, Ordering::Relaxed);
            let expired = coordinator.expire_offsets(now, self.expiry.retention_ms);
            if !expired.is_empty() {
                debug!(
                    partition = self.partition_index,
                    records = expired.len(),
                    "expired offsets"
                );
            }
            outcome.records.extend(expired);
        }
        if let Err(e) = self.commit(&mut coordinator, outcome, now, None).await {
            warn!(partition = self.partition_index, error = %e, "timer write failed");
        }
    }

    /// Appends `outcome.records` and delivers `outcome.ready`; on a failed append, reverts the
    /// coordinator to what the log holds and delivers the error instead.
    async fn commit(
        &self,
        coordinator: &mut GroupCoordinator,
        outcome: Outcome,
        now: i64,
        txn: Option<TxnProducer>,
    ) -> Result<(), GroupRuntimeError> {
        let appended = if outcome.records.is_empty() {
            Ok(())
        } else {
            self.append(&outcome, now, txn).await
        };
        match appended {
            Ok(()) => {
                for ready in outcome.ready {
                    self.deliver(Ok(ready));
                }
                Ok(())
            }
            Err(e) => {
                for ready in outcome.ready {
                    let key = park_key(&ready);
                    self.deliver_to(key, Err(e.clone()));
                }
                match self.replay().await {
                    Ok(fresh) => *coordinator = fresh,
                    Err(reload) => {
                        error!(partition = self.partition_index, error = %reload,
                            "reverting the shard after a failed append failed; it stays ahead of its log");
                    }
                }
                Err(e)
            }
        }
    }

    async fn append(
        &self,
        outcome: &Outcome,
        now: i64,
        txn: Option<TxnProducer>,
    ) -> Result<(), GroupRuntimeError> {
        let batch = encode_batch(&outcome.records, now, txn);
        let deadline = tokio::time::Instant::now() + APPEND_TIMEOUT;
        let result = match self.partition.append_as_leader(Some(batch), -1, now).await {
            Ok(appended) => {
                self.partition
                    .wait_for_high_watermark(appended.last_offset + 1, deadline)
                    .await
            }
            Err(e) => Err(e),
        };
        result.map_err(|e| {
            warn!(partition = self.partition_index, records = outcome.records.len(), error = %e,
                "appending coordinator records failed");
            GroupRuntimeError::from_append(&e)
        })
    }

    fn register(&self, key: ParkKey) -> Parked {
        let (tx, rx) = oneshot::channel();
        let mut parked = self.parked.lock();
        // Requests whose connection went away leave closed senders behind: drop them here.
        parked.retain(|_, sender| !sender.is_closed());
        if let Some(previous) = parked.insert(key, tx) {
            // The same member asked again while its first request waited: the older request
            // is superseded (its client stopped waiting for it when it sent the new one).
            let _ = previous.send(Err(GroupRuntimeError::Group(
                fjord_coordinator::GroupError::RebalanceInProgress,
            )));
        }
        rx
    }

    fn deliver(&self, ready: ParkedAnswer) {
        if let Ok(r) = &ready {
            let key = park_key(r);
            self.deliver_to(key, ready);
        }
    }

    fn deliver_to(&self, key: ParkKey, answer: ParkedAnswer) {
        let sender = self.parked.lock().remove(&key);
        match sender {
            // The receiver may be gone (connection closed): nothing to answer then.
            Some(sender) => {
                let _ = sender.send(answer);
            }
            None => debug!(group = %key.0, member = %key.1, "no parked request for a ready answer"),
        }
    }

    /// Stops serving: the timer ends and every parked request is answered with `error`.
    pub fn close(&self, error: GroupRuntimeError) {
        self.stop.cancel();
        let parked: Vec<_> = self.parked.lock().drain().collect();
        for (_, sender) in parked {
            let _ = sender.send(Err(error.clone()));
        }
    }

    /// Loads the shard (retrying a failed replay every second) and then runs its timer until
    /// the shard is closed.
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.load().await {
                Ok(()) => break,
                Err(e) => {
                    warn!(partition = self.partition_index, error = %e, "loading a coordinator shard failed; retrying");
                    tokio::select! {
                        _ = self.stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.stop.cancelled() => return,
                _ = interval.tick() => self.tick().await,
            }
        }
    }
}

/// `offsets.retention.minutes` and `offsets.retention.check.interval.ms`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetExpiry {
    pub retention_ms: i64,
    pub check_interval_ms: i64,
}

/// A coordinator with a fresh random member-id seed, so member ids stay unique across
/// restarts and reloads.
fn fresh_coordinator(config: &GroupConfig, consumer: &ConsumerGroupConfig) -> GroupCoordinator {
    GroupCoordinator::with_member_id_seed(config.clone(), uuid::Uuid::new_v4().as_u128())
        .with_consumer_group_config(consumer.clone())
}

fn park_key(ready: &Ready) -> ParkKey {
    match ready {
        Ready::Join {
            group_id,
            member_id,
            ..
        } => (group_id.clone(), member_id.clone(), ParkedKind::Join),
        Ready::Sync {
            group_id,
            member_id,
            ..
        } => (group_id.clone(), member_id.clone(), ParkedKind::Sync),
    }
}
