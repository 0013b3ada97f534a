//! ConsumerGroupHeartbeat: joining (epoch 0), heartbeating with the current epoch, leaving
//! (-1) and a static member's temporary leave (-2), plus the session and revocation timers run
//! by [`GroupCoordinator::poll`].
//!
//! A heartbeat works on a copy of its group and stores it back only when it succeeds, so a
//! refused heartbeat changes nothing and writes nothing. The order of a successful one follows
//! Kafka: (1) update the member and its subscription, bump the group epoch if the
//! subscriptions or the subscribed topics' metadata changed; (2) recompute the target
//! assignment when the group epoch passed the assignment epoch; (3) reconcile this member.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::assignor::{self, AssignmentSpec};
use super::reconcile::reconcile;
use super::record::{Assignment, ConsumerGroupRecord, MemberState, TopicMetadata};
use super::{
    ConsumerGroup, ConsumerGroupConfig, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse, ConsumerGroupMember, JOIN_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH,
};
use crate::coordinator::GroupCoordinator;
use crate::error::GroupError;
use crate::group::GroupState;
use crate::record::CoordinatorRecord;

fn record(record: ConsumerGroupRecord) -> CoordinatorRecord {
    CoordinatorRecord::ConsumerGroup(record)
}

impl GroupCoordinator {
    /// Sets the consumer-protocol settings (`group.consumer.*`).
    pub fn with_consumer_group_config(mut self, config: ConsumerGroupConfig) -> Self {
        self.consumer_config = config;
        self
    }

    /// The consumer-protocol settings in force.
    pub fn consumer_group_config(&self) -> &ConsumerGroupConfig {
        &self.consumer_config
    }

    /// The KIP-848 consumer group, if known.
    pub fn consumer_group(&self, group_id: &str) -> Option<&ConsumerGroup> {
        self.consumer_groups.get(group_id)
    }

    /// ConsumerGroupHeartbeat. `topic_metadata` resolves a topic name to its id and partition
    /// count (`None`: no such topic). The records must be appended before answering; a
    /// refusal comes with no records.
    pub fn consumer_group_heartbeat(
        &mut self,
        req: ConsumerGroupHeartbeatRequest,
        topic_metadata: &impl Fn(&str) -> Option<(Uuid, i32)>,
        now_ms: i64,
    ) -> (
        Result<ConsumerGroupHeartbeatResponse, GroupError>,
        Vec<CoordinatorRecord>,
    ) {
        let mut records = Vec::new();
        let result = self.heartbeat_in(req, topic_metadata, now_ms, &mut records);
        if result.is_err() {
            records.clear();
        }
        (result, records)
    }

    fn validate_heartbeat(&self, req: &ConsumerGroupHeartbeatRequest) -> Result<(), GroupError> {
        let invalid = |reason| Err(GroupError::InvalidRequest { reason });
        if req.group_id.is_empty() {
            return invalid("GroupId can't be empty");
        }
        if req.instance_id.as_deref() == Some("") {
            return invalid("InstanceId can't be empty");
        }
        if req.rack_id.as_deref() == Some("") {
            return invalid("RackId can't be empty");
        }
        // librdkafka sends an empty regex next to its topic names; only a real pattern is
        // refused (regex subscriptions are not served yet).
        if req
            .subscribed_topic_regex
            .as_deref()
            .is_some_and(|regex| !regex.is_empty())
        {
            return invalid("SubscribedTopicRegex is not supported");
        }
        match req.member_epoch {
            JOIN_GROUP_MEMBER_EPOCH => {
                if req.rebalance_timeout_ms == -1 {
                    return invalid("RebalanceTimeoutMs must be provided in first request");
                }
                if req
                    .topic_partitions
                    .as_ref()
                    .is_none_or(|tp| !tp.is_empty())
                {
                    return invalid("TopicPartitions must be empty when (re-)joining");
                }
                if req
                    .subscribed_topic_names
                    .as_ref()
                    .is_none_or(Vec::is_empty)
                {
                    return invalid("SubscribedTopicNames must be set in first request");
                }
            }
            LEAVE_GROUP_STATIC_MEMBER_EPOCH => {
                if req.member_id.is_empty() {
                    return invalid("MemberId can't be empty");
                }
                if req.instance_id.is_none() {
                    return invalid("InstanceId can't be null");
                }
            }
            epoch if epoch > 0 || epoch == LEAVE_GROUP_MEMBER_EPOCH => {
                if req.member_id.is_empty() {
                    return invalid("MemberId can't be empty");
                }
            }
            _ => return invalid("MemberEpoch is invalid"),
        }
        if let Some(name) = &req.server_assignor {
            let configured = self.consumer_config.group_consumer_assignors.contains(name);
            if !configured || !assignor::is_known(name) {
                return Err(GroupError::UnsupportedAssignor {
                    assignor: name.clone(),
                });
            }
        }
        Ok(())
    }

