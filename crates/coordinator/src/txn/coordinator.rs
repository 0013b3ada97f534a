//! The transaction coordinator for the transactional ids of one `__transaction_state`
//! partition, as a pure state machine: requests and `now_ms` in, typed answers and a
//! [`TxnOutcome`] (records to append, markers to write) out. No clock, no I/O; producer ids come
//! from an allocator the caller passes in.
//!
//! Kafka prepares a transition, appends it, then applies it. Here a handler applies the
//! transition at once and returns its record; the broker must append the outcome's records
//! before it answers or writes markers, and rebuild this partition's coordinator from the log
//! (`replay`) if an append fails. So the in-memory state never runs ahead of what a client saw.
//!
//! The life of a transaction: InitProducerId (Empty, epoch bumped) → AddPartitionsToTxn /
//! AddOffsetsToTxn (Ongoing) → EndTxn (PrepareCommit/PrepareAbort record, then a
//! [`WriteMarkers`] outcome) → the broker writes the markers and calls `markers_written` →
//! CompleteCommit/CompleteAbort record. Timeouts and expiry live in `admin.rs`.

use std::collections::BTreeMap;

use crate::txn::error::TxnError;
use crate::txn::messages::{
    AddPartitionsTxn, AddPartitionsTxnResult, EndTxnRequest, InitProducerIdRequest,
    ProducerIdAndEpoch, TxnConfig, TxnOutcome, WriteMarkers,
};
use crate::txn::record::{TransactionLogValue, TxnRecord};
use crate::txn::state::{
    is_epoch_exhausted, TopicPartition, TransactionMetadata, TransactionResult, TransactionState,
    TransactionVersion, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

/// The topic AddOffsetsToTxn adds a partition of.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The transaction coordinator for one `__transaction_state` partition.
#[derive(Debug, Clone, Default)]
pub struct TransactionCoordinator {
    pub(crate) config: TxnConfig,
    /// Ordered so that `poll`, `list` and `load_complete` are deterministic.
    pub(crate) transactions: BTreeMap<String, TransactionMetadata>,
}

/// Calls the allocator; a negative id means it has none to give (Kafka: a failed block request).
fn allocate(allocate_producer_id: &mut impl FnMut() -> i64) -> Result<i64, TxnError> {
    let producer_id = allocate_producer_id();
    if producer_id < 0 {
        Err(TxnError::ProducerIdAllocationFailed)
    } else {
        Ok(producer_id)
    }
}

fn check_transactional_id(transactional_id: &str) -> Result<(), TxnError> {
    if transactional_id.is_empty() {
        Err(TxnError::InvalidRequest {
            reason: "empty transactional id",
        })
    } else {
        Ok(())
    }
}

impl TransactionCoordinator {
    /// An empty coordinator.
    pub fn new(config: TxnConfig) -> Self {
        TransactionCoordinator {
            config,
            transactions: BTreeMap::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &TxnConfig {
        &self.config
    }

    /// The metadata of a transactional id, if known.
    pub fn transaction(&self, transactional_id: &str) -> Option<&TransactionMetadata> {
        self.transactions.get(transactional_id)
    }

    /// All known transactional ids, in order.
    pub fn transactional_ids(&self) -> impl Iterator<Item = &str> {
        self.transactions.keys().map(String::as_str)
    }

    /// The record that persists the current metadata of `transactional_id`.
    pub(crate) fn record_of(&self, metadata: &TransactionMetadata) -> TxnRecord {
        let version = self.config.transaction_version.log_value_version();
        TxnRecord {
            transactional_id: metadata.transactional_id.clone(),
            value: Some(TransactionLogValue::from_metadata(metadata, version)),
        }
    }

    /// InitProducerId with a transactional id: assigns the id's producer id and a bumped epoch,
    /// fencing every older incarnation of the producer.
    ///
    /// A transaction still Ongoing is aborted first: its epoch is bumped (fencing its producer),
    /// a PrepareAbort record and abort markers come out, and the answer is
    /// CONCURRENT_TRANSACTIONS so the producer retries once the abort completed, as Kafka does.
    /// An exhausted epoch moves the id to a new producer id from `allocate_producer_id` (which
    /// returns a negative id when it has none).
    pub fn init_producer_id(
        &mut self,
        req: InitProducerIdRequest,
        now_ms: i64,
        allocate_producer_id: &mut impl FnMut() -> i64,
    ) -> (Result<ProducerIdAndEpoch, TxnError>, TxnOutcome) {
        let mut out = TxnOutcome::default();
        let result = self.init_inner(req, now_ms, allocate_producer_id, &mut out);
        (result, out)
    }

    fn init_inner(
        &mut self,
        req: InitProducerIdRequest,
        now_ms: i64,
        allocate_producer_id: &mut impl FnMut() -> i64,
        out: &mut TxnOutcome,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        check_transactional_id(&req.transactional_id)?;
        if req.txn_timeout_ms <= 0 || req.txn_timeout_ms > self.config.transaction_max_timeout_ms {
            return Err(TxnError::InvalidTransactionTimeout {
                txn_timeout_ms: req.txn_timeout_ms,
            });
        }
        if !self.transactions.contains_key(&req.transactional_id) {
            let producer_id = allocate(allocate_producer_id)?;
            let metadata = TransactionMetadata::new(
                req.transactional_id.clone(),
                producer_id,
                req.txn_timeout_ms,
                now_ms,
            );
            self.transactions
                .insert(req.transactional_id.clone(), metadata);
        }
        let Some(mut metadata) = self.transactions.remove(&req.transactional_id) else {
            return Err(TxnError::TransactionalIdNotFound);
        };
        let result = self.init_in(&mut metadata, &req, now_ms, allocate_producer_id, out);
        self.transactions.insert(req.transactional_id, metadata);
        result
    }

    fn init_in(
        &self,
        metadata: &mut TransactionMetadata,
        req: &InitProducerIdRequest,
        now_ms: i64,
        allocate_producer_id: &mut impl FnMut() -> i64,
        out: &mut TxnOutcome,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        // KIP-360: a producer re-initialising names the id and epoch it has. It is the current
        // owner when the id matches (its epoch is judged below), when no epoch was ever handed
        // out, or when it retries across a producer id rotation it never heard about.
        if let Some(expected) = req.expected {
            let owner = metadata.producer_epoch == NO_PRODUCER_EPOCH
                || expected.producer_id == metadata.producer_id
                || (expected.producer_id == metadata.previous_producer_id
                    && is_epoch_exhausted(expected.producer_epoch));
            if !owner {
                return Err(TxnError::ProducerFenced);
            }
        }
        match metadata.state {
            TransactionState::PrepareCommit | TransactionState::PrepareAbort => {
                Err(TxnError::ConcurrentTransactions)
            }
            TransactionState::Ongoing => {
                self.fence_and_abort(metadata, now_ms, out);
                Err(TxnError::ConcurrentTransactions)
            }
            // Dead and PrepareEpochFence are never stored (see `TransactionState`); listing
            // them here keeps the match total without a panic path.
            TransactionState::Empty
            | TransactionState::CompleteCommit
            | TransactionState::CompleteAbort
            | TransactionState::Dead
            | TransactionState::PrepareEpochFence => {
                let expected_epoch = req.expected.map(|e| e.producer_epoch);
                let rotate = metadata.is_producer_epoch_exhausted()
                    && expected_epoch.is_none_or(|e| e == metadata.producer_epoch);
                let (producer_id, producer_epoch, last_producer_epoch) = if rotate {
                    let producer_id = allocate(allocate_producer_id)?;
                    let last = if req.expected.is_some() {
                        metadata.producer_epoch
                    } else {
                        NO_PRODUCER_EPOCH
                    };
                    (producer_id, 0, last)
                } else {
                    let bumped = metadata.producer_epoch.saturating_add(1);
                    match expected_epoch {
                        None => (metadata.producer_id, bumped, NO_PRODUCER_EPOCH),
                        Some(e)
                            if metadata.producer_epoch == NO_PRODUCER_EPOCH
                                || e == metadata.producer_epoch =>
                        {
                            (metadata.producer_id, bumped, metadata.producer_epoch)
                        }
                        // A retry of a call that succeeded: answer again without a bump. A new
                        // incarnation would have reset the last epoch to -1.
                        Some(e) if e == metadata.last_producer_epoch => (
                            metadata.producer_id,
                            metadata.producer_epoch,
                            metadata.last_producer_epoch,
                        ),
                        Some(_) => return Err(TxnError::ProducerFenced),
                    }
                };
                metadata.previous_producer_id = metadata.producer_id;
                metadata.producer_id = producer_id;
                metadata.next_producer_id = NO_PRODUCER_ID;
                metadata.producer_epoch = producer_epoch;
                metadata.last_producer_epoch = last_producer_epoch;
                metadata.txn_timeout_ms = req.txn_timeout_ms;
                metadata.state = TransactionState::Empty;
                metadata.partitions.clear();
                metadata.txn_start_timestamp_ms = -1;
                metadata.txn_last_update_timestamp_ms = now_ms;
                out.records.push(self.record_of(metadata));
                Ok(ProducerIdAndEpoch {
                    producer_id,
                    producer_epoch,
                })
            }
        }
    }

    /// Aborts the Ongoing transaction of `metadata` on the coordinator's own initiative (a newer
    /// producer, or the timeout): Ongoing → PrepareEpochFence → PrepareAbort with the epoch
    /// bumped once and the last epoch cleared, so the fenced producer can never pass for the
    /// owner. The abort is recorded without the KIP-890 per-transaction bump (as a
    /// pre-transactions-v2 end), so neither EndTxn retry rule can mistake the fenced producer
    /// for a client retrying its own EndTxn.
    pub(crate) fn fence_and_abort(
        &self,
        metadata: &mut TransactionMetadata,
        now_ms: i64,
        out: &mut TxnOutcome,
    ) {
        debug_assert!(metadata
            .state
            .can_transition_to(TransactionState::PrepareEpochFence));
        // Clients never hold i16::MAX (it is the reserve that makes this bump possible); a
        // replayed record could, and then the epoch stays where it is rather than wrap.
        metadata.producer_epoch = metadata.producer_epoch.saturating_add(1);
        metadata.last_producer_epoch = NO_PRODUCER_EPOCH;
        metadata.next_producer_id = NO_PRODUCER_ID;
        metadata.client_transaction_version = self
            .config
            .transaction_version
            .min(TransactionVersion::TV_1);
        self.prepare_end(metadata, TransactionResult::Abort, now_ms, out);
    }

    /// Ongoing (or PrepareEpochFence) → Prepare*: the record, then the markers. A transaction
    /// with no partition left completes at once.
    fn prepare_end(
        &self,
        metadata: &mut TransactionMetadata,
        result: TransactionResult,
        now_ms: i64,
        out: &mut TxnOutcome,
    ) {
        metadata.state = match result {
            TransactionResult::Commit => TransactionState::PrepareCommit,
            TransactionResult::Abort => TransactionState::PrepareAbort,
        };
        metadata.txn_last_update_timestamp_ms = now_ms;
        out.records.push(self.record_of(metadata));
        if metadata.partitions.is_empty() {
            self.complete(metadata, now_ms, out);
        } else {
            out.markers.push(markers_for(metadata));
        }
    }

    /// Prepare* → Complete*, once every partition has its marker. Under transactions v2 a
    /// producer id prepared by EndTxn (the epoch ran out) takes over here.
    pub(crate) fn complete(
        &self,
        metadata: &mut TransactionMetadata,
        now_ms: i64,
        out: &mut TxnOutcome,
    ) {
        metadata.state = match metadata.state {
            TransactionState::PrepareCommit => TransactionState::CompleteCommit,
            _ => TransactionState::CompleteAbort,
        };
        metadata.partitions.clear();
        metadata.txn_last_update_timestamp_ms = now_ms;
        if metadata.client_transaction_version.supports_epoch_bump() {
            metadata.last_producer_epoch = metadata.producer_epoch;
            if metadata.next_producer_id != NO_PRODUCER_ID {
                metadata.previous_producer_id = metadata.producer_id;
                metadata.producer_id = metadata.next_producer_id;
                metadata.producer_epoch = 0;
                metadata.next_producer_id = NO_PRODUCER_ID;
            }
        }
        out.records.push(self.record_of(metadata));
    }

    /// AddPartitionsToTxn v0–3: adds partitions to the producer's transaction, starting one if
    /// none is open.
    pub fn add_partitions(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
        now_ms: i64,
    ) -> (Result<(), TxnError>, TxnOutcome) {
        let mut out = TxnOutcome::default();
        let result = self.add_inner(
            transactional_id,
            producer_id,
            producer_epoch,
            partitions,
            now_ms,
            &mut out,
        );
        (result, out)
    }

    fn add_inner(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
        now_ms: i64,
        out: &mut TxnOutcome,
    ) -> Result<(), TxnError> {
        check_transactional_id(transactional_id)?;
        let metadata = self.owned(transactional_id, producer_id, producer_epoch)?;
        if metadata.state.is_preparing() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if !matches!(
            metadata.state,
            TransactionState::Empty
                | TransactionState::Ongoing
                | TransactionState::CompleteCommit
                | TransactionState::CompleteAbort
        ) {
            return Err(TxnError::InvalidTxnState);
        }
        // Nothing new (including an empty list): answer at once, without a record.
        let already_in = partitions.iter().all(|tp| metadata.partitions.contains(tp));
        if already_in && (metadata.state == TransactionState::Ongoing || partitions.is_empty()) {
            return Ok(());
        }
        if metadata.state != TransactionState::Ongoing {
            metadata.txn_start_timestamp_ms = now_ms;
        }
        metadata.state = TransactionState::Ongoing;
        metadata.partitions.extend(partitions.iter().cloned());
        metadata.txn_last_update_timestamp_ms = now_ms;
        let record = self.record_of(&self.transactions[transactional_id]);
        out.records.push(record);
        Ok(())
    }

    /// The metadata of `transactional_id` if `producer_id`/`producer_epoch` are its current
    /// owner's.
    fn owned(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<&mut TransactionMetadata, TxnError> {
        let metadata = self
            .transactions
            .get_mut(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        if metadata.producer_id != producer_id {
            Err(TxnError::InvalidProducerIdMapping)
        } else if metadata.producer_epoch != producer_epoch {
            Err(TxnError::ProducerFenced)
        } else {
            Ok(metadata)
        }
    }

    /// KIP-890 part 1 (AddPartitionsToTxn v4+ `verify_only`): whether each partition is already
    /// in the producer's transaction; one that is not gets TRANSACTION_ABORTABLE.
    pub fn verify_partitions(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Vec<(TopicPartition, Result<(), TxnError>)> {
        let all = |error: TxnError| {
            partitions
                .iter()
                .map(|tp| (tp.clone(), Err(error.clone())))
                .collect()
        };
        if let Err(error) = check_transactional_id(transactional_id) {
            return all(error);
        }
        let metadata = match self.owned(transactional_id, producer_id, producer_epoch) {
            Ok(metadata) => metadata,
            Err(error) => return all(error),
        };
        if metadata.state.is_preparing() {
            return all(TxnError::ConcurrentTransactions);
        }
        partitions
            .iter()
            .map(|tp| {
                let result = if metadata.partitions.contains(tp) {
                    Ok(())
                } else {
                    Err(TxnError::TransactionAbortable)
                };
                (tp.clone(), result)
            })
            .collect()
    }

    /// AddPartitionsToTxn v4+: a batch of transactions, each an add or a verification. An
    /// add's error applies to all of that transaction's partitions.
    pub fn add_partitions_batch(
        &mut self,
        transactions: Vec<AddPartitionsTxn>,
        now_ms: i64,
    ) -> (Vec<AddPartitionsTxnResult>, TxnOutcome) {
        let mut out = TxnOutcome::default();
        let mut results = Vec::with_capacity(transactions.len());
        for txn in transactions {
            let partitions = if txn.verify_only {
                self.verify_partitions(
                    &txn.transactional_id,
                    txn.producer_id,
                    txn.producer_epoch,
                    &txn.partitions,
                )
            } else {
                let (result, more) = self.add_partitions(
                    &txn.transactional_id,
                    txn.producer_id,
                    txn.producer_epoch,
                    &txn.partitions,
                    now_ms,
                );
                out.extend(more);
                txn.partitions
                    .iter()
                    .map(|tp| (tp.clone(), result.clone()))
                    .collect()
            };
            results.push(AddPartitionsTxnResult {
                transactional_id: txn.transactional_id,
                partitions,
            });
        }
        (results, out)
    }

    /// AddOffsetsToTxn: adds the group's `__consumer_offsets` partition, found by
    /// `offsets_partition_for(group_id)`, to the transaction.
    pub fn add_offsets(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
        offsets_partition_for: impl Fn(&str) -> i32,
        now_ms: i64,
    ) -> (Result<(), TxnError>, TxnOutcome) {
        let partition =
            TopicPartition::new(CONSUMER_OFFSETS_TOPIC, offsets_partition_for(group_id));
        self.add_partitions(
            transactional_id,
            producer_id,
            producer_epoch,
            &[partition],
            now_ms,
        )
    }

    /// EndTxn: commit or abort. On success the answer carries the producer id and epoch the
    /// producer continues with (bumped under transactions v2; EndTxn v5+ returns them), and the
    /// outcome the Prepare* record and the markers to write.
    pub fn end_txn(
        &mut self,
        req: EndTxnRequest,
        now_ms: i64,
        allocate_producer_id: &mut impl FnMut() -> i64,
    ) -> (Result<ProducerIdAndEpoch, TxnError>, TxnOutcome) {
        let mut out = TxnOutcome::default();
        let result = self.end_inner(&req, now_ms, allocate_producer_id, &mut out);
        (result, out)
    }

    fn end_inner(
        &mut self,
        req: &EndTxnRequest,
        now_ms: i64,
        allocate_producer_id: &mut impl FnMut() -> i64,
        out: &mut TxnOutcome,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        use TransactionState::*;
        check_transactional_id(&req.transactional_id)?;
        let Some(metadata) = self.transactions.get(&req.transactional_id) else {
            return Err(TxnError::InvalidProducerIdMapping);
        };
        let v2 = metadata.client_transaction_version.supports_epoch_bump();
        // Under v2 every EndTxn bumped the epoch, so a retried EndTxn carries the epoch just
        // below the stored one, or the last epoch of the producer id that ran out.
        let retry_on_bump =
            v2 && i32::from(metadata.producer_epoch) == i32::from(req.producer_epoch) + 1;
        let retry_on_overflow = v2
            && metadata.previous_producer_id == req.producer_id
            && req.producer_epoch == i16::MAX - 1
            && metadata.producer_epoch == 0;
        let valid_epoch = match metadata.state {
            _ if !v2 => req.producer_epoch == metadata.producer_epoch,
            PrepareCommit | PrepareAbort => retry_on_bump,
            CompleteCommit | CompleteAbort => retry_on_bump || retry_on_overflow,
            Ongoing | Empty | Dead | PrepareEpochFence => {
                req.producer_epoch == metadata.producer_epoch
            }
        };
        if metadata.producer_id != req.producer_id && !retry_on_overflow {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if !valid_epoch {
            return Err(TxnError::ProducerFenced);
        }
        let current = ProducerIdAndEpoch {
            producer_id: metadata.producer_id,
            producer_epoch: metadata.producer_epoch,
        };
        match (metadata.state, req.result) {
            (Ongoing, _) => {}
            (CompleteCommit, TransactionResult::Commit)
            | (CompleteAbort, TransactionResult::Abort) => return Ok(current),
            (PrepareCommit, TransactionResult::Commit)
            | (PrepareAbort, TransactionResult::Abort) => {
                return Err(TxnError::ConcurrentTransactions)
            }
            _ => return Err(TxnError::InvalidTxnState),
        }
        let bump = req.client_transaction_version.supports_epoch_bump();
        let next_producer_id = if bump && metadata.is_producer_epoch_exhausted() {
            allocate(allocate_producer_id)?
        } else {
            NO_PRODUCER_ID
        };
        let Some(mut metadata) = self.transactions.remove(&req.transactional_id) else {
            return Err(TxnError::InvalidProducerIdMapping);
        };
        if bump {
            metadata.last_producer_epoch = metadata.producer_epoch;
            metadata.producer_epoch = metadata.producer_epoch.saturating_add(1);
        }
        metadata.next_producer_id = next_producer_id;
        metadata.client_transaction_version = req.client_transaction_version;
        let answer = if next_producer_id != NO_PRODUCER_ID {
            ProducerIdAndEpoch {
                producer_id: next_producer_id,
                producer_epoch: 0,
            }
        } else {
            ProducerIdAndEpoch {
                producer_id: metadata.producer_id,
                producer_epoch: metadata.producer_epoch,
            }
        };
        self.prepare_end(&mut metadata, req.result, now_ms, out);
        self.transactions
            .insert(req.transactional_id.clone(), metadata);
        Ok(answer)
    }

    /// The broker wrote the markers of `partitions` (or found the partition deleted) for the
    /// transaction identified by the [`WriteMarkers`] it was given. When no partition is left,
    /// the transaction completes: the Complete* record comes out. Reports for another attempt
    /// (different producer id or epoch) or a finished transaction are stale and ignored.
    ///
    /// Progress between the Prepare* and Complete* records lives in memory only (as in Kafka):
    /// after a restart every partition of the Prepare* record gets its marker again, so the
    /// partition side must accept a repeated marker for a transaction it already ended.
    pub fn markers_written(
        &mut self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
        now_ms: i64,
    ) -> TxnOutcome {
        let mut out = TxnOutcome::default();
        let Some(mut metadata) = self.transactions.remove(transactional_id) else {
            return out;
        };
        if metadata.state.is_preparing()
            && metadata.producer_id == producer_id
            && metadata.producer_epoch == producer_epoch
        {
            let before = metadata.partitions.len();
            for tp in partitions {
                metadata.partitions.remove(tp);
            }
            if metadata.partitions.is_empty() && before > 0 {
                self.complete(&mut metadata, now_ms, &mut out);
            }
        }
        self.transactions
            .insert(transactional_id.to_string(), metadata);
        out
    }
}

/// The markers for a transaction in Prepare*.
pub(crate) fn markers_for(metadata: &TransactionMetadata) -> WriteMarkers {
    WriteMarkers {
        transactional_id: metadata.transactional_id.clone(),
        producer_id: metadata.producer_id,
        producer_epoch: metadata.producer_epoch,
        result: if metadata.state == TransactionState::PrepareCommit {
            TransactionResult::Commit
        } else {
            TransactionResult::Abort
        },
        transaction_version: metadata.client_transaction_version,
        partitions: metadata.partitions.iter().cloned().collect(),
    }
}
