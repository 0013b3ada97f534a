//! The classic group coordinator: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and the timers,
//! as a pure state machine. Time is an argument (`now_ms`), never read from a clock; nothing
//! here does I/O. Handlers mutate the in-memory state and return the `__consumer_offsets`
//! records the broker must append; `replay` (in `offsets.rs`) rebuilds the state from those
//! records after a restart or fail-over.
//!
//! JoinGroup and SyncGroup often cannot be answered at once: they wait for the other members.
//! Such a request is *parked* (`Reply::Parked { member_id }`), and its answer appears later in
//! some [`Outcome::ready`] (possibly the very call that parked it), keyed by group and member id,
//! so the broker can hold the request and wake it. The broker must append an outcome's records
//! before it sends that outcome's ready responses.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use crate::consumer_group::{ConsumerGroup, ConsumerGroupConfig};
use crate::error::GroupError;
use crate::group::{ClassicGroup, GroupState, Member};
use crate::messages::{
    GroupConfig, JoinGroupRequest, JoinGroupResponse, JoinedMember, LeavingMember, Outcome, Ready,
    Reply, SyncGroupRequest, SyncGroupResponse,
};
use crate::record::{CoordinatorRecord, GroupMetadataValue, MemberMetadata, OffsetCommitValue};

/// The classic group coordinator for the groups of one `__consumer_offsets` partition.
#[derive(Debug, Clone, Default)]
pub struct GroupCoordinator {
    pub(crate) config: GroupConfig,
    pub(crate) groups: HashMap<String, ClassicGroup>,
    /// group -> (topic, partition) -> committed offset.
    pub(crate) offsets: HashMap<String, BTreeMap<(String, i32), OffsetCommitValue>>,
    /// Counts the member ids handed out; mixed with `member_id_seed` into each id.
    next_member_seq: u64,
    /// The caller's source of uniqueness (random bytes drawn at broker start-up), so member ids
    /// stay unique across restarts without this machine reading a random source itself.
    member_id_seed: u128,
    /// KIP-848 consumer groups; an id is either here or in `groups`, never both.
    pub(crate) consumer_groups: HashMap<String, ConsumerGroup>,
    /// `group.consumer.*` settings.
    pub(crate) consumer_config: ConsumerGroupConfig,
    /// producer id -> its transaction's pending TxnOffsetCommit offsets (`txn_offsets.rs`).
    pub(crate) pending_txn_offsets: HashMap<i64, crate::txn_offsets::PendingByGroup>,
}

impl GroupCoordinator {
    /// An empty coordinator.
    pub fn new(config: GroupConfig) -> Self {
        GroupCoordinator {
            config,
            ..Default::default()
        }
    }

    /// A coordinator whose member ids derive from `seed`. The broker passes random bytes
    /// drawn at start-up: a restarted coordinator then never hands out an id that a member of
    /// the previous incarnation still holds (`new` always starts from seed 0).
    pub fn with_member_id_seed(config: GroupConfig, seed: u128) -> Self {
        GroupCoordinator {
            config,
            member_id_seed: seed,
            ..Default::default()
        }
    }

    /// The group, if known.
    pub fn group(&self, group_id: &str) -> Option<&ClassicGroup> {
        self.groups.get(group_id)
    }

