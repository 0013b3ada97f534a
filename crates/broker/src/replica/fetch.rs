//! Reading for Fetch, with long polling.
//!
//! One fetch reads every requested partition in order under a shared `max_bytes` budget
//! (each partition also capped by its `partition_max_bytes`). The first partition that has
//! data may exceed both limits by returning its first whole batch, so a batch larger than the
//! limits never stalls a consumer (KIP-74); later partitions only get what fits.
//!
//! When fewer than `min_bytes` are available and no partition failed, the request parks in the
//! purgatory until an append to one of its partitions wakes it (then it reads again) or until
//! `max_wait_ms` passes. The waiter is registered *before* each read, so an append that lands
//! between the read and the wait still wakes it: the fetch completes as soon as `min_bytes`
//! are there, not on a timer tick.
//!
//! `read_committed` consumers read up to the last stable offset and get the aborted
//! transactions overlapping what they read (from the partition's aborted-transaction index),
//! so that they drop those records; a transaction marker wakes waiting fetches because it may
//! move the last stable offset.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fjord_protocol::batch::{BatchFrames, BatchHeader};
use fjord_storage::AbortedTxn;
use tokio::time::Instant;

use super::error::ReplicaError;
use super::partition::{FetchIsolation, Partition};
use super::purgatory::Waiter;
use super::ReplicaManager;

/// Request-level fetch parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchParams {
    /// -1 for consumers; a broker id for followers (they read up to the log end offset).
    pub replica_id: i32,
    pub max_wait_ms: i32,
    pub min_bytes: i32,
    pub max_bytes: i32,
    /// 0 = READ_UNCOMMITTED, 1 = READ_COMMITTED (consumers only).
    pub isolation_level: i8,
}

impl FetchParams {
    pub fn is_from_follower(&self) -> bool {
        self.replica_id >= 0
    }

    pub fn isolation(&self) -> FetchIsolation {
        if self.is_from_follower() {
            FetchIsolation::LogEnd
        } else {
            FetchIsolation::for_consumer(self.isolation_level)
        }
    }
}

/// One partition to read: the resolved replica (or the error code resolving it gave) and the
/// client's position.
#[derive(Debug, Clone)]
pub struct FetchTarget {
    pub partition: Result<Arc<Partition>, i16>,
    pub fetch_offset: i64,
    pub partition_max_bytes: i32,
    pub current_leader_epoch: i32,
}

/// One partition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPartitionResult {
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// Whole batches; empty when there is nothing (new) to send.
    pub records: Bytes,
    /// For `read_committed`: the aborted transactions overlapping `records` (`None` for
    /// other isolation levels, as Kafka sends null).
    pub aborted_transactions: Option<Vec<AbortedTxn>>,
    /// Current leader id and epoch (reported with NOT_LEADER / FENCED errors).
    pub leader_id: i32,
    pub leader_epoch: i32,
}

impl FetchPartitionResult {
    fn error(error_code: i16, partition: Option<&Partition>) -> Self {
        let (offsets, leader_id, leader_epoch) = match partition {
            Some(p) => {
                let state = p.leader_state();
                (Some(p.offsets()), state.leader_id, state.leader_epoch)
            }
            None => (None, -1, -1),
        };
        FetchPartitionResult {
            error_code,
            high_watermark: offsets.map_or(-1, |o| o.high_watermark),
            last_stable_offset: offsets.map_or(-1, |o| o.last_stable_offset),
            log_start_offset: offsets.map_or(-1, |o| o.log_start_offset),
            records: Bytes::new(),
            aborted_transactions: None,
            leader_id,
            leader_epoch,
        }
    }
}

impl ReplicaManager {
    /// Reads `targets`, waiting up to `max_wait_ms` for `min_bytes` (see the module docs).
    /// Results come back in the order of `targets`.
    pub async fn fetch(
        &self,
        params: FetchParams,
        targets: Vec<FetchTarget>,
    ) -> Vec<FetchPartitionResult> {
        let results = self.fetch_rounds(params, targets).await;
        if !params.is_from_follower() {
            for r in &results {
                self.throughput().record_out(&r.records);
            }
        }
        results
    }