    fn heartbeat_in(
        &mut self,
        req: ConsumerGroupHeartbeatRequest,
        topic_metadata: &impl Fn(&str) -> Option<(Uuid, i32)>,
        now_ms: i64,
        records: &mut Vec<CoordinatorRecord>,
    ) -> Result<ConsumerGroupHeartbeatResponse, GroupError> {
        self.validate_heartbeat(&req)?;
        if req.member_epoch == LEAVE_GROUP_MEMBER_EPOCH
            || req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH
        {
            return self.leave_consumer_group(&req, records);
        }
        let joining = req.member_epoch == JOIN_GROUP_MEMBER_EPOCH;
        let mut replaces_classic = false;
        let mut group = match self.consumer_groups.get(&req.group_id) {
            Some(group) => group.clone(),
            None if !joining => return Err(GroupError::GroupIdNotFound),
            None => {
                if let Some(classic) = self.groups.get(&req.group_id) {
                    // An empty classic group turns into a consumer group (its offsets stay);
                    // a live one keeps its id.
                    let empty =
                        classic.state == GroupState::Empty && classic.pending_members.is_empty();
                    if !empty {
                        return Err(GroupError::GroupIdNotFound);
                    }
                    replaces_classic = true;
                }
                ConsumerGroup::new(req.group_id.clone())
            }
        };
        let member_id = if req.member_id.is_empty() {
            // v0 clients let the coordinator choose (KIP-1082 moved the choice to clients).
            self.next_unique_uuid().to_string()
        } else {
            req.member_id.clone()
        };
        if group.members.len() >= self.consumer_config.group_consumer_max_size
            && !group.members.contains_key(&member_id)
        {
            return Err(GroupError::GroupMaxSizeReached);
        }
        let owned = req.topic_partitions.as_ref().map(|tps| to_assignment(tps));
        let (mut member, replaced) =
            resolve_member(&group, &req, &member_id, owned.as_ref(), now_ms)?;
        let is_new = !group.members.contains_key(&member_id);
        let before = member.clone();
        apply_request(&mut member, &req, now_ms);

        // 1. The member's subscription, the topics' metadata and the group epoch.
        if let Some(old_member_id) = &replaced {
            let target = group.target_assignment.remove(old_member_id);
            remove_member(&mut group, old_member_id, records);
            records.push(record(ConsumerGroupRecord::MemberMetadata {
                group_id: group.group_id.clone(),
                member_id: member_id.clone(),
                value: Some(member.metadata_value()),
            }));
            let target = target.unwrap_or_default();
            records.push(record(ConsumerGroupRecord::TargetAssignmentMember {
                group_id: group.group_id.clone(),
                member_id: member_id.clone(),
                partitions: Some(target.clone()),
            }));
            group.target_assignment.insert(member_id.clone(), target);
            records.push(record(ConsumerGroupRecord::CurrentMemberAssignment {
                group_id: group.group_id.clone(),
                member_id: member_id.clone(),
                value: Some(member.assignment_value()),
            }));
        } else if is_new || member.metadata_value() != before.metadata_value() {
            records.push(record(ConsumerGroupRecord::MemberMetadata {
                group_id: group.group_id.clone(),
                member_id: member_id.clone(),
                value: Some(member.metadata_value()),
            }));
        }
        let mut bump = is_new && replaced.is_none()
            || member.subscribed_topic_names != before.subscribed_topic_names;
        if let Some(instance_id) = &member.instance_id {
            group
                .static_members
                .insert(instance_id.clone(), member_id.clone());
        }
        group.members.insert(member_id.clone(), member);
        let metadata = subscription_metadata(&group, |name| {
            topic_metadata(name).map(|(topic_id, num_partitions)| TopicMetadata {
                topic_id,
                topic_name: name.to_string(),
                num_partitions,
            })
        });
        if metadata != group.subscription_metadata {
            records.push(record(ConsumerGroupRecord::PartitionMetadata {
                group_id: group.group_id.clone(),
                topics: Some(metadata.values().cloned().collect()),
            }));
            group.subscription_metadata = metadata;
            bump = true;
        }
        if bump {
            group.group_epoch += 1;
            records.push(record(ConsumerGroupRecord::GroupMetadata {
                group_id: group.group_id.clone(),
                epoch: Some(group.group_epoch),
            }));
        }

        // 2. The target assignment.
        if group.group_epoch > group.assignment_epoch {
            self.update_target_assignment(&mut group, records);
        }

        // 3. This member's reconciliation.
        let current = group
            .members
            .get(&member_id)
            .cloned()
            .ok_or(GroupError::UnknownMemberId)?;
        let target = group
            .target_assignment
            .get(&member_id)
            .cloned()
            .unwrap_or_default();
        let mut updated = reconcile(
            &current,
            group.assignment_epoch,
            &target,
            owned.as_ref(),
            |topic_id, partition| group.owner_of(topic_id, partition, &member_id).is_some(),
        )?;
        if updated.state == MemberState::UnrevokedPartitions {
            let newly_revoking = current.state != MemberState::UnrevokedPartitions
                || current.member_epoch != updated.member_epoch;
            if newly_revoking || updated.revocation_deadline_ms.is_none() {
                updated.revocation_deadline_ms =
                    Some(now_ms + i64::from(updated.rebalance_timeout_ms.max(0)));
            }
        } else {
            updated.revocation_deadline_ms = None;
        }
        if updated.assignment_value() != current.assignment_value() {
            records.push(record(ConsumerGroupRecord::CurrentMemberAssignment {
                group_id: group.group_id.clone(),
                member_id: member_id.clone(),
                value: Some(updated.assignment_value()),
            }));
        }
        let full_request = joining
            || (req.rebalance_timeout_ms != -1
                && req.subscribed_topic_names.is_some()
                && req.topic_partitions.is_some());
        let assignment = (full_request
            || updated.assigned_partitions != before.assigned_partitions)
            .then(|| updated.assigned_partitions.clone());
        let response = ConsumerGroupHeartbeatResponse {
            member_id: member_id.clone(),
            member_epoch: updated.member_epoch,
            heartbeat_interval_ms: self.consumer_config.group_consumer_heartbeat_interval_ms,
            assignment,
        };
        group.members.insert(member_id, updated);
        if replaces_classic {
            self.groups.remove(&req.group_id);
            records.insert(
                0,
                CoordinatorRecord::GroupMetadata {
                    group_id: req.group_id.clone(),
                    value: None,
                },
            );
        }
        self.consumer_groups.insert(req.group_id, group);
        Ok(response)
    }

