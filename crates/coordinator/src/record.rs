//! The records the group coordinator writes to `__consumer_offsets`, in Kafka's own key/value
//! layout, so a log written by fjord reads like Kafka's and the other way round.
//!
//! All integers are big-endian. `string` = int16 length + UTF-8 bytes; `nullable string` uses
//! length -1 for null; `bytes` = int32 length + bytes; an array = int32 count + elements.
//!
//! Keys start with an int16 version that also tells the record type:
//! - 0 or 1 — offset commit: `group string, topic string, partition int32`. We write 1.
//! - 2 — group metadata: `group string`.
//! - 3 to 8 — KIP-848 consumer-group records, laid out in [`crate::consumer_group::record`].
//!
//! Values start with an int16 version. A null value (no bytes at all) is a tombstone: the offset
//! was deleted, or the group was removed.
//! - OffsetCommitValue (we write v3, or v1 when an expire timestamp must be kept): `offset int64, [v3+] leader_epoch int32, metadata string,
//!   commit_timestamp int64, [v1 only] expire_timestamp int64`.
//! - GroupMetadataValue (we write v3): `protocol_type string, generation int32, protocol
//!   nullable string, leader nullable string, [v2+] current_state_timestamp int64, members
//!   array of { member_id string, [v3+] group_instance_id nullable string, client_id string,
//!   client_host string, [v1+] rebalance_timeout int32, session_timeout int32, subscription
//!   bytes, assignment bytes }`.
//!
//! Version 4 of both values is flexible (compact encodings, tagged fields) and is refused with
//! [`GroupError::UnsupportedRecordVersion`] until we write it ourselves.

use bytes::{BufMut, Bytes, BytesMut};

use crate::consumer_group::ConsumerGroupRecord;
use crate::error::GroupError;

/// The committed position of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitValue {
    /// Next offset to consume.
    pub offset: i64,
    /// Leader epoch of the committed record, -1 if unknown.
    pub leader_epoch: i32,
    /// Client-supplied metadata string, returned verbatim by OffsetFetch.
    pub metadata: String,
    /// When the commit was accepted.
    pub commit_timestamp_ms: i64,
    /// The explicit expiry of OffsetCommit v1 (value version 1 only); when present it wins
    /// over `offsets.retention.minutes`. Kafka 4.x no longer accepts v1 requests, so only
    /// records written by old brokers carry one.
    pub expire_timestamp_ms: Option<i64>,
}

/// A member as stored in a group metadata record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    /// The member id.
    pub member_id: String,
    /// Static membership id.
    pub group_instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// The member's metadata for the selected protocol.
    pub subscription: Bytes,
    /// The member's assignment.
    pub assignment: Bytes,
}

/// A group's generation, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMetadataValue {
    /// Protocol type; empty when the group has none.
    pub protocol_type: String,
    /// Generation id.
    pub generation_id: i32,
    /// Selected protocol.
    pub protocol_name: Option<String>,
    /// Leader's member id.
    pub leader: Option<String>,
    /// When the group entered its current state (-1 if unknown).
    pub current_state_timestamp_ms: i64,
    /// Members of the generation.
    pub members: Vec<MemberMetadata>,
}

/// One `__consumer_offsets` record. `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoordinatorRecord {
    /// A committed offset (or its deletion).
    OffsetCommit {
        /// Group id.
        group_id: String,
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The offset, or `None` when deleted.
        value: Option<OffsetCommitValue>,
    },
    /// A group's generation (or its removal).
    GroupMetadata {
        /// Group id.
        group_id: String,
        /// The generation, or `None` when the group was removed.
        value: Option<GroupMetadataValue>,
    },
    /// A KIP-848 consumer-group record (key types 3 to 8).
    ConsumerGroup(ConsumerGroupRecord),
}

const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
const GROUP_METADATA_KEY_VERSION: i16 = 2;
const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
const GROUP_METADATA_VALUE_VERSION: i16 = 3;

