//! What the transaction coordinator knows about one transactional id: [`TransactionState`] with
//! its allowed transitions, and [`TransactionMetadata`], the in-memory twin of the latest
//! `__transaction_state` value for that id.

use std::collections::BTreeSet;
use std::fmt;

/// "No producer id", Kafka's `RecordBatch.NO_PRODUCER_ID`.
pub const NO_PRODUCER_ID: i64 = -1;
/// "No producer epoch", Kafka's `RecordBatch.NO_PRODUCER_EPOCH`.
pub const NO_PRODUCER_EPOCH: i16 = -1;

/// A partition of a user topic (or of `__consumer_offsets`) that takes part in a transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// How a transaction ends: the control record written to each of its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionResult {
    /// COMMIT marker (control type 1).
    Commit,
    /// ABORT marker (control type 0).
    Abort,
}

/// The `transaction.version` feature level a transaction runs under (KIP-890).
///
/// - 0: classic transactions (KIP-98), `__transaction_state` values v0.
/// - 1: values v1 (flexible, tagged fields); same protocol behaviour as 0.
/// - 2: "transactions v2": every EndTxn bumps the producer epoch, partitions join implicitly
///   through the produce path's verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TransactionVersion(pub i16);

impl TransactionVersion {
    /// Classic transactions.
    pub const TV_0: TransactionVersion = TransactionVersion(0);
    /// Flexible `__transaction_state` records.
    pub const TV_1: TransactionVersion = TransactionVersion(1);
    /// KIP-890 part 2: an epoch bump at every commit or abort.
    pub const TV_2: TransactionVersion = TransactionVersion(2);

    /// Whether EndTxn bumps the epoch (KIP-890 part 2).
    pub fn supports_epoch_bump(self) -> bool {
        self.0 >= 2
    }

    /// The `TransactionLogValue` version records are written with at this level.
    pub fn log_value_version(self) -> i16 {
        if self.0 >= 1 {
            1
        } else {
            0
        }
    }
}

/// The state of a transactional id, stored as a byte in `TransactionLogValue.TransactionStatus`.
///
/// Transitions (Kafka's `TransactionState`), each entered only from the states listed:
///
/// | state | id | entered from | left by |
/// |---|---|---|---|
/// | `Empty` | 0 | Empty, CompleteCommit, CompleteAbort (InitProducerId) | AddPartitions/AddOffsets → Ongoing |
/// | `Ongoing` | 1 | Empty, Ongoing, CompleteCommit, CompleteAbort (AddPartitions) | EndTxn → Prepare*, fence/timeout → PrepareEpochFence |
/// | `PrepareCommit` | 2 | Ongoing (EndTxn commit) | all markers written → CompleteCommit |
/// | `PrepareAbort` | 3 | Ongoing (EndTxn abort), PrepareEpochFence | all markers written → CompleteAbort |
/// | `CompleteCommit` | 4 | PrepareCommit | InitProducerId → Empty, AddPartitions → Ongoing, expiry → Dead |
/// | `CompleteAbort` | 5 | PrepareAbort | as CompleteCommit |
/// | `Dead` | 6 | Empty, CompleteCommit, CompleteAbort (id expired) | removed; a tombstone is written |
/// | `PrepareEpochFence` | 7 | Ongoing (InitProducerId or timeout while a transaction runs) | → PrepareAbort at once |
///
/// `PrepareEpochFence` and `Dead` are transient: this coordinator passes through them inside a
/// single call and never stores either (Kafka never persists them either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionState {
    /// No transaction in progress; the producer id and epoch are assigned.
    Empty,
    /// A transaction is open: partitions were added.
    Ongoing,
    /// Commit decided and logged; commit markers are being written.
    PrepareCommit,
    /// Abort decided and logged; abort markers are being written.
    PrepareAbort,
    /// All commit markers written.
    CompleteCommit,
    /// All abort markers written.
    CompleteAbort,
    /// The transactional id expired and is being removed.
    Dead,
    /// The epoch is being bumped to fence an older producer; the transaction will be aborted.
    PrepareEpochFence,
}

impl TransactionState {
    /// Every state, in id order.
    pub const ALL: [TransactionState; 8] = [
        TransactionState::Empty,
        TransactionState::Ongoing,
        TransactionState::PrepareCommit,
        TransactionState::PrepareAbort,
        TransactionState::CompleteCommit,
        TransactionState::CompleteAbort,
        TransactionState::Dead,
        TransactionState::PrepareEpochFence,
    ];

    /// The byte stored in `TransactionLogValue.TransactionStatus`.
    pub fn id(self) -> i8 {
        match self {
            TransactionState::Empty => 0,
            TransactionState::Ongoing => 1,
            TransactionState::PrepareCommit => 2,
            TransactionState::PrepareAbort => 3,
            TransactionState::CompleteCommit => 4,
            TransactionState::CompleteAbort => 5,
            TransactionState::Dead => 6,
            TransactionState::PrepareEpochFence => 7,
        }
    }

