//! One classic group's in-memory state: its [`GroupState`], members and current generation.
//! The transitions themselves are driven by [`crate::GroupCoordinator`]; this module owns the
//! data, the legal-transition table and protocol selection.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

/// The classic group states (Kafka's `ClassicGroupState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members; offsets may still exist. A JoinGroup moves it to `PreparingRebalance` (after
    /// `group.initial.rebalance.delay.ms`); a group deletion moves it to `Dead`.
    Empty,
    /// Waiting for every known member to (re)join. Completes to `CompletingRebalance` once all
    /// have joined or the rebalance timeout elapses (members that did not rejoin are dropped),
    /// or to `Empty` if nobody is left. Heartbeats answer REBALANCE_IN_PROGRESS.
    PreparingRebalance,
    /// The generation is chosen; waiting for the leader's SyncGroup with the assignments.
    /// Moves to `Stable` on the leader's sync, back to `PreparingRebalance` when a member joins,
    /// leaves, changes protocols, fails its session or the sync does not arrive in time.
    CompletingRebalance,
    /// Assignments delivered. A new member, a leader rejoin, a protocol change, a leave or an
    /// expired session moves it to `PreparingRebalance`.
    Stable,
    /// Terminal: the group is being removed. Every request answers COORDINATOR_NOT_AVAILABLE.
    Dead,
}

impl GroupState {
    /// Whether `self -> next` is one of the documented transitions.
    pub fn can_transition_to(self, next: GroupState) -> bool {
        use GroupState::*;
        matches!(
            (self, next),
            (Empty, PreparingRebalance | Dead)
                | (PreparingRebalance, CompletingRebalance | Empty | Dead)
                | (CompletingRebalance, PreparingRebalance | Stable | Dead)
                | (Stable, PreparingRebalance | Dead)
        )
    }
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // DescribeGroups sends these exact strings.
        f.write_str(match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        })
    }
}

/// One member of a classic group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Coordinator-assigned id.
    pub member_id: String,
    /// KIP-345 static membership id, if the member is static.
    pub group_instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address as the broker saw it.
    pub client_host: String,
    /// Time without heartbeat after which the member is removed.
    pub session_timeout_ms: i32,
    /// How long a rebalance may wait for this member to rejoin.
    pub rebalance_timeout_ms: i32,
    /// "consumer", "connect", ...
    pub protocol_type: String,
    /// Supported protocols in preference order, each with opaque metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// The assignment the leader gave this member, opaque bytes.
    pub assignment: Bytes,
    /// When the coordinator last heard from the member.
    pub last_heartbeat_ms: i64,
    /// A JoinGroup from this member is parked until the join completes.
    pub awaiting_join: bool,
    /// A SyncGroup from this member is parked until the leader syncs.
    pub awaiting_sync: bool,
}

impl Member {
    /// The metadata this member sent for `protocol`, if it supports it.
    pub fn metadata_for(&self, protocol: &str) -> Option<&Bytes> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata)
    }

    /// Whether the session has run out at `now_ms`. Members with a parked join or sync are
    /// kept alive: the parked request is the proof of life.
    pub fn session_expired(&self, now_ms: i64) -> bool {
        !self.awaiting_join
            && !self.awaiting_sync
            && now_ms >= self.last_heartbeat_ms + i64::from(self.session_timeout_ms)
    }
}

/// A classic consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicGroup {
    /// The group id.
    pub group_id: String,
    /// Current state.
    pub state: GroupState,
    /// When `state` was entered.
    pub state_timestamp_ms: i64,
    /// Bumped each time a join completes (including when the group empties).
    pub generation_id: i32,
    /// The members' protocol type, `None` while the group has never had members.
    pub protocol_type: Option<String>,
    /// The protocol selected for the current generation.
    pub protocol_name: Option<String>,
    /// Member id of the leader of the current generation.
    pub leader: Option<String>,
    /// Members by id; a BTreeMap so iteration (and leader choice) is deterministic.
    pub members: BTreeMap<String, Member>,
    /// group.instance.id -> member id for static members.
    pub static_members: HashMap<String, String>,
    /// KIP-394 members told MEMBER_ID_REQUIRED, with the time their place expires.
    pub pending_members: BTreeMap<String, i64>,
    /// When PreparingRebalance gives up waiting for members to rejoin.
    pub join_deadline_ms: Option<i64>,
    /// While the initial delay of a fresh group runs: the latest the join may be held.
    pub initial_join_cap_ms: Option<i64>,
    /// When CompletingRebalance gives up waiting for SyncGroups.
    pub sync_deadline_ms: Option<i64>,
}

