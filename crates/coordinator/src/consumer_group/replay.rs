//! Rebuilding consumer groups from their `__consumer_offsets` records, in log order. Any
//! record of an unknown group creates it (a group's first records are its first member's);
//! the group-epoch tombstone removes it. Sessions restart at the load time, as in Kafka, so a
//! fail-over does not itself expire live members.

use super::record::{Assignment, ConsumerGroupRecord};
use super::{ConsumerGroup, ConsumerGroupMember};
use crate::coordinator::GroupCoordinator;

impl GroupCoordinator {
    pub(crate) fn replay_consumer_group(&mut self, record: &ConsumerGroupRecord, now_ms: i64) {
        let group_id = record.group_id();
        let is_tombstone = matches!(
            record,
            ConsumerGroupRecord::GroupMetadata { epoch: None, .. }
                | ConsumerGroupRecord::PartitionMetadata { topics: None, .. }
                | ConsumerGroupRecord::MemberMetadata { value: None, .. }
                | ConsumerGroupRecord::TargetAssignmentMetadata {
                    assignment_epoch: None,
                    ..
                }
                | ConsumerGroupRecord::TargetAssignmentMember {
                    partitions: None,
                    ..
                }
                | ConsumerGroupRecord::CurrentMemberAssignment { value: None, .. }
        );
        if is_tombstone && !self.consumer_groups.contains_key(group_id) {
            return;
        }
        let group = self
            .consumer_groups
            .entry(group_id.to_string())
            .or_insert_with(|| ConsumerGroup::new(group_id.to_string()));
        match record {
            ConsumerGroupRecord::GroupMetadata {
                epoch: Some(epoch), ..
            } => {
                group.group_epoch = *epoch;
            }
            ConsumerGroupRecord::GroupMetadata { epoch: None, .. } => {
                self.consumer_groups.remove(group_id);
            }
            ConsumerGroupRecord::PartitionMetadata { topics, .. } => {
                group.subscription_metadata = topics
                    .iter()
                    .flatten()
                    .map(|t| (t.topic_name.clone(), t.clone()))
                    .collect();
            }
            ConsumerGroupRecord::MemberMetadata {
                member_id,
                value: Some(value),
                ..
            } => {
                let member = group
                    .members
                    .entry(member_id.clone())
                    .or_insert_with(|| ConsumerGroupMember::new(member_id.clone(), now_ms));
                if let Some(old) = member.instance_id.take() {
                    group.static_members.remove(&old);
                }
                member.instance_id = value.instance_id.clone();
                member.rack_id = value.rack_id.clone();
                member.client_id = value.client_id.clone();
                member.client_host = value.client_host.clone();
                member.subscribed_topic_names = value.subscribed_topic_names.clone();
                member.subscribed_topic_regex = value.subscribed_topic_regex.clone();
                member.rebalance_timeout_ms = value.rebalance_timeout_ms;
                member.server_assignor = value.server_assignor.clone();
                member.last_heartbeat_ms = now_ms;
                if let Some(instance_id) = &value.instance_id {
                    group
                        .static_members
                        .insert(instance_id.clone(), member_id.clone());
                }
            }
            ConsumerGroupRecord::MemberMetadata {
                member_id,
                value: None,
                ..
            } => {
                if let Some(member) = group.members.remove(member_id) {
                    if let Some(instance_id) = member.instance_id {
                        if group.static_members.get(&instance_id) == Some(member_id) {
                            group.static_members.remove(&instance_id);
                        }
                    }
                }
            }
            ConsumerGroupRecord::TargetAssignmentMetadata {
                assignment_epoch, ..
            } => {
                group.assignment_epoch = assignment_epoch.unwrap_or(0);
            }
            ConsumerGroupRecord::TargetAssignmentMember {
                member_id,
                partitions,
                ..
            } => match partitions {
                Some(partitions) => {
                    group
                        .target_assignment
                        .insert(member_id.clone(), partitions.clone());
                }
                None => {
                    group.target_assignment.remove(member_id);
                }
            },
            ConsumerGroupRecord::CurrentMemberAssignment {
                member_id,
                value: Some(value),
                ..
            } => {
                let member = group
                    .members
                    .entry(member_id.clone())
                    .or_insert_with(|| ConsumerGroupMember::new(member_id.clone(), now_ms));
                member.member_epoch = value.member_epoch;
                member.previous_member_epoch = value.previous_member_epoch;
                member.state = value.state;
                member.assigned_partitions = value.assigned_partitions.clone();
                member.partitions_pending_revocation = value.partitions_pending_revocation.clone();
                // A revocation in progress gets a fresh deadline from the load time.
                member.revocation_deadline_ms = (!value.partitions_pending_revocation.is_empty())
                    .then(|| now_ms + i64::from(member.rebalance_timeout_ms.max(0)));
                member.last_heartbeat_ms = now_ms;
            }
            ConsumerGroupRecord::CurrentMemberAssignment {
                member_id,
                value: None,
                ..
            } => {
                // The member's own tombstone follows; until then it owns nothing.
                if let Some(member) = group.members.get_mut(member_id) {
                    member.assigned_partitions = Assignment::new();
                    member.partitions_pending_revocation = Assignment::new();
                    member.revocation_deadline_ms = None;
                }
            }
        }
    }
}