    /// Recomputes every member's target with the group's preferred assignor; writes the
    /// members whose target changed, then the new assignment epoch.
    fn update_target_assignment(
        &self,
        group: &mut ConsumerGroup,
        records: &mut Vec<CoordinatorRecord>,
    ) {
        let subscriptions: BTreeMap<String, Vec<String>> = group
            .members
            .values()
            .map(|m| (m.member_id.clone(), m.subscribed_topic_names.clone()))
            .collect();
        let name = group.preferred_assignor(&self.consumer_config);
        let spec = AssignmentSpec {
            subscriptions: &subscriptions,
            topics: &group.subscription_metadata,
            previous: &group.target_assignment,
        };
        let target = assignor::assign(&name, spec);
        for (member_id, partitions) in &target {
            if group.target_assignment.get(member_id) != Some(partitions) {
                records.push(record(ConsumerGroupRecord::TargetAssignmentMember {
                    group_id: group.group_id.clone(),
                    member_id: member_id.clone(),
                    partitions: Some(partitions.clone()),
                }));
            }
        }
        group.target_assignment = target;
        group.assignment_epoch = group.group_epoch;
        records.push(record(ConsumerGroupRecord::TargetAssignmentMetadata {
            group_id: group.group_id.clone(),
            assignment_epoch: Some(group.assignment_epoch),
        }));
    }

