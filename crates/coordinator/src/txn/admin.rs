//! The transaction coordinator's timers, its rebuilding from `__transaction_state`, and the
//! admin views: `poll` (abort timed-out transactions, expire idle transactional ids), `replay`
//! and `load_complete` (a restart mid-commit finishes the commit), `describe` and `list`
//! (DescribeTransactions, ListTransactions).

use crate::txn::coordinator::{markers_for, TransactionCoordinator};
use crate::txn::error::TxnError;
use crate::txn::messages::{
    ListTransactionsFilter, ListTransactionsResult, TransactionDescription, TransactionListing,
    TxnOutcome, WriteMarkers,
};
use crate::txn::record::TxnRecord;
use crate::txn::state::{TransactionMetadata, TransactionState, NO_PRODUCER_EPOCH};

impl TransactionCoordinator {
    /// Timers, to call periodically (Kafka: every
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` and
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`).
    ///
    /// - An Ongoing transaction older than its timeout is aborted: the epoch is bumped (its
    ///   producer is fenced), a PrepareAbort record and abort markers come out.
    /// - A transactional id with no transaction in flight and no change for
    ///   `transactional.id.expiration.ms` is forgotten: a tombstone comes out.
    pub fn poll(&mut self, now_ms: i64) -> TxnOutcome {
        let mut out = TxnOutcome::default();
        let timed_out: Vec<String> = self
            .transactions
            .values()
            .filter(|m| {
                m.state == TransactionState::Ongoing
                    && m.txn_start_timestamp_ms
                        .saturating_add(i64::from(m.txn_timeout_ms))
                        < now_ms
            })
            .map(|m| m.transactional_id.clone())
            .collect();
        for transactional_id in timed_out {
            if let Some(mut metadata) = self.transactions.remove(&transactional_id) {
                self.fence_and_abort(&mut metadata, now_ms, &mut out);
                self.transactions.insert(transactional_id, metadata);
            }
        }
        let expiration_ms = self.config.transactional_id_expiration_ms;
        let expired: Vec<String> = self
            .transactions
            .values()
            .filter(|m| {
                m.state.is_expiration_allowed()
                    && m.txn_last_update_timestamp_ms <= now_ms.saturating_sub(expiration_ms)
            })
            .map(|m| m.transactional_id.clone())
            .collect();
        for transactional_id in expired {
            // Empty/Complete* → Dead → gone; Dead itself is never stored, only the tombstone.
            self.transactions.remove(&transactional_id);
            out.records.push(TxnRecord {
                transactional_id,
                value: None,
            });
        }
        out
    }

    /// Applies one record read back from `__transaction_state` (oldest first): the latest value
    /// of a transactional id replaces what was known, a tombstone removes it. Call
    /// [`TransactionCoordinator::load_complete`] once the partition is read to the end.
    pub fn replay(&mut self, record: &TxnRecord) {
        let Some(value) = &record.value else {
            self.transactions.remove(&record.transactional_id);
            return;
        };
        if value.state == TransactionState::Dead {
            self.transactions.remove(&record.transactional_id);
            return;
        }
        // Kafka never persists PrepareEpochFence; if one shows up, the abort it leads to is
        // what must happen.
        let state = match value.state {
            TransactionState::PrepareEpochFence => TransactionState::PrepareAbort,
            state => state,
        };
        let partitions = if state == TransactionState::Empty {
            Default::default()
        } else {
            value.partitions.clone()
        };
        let metadata = TransactionMetadata {
            transactional_id: record.transactional_id.clone(),
            producer_id: value.producer_id,
            previous_producer_id: value.previous_producer_id,
            next_producer_id: value.next_producer_id,
            producer_epoch: value.producer_epoch,
            // Not persisted: a retried InitProducerId across a coordinator move starts over.
            last_producer_epoch: NO_PRODUCER_EPOCH,
            txn_timeout_ms: value.txn_timeout_ms,
            state,
            partitions,
            txn_start_timestamp_ms: value.txn_start_timestamp_ms,
            txn_last_update_timestamp_ms: value.txn_last_update_timestamp_ms,
            client_transaction_version: value.client_transaction_version,
        };
        self.transactions
            .insert(record.transactional_id.clone(), metadata);
    }

    /// After `replay` of the whole partition: the markers of every transaction caught in
    /// PrepareCommit/PrepareAbort, so a coordinator that restarted (or moved) mid-commit
    /// finishes the commit. The markers cover every partition of the Prepare* record, including
    /// those written before the restart (progress is not logged). An Ongoing transaction keeps
    /// its start time and times out as before.
    pub fn load_complete(&mut self, now_ms: i64) -> TxnOutcome {
        let mut out = TxnOutcome::default();
        let preparing: Vec<String> = self
            .transactions
            .values()
            .filter(|m| m.state.is_preparing())
            .map(|m| m.transactional_id.clone())
            .collect();
        for transactional_id in preparing {
            let Some(mut metadata) = self.transactions.remove(&transactional_id) else {
                continue;
            };
            if metadata.partitions.is_empty() {
                // Every marker was written; only the Complete* record was missing.
                self.complete(&mut metadata, now_ms, &mut out);
            } else {
                out.markers.push(markers_for(&metadata));
            }
            self.transactions.insert(transactional_id, metadata);
        }
        out
    }

    /// The markers still owed, per transaction in Prepare*: the partitions not yet reported
    /// through `markers_written`. For a broker that must re-drive markers whose delivery
    /// failed (the partition leader moved, the request timed out) without a restart.
    pub fn pending_markers(&self) -> Vec<WriteMarkers> {
        self.transactions
            .values()
            .filter(|m| m.state.is_preparing() && !m.partitions.is_empty())
            .map(markers_for)
            .collect()
    }

    /// DescribeTransactions: one answer per requested id, in request order.
    pub fn describe(
        &self,
        transactional_ids: &[String],
    ) -> Vec<(String, Result<TransactionDescription, TxnError>)> {
        transactional_ids
            .iter()
            .map(|id| (id.clone(), self.describe_one(id)))
            .collect()
    }

    fn describe_one(&self, transactional_id: &str) -> Result<TransactionDescription, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest {
                reason: "empty transactional id",
            });
        }
        let metadata = self
            .transactions
            .get(transactional_id)
            .filter(|m| m.state != TransactionState::Dead)
            .ok_or(TxnError::TransactionalIdNotFound)?;
        Ok(TransactionDescription {
            transactional_id: metadata.transactional_id.clone(),
            transaction_state: metadata.state.name().to_string(),
            transaction_timeout_ms: metadata.txn_timeout_ms,
            transaction_start_time_ms: metadata.txn_start_timestamp_ms,
            producer_id: metadata.producer_id,
            producer_epoch: metadata.producer_epoch,
            partitions: metadata.partitions.iter().cloned().collect(),
        })
    }

    /// ListTransactions: the transactions matching every given filter.
    pub fn list(&self, filter: &ListTransactionsFilter, now_ms: i64) -> ListTransactionsResult {
        let mut result = ListTransactionsResult::default();
        let mut states = Vec::new();
        for name in &filter.state_filters {
            match TransactionState::from_name(name) {
                Some(state) => states.push(state),
                None => result.unknown_state_filters.push(name.clone()),
            }
        }
        for metadata in self.transactions.values() {
            let keep = metadata.state != TransactionState::Dead
                && (filter.producer_id_filters.is_empty()
                    || filter.producer_id_filters.contains(&metadata.producer_id))
                && (filter.state_filters.is_empty() || states.contains(&metadata.state))
                && (filter.duration_filter_ms < 0
                    || now_ms.saturating_sub(metadata.txn_start_timestamp_ms)
                        > filter.duration_filter_ms);
            if keep {
                result.transaction_states.push(TransactionListing {
                    transactional_id: metadata.transactional_id.clone(),
                    producer_id: metadata.producer_id,
                    transaction_state: metadata.state.name().to_string(),
                });
            }
        }
        result
    }
}