    async fn fetch_rounds(
        &self,
        params: FetchParams,
        targets: Vec<FetchTarget>,
    ) -> Vec<FetchPartitionResult> {
        let targets = Arc::new(targets);
        let deadline = Instant::now() + Duration::from_millis(params.max_wait_ms.max(0) as u64);
        loop {
            let waiter = Waiter::new();
            for target in targets.iter() {
                if let Ok(p) = &target.partition {
                    p.register_waiter(&waiter);
                }
            }
            let round = Arc::clone(&targets);
            let read = tokio::task::spawn_blocking(move || read_round(&params, &round)).await;
            let (results, bytes, failed) = match read {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %e, "fetch read task failed");
                    let code = ReplicaError::from(e).error_code();
                    let results = targets
                        .iter()
                        .map(|t| {
                            FetchPartitionResult::error(
                                code,
                                t.partition.as_ref().ok().map(|p| p.as_ref()),
                            )
                        })
                        .collect();
                    return results;
                }
            };
            let enough = failed || bytes >= i64::from(params.min_bytes.max(0));
            if enough || Instant::now() >= deadline || self.shutdown_token().is_cancelled() {
                return results;
            }
            tokio::select! {
                woke = waiter.wait_until(deadline) => {
                    if !woke {
                        return results;
                    }
                }
                _ = self.shutdown_token().cancelled() => return results,
            }
        }
    }
}

/// One pass over every target. Blocking (`pread`). Returns the results, the record bytes
/// read, and whether any partition failed.
fn read_round(
    params: &FetchParams,
    targets: &[FetchTarget],
) -> (Vec<FetchPartitionResult>, i64, bool) {
    let mut remaining = i64::from(params.max_bytes.max(0));
    let mut first_with_data = true;
    let mut total = 0i64;
    let mut failed = false;
    let mut results = Vec::with_capacity(targets.len());
    for target in targets {
        let result = match &target.partition {
            Err(code) => FetchPartitionResult::error(*code, None),
            Ok(p) => read_partition(params, target, p, &mut remaining, &mut first_with_data),
        };
        failed |= result.error_code != 0;
        total += result.records.len() as i64;
        results.push(result);
    }
    (results, total, failed)
}

fn read_partition(
    params: &FetchParams,
    target: &FetchTarget,
    p: &Partition,
    remaining: &mut i64,
    first_with_data: &mut bool,
) -> FetchPartitionResult {
    let check = || -> Result<(), ReplicaError> {
        if !params.is_from_follower() {
            p.ensure_leader()?;
        }
        p.check_leader_epoch(target.current_leader_epoch)
    };
    if let Err(e) = check() {
        return FetchPartitionResult::error(e.error_code(), Some(p));
    }
    if params.is_from_follower() {
        p.record_follower_fetch(params.replica_id, target.fetch_offset);
    }
    let limit = i64::from(target.partition_max_bytes.max(0)).min(*remaining);
    // The storage read always yields at least one whole batch when one exists; past the first
    // partition with data that batch is only kept when it fits.
    let isolation = params.isolation();
    // One snapshot bounds the read and is what the response reports, as Kafka's offset
    // snapshot does: offsets read after the records could name a last stable offset the
    // records stop short of, so a reader would think it had seen everything up to it.
    let offsets = p.offsets();
    let read = if !*first_with_data && limit <= 0 {
        p.read_isolated(target.fetch_offset, 0, isolation, &offsets)
            .map(|mut r| {
                r.records = Bytes::new();
                r
            })
    } else {
        p.read_isolated(
            target.fetch_offset,
            limit.max(0) as usize,
            isolation,
            &offsets,
        )
    };
    let mut records = match read {
        Ok(r) => r.records,
        Err(e) => return FetchPartitionResult::error(e.error_code(), Some(p)),
    };
    if !*first_with_data && records.len() as i64 > limit {
        records = Bytes::new();
    }
    if !records.is_empty() {
        *first_with_data = false;
        *remaining = (*remaining - records.len() as i64).max(0);
    }
    let aborted_transactions =
        (isolation == FetchIsolation::TxnCommitted).then(|| match end_of_records(&records) {
            Some(upper_bound) => p
                .log()
                .aborted_transactions(target.fetch_offset, upper_bound),
            None => Vec::new(),
        });
    let state = p.leader_state();
    FetchPartitionResult {
        error_code: 0,
        high_watermark: offsets.high_watermark,
        last_stable_offset: offsets.last_stable_offset,
        log_start_offset: offsets.log_start_offset,
        records,
        aborted_transactions,
        leader_id: state.leader_id,
        leader_epoch: state.leader_epoch,
    }
}

/// The offset after the last whole batch of `records` (the upper bound of the aborted
/// transactions a `read_committed` fetch must list); `None` when there is none.
fn end_of_records(records: &Bytes) -> Option<i64> {
    BatchFrames::new(records)
        .map_while(Result::ok)
        .last()
        .and_then(|range| BatchHeader::parse(&records[range]).ok())
        .map(|h| h.next_offset())
}
