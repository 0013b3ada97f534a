//! fjord's coordinators as pure state machines (no tokio, no files, no clock): requests and
//! `now_ms` in, typed responses and internal-topic records out.
//!
//! - [`group`]: [`GroupState`] and its transitions, [`ClassicGroup`], [`Member`].
//! - [`coordinator`]: [`GroupCoordinator`] — JoinGroup, SyncGroup, Heartbeat, LeaveGroup, timers.
//! - [`lifecycle`]: DeleteGroups and offset expiry (`offsets.retention.minutes`).
//! - [`consumer_group`]: KIP-848 consumer groups (ConsumerGroupHeartbeat/Describe).
//! - [`offsets`]: OffsetCommit, OffsetFetch, OffsetDelete and `replay`.
//! - [`txn_offsets`]: TxnOffsetCommit's pending offsets, completed by transaction markers.
//! - [`record`]: the `__consumer_offsets` key/value byte layout (Kafka's).
//! - [`partitioner`]: which internal-topic partition holds a group or transactional id.
//! - [`txn`]: the transaction coordinator (`__transaction_state`).
//! - [`error`]: [`GroupError`] and its mapping to Kafka error codes.

pub mod consumer_group;
pub mod coordinator;
pub mod error;
pub mod group;
pub mod lifecycle;
pub mod messages;
pub mod offsets;
pub mod partitioner;
pub mod record;
pub mod txn;
pub mod txn_offsets;

pub use consumer_group::{
    Assignment, ConsumerGroup, ConsumerGroupConfig, ConsumerGroupDescription,
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, ConsumerGroupMember,
    ConsumerGroupRecord, ConsumerGroupState, DescribedMember, GroupType, ListedGroup, MemberState,
};
pub use coordinator::GroupCoordinator;
pub use error::GroupError;
pub use group::{ClassicGroup, GroupState, Member};
pub use lifecycle::{GroupResult, DEFAULT_OFFSETS_RETENTION_MS};
pub use messages::{
    GroupConfig, JoinGroupRequest, JoinGroupResponse, JoinedMember, LeavingMember, Outcome, Ready,
    Reply, SyncGroupRequest, SyncGroupResponse,
};
pub use offsets::{FetchedOffset, OffsetCommitEntry, PartitionResult};
pub use record::{CoordinatorRecord, GroupMetadataValue, MemberMetadata, OffsetCommitValue};
pub use txn_offsets::{StableFetchedOffset, TxnOffsetCommitRequest};