fn put_string(buf: &mut BytesMut, value: &str) {
    // Kafka strings are at most i16::MAX bytes; our inputs are group ids, topics and metadata
    // strings already bounded by the request decoder and `offset.metadata.max.bytes`.
    let len = i16::try_from(value.len()).unwrap_or(i16::MAX);
    buf.put_i16(len);
    buf.put_slice(&value.as_bytes()[..len as usize]);
}

fn put_nullable_string(buf: &mut BytesMut, value: Option<&str>) {
    match value {
        Some(value) => put_string(buf, value),
        None => buf.put_i16(-1),
    }
}

fn put_bytes(buf: &mut BytesMut, value: &Bytes) {
    // Opaque assignments are written whole, never cut: a Kafka request cannot carry more.
    buf.put_i32(i32::try_from(value.len()).unwrap_or(i32::MAX));
    buf.put_slice(value);
}

impl CoordinatorRecord {
    /// The group this record belongs to.
    pub fn group_id(&self) -> &str {
        match self {
            CoordinatorRecord::OffsetCommit { group_id, .. }
            | CoordinatorRecord::GroupMetadata { group_id, .. } => group_id,
            CoordinatorRecord::ConsumerGroup(record) => record.group_id(),
        }
    }

    /// The record key bytes.
    pub fn key_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self {
            CoordinatorRecord::OffsetCommit {
                group_id,
                topic,
                partition,
                ..
            } => {
                buf.put_i16(OFFSET_COMMIT_KEY_VERSION);
                put_string(&mut buf, group_id);
                put_string(&mut buf, topic);
                buf.put_i32(*partition);
            }
            CoordinatorRecord::GroupMetadata { group_id, .. } => {
                buf.put_i16(GROUP_METADATA_KEY_VERSION);
                put_string(&mut buf, group_id);
            }
            CoordinatorRecord::ConsumerGroup(record) => return record.key_bytes(),
        }
        buf.freeze()
    }

    /// The record value bytes; `None` for a tombstone.
    pub fn value_bytes(&self) -> Option<Bytes> {
        let mut buf = BytesMut::new();
        match self {
            CoordinatorRecord::OffsetCommit { value, .. } => {
                let value = value.as_ref()?;
                if let Some(expire_timestamp_ms) = value.expire_timestamp_ms {
                    // Only v1 has room for the expiry (and none for the leader epoch).
                    buf.put_i16(1);
                    buf.put_i64(value.offset);
                    put_string(&mut buf, &value.metadata);
                    buf.put_i64(value.commit_timestamp_ms);
                    buf.put_i64(expire_timestamp_ms);
                    return Some(buf.freeze());
                }
                buf.put_i16(OFFSET_COMMIT_VALUE_VERSION);
                buf.put_i64(value.offset);
                buf.put_i32(value.leader_epoch);
                put_string(&mut buf, &value.metadata);
                buf.put_i64(value.commit_timestamp_ms);
            }
            CoordinatorRecord::GroupMetadata { value, .. } => {
                let value = value.as_ref()?;
                buf.put_i16(GROUP_METADATA_VALUE_VERSION);
                put_string(&mut buf, &value.protocol_type);
                buf.put_i32(value.generation_id);
                put_nullable_string(&mut buf, value.protocol_name.as_deref());
                put_nullable_string(&mut buf, value.leader.as_deref());
                buf.put_i64(value.current_state_timestamp_ms);
                buf.put_i32(i32::try_from(value.members.len()).unwrap_or(i32::MAX));
                for member in &value.members {
                    put_string(&mut buf, &member.member_id);
                    put_nullable_string(&mut buf, member.group_instance_id.as_deref());
                    put_string(&mut buf, &member.client_id);
                    put_string(&mut buf, &member.client_host);
                    buf.put_i32(member.rebalance_timeout_ms);
                    buf.put_i32(member.session_timeout_ms);
                    put_bytes(&mut buf, &member.subscription);
                    put_bytes(&mut buf, &member.assignment);
                }
            }
            CoordinatorRecord::ConsumerGroup(record) => return record.value_bytes(),
        }
        Some(buf.freeze())
    }

    /// Decodes a record read back from `__consumer_offsets`.
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Self, GroupError> {
        let mut key = Reader(key);
        match key.i16()? {
            0 | 1 => {
                let group_id = key.string()?;
                let topic = key.string()?;
                let partition = key.i32()?;
                let value = value.map(decode_offset_commit_value).transpose()?;
                Ok(CoordinatorRecord::OffsetCommit {
                    group_id,
                    topic,
                    partition,
                    value,
                })
            }
            2 => {
                let group_id = key.string()?;
                let value = value.map(decode_group_metadata_value).transpose()?;
                Ok(CoordinatorRecord::GroupMetadata { group_id, value })
            }
            record_type @ 3..=8 => {
                ConsumerGroupRecord::decode(record_type, key.0, value).map(Self::ConsumerGroup)
            }
            version => Err(GroupError::UnsupportedRecordVersion { version }),
        }
    }
}

