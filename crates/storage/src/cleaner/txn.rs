//! What the cleaner tracks about transactions while it walks a log in offset order (the role
//! of Kafka's `CleanedTransactionMetadata`, KIP-98).
//!
//! Input: the aborted transactions of the walked range, from the partition's aborted
//! transaction index (`.txnindex`), each `(producer_id, first_offset, last_offset = ABORT
//! marker)`. The walk decides, batch by batch:
//!
//! * a transactional data batch is **aborted** when its producer has an aborted transaction
//!   whose first offset the walk has passed and whose ABORT marker it has not reached yet. Its
//!   records never count as "latest" for a key and are removed from the cleaned segment.
//! * an ABORT marker may be **discarded** when the walk met no data batch of its transaction
//!   (the data was cleaned away by earlier cleans); otherwise it stays, and its index entry is
//!   written again for the cleaned segment ([`TxnCleanState::retained_aborts`]).
//! * a COMMIT marker may be discarded when the walk met no data batch of its transaction.
//!
//! A discardable marker is not removed at once: like a tombstone it first gets a delete horizon
//! (`delete.retention.ms` after the clean that found it discardable) and goes at the first
//! clean after that, so a consumer that read the transaction's data before it was cleaned
//! still meets the marker.
//!
//! The walk must start at the log start: a transaction's data always precedes its marker, so
//! only a walk from the log start can tell that none of it is left.

use std::collections::{HashMap, HashSet};

use fjord_protocol::batch::BatchHeader;

use crate::transaction::{AbortedTxn, ControlRecordType, TxnMarker};

/// An aborted transaction the walk is inside of.
#[derive(Debug, Clone, Copy)]
struct OpenAbort {
    txn: AbortedTxn,
    /// Whether a data batch of it was met (then its marker and index entry stay).
    saw_data: bool,
}

/// The cleaner's transaction bookkeeping for one walk over the log.
#[derive(Debug, Clone, Default)]
pub(crate) struct TxnCleanState {
    /// Aborted transactions not reached yet, by descending first offset (the next is last).
    pending: Vec<AbortedTxn>,
    open_aborts: HashMap<i64, OpenAbort>,
    /// Producers with a committed (or not yet known to be aborted) transaction's data met.
    open_commits: HashSet<i64>,
    /// Entries whose ABORT marker was kept, in marker order: the cleaned segment's index.
    retained: Vec<AbortedTxn>,
}

impl TxnCleanState {
    pub(crate) fn new(mut aborted: Vec<AbortedTxn>) -> TxnCleanState {
        aborted.sort_by_key(|t| (t.first_offset, t.last_offset, t.producer_id));
        aborted.dedup_by_key(|t| (t.producer_id, t.last_offset));
        aborted.reverse();
        TxnCleanState {
            pending: aborted,
            ..TxnCleanState::default()
        }
    }

    /// Opens the aborted transactions that start at or before `offset`.
    fn reach(&mut self, offset: i64) {
        while self
            .pending
            .last()
            .is_some_and(|t| t.first_offset <= offset)
        {
            let Some(txn) = self.pending.pop() else {
                break;
            };
            self.open_aborts
                .entry(txn.producer_id)
                .or_insert(OpenAbort {
                    txn,
                    saw_data: false,
                });
        }
    }

    /// A data batch was met; true when it belongs to an aborted transaction.
    pub(crate) fn on_data_batch(&mut self, header: &BatchHeader) -> bool {
        self.reach(header.last_offset());
        if !header.is_transactional() {
            return false;
        }
        match self.open_aborts.get_mut(&header.producer_id) {
            Some(open) => {
                open.saw_data = true;
                true
            }
            None => {
                self.open_commits.insert(header.producer_id);
                false
            }
        }
    }

