//! The typed inputs and outputs of the group APIs: what the broker decodes from JoinGroup and
//! SyncGroup requests, and the answers (immediate or parked) it encodes back. Plain data.

use bytes::Bytes;

use crate::error::GroupError;
use crate::record::CoordinatorRecord;

/// Broker settings the coordinator obeys, with Kafka's names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms`.
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`.
    pub group_max_session_timeout_ms: i32,
    /// `group.max.size`.
    pub group_max_size: usize,
    /// `group.initial.rebalance.delay.ms`: how long a join into an empty group waits for more.
    pub group_initial_rebalance_delay_ms: i32,
    /// `offset.metadata.max.bytes`.
    pub offset_metadata_max_bytes: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_max_size: i32::MAX as usize,
            group_initial_rebalance_delay_ms: 3_000,
            offset_metadata_max_bytes: 4_096,
        }
    }
}

/// A JoinGroup request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Empty on a first join.
    pub member_id: String,
    /// KIP-345 static id.
    pub group_instance_id: Option<String>,
    /// Client's `client.id`.
    pub client_id: String,
    /// Client's address.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: i32,
    /// Rebalance timeout (v0 requests: the session timeout).
    pub rebalance_timeout_ms: i32,
    /// Protocol type.
    pub protocol_type: String,
    /// Protocols in preference order with opaque metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: answer a dynamic first join with MEMBER_ID_REQUIRED (KIP-394).
    pub require_known_member_id: bool,
}

/// One member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    /// Member id.
    pub member_id: String,
    /// Static id.
    pub group_instance_id: Option<String>,
    /// The member's metadata for the selected protocol.
    pub metadata: Bytes,
}

/// A successful JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResponse {
    /// The generation the member joined.
    pub generation_id: i32,
    /// Protocol type.
    pub protocol_type: Option<String>,
    /// Selected protocol.
    pub protocol_name: Option<String>,
    /// Leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// All members, for the leader only; empty for followers.
    pub members: Vec<JoinedMember>,
}

/// A SyncGroup request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupRequest {
    /// Group id.
    pub group_id: String,
    /// Member id.
    pub member_id: String,
    /// Static id.
    pub group_instance_id: Option<String>,
    /// Generation the member believes in.
    pub generation_id: i32,
    /// v5+: checked against the group's if present.
    pub protocol_type: Option<String>,
    /// v5+: checked against the group's if present.
    pub protocol_name: Option<String>,
    /// The leader's assignments (member id, opaque bytes); empty from followers.
    pub assignments: Vec<(String, Bytes)>,
}

/// A successful SyncGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResponse {
    /// Protocol type.
    pub protocol_type: Option<String>,
    /// Selected protocol.
    pub protocol_name: Option<String>,
    /// This member's assignment, exactly the bytes the leader sent.
    pub assignment: Bytes,
}

/// A member to remove in a (batched, v3+) LeaveGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeavingMember {
    /// Member id; may be empty for a static member identified by instance id.
    pub member_id: String,
    /// Static id.
    pub group_instance_id: Option<String>,
}

/// The immediate answer to a join or sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// Answer now.
    Now(Result<T, GroupError>),
    /// The request waits; its answer comes in an [`Outcome::ready`] for this member id.
    Parked {
        /// The member whose answer to wait for.
        member_id: String,
    },
}

/// A parked request whose answer is now known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// A JoinGroup answer.
    Join {
        /// Group id.
        group_id: String,
        /// The member it is for.
        member_id: String,
        /// The answer.
        result: Result<JoinGroupResponse, GroupError>,
    },
    /// A SyncGroup answer.
    Sync {
        /// Group id.
        group_id: String,
        /// The member it is for.
        member_id: String,
        /// The answer.
        result: Result<SyncGroupResponse, GroupError>,
    },
}

/// Side effects of one call: answers to parked requests and records to append.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Parked requests to answer, after `records` are appended.
    pub ready: Vec<Ready>,
    /// Records for `__consumer_offsets`, in order.
    pub records: Vec<CoordinatorRecord>,
}
