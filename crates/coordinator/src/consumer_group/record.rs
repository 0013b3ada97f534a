//! The KIP-848 consumer-group records of `__consumer_offsets`, in Kafka's layout
//! (group-coordinator `ConsumerGroup*{Key,Value}.json`), so a log written by fjord reads like
//! Kafka's and the other way round.
//!
//! Keys are not flexible: `int16 record type` then `string`s (int16 length + UTF-8). The type is
//! the key version: 3 group metadata, 4 partition metadata, 5 member metadata, 6 target
//! assignment metadata, 7 target assignment member, 8 current member assignment. Types 3, 4 and
//! 6 have `group_id`; 5, 7 and 8 have `group_id, member_id`.
//!
//! Values are `int16 version` (we read and write 0) then a *flexible* body: unsigned-varint
//! lengths plus one (`compact string`, `compact array`; 0 is null), `uuid` = 16 bytes, ints
//! big-endian, and a tagged-field section (`uvarint count`, then `uvarint tag, uvarint size,
//! bytes` each) closing every struct. We write no tagged fields and skip the ones we read
//! (e.g. `ClassicMemberMetadata`, tag 0 of the member value).
//! - 3 `ConsumerGroupMetadataValue`: `epoch int32`.
//! - 4 `ConsumerGroupPartitionMetadataValue`: `topics [ topic_id uuid, topic_name string,
//!   num_partitions int32, partition_metadata [ partition int32, racks [string] ] ]` (we write
//!   no rack lists; Kafka 4.x ignores them).
//! - 5 `ConsumerGroupMemberMetadataValue`: `instance_id string?, rack_id string?, client_id
//!   string, client_host string, subscribed_topic_names [string], subscribed_topic_regex
//!   string?, rebalance_timeout_ms int32, server_assignor string?`.
//! - 6 `ConsumerGroupTargetAssignmentMetadataValue`: `assignment_epoch int32`.
//! - 7 `ConsumerGroupTargetAssignmentMemberValue`: `topic_partitions [ topic_id uuid,
//!   partitions [int32] ]`.
//! - 8 `ConsumerGroupCurrentMemberAssignmentValue`: `member_epoch int32, previous_member_epoch
//!   int32, state int8, assigned_partitions [topic partitions], partitions_pending_revocation
//!   [topic partitions]`.
//!
//! A null value (no bytes) is a tombstone.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use crate::error::GroupError;

/// Partitions per topic id: what a member owns, must revoke or is targeted with.
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// One subscribed topic as the group last saw it in the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic id.
    pub topic_id: Uuid,
    /// Topic name.
    pub topic_name: String,
    /// Partition count.
    pub num_partitions: i32,
}

/// A member's subscription and identity, as stored (type 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadataValue {
    /// KIP-345 static id.
    pub instance_id: Option<String>,
    /// The client's `client.rack`.
    pub rack_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Subscribed topic names, sorted.
    pub subscribed_topic_names: Vec<String>,
    /// Subscribed regular expression (not supported yet: stored and returned only).
    pub subscribed_topic_regex: Option<String>,
    /// How long the member may take to revoke partitions.
    pub rebalance_timeout_ms: i32,
    /// The server assignor the member asked for.
    pub server_assignor: Option<String>,
}

/// A member's reconciliation state (Kafka's `MemberState`), stored as an int8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// At its target epoch, owning exactly what it was given.
    Stable,
    /// Must revoke `partitions_pending_revocation` (acknowledged by no longer reporting them)
    /// before it moves to the next epoch.
    UnrevokedPartitions,
    /// At the target epoch, waiting for partitions that other members still own.
    UnreleasedPartitions,
    /// A state written by a newer coordinator; the member is fenced and rejoins.
    Unknown,
}

impl From<MemberState> for i8 {
    fn from(state: MemberState) -> i8 {
        match state {
            MemberState::Stable => 0,
            MemberState::UnrevokedPartitions => 1,
            MemberState::UnreleasedPartitions => 2,
            MemberState::Unknown => 127,
        }
    }
}