    /// Ids of all known groups.
    pub fn group_ids(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// The next 128-bit unique value, formatted as a version-4 UUID: a bijective mix of the
    /// seed and a counter, so ids never repeat within one seed and look like Kafka's.
    pub(crate) fn next_unique_uuid(&mut self) -> uuid::Uuid {
        self.next_member_seq += 1;
        let seed_hi = (self.member_id_seed >> 64) as u64;
        let seed_lo = self.member_id_seed as u64;
        let hi = splitmix64(seed_hi ^ splitmix64(self.next_member_seq));
        let lo = splitmix64(seed_lo.wrapping_add(self.next_member_seq));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    fn new_member_id(&mut self, client_id: &str, group: &ClassicGroup) -> String {
        // Kafka makes ids `client_id-UUID`. The loop skips ids that survived a restart through
        // replayed records (only possible when two incarnations share a seed).
        loop {
            let id = format!("{client_id}-{}", self.next_unique_uuid());
            if !group.members.contains_key(&id) && !group.pending_members.contains_key(&id) {
                return id;
            }
        }
    }

    /// JoinGroup.
    pub fn join_group(
        &mut self,
        req: JoinGroupRequest,
        now_ms: i64,
    ) -> (Reply<JoinGroupResponse>, Outcome) {
        let mut out = Outcome::default();
        let reply = self.join_inner(req, now_ms, &mut out);
        (reply, out)
    }

    fn join_inner(
        &mut self,
        req: JoinGroupRequest,
        now_ms: i64,
        out: &mut Outcome,
    ) -> Reply<JoinGroupResponse> {
        if req.group_id.is_empty() {
            return Reply::Now(Err(GroupError::InvalidGroupId));
        }
        if req.session_timeout_ms < self.config.group_min_session_timeout_ms
            || req.session_timeout_ms > self.config.group_max_session_timeout_ms
        {
            return Reply::Now(Err(GroupError::InvalidSessionTimeout {
                session_timeout_ms: req.session_timeout_ms,
            }));
        }
        if self.consumer_groups.contains_key(&req.group_id) {
            // Classic members cannot join a KIP-848 group (no online migration here).
            return Reply::Now(Err(GroupError::InconsistentGroupProtocol));
        }
        if !self.groups.contains_key(&req.group_id) {
            if !req.member_id.is_empty() {
                return Reply::Now(Err(GroupError::UnknownMemberId));
            }
            let group = ClassicGroup::new(req.group_id.clone(), now_ms);
            self.groups.insert(req.group_id.clone(), group);
        }
        let mut group = match self.groups.remove(&req.group_id) {
            Some(group) => group,
            None => return Reply::Now(Err(GroupError::CoordinatorNotAvailable)),
        };
        let reply = self.join_group_in(&mut group, req, now_ms, out);
        self.groups.insert(group.group_id.clone(), group);
        reply
    }

    fn join_group_in(
        &mut self,
        group: &mut ClassicGroup,
        req: JoinGroupRequest,
        now_ms: i64,
        out: &mut Outcome,
    ) -> Reply<JoinGroupResponse> {
        if group.state == GroupState::Dead {
            return Reply::Now(Err(GroupError::CoordinatorNotAvailable));
        }
        let except = (!req.member_id.is_empty()).then_some(req.member_id.as_str());
        if !group.supports_protocols(&req.protocol_type, &req.protocols, except) {
            return Reply::Now(Err(GroupError::InconsistentGroupProtocol));
        }
        if let Some(instance_id) = &req.group_instance_id {
            if let Some(existing) = group.static_members.get(instance_id).cloned() {
                if !req.member_id.is_empty() && req.member_id != existing {
                    return Reply::Now(Err(GroupError::FencedInstanceId));
                }
                if req.member_id.is_empty() {
                    return self.replace_static_member(group, existing, req, now_ms, out);
                }
            }
        }
        if req.member_id.is_empty() {
            if group.members.len() + group.pending_members.len() >= self.config.group_max_size {
                return Reply::Now(Err(GroupError::GroupMaxSizeReached));
            }
            let member_id = self.new_member_id(&req.client_id, group);
            if req.group_instance_id.is_none() && req.require_known_member_id {
                // KIP-394: hold a place for the id until it comes back or its session lapses.
                let expires_ms = now_ms + i64::from(req.session_timeout_ms);
                group.pending_members.insert(member_id.clone(), expires_ms);
                return Reply::Now(Err(GroupError::MemberIdRequired { member_id }));
            }
            return self.add_member(group, member_id, req, now_ms, out);
        }
        if group.pending_members.remove(&req.member_id).is_some() {
            let member_id = req.member_id.clone();
            return self.add_member(group, member_id, req, now_ms, out);
        }
        let member_id = req.member_id.clone();
        let Some(member) = group.members.get_mut(&member_id) else {
            return Reply::Now(Err(GroupError::UnknownMemberId));
        };
        if member.group_instance_id != req.group_instance_id {
            return Reply::Now(Err(GroupError::FencedInstanceId));
        }
        let protocols_changed = member.protocols != req.protocols;
        member.protocols = req.protocols;
        member.session_timeout_ms = req.session_timeout_ms;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.last_heartbeat_ms = now_ms;
        let is_leader = group.leader.as_deref() == Some(member_id.as_str());
        match group.state {
            GroupState::PreparingRebalance => {
                member.awaiting_join = true;
                self.maybe_complete_join(group, now_ms, out);
                Reply::Parked { member_id }
            }
            GroupState::CompletingRebalance | GroupState::Stable
                if !protocols_changed && (!is_leader || group.state != GroupState::Stable) =>
            {
                // A follower that lost our answer: resend the generation it is already in.
                Reply::Now(Ok(join_response(group, &member_id)))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                member.awaiting_join = true;
                self.prepare_rebalance(group, now_ms, out);
                self.maybe_complete_join(group, now_ms, out);
                Reply::Parked { member_id }
            }
            GroupState::Empty | GroupState::Dead => Reply::Now(Err(GroupError::UnknownMemberId)),
        }
    }

    /// KIP-345: a static member restarted and joins with no member id. It takes over the old
    /// member's place under a new id; the old id is fenced. In a Stable group with unchanged
    /// protocols it gets the current generation back without a rebalance.
    fn replace_static_member(
        &mut self,
        group: &mut ClassicGroup,
        old_member_id: String,
        req: JoinGroupRequest,
        now_ms: i64,
        out: &mut Outcome,
    ) -> Reply<JoinGroupResponse> {
        let new_member_id = self.new_member_id(&req.client_id, group);
        let Some(mut member) = group.members.remove(&old_member_id) else {
            return Reply::Now(Err(GroupError::UnknownMemberId));
        };
        fence_parked(group, &member, out);
        let protocols_changed = member.protocols != req.protocols;
        member.member_id = new_member_id.clone();
        member.client_id = req.client_id;
        member.client_host = req.client_host;
        member.session_timeout_ms = req.session_timeout_ms;
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        member.protocols = req.protocols;
        member.last_heartbeat_ms = now_ms;
        member.awaiting_join = false;
        member.awaiting_sync = false;
        if let Some(instance_id) = &member.group_instance_id {
            group
                .static_members
                .insert(instance_id.clone(), new_member_id.clone());
        }
        if group.leader.as_deref() == Some(old_member_id.as_str()) {
            group.leader = Some(new_member_id.clone());
        }
        group.members.insert(new_member_id.clone(), member);
        if group.state == GroupState::Stable && !protocols_changed {
            out.records.push(group_metadata_record(group));
            let mut response = join_response(group, &new_member_id);
            // The returning leader must not reassign: it would not know the others rejoined.
            response.members.clear();
            return Reply::Now(Ok(response));
        }
        if let Some(member) = group.members.get_mut(&new_member_id) {
            member.awaiting_join = true;
        }
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(group, now_ms, out)
            }
            GroupState::Empty => self.start_initial_rebalance(group, now_ms),
            GroupState::PreparingRebalance | GroupState::Dead => {}
        }
        self.maybe_complete_join(group, now_ms, out);
        Reply::Parked {
            member_id: new_member_id,
        }
    }

