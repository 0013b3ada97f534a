//! The transaction coordinator (KIP-98, KIP-360, KIP-588, KIP-664, KIP-890) as a pure state
//! machine over `__transaction_state` records: no tokio, no files, no clock.
//!
//! - [`state`]: [`TransactionState`] and its transitions, [`TransactionMetadata`].
//! - [`coordinator`]: [`TransactionCoordinator`] — InitProducerId, AddPartitionsToTxn (single,
//!   batched, verify-only), AddOffsetsToTxn, EndTxn and the marker round trip.
//! - [`admin`]: timeouts and expiry (`poll`), `replay` / `load_complete`, DescribeTransactions
//!   and ListTransactions.
//! - [`record`]: the `__transaction_state` key/value byte layout (Kafka's).
//! - The markers a [`WriteMarkers`] outcome asks for are encoded by the partition side
//!   (`fjord_storage::TxnMarker`), which also checks them against the producer's state.
//! - [`messages`]: settings, requests, answers and [`TxnOutcome`].
//! - [`error`]: [`TxnError`] and its mapping to Kafka error codes.
//!
//! Which coordinator owns a transactional id: [`partition_for`].

pub mod admin;
pub mod coordinator;
pub mod error;
pub mod messages;
pub mod record;
pub mod state;

pub use coordinator::{TransactionCoordinator, CONSUMER_OFFSETS_TOPIC};
pub use error::{TxnApi, TxnError};
pub use messages::{
    AddPartitionsTxn, AddPartitionsTxnResult, EndTxnRequest, InitProducerIdRequest,
    ListTransactionsFilter, ListTransactionsResult, ProducerIdAndEpoch, TransactionDescription,
    TransactionListing, TxnConfig, TxnOutcome, WriteMarkers,
};
pub use record::{TransactionLogValue, TxnRecord};
pub use state::{
    is_epoch_exhausted, TopicPartition, TransactionMetadata, TransactionResult, TransactionState,
    TransactionVersion, NO_PRODUCER_EPOCH, NO_PRODUCER_ID,
};

/// The `__transaction_state` topic.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

/// The `__transaction_state` partition that owns `transactional_id`
/// (`transaction.state.log.num.partitions` below 1 is treated as 1).
pub use crate::partitioner::partition_for;