    fn leave_consumer_group(
        &mut self,
        req: &ConsumerGroupHeartbeatRequest,
        records: &mut Vec<CoordinatorRecord>,
    ) -> Result<ConsumerGroupHeartbeatResponse, GroupError> {
        let group = self
            .consumer_groups
            .get_mut(&req.group_id)
            .ok_or(GroupError::GroupIdNotFound)?;
        let member_id = match &req.instance_id {
            None => group
                .members
                .get(&req.member_id)
                .map(|m| m.member_id.clone())
                .ok_or(GroupError::UnknownMemberId)?,
            Some(instance_id) => {
                let known = group
                    .static_members
                    .get(instance_id)
                    .ok_or(GroupError::UnknownMemberId)?;
                if *known != req.member_id {
                    return Err(GroupError::FencedInstanceId);
                }
                known.clone()
            }
        };
        if req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
            // The static member keeps its partitions until it returns or its session ends.
            if let Some(member) = group.members.get_mut(&member_id) {
                member.member_epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
                member.partitions_pending_revocation.clear();
                member.revocation_deadline_ms = None;
                records.push(record(ConsumerGroupRecord::CurrentMemberAssignment {
                    group_id: group.group_id.clone(),
                    member_id: member_id.clone(),
                    value: Some(member.assignment_value()),
                }));
            }
        } else {
            fence_member(group, &member_id, records);
        }
        Ok(ConsumerGroupHeartbeatResponse {
            member_id,
            member_epoch: req.member_epoch,
            heartbeat_interval_ms: 0,
            assignment: None,
        })
    }

    /// The consumer groups' timers at `now_ms`: members whose session lapsed, or that did not
    /// revoke within their rebalance timeout, are fenced. Called by [`GroupCoordinator::poll`].
    pub(crate) fn poll_consumer_groups(
        &mut self,
        now_ms: i64,
        records: &mut Vec<CoordinatorRecord>,
    ) {
        let session_ms = i64::from(self.consumer_config.group_consumer_session_timeout_ms);
        let mut group_ids: Vec<String> = self.consumer_groups.keys().cloned().collect();
        group_ids.sort();
        for group_id in group_ids {
            let Some(group) = self.consumer_groups.get_mut(&group_id) else {
                continue;
            };
            let expired: Vec<String> = group
                .members
                .values()
                .filter(|m| {
                    let session_over = now_ms >= m.last_heartbeat_ms + session_ms;
                    let revocation_over = m.state == MemberState::UnrevokedPartitions
                        && m.revocation_deadline_ms.is_some_and(|d| now_ms >= d);
                    session_over || revocation_over
                })
                .map(|m| m.member_id.clone())
                .collect();
            for member_id in expired {
                fence_member(group, &member_id, records);
            }
        }
    }
}

/// Finds (or creates, on a join) the member a heartbeat is for. Returns the member and, for a
/// static member rejoining under a new id, the id it replaces.
fn resolve_member(
    group: &ConsumerGroup,
    req: &ConsumerGroupHeartbeatRequest,
    member_id: &str,
    owned: Option<&Assignment>,
    now_ms: i64,
) -> Result<(ConsumerGroupMember, Option<String>), GroupError> {
    let joining = req.member_epoch == JOIN_GROUP_MEMBER_EPOCH;
    let Some(instance_id) = &req.instance_id else {
        return match group.members.get(member_id) {
            Some(member) if joining && check_epoch(member, req.member_epoch, owned).is_err() => {
                // A known member rejoining at epoch 0 (after FENCED_MEMBER_EPOCH, or a lost
                // join response): a join reports no partitions, so it starts over with none.
                let mut member = member.clone();
                member.member_epoch = 0;
                member.previous_member_epoch = 0;
                member.state = MemberState::Stable;
                member.assigned_partitions.clear();
                member.partitions_pending_revocation.clear();
                member.revocation_deadline_ms = None;
                Ok((member, None))
            }
            Some(member) => {
                check_epoch(member, req.member_epoch, owned)?;
                Ok((member.clone(), None))
            }
            None if joining => Ok((
                ConsumerGroupMember::new(member_id.to_string(), now_ms),
                None,
            )),
            None => Err(GroupError::UnknownMemberId),
        };
    };
    let existing = group
        .static_members
        .get(instance_id)
        .and_then(|id| group.members.get(id));
    match existing {
        None if joining => Ok((
            ConsumerGroupMember::new(member_id.to_string(), now_ms),
            None,
        )),
        None => Err(GroupError::UnknownMemberId),
        Some(existing) if joining => {
            if existing.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH {
                return Err(GroupError::UnreleasedInstanceId);
            }
            // The returning static member takes over its predecessor's partitions.
            let mut member = existing.clone();
            member.member_id = member_id.to_string();
            member.member_epoch = 0;
            member.previous_member_epoch = 0;
            let replaced = (existing.member_id != member_id).then(|| existing.member_id.clone());
            Ok((member, replaced))
        }
        Some(existing) => {
            if existing.member_id != member_id {
                return Err(GroupError::FencedInstanceId);
            }
            check_epoch(existing, req.member_epoch, owned)?;
            Ok((existing.clone(), None))
        }
    }
}

/// Kafka's epoch check: a newer epoch is fenced; an older one only passes if it is the
/// previous epoch and the member owns nothing beyond its assignment (the bump was lost).
fn check_epoch(
    member: &ConsumerGroupMember,
    received: i32,
    owned: Option<&Assignment>,
) -> Result<(), GroupError> {
    if received > member.member_epoch {
        return Err(GroupError::FencedMemberEpoch);
    }
    if received < member.member_epoch {
        let subset = owned.is_some_and(|owned| {
            owned.iter().all(|(topic_id, partitions)| {
                member
                    .assigned_partitions
                    .get(topic_id)
                    .is_some_and(|assigned| partitions.is_subset(assigned))
            })
        });
        if received != member.previous_member_epoch || !subset {
            return Err(GroupError::FencedMemberEpoch);
        }
    }
    Ok(())
}