    fn add_member(
        &mut self,
        group: &mut ClassicGroup,
        member_id: String,
        req: JoinGroupRequest,
        now_ms: i64,
        out: &mut Outcome,
    ) -> Reply<JoinGroupResponse> {
        if group.is_empty() {
            group.protocol_type = Some(req.protocol_type.clone());
        }
        if let Some(instance_id) = &req.group_instance_id {
            group
                .static_members
                .insert(instance_id.clone(), member_id.clone());
        }
        group.members.insert(
            member_id.clone(),
            Member {
                member_id: member_id.clone(),
                group_instance_id: req.group_instance_id,
                client_id: req.client_id,
                client_host: req.client_host,
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                protocol_type: req.protocol_type,
                protocols: req.protocols,
                assignment: Bytes::new(),
                last_heartbeat_ms: now_ms,
                awaiting_join: true,
                awaiting_sync: false,
            },
        );
        match group.state {
            GroupState::Empty => self.start_initial_rebalance(group, now_ms),
            GroupState::PreparingRebalance => {
                if let Some(cap_ms) = group.initial_join_cap_ms {
                    // Each newcomer during the initial delay buys another delay, up to the cap.
                    let delay_ms = i64::from(self.config.group_initial_rebalance_delay_ms);
                    group.join_deadline_ms = Some((now_ms + delay_ms).min(cap_ms));
                }
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.prepare_rebalance(group, now_ms, out)
            }
            GroupState::Dead => {}
        }
        self.maybe_complete_join(group, now_ms, out);
        Reply::Parked { member_id }
    }