fn decode_offset_commit_value(bytes: &[u8]) -> Result<OffsetCommitValue, GroupError> {
    let mut r = Reader(bytes);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(GroupError::UnsupportedRecordVersion { version });
    }
    let offset = r.i64()?;
    let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
    let metadata = r.string()?;
    let commit_timestamp_ms = r.i64()?;
    // v1's expire_timestamp; -1 means "use the broker's retention", as in Kafka.
    let expire_timestamp_ms = if version == 1 {
        Some(r.i64()?).filter(|ts| *ts >= 0)
    } else {
        None
    };
    Ok(OffsetCommitValue {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp_ms,
        expire_timestamp_ms,
    })
}

fn decode_group_metadata_value(bytes: &[u8]) -> Result<GroupMetadataValue, GroupError> {
    let mut r = Reader(bytes);
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(GroupError::UnsupportedRecordVersion { version });
    }
    let protocol_type = r.string()?;
    let generation_id = r.i32()?;
    let protocol_name = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp_ms = if version >= 2 { r.i64()? } else { -1 };
    let count = r.i32()?;
    // Never trust a declared count for allocation: each member takes at least 24 bytes.
    let count = usize::try_from(count).map_err(|_| GroupError::CorruptRecord {
        reason: "negative member count",
    })?;
    let mut members = Vec::with_capacity(count.min(r.0.len() / 24));
    for _ in 0..count {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let session_or_rebalance = r.i32()?;
        let (rebalance_timeout_ms, session_timeout_ms) = if version >= 1 {
            (session_or_rebalance, r.i32()?)
        } else {
            // v0 had no rebalance timeout; Kafka used the session timeout in its place.
            (session_or_rebalance, session_or_rebalance)
        };
        members.push(MemberMetadata {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription: r.bytes()?,
            assignment: r.bytes()?,
        });
    }
    Ok(GroupMetadataValue {
        protocol_type,
        generation_id,
        protocol_name,
        leader,
        current_state_timestamp_ms,
        members,
    })
}

