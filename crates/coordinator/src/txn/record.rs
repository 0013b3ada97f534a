//! The records the transaction coordinator writes to `__transaction_state`, in Kafka's layout
//! (`TransactionLogKey` / `TransactionLogValue`), so a log written by fjord reads like Kafka's.
//!
//! Integers are big-endian. `string` = int16 length + UTF-8; an array = int32 count (-1 = null);
//! `uvarint` = unsigned LEB128; `compact string` = uvarint (length + 1) + UTF-8; `compact
//! array` = uvarint (count + 1), 0 = null; `tagged fields` = uvarint count, then per field
//! uvarint tag, uvarint size, data.
//!
//! Key, version 0 (the only one): `version int16 = 0, transactional_id string`.
//!
//! Value (absent = tombstone: the transactional id expired):
//! - v0: `version int16 = 0, producer_id int64, producer_epoch int16, txn_timeout_ms int32,
//!   transaction_status int8, partitions array (null when Empty) of { topic string,
//!   partition_ids array of int32 }, txn_last_update_timestamp_ms int64,
//!   txn_start_timestamp_ms int64`.
//! - v1 (flexible): the same fields in the same order, with compact strings and arrays and an
//!   empty tagged-field section after each partitions entry, then the value's tagged fields:
//!   tag 0 previous_producer_id int64 (default -1), tag 1 next_producer_id int64 (default -1),
//!   tag 2 client_transaction_version int16 (default 0). A tag is written only when its value
//!   differs from the default, as Kafka does; unknown tags are skipped on read.
//!
//! `transaction_status` is [`TransactionState::id`]. Partitions are grouped by topic.

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use crate::txn::error::TxnError;
use crate::txn::state::{
    TopicPartition, TransactionMetadata, TransactionState, TransactionVersion, NO_PRODUCER_ID,
};

/// A `TransactionLogValue`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionLogValue {
    /// The value version: 0, or 1 (flexible).
    pub version: i16,
    /// Producer id.
    pub producer_id: i64,
    /// v1 tag 0.
    pub previous_producer_id: i64,
    /// v1 tag 1.
    pub next_producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Transaction timeout.
    pub txn_timeout_ms: i32,
    /// State.
    pub state: TransactionState,
    /// Partitions (empty for Empty and Complete*).
    pub partitions: BTreeSet<TopicPartition>,
    /// Last update time.
    pub txn_last_update_timestamp_ms: i64,
    /// Transaction start time, -1 if none.
    pub txn_start_timestamp_ms: i64,
    /// v1 tag 2.
    pub client_transaction_version: TransactionVersion,
}

impl TransactionLogValue {
    /// The value that persists `metadata`, at `version`.
    pub fn from_metadata(metadata: &TransactionMetadata, version: i16) -> Self {
        TransactionLogValue {
            version,
            producer_id: metadata.producer_id,
            previous_producer_id: metadata.previous_producer_id,
            next_producer_id: metadata.next_producer_id,
            producer_epoch: metadata.producer_epoch,
            txn_timeout_ms: metadata.txn_timeout_ms,
            state: metadata.state,
            partitions: metadata.partitions.clone(),
            txn_last_update_timestamp_ms: metadata.txn_last_update_timestamp_ms,
            txn_start_timestamp_ms: metadata.txn_start_timestamp_ms,
            client_transaction_version: metadata.client_transaction_version,
        }
    }
}

/// One `__transaction_state` record. `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnRecord {
    /// The key.
    pub transactional_id: String,
    /// The value, or `None` when the transactional id expired.
    pub value: Option<TransactionLogValue>,
}

const KEY_VERSION: i16 = 0;

fn put_string(buf: &mut BytesMut, value: &str) {
    // Transactional ids and topic names are bounded far below i16::MAX by the request decoder.
    let len = i16::try_from(value.len()).unwrap_or(i16::MAX);
    buf.put_i16(len);
    buf.put_slice(&value.as_bytes()[..len as usize]);
}