    fn start_initial_rebalance(&self, group: &mut ClassicGroup, now_ms: i64) {
        group.transition_to(GroupState::PreparingRebalance, now_ms);
        let cap_ms = now_ms + group.max_rebalance_timeout_ms();
        let delay_ms = i64::from(self.config.group_initial_rebalance_delay_ms);
        group.join_deadline_ms = Some((now_ms + delay_ms).min(cap_ms));
        group.initial_join_cap_ms = Some(cap_ms);
    }

    /// Enters PreparingRebalance from Stable or CompletingRebalance. Parked syncs of the
    /// abandoned generation are answered REBALANCE_IN_PROGRESS.
    pub(crate) fn prepare_rebalance(
        &self,
        group: &mut ClassicGroup,
        now_ms: i64,
        out: &mut Outcome,
    ) {
        if !matches!(
            group.state,
            GroupState::Stable | GroupState::CompletingRebalance
        ) {
            return;
        }
        for member in group.members.values_mut() {
            if member.awaiting_sync {
                member.awaiting_sync = false;
                out.ready.push(Ready::Sync {
                    group_id: group.group_id.clone(),
                    member_id: member.member_id.clone(),
                    result: Err(GroupError::RebalanceInProgress),
                });
            }
        }
        group.transition_to(GroupState::PreparingRebalance, now_ms);
        group.sync_deadline_ms = None;
        group.initial_join_cap_ms = None;
        group.join_deadline_ms = Some(now_ms + group.max_rebalance_timeout_ms());
    }

    /// Completes the join early when every member is back — except during the initial delay,
    /// whose whole point is to wait for members not known yet.
    pub(crate) fn maybe_complete_join(
        &self,
        group: &mut ClassicGroup,
        now_ms: i64,
        out: &mut Outcome,
    ) {
        if group.state == GroupState::PreparingRebalance
            && group.initial_join_cap_ms.is_none()
            && group.all_members_joined()
        {
            self.complete_join(group, now_ms, out);
        }
    }

    /// Ends PreparingRebalance: members that did not rejoin are dropped, the generation is
    /// bumped, a protocol and a leader are chosen and every parked join is answered.
    pub(crate) fn complete_join(&self, group: &mut ClassicGroup, now_ms: i64, out: &mut Outcome) {
        let absent: Vec<String> = group
            .members
            .values()
            .filter(|m| !m.awaiting_join)
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in absent {
            remove_member(group, &member_id, out);
        }
        group.join_deadline_ms = None;
        group.initial_join_cap_ms = None;
        group.generation_id = group.generation_id.wrapping_add(1);
        if group.is_empty() {
            group.protocol_name = None;
            group.leader = None;
            group.transition_to(GroupState::Empty, now_ms);
            out.records.push(group_metadata_record(group));
            return;
        }
        group.protocol_name = group.select_protocol();
        let leader_present = group
            .leader
            .as_ref()
            .is_some_and(|leader| group.members.contains_key(leader));
        if !leader_present {
            group.leader = group.members.keys().next().cloned();
        }
        group.transition_to(GroupState::CompletingRebalance, now_ms);
        group.sync_deadline_ms = Some(now_ms + group.max_rebalance_timeout_ms());
        let member_ids: Vec<String> = group.members.keys().cloned().collect();
        for member_id in member_ids {
            let response = join_response(group, &member_id);
            if let Some(member) = group.members.get_mut(&member_id) {
                member.awaiting_join = false;
                member.last_heartbeat_ms = now_ms;
                member.assignment = Bytes::new();
            }
            out.ready.push(Ready::Join {
                group_id: group.group_id.clone(),
                member_id,
                result: Ok(response),
            });
        }
    }