fn apply_request(
    member: &mut ConsumerGroupMember,
    req: &ConsumerGroupHeartbeatRequest,
    now_ms: i64,
) {
    if let Some(instance_id) = &req.instance_id {
        member.instance_id = Some(instance_id.clone());
    }
    if let Some(rack_id) = &req.rack_id {
        member.rack_id = Some(rack_id.clone());
    }
    if req.rebalance_timeout_ms != -1 {
        member.rebalance_timeout_ms = req.rebalance_timeout_ms;
    }
    if let Some(name) = &req.server_assignor {
        member.server_assignor = Some(name.clone());
    }
    if let Some(names) = &req.subscribed_topic_names {
        let names: BTreeSet<String> = names.iter().cloned().collect();
        member.subscribed_topic_names = names.into_iter().collect();
    }
    member.client_id = req.client_id.clone();
    member.client_host = req.client_host.clone();
    member.last_heartbeat_ms = now_ms;
}

fn to_assignment(topic_partitions: &[(Uuid, Vec<i32>)]) -> Assignment {
    let mut assignment = Assignment::new();
    for (topic_id, partitions) in topic_partitions {
        assignment
            .entry(*topic_id)
            .or_default()
            .extend(partitions.iter().copied());
    }
    assignment
}

/// The metadata of every topic some member subscribes to, looked up with `lookup`.
fn subscription_metadata(
    group: &ConsumerGroup,
    lookup: impl Fn(&str) -> Option<TopicMetadata>,
) -> BTreeMap<String, TopicMetadata> {
    let names: BTreeSet<&String> = group
        .members
        .values()
        .flat_map(|m| m.subscribed_topic_names.iter())
        .collect();
    names
        .into_iter()
        .filter_map(|name| lookup(name).map(|metadata| (name.clone(), metadata)))
        .collect()
}

/// Removes a member with its three tombstones (current assignment, target, subscription).
fn remove_member(group: &mut ConsumerGroup, member_id: &str, records: &mut Vec<CoordinatorRecord>) {
    let Some(member) = group.members.remove(member_id) else {
        return;
    };
    if let Some(instance_id) = &member.instance_id {
        if group.static_members.get(instance_id).map(String::as_str) == Some(member_id) {
            group.static_members.remove(instance_id);
        }
    }
    group.target_assignment.remove(member_id);
    for tombstone in member_tombstones(&group.group_id, member_id) {
        records.push(tombstone);
    }
}

/// The tombstones that remove one member from the log, in Kafka's order.
pub(crate) fn member_tombstones(group_id: &str, member_id: &str) -> [CoordinatorRecord; 3] {
    [
        record(ConsumerGroupRecord::CurrentMemberAssignment {
            group_id: group_id.to_string(),
            member_id: member_id.to_string(),
            value: None,
        }),
        record(ConsumerGroupRecord::TargetAssignmentMember {
            group_id: group_id.to_string(),
            member_id: member_id.to_string(),
            partitions: None,
        }),
        record(ConsumerGroupRecord::MemberMetadata {
            group_id: group_id.to_string(),
            member_id: member_id.to_string(),
            value: None,
        }),
    ]
}

/// Removes a member for good (leave, session or revocation timeout): its partitions are free
/// at once, the subscribed topics shrink to what the others still want, and the group epoch is
/// bumped so the next heartbeat recomputes the target assignment.
fn fence_member(group: &mut ConsumerGroup, member_id: &str, records: &mut Vec<CoordinatorRecord>) {
    remove_member(group, member_id, records);
    let still_subscribed: BTreeMap<String, TopicMetadata> = group
        .subscription_metadata
        .iter()
        .filter(|(name, _)| group.is_subscribed_to(name))
        .map(|(name, metadata)| (name.clone(), metadata.clone()))
        .collect();
    if still_subscribed != group.subscription_metadata {
        records.push(record(ConsumerGroupRecord::PartitionMetadata {
            group_id: group.group_id.clone(),
            topics: Some(still_subscribed.values().cloned().collect()),
        }));
        group.subscription_metadata = still_subscribed;
    }
    group.group_epoch += 1;
    records.push(record(ConsumerGroupRecord::GroupMetadata {
        group_id: group.group_id.clone(),
        epoch: Some(group.group_epoch),
    }));
}
