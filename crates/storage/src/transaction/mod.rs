//! The partition side of transactions (KIP-98): what a partition log needs beyond
//! idempotence to serve `read_committed` consumers.
//!
//! * [`marker`] — the end-transaction control batch (COMMIT / ABORT) the coordinator has
//!   written to every partition of a transaction: building it and reading it back.
//! * [`index`] — the aborted-transaction index, one `<base_offset:020>.txnindex` file per
//!   segment, which Fetch consults so consumers can drop aborted records.
//!
//! Ongoing transactions themselves are producer state ([`crate::producer_state`]): a
//! transactional batch opens one at its first offset, a marker closes it. The first offset of
//! the oldest ongoing transaction bounds the last stable offset
//! (`LSO = min(first unstable offset, high watermark)`), which the broker computes because only
//! it knows the high watermark.

pub mod index;
pub mod marker;

pub use index::AbortedTxn;
pub use marker::{ControlRecordType, TxnMarker};

/// A transaction that a marker just closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedTxn {
    pub producer_id: i64,
    /// Offset of the transaction's first batch on this partition.
    pub first_offset: i64,
    /// Offset of the marker.
    pub last_offset: i64,
    pub is_aborted: bool,
}