impl From<i8> for MemberState {
    fn from(value: i8) -> MemberState {
        match value {
            0 => MemberState::Stable,
            1 => MemberState::UnrevokedPartitions,
            2 => MemberState::UnreleasedPartitions,
            _ => MemberState::Unknown,
        }
    }
}

/// A member's current assignment and epochs, as stored (type 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAssignmentValue {
    /// The epoch the member must send next.
    pub member_epoch: i32,
    /// The epoch before the last bump: accepted once, in case the bump's response was lost.
    pub previous_member_epoch: i32,
    /// Reconciliation state.
    pub state: MemberState,
    /// Partitions the member owns (or is being given).
    pub assigned_partitions: Assignment,
    /// Partitions the member must give up before it gets more.
    pub partitions_pending_revocation: Assignment,
}

/// One KIP-848 consumer-group record. `None` values are tombstones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerGroupRecord {
    /// Type 3: the group epoch.
    GroupMetadata {
        /// Group id.
        group_id: String,
        /// Group epoch.
        epoch: Option<i32>,
    },
    /// Type 4: the subscribed topics' metadata the epoch was computed with.
    PartitionMetadata {
        /// Group id.
        group_id: String,
        /// Topics, sorted by name.
        topics: Option<Vec<TopicMetadata>>,
    },
    /// Type 5: a member's subscription.
    MemberMetadata {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
        /// The subscription.
        value: Option<MemberMetadataValue>,
    },
    /// Type 6: the epoch of the target assignment.
    TargetAssignmentMetadata {
        /// Group id.
        group_id: String,
        /// Assignment epoch.
        assignment_epoch: Option<i32>,
    },
    /// Type 7: one member's target assignment.
    TargetAssignmentMember {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
        /// Target partitions.
        partitions: Option<Assignment>,
    },
    /// Type 8: one member's current assignment.
    CurrentMemberAssignment {
        /// Group id.
        group_id: String,
        /// Member id.
        member_id: String,
        /// Current assignment and epochs.
        value: Option<CurrentAssignmentValue>,
    },
}

/// Key types (= key versions) of the consumer-group records.
pub(crate) const GROUP_METADATA_TYPE: i16 = 3;
pub(crate) const PARTITION_METADATA_TYPE: i16 = 4;
pub(crate) const MEMBER_METADATA_TYPE: i16 = 5;
pub(crate) const TARGET_ASSIGNMENT_METADATA_TYPE: i16 = 6;
pub(crate) const TARGET_ASSIGNMENT_MEMBER_TYPE: i16 = 7;
pub(crate) const CURRENT_MEMBER_ASSIGNMENT_TYPE: i16 = 8;

impl ConsumerGroupRecord {
    /// The group this record belongs to.
    pub fn group_id(&self) -> &str {
        match self {
            ConsumerGroupRecord::GroupMetadata { group_id, .. }
            | ConsumerGroupRecord::PartitionMetadata { group_id, .. }
            | ConsumerGroupRecord::MemberMetadata { group_id, .. }
            | ConsumerGroupRecord::TargetAssignmentMetadata { group_id, .. }
            | ConsumerGroupRecord::TargetAssignmentMember { group_id, .. }
            | ConsumerGroupRecord::CurrentMemberAssignment { group_id, .. } => group_id,
        }
    }