    /// The name DescribeTransactions / ListTransactions report (and accept as a filter).
    pub fn name(self) -> &'static str {
        match self {
            TransactionState::Empty => "Empty",
            TransactionState::Ongoing => "Ongoing",
            TransactionState::PrepareCommit => "PrepareCommit",
            TransactionState::PrepareAbort => "PrepareAbort",
            TransactionState::CompleteCommit => "CompleteCommit",
            TransactionState::CompleteAbort => "CompleteAbort",
            TransactionState::Dead => "Dead",
            TransactionState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The state with this name, as ListTransactions filters spell it.
    pub fn from_name(name: &str) -> Option<TransactionState> {
        TransactionState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The states a transition into `self` may start from (the table above).
    pub fn valid_previous_states(self) -> &'static [TransactionState] {
        use TransactionState::*;
        match self {
            Empty => &[Empty, CompleteCommit, CompleteAbort],
            Ongoing => &[Ongoing, Empty, CompleteCommit, CompleteAbort],
            PrepareCommit => &[Ongoing],
            PrepareAbort => &[Ongoing, PrepareEpochFence],
            CompleteCommit => &[PrepareCommit],
            CompleteAbort => &[PrepareAbort],
            Dead => &[Empty, CompleteCommit, CompleteAbort],
            PrepareEpochFence => &[Ongoing],
        }
    }

    /// Whether `self -> next` is an allowed transition.
    pub fn can_transition_to(self, next: TransactionState) -> bool {
        next.valid_previous_states().contains(&self)
    }

    /// Whether an idle transactional id in this state may expire
    /// (`transactional.id.expiration.ms`).
    pub fn is_expiration_allowed(self) -> bool {
        matches!(
            self,
            TransactionState::Empty
                | TransactionState::CompleteCommit
                | TransactionState::CompleteAbort
        )
    }

    /// Whether markers are being written (requests must wait: CONCURRENT_TRANSACTIONS).
    pub fn is_preparing(self) -> bool {
        matches!(
            self,
            TransactionState::PrepareCommit | TransactionState::PrepareAbort
        )
    }
}

impl TryFrom<i8> for TransactionState {
    type Error = i8;

    fn try_from(id: i8) -> Result<Self, i8> {
        TransactionState::ALL
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or(id)
    }
}

impl fmt::Display for TransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a producer epoch is used up: the coordinator keeps `i16::MAX` in reserve so it can
/// always fence the current producer with one more bump.
pub fn is_epoch_exhausted(producer_epoch: i16) -> bool {
    producer_epoch >= i16::MAX - 1
}

/// One transactional id's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionMetadata {
    /// The transactional id.
    pub transactional_id: String,
    /// Producer id in use.
    pub producer_id: i64,
    /// The producer id before the last rotation (KIP-360 retries), -1 if none.
    pub previous_producer_id: i64,
    /// KIP-890: the producer id that takes over once the current end-of-transaction completes,
    /// allocated when an epoch bump would exhaust the current one; -1 if none.
    pub next_producer_id: i64,
    /// Current epoch; -1 only before the first InitProducerId completes.
    pub producer_epoch: i16,
    /// The epoch before the last bump, to recognise a retried InitProducerId (KIP-360) or
    /// EndTxn; -1 when a new incarnation fenced the old one. Not persisted (Kafka neither).
    pub last_producer_epoch: i16,
    /// Transaction timeout the producer asked for.
    pub txn_timeout_ms: i32,
    /// Current state.
    pub state: TransactionState,
    /// Partitions in the transaction. While markers are written, the partitions still waiting
    /// for theirs.
    pub partitions: BTreeSet<TopicPartition>,
    /// When the first partition joined the current transaction, -1 if none.
    pub txn_start_timestamp_ms: i64,
    /// Last change; idle expiry counts from here.
    pub txn_last_update_timestamp_ms: i64,
    /// The `transaction.version` of the client's last EndTxn.
    pub client_transaction_version: TransactionVersion,
}

impl TransactionMetadata {
    /// A transactional id seen for the first time, before its first epoch is assigned.
    pub fn new(
        transactional_id: String,
        producer_id: i64,
        txn_timeout_ms: i32,
        now_ms: i64,
    ) -> Self {
        TransactionMetadata {
            transactional_id,
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            last_producer_epoch: NO_PRODUCER_EPOCH,
            txn_timeout_ms,
            state: TransactionState::Empty,
            partitions: BTreeSet::new(),
            txn_start_timestamp_ms: -1,
            txn_last_update_timestamp_ms: now_ms,
            client_transaction_version: TransactionVersion::TV_0,
        }
    }

    /// Whether the current epoch is used up (see [`is_epoch_exhausted`]).
    pub fn is_producer_epoch_exhausted(&self) -> bool {
        is_epoch_exhausted(self.producer_epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for state in TransactionState::ALL {
            assert_eq!(TransactionState::try_from(state.id()), Ok(state));
            assert_eq!(TransactionState::from_name(state.name()), Some(state));
        }
        assert_eq!(TransactionState::try_from(8), Err(8));
        assert_eq!(TransactionState::from_name("ongoing"), None);
    }

    #[test]
    fn transition_table_is_kafkas() {
        use TransactionState::*;
        assert!(Ongoing.can_transition_to(PrepareCommit));
        assert!(PrepareEpochFence.can_transition_to(PrepareAbort));
        assert!(!Empty.can_transition_to(PrepareCommit));
        assert!(!PrepareCommit.can_transition_to(CompleteAbort));
        assert!(!Ongoing.can_transition_to(Empty));
        assert!(CompleteAbort.can_transition_to(Dead));
        assert!(!Ongoing.can_transition_to(Dead));
    }
}