fn put_uvarint(buf: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

fn put_compact_string(buf: &mut BytesMut, value: &str) {
    put_uvarint(buf, value.len() as u64 + 1);
    buf.put_slice(value.as_bytes());
}

/// Partitions grouped by topic, in topic order.
fn by_topic(partitions: &BTreeSet<TopicPartition>) -> Vec<(&str, Vec<i32>)> {
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for tp in partitions {
        match topics.last_mut() {
            Some((topic, ids)) if *topic == tp.topic => ids.push(tp.partition),
            _ => topics.push((&tp.topic, vec![tp.partition])),
        }
    }
    topics
}

fn count_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

impl TxnRecord {
    /// The record key bytes.
    pub fn key_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(4 + self.transactional_id.len());
        buf.put_i16(KEY_VERSION);
        put_string(&mut buf, &self.transactional_id);
        buf.freeze()
    }

    /// The record value bytes; `None` for a tombstone.
    pub fn value_bytes(&self) -> Option<Bytes> {
        let value = self.value.as_ref()?;
        let flexible = value.version >= 1;
        let mut buf = BytesMut::new();
        buf.put_i16(if flexible { 1 } else { 0 });
        buf.put_i64(value.producer_id);
        buf.put_i16(value.producer_epoch);
        buf.put_i32(value.txn_timeout_ms);
        buf.put_i8(value.state.id());
        // Kafka writes a null partition list for Empty and an array (maybe empty) otherwise.
        let topics = (value.state != TransactionState::Empty).then(|| by_topic(&value.partitions));
        match (&topics, flexible) {
            (None, false) => buf.put_i32(-1),
            (None, true) => put_uvarint(&mut buf, 0),
            (Some(topics), false) => {
                buf.put_i32(count_i32(topics.len()));
                for (topic, ids) in topics {
                    put_string(&mut buf, topic);
                    buf.put_i32(count_i32(ids.len()));
                    ids.iter().for_each(|id| buf.put_i32(*id));
                }
            }
            (Some(topics), true) => {
                put_uvarint(&mut buf, topics.len() as u64 + 1);
                for (topic, ids) in topics {
                    put_compact_string(&mut buf, topic);
                    put_uvarint(&mut buf, ids.len() as u64 + 1);
                    ids.iter().for_each(|id| buf.put_i32(*id));
                    put_uvarint(&mut buf, 0);
                }
            }
        }
        buf.put_i64(value.txn_last_update_timestamp_ms);
        buf.put_i64(value.txn_start_timestamp_ms);
        if flexible {
            let mut tags: Vec<(u64, Vec<u8>)> = Vec::new();
            if value.previous_producer_id != NO_PRODUCER_ID {
                tags.push((0, value.previous_producer_id.to_be_bytes().to_vec()));
            }
            if value.next_producer_id != NO_PRODUCER_ID {
                tags.push((1, value.next_producer_id.to_be_bytes().to_vec()));
            }
            if value.client_transaction_version != TransactionVersion::TV_0 {
                tags.push((2, value.client_transaction_version.0.to_be_bytes().to_vec()));
            }
            put_uvarint(&mut buf, tags.len() as u64);
            for (tag, data) in tags {
                put_uvarint(&mut buf, tag);
                put_uvarint(&mut buf, data.len() as u64);
                buf.put_slice(&data);
            }
        }
        Some(buf.freeze())
    }

    /// Decodes a record read back from `__transaction_state`.
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, TxnError> {
        let mut r = Reader(key);
        let version = r.i16()?;
        if version != KEY_VERSION {
            return Err(TxnError::UnsupportedRecordVersion { version });
        }
        let transactional_id = r.string()?;
        let value = value.map(decode_value).transpose()?;
        Ok(TxnRecord {
            transactional_id,
            value,
        })
    }
}

