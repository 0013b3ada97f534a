//! The typed inputs and outputs of the transaction coordinator: its settings, decoded requests,
//! answers, and the side effects ([`TxnOutcome`]) the broker must carry out. Plain data.

use crate::txn::error::TxnError;
use crate::txn::record::TxnRecord;
use crate::txn::state::{TopicPartition, TransactionResult, TransactionVersion};

/// Broker settings the coordinator obeys, with Kafka's names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: the largest timeout a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: idle time after which a transactional id is forgotten.
    pub transactional_id_expiration_ms: i64,
    /// `transaction.state.log.num.partitions`.
    pub transaction_state_log_num_partitions: i32,
    /// The finalized `transaction.version` feature level: decides the `__transaction_state`
    /// value version written (0 → v0, 1+ → v1).
    pub transaction_version: TransactionVersion,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            transaction_state_log_num_partitions: 50,
            transaction_version: TransactionVersion::TV_2,
        }
    }
}

/// A producer id and epoch, as InitProducerId and EndTxn (v5+) return them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerIdAndEpoch {
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
}

/// An InitProducerId request with a transactional id, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// The transactional id (requests without one never reach this coordinator).
    pub transactional_id: String,
    /// The transaction timeout the producer wants.
    pub txn_timeout_ms: i32,
    /// KIP-360 (v3+): the id and epoch the producer has now, when it re-initialises after an
    /// error; `None` when the request carries -1/-1.
    pub expected: Option<ProducerIdAndEpoch>,
}

/// An EndTxn request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndTxnRequest {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Commit or abort.
    pub result: TransactionResult,
    /// The client's transaction version: TV_2 for EndTxn v5+ when the cluster enables it.
    pub client_transaction_version: TransactionVersion,
}

/// One transaction of an AddPartitionsToTxn request. v0–3 requests carry exactly one, with
/// `verify_only: false`; v4+ (broker to coordinator) may batch many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsTxn {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// KIP-890 part 1: only check that the partitions are in the transaction.
    pub verify_only: bool,
    /// The partitions.
    pub partitions: Vec<TopicPartition>,
}

/// The answer for one transaction of an AddPartitionsToTxn request: one result per partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsTxnResult {
    /// Transactional id.
    pub transactional_id: String,
    /// Per partition, in request order.
    pub partitions: Vec<(TopicPartition, Result<(), TxnError>)>,
}

/// Markers the broker must write: one control batch per partition, sent to each partition's
/// leader (WriteTxnMarkers), after this outcome's records are appended. Once a partition's
/// marker is written (or the partition no longer exists), the broker reports it through
/// `TransactionCoordinator::markers_written`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteMarkers {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id for the control batches.
    pub producer_id: i64,
    /// Producer epoch for the control batches.
    pub producer_epoch: i16,
    /// Commit or abort.
    pub result: TransactionResult,
    /// WriteTxnMarkers v2 `TransactionVersion`.
    pub transaction_version: TransactionVersion,
    /// The partitions, in order.
    pub partitions: Vec<TopicPartition>,
}

/// Side effects of one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnOutcome {
    /// Records for `__transaction_state`, in order. The broker appends them (acks=all) before
    /// it answers the request or writes any marker; if the append fails, the coordinator's
    /// state for that partition is stale and must be rebuilt by `replay` from the log.
    pub records: Vec<TxnRecord>,
    /// Markers to write once `records` are appended.
    pub markers: Vec<WriteMarkers>,
}

impl TxnOutcome {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.markers.is_empty()
    }

    pub(crate) fn extend(&mut self, other: TxnOutcome) {
        self.records.extend(other.records);
        self.markers.extend(other.markers);
    }
}

/// One transaction as DescribeTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    /// Transactional id.
    pub transactional_id: String,
    /// State name (`TransactionState::name`).
    pub transaction_state: String,
    /// Timeout.
    pub transaction_timeout_ms: i32,
    /// Start of the current transaction, -1 if none.
    pub transaction_start_time_ms: i64,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Partitions in the transaction (still awaiting markers while Prepare*).
    pub partitions: Vec<TopicPartition>,
}

/// ListTransactions filters; empty lists and a negative duration match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTransactionsFilter {
    /// State names to keep.
    pub state_filters: Vec<String>,
    /// Producer ids to keep.
    pub producer_id_filters: Vec<i64>,
    /// KIP-994: keep transactions running longer than this, -1 for no filter.
    pub duration_filter_ms: i64,
}

/// One ListTransactions entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionListing {
    /// Transactional id.
    pub transactional_id: String,
    /// Producer id.
    pub producer_id: i64,
    /// State name.
    pub transaction_state: String,
}

/// The ListTransactions answer of one coordinator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTransactionsResult {
    /// State filters that name no state, echoed back as Kafka does.
    pub unknown_state_filters: Vec<String>,
    /// Matching transactions, ordered by transactional id.
    pub transaction_states: Vec<TransactionListing>,
}
