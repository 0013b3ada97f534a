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

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
/// Kafka places transactional ids (and group ids) with it, so fjord must too: a client that
/// asks any broker for the coordinator and a Kafka-written log must agree on the partition.
pub fn java_string_hash_code(value: &str) -> i32 {
    value.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The `__transaction_state` partition that owns `transactional_id`:
/// `abs(hashCode(id)) % num_partitions`, where Kafka's `Utils.abs` maps `i32::MIN` to 0.
/// `num_partitions` (`transaction.state.log.num.partitions`) below 1 is treated as 1.
pub fn partition_for(transactional_id: &str, num_partitions: i32) -> i32 {
    let hash = java_string_hash_code(transactional_id);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % num_partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        // Values computed by the JVM's String.hashCode.
        assert_eq!(java_string_hash_code(""), 0);
        assert_eq!(java_string_hash_code("a"), 97);
        assert_eq!(java_string_hash_code("hello"), 99_162_322);
        assert_eq!(java_string_hash_code("polygenelubricants"), i32::MIN);
        // Outside the BMP: two UTF-16 units (0xD83D, 0xDE00).
        assert_eq!(java_string_hash_code("\u{1F600}"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn partition_for_uses_kafkas_abs() {
        assert_eq!(partition_for("polygenelubricants", 50), 0, "abs(MIN) is 0");
        assert_eq!(partition_for("hello", 50), 99_162_322 % 50);
        // "Aa" and "BB" collide in Java; a negative hash is folded by abs.
        assert_eq!(partition_for("Aa", 7), partition_for("BB", 7));
        let negative = "my-transactional-id-negative-hash-zz";
        let hash = java_string_hash_code(negative);
        assert_eq!(partition_for(negative, 50), hash.unsigned_abs() as i32 % 50);
        assert_eq!(partition_for("x", 0), 0);
    }
}