impl ClassicGroup {
    /// A new, empty group at generation 0.
    pub fn new(group_id: String, now_ms: i64) -> Self {
        ClassicGroup {
            group_id,
            state: GroupState::Empty,
            state_timestamp_ms: now_ms,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            pending_members: BTreeMap::new(),
            join_deadline_ms: None,
            initial_join_cap_ms: None,
            sync_deadline_ms: None,
        }
    }

    /// Moves to `next`. An illegal transition is a coordinator bug, hence the debug assertion.
    pub fn transition_to(&mut self, next: GroupState, now_ms: i64) {
        debug_assert!(
            self.state.can_transition_to(next),
            "illegal group transition {} -> {}",
            self.state,
            next
        );
        self.state = next;
        self.state_timestamp_ms = now_ms;
    }

    /// Whether the group has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Whether a member with these protocols may join, ignoring `except` (the member itself
    /// when it rejoins): same protocol type, and at least one protocol every other member has.
    pub fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
        except: Option<&str>,
    ) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        let mut others = self
            .members
            .values()
            .filter(|m| Some(m.member_id.as_str()) != except)
            .peekable();
        if others.peek().is_none() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let others: Vec<&Member> = others.collect();
        protocols.iter().any(|(name, _)| {
            others
                .iter()
                .all(|member| member.metadata_for(name).is_some())
        })
    }

    /// Kafka's selection: among protocols every member supports, each member votes for the first
    /// one in its own preference order; the most votes win (ties go to the smaller name, so the
    /// choice is deterministic). `None` only if the members share no protocol.
    pub fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()?
            .protocols
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.metadata_for(name).is_some())
            })
            .collect();
        let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some((name, _)) = member
                .protocols
                .iter()
                .find(|(name, _)| candidates.contains(&name))
            {
                *votes.entry(name).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        votes
            .into_iter()
            .find(|(_, count)| *count == best)
            .map(|(name, _)| name.clone())
    }

    /// The longest rebalance timeout among members: how long a rebalance may wait.
    pub fn max_rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// Whether every member (and no pending KIP-394 member) has a parked join.
    pub fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, protocols: &[&str]) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|p| (p.to_string(), Bytes::from_static(b"m")))
                .collect(),
            assignment: Bytes::new(),
            last_heartbeat_ms: 0,
            awaiting_join: false,
            awaiting_sync: false,
        }
    }

    #[test]
    fn transitions_follow_the_table() {
        use GroupState::*;
        assert!(Empty.can_transition_to(PreparingRebalance));
        assert!(!Empty.can_transition_to(Stable));
        assert!(PreparingRebalance.can_transition_to(Empty));
        assert!(!Stable.can_transition_to(CompletingRebalance));
        assert!(!Dead.can_transition_to(Empty));
    }

    #[test]
    fn protocol_selection_votes_among_common_protocols() {
        let mut group = ClassicGroup::new("g".into(), 0);
        group.protocol_type = Some("consumer".into());
        for (id, protocols) in [
            ("a", &["range", "roundrobin"][..]),
            ("b", &["roundrobin", "range"][..]),
            ("c", &["sticky", "roundrobin", "range"][..]),
        ] {
            group.members.insert(id.into(), member(id, protocols));
        }
        // sticky is not common; c votes roundrobin; roundrobin wins 2-1.
        assert_eq!(group.select_protocol().as_deref(), Some("roundrobin"));
        let only_sticky = [("sticky".to_string(), Bytes::new())];
        assert!(!group.supports_protocols("consumer", &only_sticky, None));
        let range = [("range".to_string(), Bytes::new())];
        assert!(group.supports_protocols("consumer", &range, None));
        assert!(!group.supports_protocols("connect", &range, None));
    }
}