fn decode_value(bytes: &[u8]) -> Result<TransactionLogValue, TxnError> {
    let mut r = Reader(bytes);
    let version = r.i16()?;
    if !(0..=1).contains(&version) {
        return Err(TxnError::UnsupportedRecordVersion { version });
    }
    let flexible = version == 1;
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let txn_timeout_ms = r.i32()?;
    let state = TransactionState::try_from(r.i8()?).map_err(|_| TxnError::CorruptRecord {
        reason: "unknown transaction status",
    })?;
    let mut partitions = BTreeSet::new();
    // Each count is checked against the bytes left before anything is allocated: a topic entry
    // takes at least 3 bytes, a partition id 4.
    if let Some(topic_count) = r.array_len(flexible, 3)? {
        for _ in 0..topic_count {
            let topic = if flexible {
                r.compact_string()?
            } else {
                r.string()?
            };
            let ids = r.array_len(flexible, 4)?.ok_or(TxnError::CorruptRecord {
                reason: "null partition list",
            })?;
            for _ in 0..ids {
                partitions.insert(TopicPartition::new(topic.clone(), r.i32()?));
            }
            if flexible {
                r.skip_tagged_fields()?;
            }
        }
    }
    let txn_last_update_timestamp_ms = r.i64()?;
    let txn_start_timestamp_ms = r.i64()?;
    let mut value = TransactionLogValue {
        version,
        producer_id,
        previous_producer_id: NO_PRODUCER_ID,
        next_producer_id: NO_PRODUCER_ID,
        producer_epoch,
        txn_timeout_ms,
        state,
        partitions,
        txn_last_update_timestamp_ms,
        txn_start_timestamp_ms,
        client_transaction_version: TransactionVersion::TV_0,
    };
    if flexible {
        let count = r.uvarint()?;
        for _ in 0..count {
            let tag = r.uvarint()?;
            let size = usize::try_from(r.uvarint()?).map_err(|_| TxnError::CorruptRecord {
                reason: "tagged field too large",
            })?;
            let mut data = Reader(r.take(size)?);
            match tag {
                0 => value.previous_producer_id = data.i64()?,
                1 => value.next_producer_id = data.i64()?,
                2 => value.client_transaction_version = TransactionVersion(data.i16()?),
                _ => {} // a field from a newer writer: skipped, as the schema allows.
            }
        }
    }
    Ok(value)
}