    /// SyncGroup.
    pub fn sync_group(
        &mut self,
        req: SyncGroupRequest,
        now_ms: i64,
    ) -> (Reply<SyncGroupResponse>, Outcome) {
        let mut out = Outcome::default();
        let Some(group) = self.groups.get_mut(&req.group_id) else {
            return (Reply::Now(Err(GroupError::UnknownMemberId)), out);
        };
        if let Err(error) = validate_member(
            group,
            &req.member_id,
            req.group_instance_id.as_deref(),
            req.generation_id,
        ) {
            return (Reply::Now(Err(error)), out);
        }
        let type_mismatch = req
            .protocol_type
            .as_ref()
            .is_some_and(|t| group.protocol_type.as_ref() != Some(t));
        let name_mismatch = req
            .protocol_name
            .as_ref()
            .is_some_and(|n| group.protocol_name.as_ref() != Some(n));
        if type_mismatch || name_mismatch {
            return (Reply::Now(Err(GroupError::InconsistentGroupProtocol)), out);
        }
        if let Some(member) = group.members.get_mut(&req.member_id) {
            member.last_heartbeat_ms = now_ms;
        }
        let reply = match group.state {
            GroupState::PreparingRebalance => Reply::Now(Err(GroupError::RebalanceInProgress)),
            GroupState::Stable => Reply::Now(Ok(sync_response(group, &req.member_id))),
            GroupState::CompletingRebalance => {
                if let Some(member) = group.members.get_mut(&req.member_id) {
                    member.awaiting_sync = true;
                }
                if group.leader.as_deref() == Some(req.member_id.as_str()) {
                    let mut assignments: HashMap<String, Bytes> =
                        req.assignments.into_iter().collect();
                    for member in group.members.values_mut() {
                        // Members the leader left out get an empty assignment, as in Kafka.
                        member.assignment =
                            assignments.remove(&member.member_id).unwrap_or_default();
                    }
                    group.transition_to(GroupState::Stable, now_ms);
                    group.sync_deadline_ms = None;
                    out.records.push(group_metadata_record(group));
                    let member_ids: Vec<String> = group.members.keys().cloned().collect();
                    for member_id in member_ids {
                        let response = sync_response(group, &member_id);
                        if let Some(member) = group.members.get_mut(&member_id) {
                            if member.awaiting_sync {
                                member.awaiting_sync = false;
                                out.ready.push(Ready::Sync {
                                    group_id: group.group_id.clone(),
                                    member_id,
                                    result: Ok(response),
                                });
                            }
                        }
                    }
                }
                Reply::Parked {
                    member_id: req.member_id,
                }
            }
            GroupState::Empty => Reply::Now(Err(GroupError::UnknownMemberId)),
            GroupState::Dead => Reply::Now(Err(GroupError::CoordinatorNotAvailable)),
        };
        (reply, out)
    }

