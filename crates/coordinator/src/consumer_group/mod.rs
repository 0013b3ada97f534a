//! KIP-848, the consumer group protocol (ConsumerGroupHeartbeat, API 68, and
//! ConsumerGroupDescribe, API 69), beside the classic protocol and sharing its
//! `__consumer_offsets` partition, offsets and pure style: requests and `now_ms` in, typed
//! answers and records out.
//!
//! The coordinator, not a client leader, decides who consumes what. Each change of a member's
//! subscription, of the subscribed topics' partition counts or of the membership bumps the
//! *group epoch*; the *target assignment* is then recomputed by the group's server assignor
//! ([`assignor`]) and stamped with that epoch (the *assignment epoch*). Every member is then
//! reconciled toward its target on its own heartbeats ([`reconcile`]): it first revokes what the
//! target takes away, and only then is given partitions, and never one that another member
//! still owns — so no partition is ever owned by two members at once.
//!
//! - [`record`]: the records (key types 3 to 8) and their byte layout.
//! - [`heartbeat`]: join, heartbeat, leave, static leave, session and revocation timeouts.
//! - [`replay`]: rebuilding groups from records.
//! - [`describe`]: ConsumerGroupDescribe, listing both kinds of groups, offset-commit checks.

pub mod assignor;
pub mod describe;
pub mod heartbeat;
pub mod reconcile;
pub mod record;
pub mod replay;

use std::collections::BTreeMap;

use uuid::Uuid;

pub use describe::{ConsumerGroupDescription, DescribedMember, GroupType, ListedGroup};
pub use record::{
    Assignment, ConsumerGroupRecord, CurrentAssignmentValue, MemberMetadataValue, MemberState,
    TopicMetadata,
};

/// Broker settings of the consumer protocol, with Kafka's names and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupConfig {
    /// `group.consumer.session.timeout.ms`.
    pub group_consumer_session_timeout_ms: i32,
    /// `group.consumer.heartbeat.interval.ms`.
    pub group_consumer_heartbeat_interval_ms: i32,
    /// `group.consumer.max.size`.
    pub group_consumer_max_size: usize,
    /// `group.consumer.assignors`: the server assignors members may name; the first is the
    /// default. Known names: `uniform`, `range`.
    pub group_consumer_assignors: Vec<String>,
}

impl Default for ConsumerGroupConfig {
    fn default() -> Self {
        ConsumerGroupConfig {
            group_consumer_session_timeout_ms: 45_000,
            group_consumer_heartbeat_interval_ms: 5_000,
            group_consumer_max_size: i32::MAX as usize,
            group_consumer_assignors: vec!["uniform".into(), "range".into()],
        }
    }
}

/// The member epoch a member sends to join (or rejoin after being fenced).
pub const JOIN_GROUP_MEMBER_EPOCH: i32 = 0;
/// The member epoch a member sends to leave for good.
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// The member epoch a static member sends to leave temporarily, keeping its partitions.
pub const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;

/// A ConsumerGroupHeartbeat request, decoded. Optional fields are `None` when the client sent
/// null, which means "unchanged since my last heartbeat".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerGroupHeartbeatRequest {
    /// Group id.
    pub group_id: String,
    /// Chosen by the client (KIP-1082, v1+); empty from v0 clients on their first join.
    pub member_id: String,
    /// 0 to join, -1 to leave, -2 for a static member's temporary leave, else its epoch.
    pub member_epoch: i32,
    /// KIP-345 static id.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack_id: Option<String>,
    /// -1 when unchanged.
    pub rebalance_timeout_ms: i32,
    /// From the request header.
    pub client_id: String,
    /// The connection's address.
    pub client_host: String,
    /// Subscribed topic names.
    pub subscribed_topic_names: Option<Vec<String>>,
    /// Subscribed regular expression.
    pub subscribed_topic_regex: Option<String>,
    /// Server assignor name.
    pub server_assignor: Option<String>,
    /// The partitions the member owns now (acknowledging revocations).
    pub topic_partitions: Option<Vec<(Uuid, Vec<i32>)>>,
}

/// A successful ConsumerGroupHeartbeat answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupHeartbeatResponse {
    /// The member id (generated for v0 clients that sent none).
    pub member_id: String,
    /// The epoch the member must send next (-1 / -2 after a leave).
    pub member_epoch: i32,
    /// `group.consumer.heartbeat.interval.ms`.
    pub heartbeat_interval_ms: i32,
    /// The member's assignment: sent on full requests and whenever it changed; `None` means
    /// "unchanged".
    pub assignment: Option<Assignment>,
}

/// The state of a consumer group, derived from its epochs and members (Kafka's
/// `ConsumerGroupState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumerGroupState {
    /// No members.
    Empty,
    /// The group epoch moved past the assignment epoch: a new target assignment is due.
    Assigning,
    /// Some member is not yet at the target assignment.
    Reconciling,
    /// Every member owns its target assignment.
    Stable,
}

impl std::fmt::Display for ConsumerGroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ConsumerGroupDescribe and ListGroups send these exact strings.
        f.write_str(match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        })
    }
}