    /// A control batch was met (`marker` is `None` when it is not a readable end-transaction
    /// marker); true when the marker's transaction has no data left in the walked range.
    pub(crate) fn on_control_batch(
        &mut self,
        header: &BatchHeader,
        marker: Option<&TxnMarker>,
    ) -> bool {
        self.reach(header.last_offset());
        let Some(marker) = marker else {
            // An unknown control record type: keep it, as Kafka does.
            return false;
        };
        match marker.control_type {
            ControlRecordType::Abort => match self.open_aborts.remove(&header.producer_id) {
                Some(open) if open.saw_data => {
                    self.retained.push(open.txn);
                    false
                }
                _ => true,
            },
            ControlRecordType::Commit => !self.open_commits.remove(&header.producer_id),
        }
    }

    /// Index entries of the ABORT markers kept so far (the cleaned segments' `.txnindex`).
    pub(crate) fn retained_aborts(&self) -> &[AbortedTxn] {
        &self.retained
    }

    /// Forgets the retained entries (they went to a cleaned group's index).
    pub(crate) fn clear_retained(&mut self) {
        self.retained.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use fjord_protocol::batch::validate;
    use fjord_protocol::testing::{encode_batch, TestProducer, TestRecord};
    use kafka_protocol::records::Compression as Codec;

    fn data(producer_id: i64, base: i64, transactional: bool) -> BatchHeader {
        let producer = TestProducer {
            producer_id,
            producer_epoch: 0,
            base_sequence: 0,
        };
        let mut bytes = encode_batch(
            vec![TestRecord::keyed("k", "v", 1)],
            Some(producer),
            Codec::None,
        )
        .to_vec();
        fjord_protocol::batch::set_base_offset(&mut bytes, base);
        if transactional {
            // attributes (bytes 21..23, big-endian) bit 4
            bytes[22] |= 0x10;
            let crc = fjord_protocol::batch::compute_crc(&bytes);
            bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        validate(&bytes).unwrap()
    }

    fn marker(producer_id: i64, offset: i64, commit: bool) -> (BatchHeader, TxnMarker) {
        let control_type = if commit {
            ControlRecordType::Commit
        } else {
            ControlRecordType::Abort
        };
        let m = TxnMarker {
            control_type,
            coordinator_epoch: 0,
        };
        let bytes = Bytes::from(m.encode_batch(producer_id, 0, 0, offset).to_vec());
        let header = validate(&bytes).unwrap();
        let parsed = TxnMarker::from_batch(&header, &bytes).unwrap();
        (header, parsed)
    }

    fn abort(producer_id: i64, first_offset: i64, last_offset: i64) -> AbortedTxn {
        AbortedTxn {
            producer_id,
            first_offset,
            last_offset,
            last_stable_offset: last_offset + 1,
        }
    }

    #[test]
    fn aborted_data_is_recognised_and_its_marker_kept_with_its_entry() {
        let mut state = TxnCleanState::new(vec![abort(7, 1, 3)]);
        assert!(!state.on_data_batch(&data(7, 0, false)), "idempotent only");
        assert!(state.on_data_batch(&data(7, 1, true)));
        assert!(!state.on_data_batch(&data(8, 2, true)), "another producer");
        let (h, m) = marker(7, 3, false);
        assert!(!state.on_control_batch(&h, Some(&m)), "data was met");
        assert_eq!(state.retained_aborts(), &[abort(7, 1, 3)]);
        assert!(
            !state.on_data_batch(&data(7, 4, true)),
            "the next transaction"
        );
        let (h, m) = marker(7, 5, true);
        assert!(!state.on_control_batch(&h, Some(&m)), "commit with data");
        let (h, m) = marker(8, 6, true);
        assert!(!state.on_control_batch(&h, Some(&m)));
    }

    #[test]
    fn markers_without_data_are_discardable() {
        let mut state = TxnCleanState::new(vec![abort(7, 1, 3)]);
        let (h, m) = marker(7, 3, false);
        assert!(state.on_control_batch(&h, Some(&m)));
        assert!(state.retained_aborts().is_empty());
        let (h, m) = marker(9, 4, true);
        assert!(state.on_control_batch(&h, Some(&m)));
        assert!(!state.on_control_batch(&h, None), "unknown control kept");
    }
}
