//! End-transaction markers: the control batch a partition holds where a transaction ended.
//!
//! A marker batch is a v2 record batch (big-endian, see `fjord_protocol::batch`) with
//! attributes `0x30` (bit 4 transactional, bit 5 control, no compression, CreateTime), the
//! producer id and epoch of the transaction, base sequence -1, and exactly one record
//! (varints are zigzag, as in every v2 record):
//!
//! ```text
//! length: varint (16) | attributes: i8 (0) | timestamp_delta: varlong (0) | offset_delta: varint (0)
//! key_length: varint (4)   | key:   version i16 (0), type i16 (0 = ABORT, 1 = COMMIT)
//! value_length: varint (6) | value: version i16 (0), coordinator_epoch i32
//! header_count: varint (0)
//! ```
//!
//! The batch is 78 bytes (`marker_bytes_match_the_documented_layout` pins it). This is the
//! only encoder of markers: the transaction coordinator says which markers to write and the
//! broker writes them through `PartitionLog::append_control_marker`.

use bytes::{BufMut, Bytes, BytesMut};
use fjord_protocol::batch::{self, BatchHeader, Compression, HEADER_LEN};

/// Attribute bits of a marker batch: transactional (bit 4) and control (bit 5).
const MARKER_ATTRIBUTES: i16 = 0x10 | 0x20;

/// Control record types (the key's second field). Other types (2 = LEADER_CHANGE, KRaft
/// snapshot records) are not transaction markers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRecordType {
    Abort,
    Commit,
}

impl ControlRecordType {
    fn code(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
        }
    }
}

/// One end-transaction marker as read from or written to a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnMarker {
    pub control_type: ControlRecordType,
    /// Leader epoch of the coordinator's `__transaction_state` partition.
    pub coordinator_epoch: i32,
}

impl TxnMarker {
    /// The marker as a complete control batch at `base_offset` (the log rewrites it anyway),
    /// CRC included.
    pub fn encode_batch(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        timestamp_ms: i64,
        base_offset: i64,
    ) -> Bytes {
        let mut record = BytesMut::with_capacity(17);
        record.put_u8(zigzag(16));
        record.put_i8(0); // attributes
        record.put_u8(0); // timestamp delta
        record.put_u8(0); // offset delta
        record.put_u8(zigzag(4));
        record.put_i16(0);
        record.put_i16(self.control_type.code());
        record.put_u8(zigzag(6));
        record.put_i16(0);
        record.put_i32(self.coordinator_epoch);
        record.put_u8(0); // header count

        let mut buf = BytesMut::with_capacity(HEADER_LEN + record.len());
        buf.put_i64(base_offset);
        buf.put_i32((HEADER_LEN + record.len() - batch::LOG_OVERHEAD) as i32);
        buf.put_i32(-1); // partition leader epoch, set by the log
        buf.put_i8(batch::MAGIC_V2);
        buf.put_u32(0); // crc, below
        buf.put_i16(MARKER_ATTRIBUTES);
        buf.put_i32(0); // last offset delta
        buf.put_i64(timestamp_ms);
        buf.put_i64(timestamp_ms);
        buf.put_i64(producer_id);
        buf.put_i16(producer_epoch);
        buf.put_i32(-1); // base sequence: markers carry none
        buf.put_i32(1);
        buf.extend_from_slice(&record);
        let crc = batch::compute_crc(&buf);
        buf[17..21].copy_from_slice(&crc.to_be_bytes());
        buf.freeze()
    }

    /// Reads the marker of a stored control batch (`bytes` is the whole batch). `None` for a
    /// batch that is not a control batch or whose control record is not a transaction marker
    /// (e.g. LEADER_CHANGE), and for malformed bytes: replay must never fail on them.
    pub fn from_batch(header: &BatchHeader, bytes: &Bytes) -> Option<TxnMarker> {
        if !header.is_control() || header.record_count < 1 {
            return None;
        }
        let records = if header.compression() == Compression::None {
            bytes.slice(HEADER_LEN.min(bytes.len())..)
        } else {
            crate::segment::records_section(bytes, header).ok()?
        };
        let mut r = Cursor(&records);
        let _length = r.varint()?;
        let _attributes = r.take(1)?;
        let _timestamp_delta = r.varint()?;
        let _offset_delta = r.varint()?;
        let key_length = usize::try_from(r.varint()?).ok()?;
        let key = r.take(key_length)?;
        let value_length = usize::try_from(r.varint()?).ok()?;
        let value = r.take(value_length)?;
        let control_type = match be_i16(key, 2)? {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            _ => return None,
        };
        // A newer value version keeps version 0's first fields, as Kafka reads it.
        let coordinator_epoch = i32::from_be_bytes(value.get(2..6)?.try_into().ok()?);
        Some(TxnMarker {
            control_type,
            coordinator_epoch,
        })
    }
}

fn zigzag(v: i32) -> u8 {
    // Only used for small constants (< 64), which fit one varint byte.
    ((v << 1) ^ (v >> 31)) as u8
}

fn be_i16(bytes: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    /// A zigzag varint (at most 10 bytes).
    fn varint(&mut self) -> Option<i64> {
        let mut raw: u64 = 0;
        for shift in (0..70).step_by(7) {
            let [byte] = *self.take(1)? else {
                return None;
            };
            raw |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_bytes_match_the_documented_layout() {
        let marker = TxnMarker {
            control_type: ControlRecordType::Commit,
            coordinator_epoch: 7,
        };
        let bytes = marker.encode_batch(42, 3, 1_000, 0);
        assert_eq!(bytes.len(), 78);
        let header = batch::validate_produced(&bytes).expect("a valid batch");
        assert!(header.is_control() && header.is_transactional());
        assert_eq!(
            (
                header.producer_id,
                header.producer_epoch,
                header.base_sequence
            ),
            (42, 3, -1)
        );
        // key version 0, type 1; value version 0, epoch 7
        assert_eq!(
            &bytes[HEADER_LEN..],
            &[32, 0, 0, 0, 8, 0, 0, 0, 1, 12, 0, 0, 0, 0, 0, 7, 0][..]
        );
        assert_eq!(TxnMarker::from_batch(&header, &bytes), Some(marker));
        let abort = TxnMarker {
            control_type: ControlRecordType::Abort,
            coordinator_epoch: -1,
        };
        let bytes = abort.encode_batch(1, 0, 0, 5);
        let header = batch::validate(&bytes).unwrap();
        assert_eq!(TxnMarker::from_batch(&header, &bytes), Some(abort));
    }

    #[test]
    fn non_marker_and_malformed_control_records_are_not_markers() {
        let marker = TxnMarker {
            control_type: ControlRecordType::Abort,
            coordinator_epoch: 1,
        };
        let bytes = marker.encode_batch(1, 0, 0, 0);
        let header = batch::validate(&bytes).unwrap();
        let mut leader_change = BytesMut::from(&bytes[..]);
        leader_change[HEADER_LEN + 8] = 2; // control type LEADER_CHANGE
        assert_eq!(
            TxnMarker::from_batch(&header, &leader_change.freeze()),
            None
        );
        assert_eq!(
            TxnMarker::from_batch(&header, &bytes.slice(..HEADER_LEN + 6)),
            None
        );
        let mut data = header;
        data.attributes = 0x10;
        assert_eq!(TxnMarker::from_batch(&data, &bytes), None);
    }
}