/// One member of a consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMember {
    /// Member id.
    pub member_id: String,
    /// The epoch the member must send next; -2 while a static member is away.
    pub member_epoch: i32,
    /// The epoch before the last bump.
    pub previous_member_epoch: i32,
    /// Reconciliation state.
    pub state: MemberState,
    /// KIP-345 static id.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack_id: Option<String>,
    /// `client.id`.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Subscribed topic names, sorted and deduplicated.
    pub subscribed_topic_names: Vec<String>,
    /// Subscribed regular expression (stored only).
    pub subscribed_topic_regex: Option<String>,
    /// The server assignor this member asked for.
    pub server_assignor: Option<String>,
    /// How long the member may take to revoke partitions.
    pub rebalance_timeout_ms: i32,
    /// Partitions the member owns.
    pub assigned_partitions: Assignment,
    /// Partitions the member must revoke before getting more.
    pub partitions_pending_revocation: Assignment,
    /// When the coordinator last heard from the member (session timeout).
    pub last_heartbeat_ms: i64,
    /// While revoking: when the member is fenced if it has not revoked yet.
    pub revocation_deadline_ms: Option<i64>,
}

impl ConsumerGroupMember {
    /// A member that has just joined, at epoch 0 with nothing assigned.
    pub fn new(member_id: String, now_ms: i64) -> Self {
        ConsumerGroupMember {
            member_id,
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topic_names: Vec::new(),
            subscribed_topic_regex: None,
            server_assignor: None,
            rebalance_timeout_ms: -1,
            assigned_partitions: Assignment::new(),
            partitions_pending_revocation: Assignment::new(),
            last_heartbeat_ms: now_ms,
            revocation_deadline_ms: None,
        }
    }

    /// Whether the member owns (assigned or still revoking) `partition` of `topic_id`.
    pub fn owns(&self, topic_id: &Uuid, partition: i32) -> bool {
        let has = |a: &Assignment| a.get(topic_id).is_some_and(|p| p.contains(&partition));
        has(&self.assigned_partitions) || has(&self.partitions_pending_revocation)
    }

    /// The stored form of the member's subscription.
    pub fn metadata_value(&self) -> MemberMetadataValue {
        MemberMetadataValue {
            instance_id: self.instance_id.clone(),
            rack_id: self.rack_id.clone(),
            client_id: self.client_id.clone(),
            client_host: self.client_host.clone(),
            subscribed_topic_names: self.subscribed_topic_names.clone(),
            subscribed_topic_regex: self.subscribed_topic_regex.clone(),
            rebalance_timeout_ms: self.rebalance_timeout_ms,
            server_assignor: self.server_assignor.clone(),
        }
    }

    /// The stored form of the member's current assignment.
    pub fn assignment_value(&self) -> CurrentAssignmentValue {
        CurrentAssignmentValue {
            member_epoch: self.member_epoch,
            previous_member_epoch: self.previous_member_epoch,
            state: self.state,
            assigned_partitions: self.assigned_partitions.clone(),
            partitions_pending_revocation: self.partitions_pending_revocation.clone(),
        }
    }
}

/// A KIP-848 consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    /// Group id.
    pub group_id: String,
    /// Bumped by every subscription, metadata or membership change.
    pub group_epoch: i32,
    /// The group epoch the target assignment was computed for.
    pub assignment_epoch: i32,
    /// Members by id (sorted: deterministic assignments and records).
    pub members: BTreeMap<String, ConsumerGroupMember>,
    /// instance id -> member id.
    pub static_members: BTreeMap<String, String>,
    /// Target assignment per member id.
    pub target_assignment: BTreeMap<String, Assignment>,
    /// The subscribed topics as last seen in the metadata, by name.
    pub subscription_metadata: BTreeMap<String, TopicMetadata>,
}

impl ConsumerGroup {
    /// A new group with no members at epoch 0.
    pub fn new(group_id: String) -> Self {
        ConsumerGroup {
            group_id,
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            target_assignment: BTreeMap::new(),
            subscription_metadata: BTreeMap::new(),
        }
    }

    /// The group's state, derived as Kafka does.
    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.state != MemberState::Stable || m.member_epoch != self.assignment_epoch)
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// Whether any member subscribes to `topic`.
    pub fn is_subscribed_to(&self, topic: &str) -> bool {
        self.members
            .values()
            .any(|m| m.subscribed_topic_names.iter().any(|t| t == topic))
    }

    /// The member owning `partition` of `topic_id`, other than `except`.
    pub fn owner_of(&self, topic_id: &Uuid, partition: i32, except: &str) -> Option<&str> {
        self.members
            .values()
            .find(|m| m.member_id != except && m.owns(topic_id, partition))
            .map(|m| m.member_id.as_str())
    }

    /// The server assignor to use: the one most members ask for (ties to the smaller name),
    /// else the configured default.
    pub fn preferred_assignor(&self, config: &ConsumerGroupConfig) -> String {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for name in self
            .members
            .values()
            .filter_map(|m| m.server_assignor.as_deref())
        {
            *votes.entry(name).or_default() += 1;
        }
        let best = votes.values().copied().max().unwrap_or(0);
        votes
            .into_iter()
            .find(|(_, count)| *count == best)
            .map(|(name, _)| name.to_string())
            .or_else(|| config.group_consumer_assignors.first().cloned())
            .unwrap_or_else(|| assignor::UNIFORM.to_string())
    }
}
