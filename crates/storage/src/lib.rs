//! fjord-storage: the durable partition log, in Kafka's on-disk model.
//!
//! * [`PartitionLog`] — one partition: segments (`.log`, `.index`, `.timeindex`), appends with
//!   offset assignment, reads of whole batches, timestamp lookups, rolling, retention,
//!   truncation, recovery after an unclean stop, flushing, idempotent-producer state and the
//!   leader epoch cache.
//! * [`cleaner`] — log compaction for `cleanup.policy=compact` logs.
//! * [`LogManager`] — every partition of a node across its data directories (`log.dirs`),
//!   `meta.properties`, the clean-shutdown marker.
//!
//! Errors are [`LogError`]; [`LogError::error_code`] is the layer's only mapping to Kafka codes.

mod checkpoint;
pub mod cleaner;
mod config;
mod crashsafe;
mod error;
mod index;
mod leader_epoch;
mod log;
mod manager;
mod meta_properties;
pub mod producer_state;
mod scan;
mod segment;
#[doc(hidden)]
pub mod testing;
mod topic_partition;
pub mod transaction;

pub use cleaner::{CleanStats, CleanableState, CleanerConfig};
pub use config::{CleanupPolicy, LogConfig};
pub use error::{ConfigValueError, LogError};
pub use log::{
    AppendInfo, AppendOutcome, PartitionLog, ReadResult, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
    MAX_TIMESTAMP,
};
pub use manager::{LogManager, CLEAN_SHUTDOWN_MARKER};
pub use segment::TimestampOffset;
pub use topic_partition::TopicPartition;
pub use transaction::{AbortedTxn, ControlRecordType, TxnMarker};