    /// The record key bytes.
    pub fn key_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        let (record_type, member_id) = match self {
            ConsumerGroupRecord::GroupMetadata { .. } => (GROUP_METADATA_TYPE, None),
            ConsumerGroupRecord::PartitionMetadata { .. } => (PARTITION_METADATA_TYPE, None),
            ConsumerGroupRecord::MemberMetadata { member_id, .. } => {
                (MEMBER_METADATA_TYPE, Some(member_id))
            }
            ConsumerGroupRecord::TargetAssignmentMetadata { .. } => {
                (TARGET_ASSIGNMENT_METADATA_TYPE, None)
            }
            ConsumerGroupRecord::TargetAssignmentMember { member_id, .. } => {
                (TARGET_ASSIGNMENT_MEMBER_TYPE, Some(member_id))
            }
            ConsumerGroupRecord::CurrentMemberAssignment { member_id, .. } => {
                (CURRENT_MEMBER_ASSIGNMENT_TYPE, Some(member_id))
            }
        };
        buf.put_i16(record_type);
        put_key_string(&mut buf, self.group_id());
        if let Some(member_id) = member_id {
            put_key_string(&mut buf, member_id);
        }
        buf.freeze()
    }

    /// The record value bytes; `None` for a tombstone.
    pub fn value_bytes(&self) -> Option<Bytes> {
        let mut buf = BytesMut::new();
        buf.put_i16(0);
        match self {
            ConsumerGroupRecord::GroupMetadata { epoch, .. } => buf.put_i32((*epoch)?),
            ConsumerGroupRecord::PartitionMetadata { topics, .. } => {
                let topics = topics.as_ref()?;
                put_uvarint(&mut buf, topics.len() as u64 + 1);
                for topic in topics {
                    buf.put_slice(topic.topic_id.as_bytes());
                    put_compact_string(&mut buf, Some(&topic.topic_name));
                    buf.put_i32(topic.num_partitions);
                    put_uvarint(&mut buf, 1); // partition_metadata: empty (racks unused).
                    put_uvarint(&mut buf, 0); // tagged fields
                }
            }
            ConsumerGroupRecord::MemberMetadata { value, .. } => {
                let value = value.as_ref()?;
                put_compact_string(&mut buf, value.instance_id.as_deref());
                put_compact_string(&mut buf, value.rack_id.as_deref());
                put_compact_string(&mut buf, Some(&value.client_id));
                put_compact_string(&mut buf, Some(&value.client_host));
                put_uvarint(&mut buf, value.subscribed_topic_names.len() as u64 + 1);
                for name in &value.subscribed_topic_names {
                    put_compact_string(&mut buf, Some(name));
                }
                put_compact_string(&mut buf, value.subscribed_topic_regex.as_deref());
                buf.put_i32(value.rebalance_timeout_ms);
                put_compact_string(&mut buf, value.server_assignor.as_deref());
            }
            ConsumerGroupRecord::TargetAssignmentMetadata {
                assignment_epoch, ..
            } => buf.put_i32((*assignment_epoch)?),
            ConsumerGroupRecord::TargetAssignmentMember { partitions, .. } => {
                put_assignment(&mut buf, partitions.as_ref()?);
            }
            ConsumerGroupRecord::CurrentMemberAssignment { value, .. } => {
                let value = value.as_ref()?;
                buf.put_i32(value.member_epoch);
                buf.put_i32(value.previous_member_epoch);
                buf.put_i8(value.state.into());
                put_assignment(&mut buf, &value.assigned_partitions);
                put_assignment(&mut buf, &value.partitions_pending_revocation);
            }
        }
        put_uvarint(&mut buf, 0); // top-level tagged fields
        Some(buf.freeze())
    }

    /// Decodes a record whose key (after the int16 type) is `key`. `record_type` is 3..=8.
    pub(crate) fn decode(
        record_type: i16,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<Self, GroupError> {
        let mut k = KeyReader(key);
        let group_id = k.string()?;
        let body = value.map(value_body).transpose()?;
        let member_id = match record_type {
            MEMBER_METADATA_TYPE
            | TARGET_ASSIGNMENT_MEMBER_TYPE
            | CURRENT_MEMBER_ASSIGNMENT_TYPE => k.string()?,
            _ => String::new(),
        };
        let record = match record_type {
            GROUP_METADATA_TYPE => ConsumerGroupRecord::GroupMetadata {
                group_id,
                epoch: body.map(|mut r| r.i32()).transpose()?,
            },
            PARTITION_METADATA_TYPE => ConsumerGroupRecord::PartitionMetadata {
                group_id,
                topics: body.map(|mut r| topics(&mut r)).transpose()?,
            },
            MEMBER_METADATA_TYPE => ConsumerGroupRecord::MemberMetadata {
                group_id,
                member_id,
                value: body.map(|mut r| member_metadata(&mut r)).transpose()?,
            },
            TARGET_ASSIGNMENT_METADATA_TYPE => ConsumerGroupRecord::TargetAssignmentMetadata {
                group_id,
                assignment_epoch: body.map(|mut r| r.i32()).transpose()?,
            },
            TARGET_ASSIGNMENT_MEMBER_TYPE => ConsumerGroupRecord::TargetAssignmentMember {
                group_id,
                member_id,
                partitions: body.map(|mut r| r.assignment()).transpose()?,
            },
            CURRENT_MEMBER_ASSIGNMENT_TYPE => ConsumerGroupRecord::CurrentMemberAssignment {
                group_id,
                member_id,
                value: body.map(|mut r| current_assignment(&mut r)).transpose()?,
            },
            version => return Err(GroupError::UnsupportedRecordVersion { version }),
        };
        Ok(record)
    }
}