/// A bounds-checked big-endian reader.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], GroupError> {
        if self.0.len() < len {
            return Err(GroupError::CorruptRecord {
                reason: "truncated",
            });
        }
        let (head, tail) = self.0.split_at(len);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GroupError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, GroupError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, GroupError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, GroupError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn nullable_string(&mut self) -> Result<Option<String>, GroupError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| GroupError::CorruptRecord {
                reason: "string is not UTF-8",
            })
    }

    fn string(&mut self) -> Result<String, GroupError> {
        self.nullable_string()?.ok_or(GroupError::CorruptRecord {
            reason: "null in a non-nullable string",
        })
    }

    fn bytes(&mut self) -> Result<Bytes, GroupError> {
        let len = usize::try_from(self.i32()?).map_err(|_| GroupError::CorruptRecord {
            reason: "negative bytes length",
        })?;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_commit_bytes_are_kafkas_layout() {
        let record = CoordinatorRecord::OffsetCommit {
            group_id: "g".into(),
            topic: "t".into(),
            partition: 2,
            value: Some(OffsetCommitValue {
                offset: 5,
                leader_epoch: 7,
                metadata: "m".into(),
                commit_timestamp_ms: 9,
                expire_timestamp_ms: None,
            }),
        };
        let key = record.key_bytes();
        assert_eq!(&key[..], &[0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 2]);
        let value = record.value_bytes().expect("not a tombstone");
        let mut expected = vec![0, 3, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 7, 0, 1, b'm'];
        expected.extend_from_slice(&9i64.to_be_bytes());
        assert_eq!(&value[..], &expected[..]);
        assert_eq!(CoordinatorRecord::decode(&key, Some(&value)), Ok(record));
    }

    #[test]
    fn offset_commit_with_expiry_is_written_as_v1_and_read_back() {
        let value = OffsetCommitValue {
            offset: 5,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp_ms: 9,
            expire_timestamp_ms: Some(11),
        };
        let record = CoordinatorRecord::OffsetCommit {
            group_id: "g".into(),
            topic: "t".into(),
            partition: 0,
            value: Some(value),
        };
        let bytes = record.value_bytes().expect("value");
        let mut expected = vec![0, 1];
        expected.extend_from_slice(&5i64.to_be_bytes());
        expected.extend_from_slice(&[0, 0]);
        expected.extend_from_slice(&9i64.to_be_bytes());
        expected.extend_from_slice(&11i64.to_be_bytes());
        assert_eq!(&bytes[..], &expected[..]);
        let decoded = CoordinatorRecord::decode(&record.key_bytes(), Some(&bytes));
        assert_eq!(decoded, Ok(record));
    }

    #[test]
    fn group_metadata_round_trips_and_tombstones_have_no_value() {
        let record = CoordinatorRecord::GroupMetadata {
            group_id: "g".into(),
            value: Some(GroupMetadataValue {
                protocol_type: "consumer".into(),
                generation_id: 3,
                protocol_name: Some("range".into()),
                leader: Some("m-1".into()),
                current_state_timestamp_ms: 100,
                members: vec![MemberMetadata {
                    member_id: "m-1".into(),
                    group_instance_id: Some("i".into()),
                    client_id: "c".into(),
                    client_host: "/1.2.3.4".into(),
                    rebalance_timeout_ms: 300,
                    session_timeout_ms: 100,
                    subscription: Bytes::from_static(b"sub"),
                    assignment: Bytes::from(vec![0u8; 70_000]),
                }],
            }),
        };
        let key = record.key_bytes();
        assert_eq!(&key[..2], &[0, 2]);
        let value = record.value_bytes().expect("value");
        assert_eq!(CoordinatorRecord::decode(&key, Some(&value)), Ok(record));
        let tombstone = CoordinatorRecord::GroupMetadata {
            group_id: "g".into(),
            value: None,
        };
        assert_eq!(tombstone.value_bytes(), None);
        assert_eq!(CoordinatorRecord::decode(&key, None), Ok(tombstone));
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert!(CoordinatorRecord::decode(&[0], None).is_err());
        assert_eq!(
            CoordinatorRecord::decode(&[0, 9, 0, 0], None),
            Err(GroupError::UnsupportedRecordVersion { version: 9 })
        );
        let key = [0, 2, 0, 1, b'g'];
        let value = [0, 3, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        assert!(CoordinatorRecord::decode(&key, Some(&value)).is_err());
        // A member count of 2^31-1 with no bytes behind it must not allocate or panic.
        let value = [
            0, 3, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff,
            0xff, 0xff,
        ];
        assert!(CoordinatorRecord::decode(&key, Some(&value)).is_err());
    }
}