    /// Heartbeat: keeps the session alive, and tells members to rejoin during a rebalance.
    pub fn heartbeat(
        &mut self,
        group_id: &str,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        now_ms: i64,
    ) -> Result<(), GroupError> {
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or(GroupError::UnknownMemberId)?;
        validate_member(group, member_id, group_instance_id, generation_id)?;
        if let Some(member) = group.members.get_mut(member_id) {
            member.last_heartbeat_ms = now_ms;
        }
        match group.state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::Empty => Err(GroupError::UnknownMemberId),
            GroupState::Dead => Err(GroupError::CoordinatorNotAvailable),
            GroupState::CompletingRebalance | GroupState::Stable => Ok(()),
        }
    }

    /// LeaveGroup (v3+ batches members; older versions pass one). Returns one result per
    /// leaving member, in order.
    pub fn leave_group(
        &mut self,
        group_id: &str,
        leaving: &[LeavingMember],
        now_ms: i64,
    ) -> (Vec<Result<(), GroupError>>, Outcome) {
        let mut out = Outcome::default();
        let Some(mut group) = self.groups.remove(group_id) else {
            let results = leaving
                .iter()
                .map(|_| Err(GroupError::UnknownMemberId))
                .collect();
            return (results, out);
        };
        let mut removed_any = false;
        let results = leaving
            .iter()
            .map(|leaver| {
                if group.state == GroupState::Dead {
                    return Err(GroupError::CoordinatorNotAvailable);
                }
                let member_id = match &leaver.group_instance_id {
                    Some(instance_id) => {
                        let known = group
                            .static_members
                            .get(instance_id)
                            .cloned()
                            .ok_or(GroupError::UnknownMemberId)?;
                        if !leaver.member_id.is_empty() && leaver.member_id != known {
                            return Err(GroupError::FencedInstanceId);
                        }
                        known
                    }
                    None => leaver.member_id.clone(),
                };
                if group.pending_members.remove(&member_id).is_some() {
                    return Ok(());
                }
                let member = group
                    .members
                    .get(&member_id)
                    .ok_or(GroupError::UnknownMemberId)?;
                if member.group_instance_id.is_some() && leaver.group_instance_id.is_none() {
                    // A static member is only removed by its instance id.
                    return Err(GroupError::FencedInstanceId);
                }
                remove_member(&mut group, &member_id, &mut out);
                removed_any = true;
                Ok(())
            })
            .collect();
        if removed_any || group.state == GroupState::PreparingRebalance {
            self.prepare_rebalance(&mut group, now_ms, &mut out);
            self.maybe_complete_join(&mut group, now_ms, &mut out);
        }
        self.groups.insert(group.group_id.clone(), group);
        (results, out)
    }

    /// Runs the timers due at `now_ms`: expired sessions and KIP-394 places, rebalance
    /// deadlines (including the initial delay) and sync deadlines; for consumer groups,
    /// expired sessions and missed revocation deadlines.
    pub fn poll(&mut self, now_ms: i64) -> Outcome {
        let mut out = Outcome::default();
        let mut group_ids: Vec<String> = self.groups.keys().cloned().collect();
        group_ids.sort();
        for group_id in group_ids {
            let Some(mut group) = self.groups.remove(&group_id) else {
                continue;
            };
            self.poll_group(&mut group, now_ms, &mut out);
            self.groups.insert(group_id, group);
        }
        self.poll_consumer_groups(now_ms, &mut out.records);
        out
    }

    fn poll_group(&self, group: &mut ClassicGroup, now_ms: i64, out: &mut Outcome) {
        group
            .pending_members
            .retain(|_, expires_ms| *expires_ms > now_ms);
        let expired: Vec<String> = group
            .members
            .values()
            .filter(|m| m.session_expired(now_ms))
            .map(|m| m.member_id.clone())
            .collect();
        if !expired.is_empty() {
            for member_id in &expired {
                remove_member(group, member_id, out);
            }
            self.prepare_rebalance(group, now_ms, out);
        }
        if group.state == GroupState::CompletingRebalance
            && group.sync_deadline_ms.is_some_and(|d| now_ms >= d)
        {
            // Kafka drops members that never synced and starts over.
            let unsynced: Vec<String> = group
                .members
                .values()
                .filter(|m| !m.awaiting_sync)
                .map(|m| m.member_id.clone())
                .collect();
            for member_id in &unsynced {
                remove_member(group, member_id, out);
            }
            self.prepare_rebalance(group, now_ms, out);
        }
        if group.state == GroupState::PreparingRebalance {
            if group.join_deadline_ms.is_some_and(|d| now_ms >= d) {
                self.complete_join(group, now_ms, out);
            } else {
                self.maybe_complete_join(group, now_ms, out);
            }
        }
    }
}