/// Checks the value version and returns a reader on the flexible body.
fn value_body(bytes: &[u8]) -> Result<FlexReader<'_>, GroupError> {
    let mut r = FlexReader(bytes);
    let version = i16::from_be_bytes(r.array()?);
    if version != 0 {
        return Err(GroupError::UnsupportedRecordVersion { version });
    }
    Ok(r)
}

fn topics(r: &mut FlexReader<'_>) -> Result<Vec<TopicMetadata>, GroupError> {
    let count = r.array_len()?;
    let mut topics = Vec::with_capacity(count.min(r.0.len() / 20));
    for _ in 0..count {
        let topic_id = r.uuid()?;
        let topic_name = r.string()?;
        let num_partitions = r.i32()?;
        for _ in 0..r.array_len()? {
            r.i32()?;
            for _ in 0..r.array_len()? {
                r.string()?;
            }
            r.skip_tagged_fields()?;
        }
        r.skip_tagged_fields()?;
        topics.push(TopicMetadata {
            topic_id,
            topic_name,
            num_partitions,
        });
    }
    r.skip_tagged_fields()?;
    Ok(topics)
}

fn member_metadata(r: &mut FlexReader<'_>) -> Result<MemberMetadataValue, GroupError> {
    let instance_id = r.nullable_string()?;
    let rack_id = r.nullable_string()?;
    let client_id = r.string()?;
    let client_host = r.string()?;
    let count = r.array_len()?;
    let mut subscribed_topic_names = Vec::with_capacity(count.min(r.0.len()));
    for _ in 0..count {
        subscribed_topic_names.push(r.string()?);
    }
    let value = MemberMetadataValue {
        instance_id,
        rack_id,
        client_id,
        client_host,
        subscribed_topic_names,
        subscribed_topic_regex: r.nullable_string()?,
        rebalance_timeout_ms: r.i32()?,
        server_assignor: r.nullable_string()?,
    };
    r.skip_tagged_fields()?;
    Ok(value)
}

fn current_assignment(r: &mut FlexReader<'_>) -> Result<CurrentAssignmentValue, GroupError> {
    let member_epoch = r.i32()?;
    let previous_member_epoch = r.i32()?;
    let state = MemberState::from(i8::from_be_bytes(r.array()?));
    let assigned_partitions = r.assignment_array()?;
    let partitions_pending_revocation = r.assignment_array()?;
    r.skip_tagged_fields()?;
    Ok(CurrentAssignmentValue {
        member_epoch,
        previous_member_epoch,
        state,
        assigned_partitions,
        partitions_pending_revocation,
    })
}

fn put_key_string(buf: &mut BytesMut, value: &str) {
    // Group and member ids come from requests whose decoder bounds strings to i16::MAX.
    let len = i16::try_from(value.len()).unwrap_or(i16::MAX);
    buf.put_i16(len);
    buf.put_slice(&value.as_bytes()[..len as usize]);
}

