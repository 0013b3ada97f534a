//! The control record a [`WriteMarkers`](crate::txn::WriteMarkers) outcome turns into on each
//! partition: Kafka's end-transaction marker. The partition side wraps it in a control batch
//! (attributes bit 5 set, the transaction bit 4 set, the producer id and epoch of the
//! `WriteMarkers`, one record); this module owns only the record's key and value bytes.
//!
//! Integers are big-endian.
//! - Key (`ControlRecordType`): `version int16 = 0, type int16` with type 0 = ABORT,
//!   1 = COMMIT. Other types (2 = LEADER_CHANGE, 3+ = KRaft snapshot records) are not markers.
//! - Value (`EndTransactionMarker`): `version int16 = 0, coordinator_epoch int32`. A reader
//!   accepts a higher version and reads its first six bytes as version 0, as Kafka does.
//!
//! The coordinator epoch is the leader epoch of the `__transaction_state` partition whose
//! coordinator wrote the marker: the partition side refuses a marker from an older coordinator
//! (TRANSACTION_COORDINATOR_FENCED).

use bytes::{BufMut, Bytes, BytesMut};

use crate::txn::error::TxnError;
use crate::txn::state::TransactionResult;

/// Control record type of an ABORT marker.
pub const CONTROL_TYPE_ABORT: i16 = 0;
/// Control record type of a COMMIT marker.
pub const CONTROL_TYPE_COMMIT: i16 = 1;

/// One end-transaction marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    /// Commit or abort.
    pub result: TransactionResult,
    /// Leader epoch of the coordinator's `__transaction_state` partition.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// The control record key.
    pub fn key_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(4);
        buf.put_i16(0);
        buf.put_i16(match self.result {
            TransactionResult::Abort => CONTROL_TYPE_ABORT,
            TransactionResult::Commit => CONTROL_TYPE_COMMIT,
        });
        buf.freeze()
    }

    /// The control record value.
    pub fn value_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(6);
        buf.put_i16(0);
        buf.put_i32(self.coordinator_epoch);
        buf.freeze()
    }

    /// Reads a marker back from a control record. A control record of another type is
    /// refused with [`TxnError::CorruptRecord`]; callers check the type first when a batch may
    /// hold other control records.
    pub fn decode(key: &[u8], value: &[u8]) -> Result<Self, TxnError> {
        let corrupt = |reason| TxnError::CorruptRecord { reason };
        let (Some(key_version), Some(control_type)) = (be_i16(key, 0), be_i16(key, 2)) else {
            return Err(corrupt("control record key shorter than 4 bytes"));
        };
        if key_version < 0 {
            return Err(TxnError::UnsupportedRecordVersion {
                version: key_version,
            });
        }
        let result = match control_type {
            CONTROL_TYPE_ABORT => TransactionResult::Abort,
            CONTROL_TYPE_COMMIT => TransactionResult::Commit,
            _ => return Err(corrupt("control record is not a transaction marker")),
        };
        let Some(value_version) = be_i16(value, 0) else {
            return Err(corrupt("marker value shorter than 6 bytes"));
        };
        if value_version < 0 {
            return Err(TxnError::UnsupportedRecordVersion {
                version: value_version,
            });
        }
        let coordinator_epoch = value
            .get(2..6)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(i32::from_be_bytes)
            .ok_or(corrupt("marker value shorter than 6 bytes"))?;
        Ok(EndTxnMarker {
            result,
            coordinator_epoch,
        })
    }
}

fn be_i16(bytes: &[u8], at: usize) -> Option<i16> {
    let raw = bytes.get(at..at + 2)?;
    Some(i16::from_be_bytes([raw[0], raw[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_kafkas_layout_and_round_trip() {
        let commit = EndTxnMarker {
            result: TransactionResult::Commit,
            coordinator_epoch: 5,
        };
        assert_eq!(&commit.key_bytes()[..], &[0, 0, 0, 1]);
        assert_eq!(&commit.value_bytes()[..], &[0, 0, 0, 0, 0, 5]);
        assert_eq!(
            EndTxnMarker::decode(&commit.key_bytes(), &commit.value_bytes()),
            Ok(commit)
        );
        let abort = EndTxnMarker {
            result: TransactionResult::Abort,
            coordinator_epoch: -1,
        };
        assert_eq!(&abort.key_bytes()[..], &[0, 0, 0, 0]);
        assert_eq!(
            EndTxnMarker::decode(&abort.key_bytes(), &abort.value_bytes()),
            Ok(abort)
        );
    }

    #[test]
    fn newer_value_versions_read_as_v0_and_bad_bytes_are_errors() {
        let newer = EndTxnMarker::decode(&[0, 0, 0, 1], &[0, 1, 0, 0, 0, 9, 0xff]);
        assert_eq!(newer.map(|m| m.coordinator_epoch), Ok(9));
        assert!(EndTxnMarker::decode(&[0, 0, 0], &[0, 0, 0, 0, 0, 5]).is_err());
        assert!(EndTxnMarker::decode(&[0, 0, 0, 2], &[0, 0, 0, 0, 0, 5]).is_err());
        assert!(EndTxnMarker::decode(&[0, 0, 0, 1], &[0, 0, 0, 0, 0]).is_err());
        assert!(EndTxnMarker::decode(&[0xff, 0xff, 0, 1], &[0, 0, 0, 0, 0, 5]).is_err());
        assert!(EndTxnMarker::decode(&[0, 0, 0, 1], &[0x80, 0, 0, 0, 0, 5]).is_err());
    }
}