/// A bijective 64-bit mixer (SplitMix64's finaliser): distinct inputs give distinct outputs.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Checks that `member_id` (and its static id) belongs to the group's `generation_id`.
pub(crate) fn validate_member(
    group: &ClassicGroup,
    member_id: &str,
    group_instance_id: Option<&str>,
    generation_id: i32,
) -> Result<(), GroupError> {
    if group.state == GroupState::Dead {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    if let Some(instance_id) = group_instance_id {
        if let Some(known) = group.static_members.get(instance_id) {
            if known != member_id {
                return Err(GroupError::FencedInstanceId);
            }
        }
    }
    let member = group
        .members
        .get(member_id)
        .ok_or(GroupError::UnknownMemberId)?;
    // As in Kafka, a request without an instance id is checked by member id alone.
    if group_instance_id.is_some() && member.group_instance_id.as_deref() != group_instance_id {
        return Err(GroupError::FencedInstanceId);
    }
    if generation_id != group.generation_id {
        return Err(GroupError::IllegalGeneration);
    }
    Ok(())
}

/// Removes a member, answering its parked requests with UNKNOWN_MEMBER_ID.
fn remove_member(group: &mut ClassicGroup, member_id: &str, out: &mut Outcome) {
    if let Some(member) = group.members.remove(member_id) {
        if let Some(instance_id) = &member.group_instance_id {
            group.static_members.remove(instance_id);
        }
        answer_parked(group, &member, GroupError::UnknownMemberId, out);
    }
}

/// A replaced static member's parked requests learn that they were fenced.
fn fence_parked(group: &ClassicGroup, member: &Member, out: &mut Outcome) {
    answer_parked(group, member, GroupError::FencedInstanceId, out);
}

fn answer_parked(group: &ClassicGroup, member: &Member, error: GroupError, out: &mut Outcome) {
    if member.awaiting_join {
        out.ready.push(Ready::Join {
            group_id: group.group_id.clone(),
            member_id: member.member_id.clone(),
            result: Err(error.clone()),
        });
    }
    if member.awaiting_sync {
        out.ready.push(Ready::Sync {
            group_id: group.group_id.clone(),
            member_id: member.member_id.clone(),
            result: Err(error),
        });
    }
}

fn join_response(group: &ClassicGroup, member_id: &str) -> JoinGroupResponse {
    let leader = group.leader.clone().unwrap_or_default();
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let members = if leader == member_id {
        group
            .members
            .values()
            .map(|m| JoinedMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata_for(&protocol).cloned().unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinGroupResponse {
        generation_id: group.generation_id,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader,
        member_id: member_id.to_string(),
        members,
    }
}

fn sync_response(group: &ClassicGroup, member_id: &str) -> SyncGroupResponse {
    SyncGroupResponse {
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        assignment: group
            .members
            .get(member_id)
            .map(|m| m.assignment.clone())
            .unwrap_or_default(),
    }
}

/// The group metadata record for the group's current generation.
pub(crate) fn group_metadata_record(group: &ClassicGroup) -> CoordinatorRecord {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    CoordinatorRecord::GroupMetadata {
        group_id: group.group_id.clone(),
        value: Some(GroupMetadataValue {
            protocol_type: group.protocol_type.clone().unwrap_or_default(),
            generation_id: group.generation_id,
            protocol_name: group.protocol_name.clone(),
            leader: group.leader.clone(),
            current_state_timestamp_ms: group.state_timestamp_ms,
            members: group
                .members
                .values()
                .map(|m| MemberMetadata {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata_for(&protocol).cloned().unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }),
    }
}