fn put_uvarint(buf: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        buf.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

fn put_compact_string(buf: &mut BytesMut, value: Option<&str>) {
    match value {
        Some(value) => {
            put_uvarint(buf, value.len() as u64 + 1);
            buf.put_slice(value.as_bytes());
        }
        None => put_uvarint(buf, 0),
    }
}

/// A `[TopicPartitions]` compact array (used by types 7 and 8), closing no outer struct.
fn put_assignment(buf: &mut BytesMut, assignment: &Assignment) {
    put_uvarint(buf, assignment.len() as u64 + 1);
    for (topic_id, partitions) in assignment {
        buf.put_slice(topic_id.as_bytes());
        put_uvarint(buf, partitions.len() as u64 + 1);
        for partition in partitions {
            buf.put_i32(*partition);
        }
        put_uvarint(buf, 0);
    }
}

fn corrupt(reason: &'static str) -> GroupError {
    GroupError::CorruptRecord { reason }
}

/// Reads the non-flexible key strings.
struct KeyReader<'a>(&'a [u8]);

impl KeyReader<'_> {
    fn string(&mut self) -> Result<String, GroupError> {
        if self.0.len() < 2 {
            return Err(corrupt("truncated key"));
        }
        let len = i16::from_be_bytes([self.0[0], self.0[1]]);
        let len = usize::try_from(len).map_err(|_| corrupt("null key string"))?;
        let rest = &self.0[2..];
        if rest.len() < len {
            return Err(corrupt("truncated key"));
        }
        let (raw, tail) = rest.split_at(len);
        self.0 = tail;
        String::from_utf8(raw.to_vec()).map_err(|_| corrupt("key string is not UTF-8"))
    }
}

/// A bounds-checked reader of flexible-version bodies.
struct FlexReader<'a>(&'a [u8]);

impl<'a> FlexReader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], GroupError> {
        if self.0.len() < len {
            return Err(corrupt("truncated"));
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

    fn i32(&mut self) -> Result<i32, GroupError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn uuid(&mut self) -> Result<Uuid, GroupError> {
        Ok(Uuid::from_bytes(self.array()?))
    }

    fn uvarint(&mut self) -> Result<u64, GroupError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.array::<1>()?[0];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("varint too long"))
    }

    /// A compact length: `None` for null. Never trusted for allocation beyond the bytes left.
    fn compact_len(&mut self) -> Result<Option<usize>, GroupError> {
        match self.uvarint()? {
            0 => Ok(None),
            n => usize::try_from(n - 1)
                .map(Some)
                .map_err(|_| corrupt("length overflows")),
        }
    }

    fn array_len(&mut self) -> Result<usize, GroupError> {
        let len = self.compact_len()?.ok_or(corrupt("null array"))?;
        if len > self.0.len() {
            // Every element takes at least one byte: a larger count is a lie.
            return Err(corrupt("array count exceeds the record"));
        }
        Ok(len)
    }

    fn nullable_string(&mut self) -> Result<Option<String>, GroupError> {
        let Some(len) = self.compact_len()? else {
            return Ok(None);
        };
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| corrupt("string is not UTF-8"))
    }

    fn string(&mut self) -> Result<String, GroupError> {
        self.nullable_string()?
            .ok_or(corrupt("null in a non-nullable string"))
    }

    fn skip_tagged_fields(&mut self) -> Result<(), GroupError> {
        for _ in 0..self.uvarint()? {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).map_err(|_| corrupt("tag too large"))?;
            self.take(size)?;
        }
        Ok(())
    }

    fn assignment_array(&mut self) -> Result<Assignment, GroupError> {
        let mut assignment = Assignment::new();
        for _ in 0..self.array_len()? {
            let topic_id = self.uuid()?;
            let partitions = assignment.entry(topic_id).or_default();
            for _ in 0..self.array_len()? {
                partitions.insert(self.i32()?);
            }
            self.skip_tagged_fields()?;
        }
        Ok(assignment)
    }

    /// A whole type-7 body: the array and its struct's tagged fields.
    fn assignment(&mut self) -> Result<Assignment, GroupError> {
        let assignment = self.assignment_array()?;
        self.skip_tagged_fields()?;
        Ok(assignment)
    }
}