/// A bounds-checked big-endian reader.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], TxnError> {
        if self.0.len() < len {
            return Err(TxnError::CorruptRecord {
                reason: "truncated",
            });
        }
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TxnError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i8(&mut self) -> Result<i8, TxnError> {
        Ok(i8::from_be_bytes(self.array()?))
    }

    fn i16(&mut self) -> Result<i16, TxnError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, TxnError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, TxnError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn uvarint(&mut self) -> Result<u64, TxnError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.array::<1>()?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(TxnError::CorruptRecord {
            reason: "varint too long",
        })
    }

    fn utf8(raw: &[u8]) -> Result<String, TxnError> {
        String::from_utf8(raw.to_vec()).map_err(|_| TxnError::CorruptRecord {
            reason: "string is not UTF-8",
        })
    }

    fn string(&mut self) -> Result<String, TxnError> {
        let len = usize::try_from(self.i16()?).map_err(|_| TxnError::CorruptRecord {
            reason: "null in a non-nullable string",
        })?;
        Self::utf8(self.take(len)?)
    }

    fn compact_string(&mut self) -> Result<String, TxnError> {
        let len = self
            .uvarint()?
            .checked_sub(1)
            .ok_or(TxnError::CorruptRecord {
                reason: "null in a non-nullable string",
            })?;
        let len = usize::try_from(len).map_err(|_| TxnError::CorruptRecord {
            reason: "string too long",
        })?;
        Self::utf8(self.take(len)?)
    }

    /// An array length (`None` = null), refused when `min_entry_bytes` per entry cannot fit.
    fn array_len(
        &mut self,
        flexible: bool,
        min_entry_bytes: usize,
    ) -> Result<Option<usize>, TxnError> {
        let len = if flexible {
            match self.uvarint()?.checked_sub(1) {
                None => return Ok(None),
                Some(len) => usize::try_from(len).ok(),
            }
        } else {
            let len = self.i32()?;
            if len < 0 {
                return Ok(None);
            }
            usize::try_from(len).ok()
        };
        match len {
            Some(len) if len.saturating_mul(min_entry_bytes) <= self.0.len() => Ok(Some(len)),
            _ => Err(TxnError::CorruptRecord {
                reason: "array longer than the record",
            }),
        }
    }

    fn skip_tagged_fields(&mut self) -> Result<(), TxnError> {
        let count = self.uvarint()?;
        for _ in 0..count {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).map_err(|_| TxnError::CorruptRecord {
                reason: "tagged field too large",
            })?;
            self.take(size)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ongoing(version: i16) -> TxnRecord {
        TxnRecord {
            transactional_id: "t".into(),
            value: Some(TransactionLogValue {
                version,
                producer_id: 7,
                previous_producer_id: NO_PRODUCER_ID,
                next_producer_id: NO_PRODUCER_ID,
                producer_epoch: 3,
                txn_timeout_ms: 60_000,
                state: TransactionState::Ongoing,
                partitions: [TopicPartition::new("a", 1), TopicPartition::new("a", 0)]
                    .into_iter()
                    .collect(),
                txn_last_update_timestamp_ms: 20,
                txn_start_timestamp_ms: 10,
                client_transaction_version: TransactionVersion::TV_0,
            }),
        }
    }

    #[test]
    fn key_is_version_0_and_a_string() {
        assert_eq!(&ongoing(0).key_bytes()[..], &[0, 0, 0, 1, b't']);
    }

    #[test]
    fn value_v0_bytes_are_kafkas_layout() {
        let record = ongoing(0);
        let value = record.value_bytes().expect("value");
        let mut expected = vec![0, 0];
        expected.extend_from_slice(&7i64.to_be_bytes());
        expected.extend_from_slice(&[0, 3]);
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1);
        expected.extend_from_slice(&[0, 0, 0, 1, 0, 1, b'a', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
        expected.extend_from_slice(&20i64.to_be_bytes());
        expected.extend_from_slice(&10i64.to_be_bytes());
        assert_eq!(&value[..], &expected[..]);
        let decoded = TxnRecord::decode(&record.key_bytes(), Some(&value));
        assert_eq!(decoded, Ok(record));
    }

    #[test]
    fn value_v1_bytes_are_flexible_with_default_tags_omitted() {
        let record = ongoing(1);
        let value = record.value_bytes().expect("value");
        let mut expected = vec![0, 1];
        expected.extend_from_slice(&7i64.to_be_bytes());
        expected.extend_from_slice(&[0, 3]);
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1);
        // 1 topic, "a", 2 partitions, no tags.
        expected.extend_from_slice(&[2, 2, b'a', 3, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
        expected.extend_from_slice(&20i64.to_be_bytes());
        expected.extend_from_slice(&10i64.to_be_bytes());
        expected.push(0);
        assert_eq!(&value[..], &expected[..]);
        assert_eq!(
            TxnRecord::decode(&record.key_bytes(), Some(&value)),
            Ok(record)
        );
    }

    #[test]
    fn v1_tags_round_trip_and_empty_writes_null_partitions() {
        let mut record = ongoing(1);
        let value = record.value.as_mut().expect("value");
        value.state = TransactionState::Empty;
        value.partitions.clear();
        value.previous_producer_id = 5;
        value.next_producer_id = 9;
        value.client_transaction_version = TransactionVersion::TV_2;
        let bytes = record.value_bytes().expect("value");
        assert_eq!(bytes[17], 0, "null compact array");
        assert_eq!(
            TxnRecord::decode(&record.key_bytes(), Some(&bytes)),
            Ok(record)
        );
        let tombstone = TxnRecord {
            transactional_id: "t".into(),
            value: None,
        };
        assert_eq!(tombstone.value_bytes(), None);
        assert_eq!(
            TxnRecord::decode(&tombstone.key_bytes(), None),
            Ok(tombstone)
        );
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert!(TxnRecord::decode(&[0], None).is_err());
        assert_eq!(
            TxnRecord::decode(&[0, 1, 0, 0], None),
            Err(TxnError::UnsupportedRecordVersion { version: 1 })
        );
        let key = ongoing(0).key_bytes();
        let value = ongoing(0).value_bytes().expect("value");
        for cut in 0..value.len() {
            assert!(TxnRecord::decode(&key, Some(&value[..cut])).is_err());
        }
        // A topic count of 2^31-1 with nothing behind it must not allocate.
        let mut huge = value[..17].to_vec();
        huge.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(TxnRecord::decode(&key, Some(&huge)).is_err());
        let mut bad_state = value.to_vec();
        bad_state[16] = 9;
        assert!(TxnRecord::decode(&key, Some(&bad_state)).is_err());
    }
}
