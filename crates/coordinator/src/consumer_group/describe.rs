//! Read-side views of consumer groups: ConsumerGroupDescribe, a ListGroups listing of both
//! group kinds, and the checks OffsetCommit/OffsetDelete apply to consumer groups (the member
//! epoch plays the classic generation's part).

use std::collections::BTreeSet;

use super::record::Assignment;
use super::{ConsumerGroup, ConsumerGroupState};
use crate::coordinator::GroupCoordinator;
use crate::error::GroupError;

/// The two kinds of groups ListGroups v5+ reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupType {
    /// JoinGroup/SyncGroup groups.
    Classic,
    /// KIP-848 ConsumerGroupHeartbeat groups.
    Consumer,
}

impl std::fmt::Display for GroupType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ListGroups sends these exact strings.
        f.write_str(match self {
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
        })
    }
}

/// One group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// Group id.
    pub group_id: String,
    /// Protocol type: the classic group's (empty if none), "consumer" for consumer groups.
    pub protocol_type: String,
    /// Classic or consumer.
    pub group_type: GroupType,
    /// State name as Kafka spells it ("Stable", "Empty", "Assigning", ...).
    pub state: String,
}

/// One member in a ConsumerGroupDescribe answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    /// Member id.
    pub member_id: String,
    /// Static id.
    pub instance_id: Option<String>,
    /// `client.rack`.
    pub rack_id: Option<String>,
    /// Current member epoch.
    pub member_epoch: i32,
    /// `client.id`.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Subscribed topic names.
    pub subscribed_topic_names: Vec<String>,
    /// Subscribed regular expression.
    pub subscribed_topic_regex: Option<String>,
    /// Partitions the member owns now.
    pub assignment: Assignment,
    /// Partitions the member is headed for.
    pub target_assignment: Assignment,
}

/// A ConsumerGroupDescribe answer for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupDescription {
    /// Group id.
    pub group_id: String,
    /// Derived state.
    pub state: ConsumerGroupState,
    /// Group epoch.
    pub group_epoch: i32,
    /// Assignment epoch.
    pub assignment_epoch: i32,
    /// The server assignor in use.
    pub assignor_name: String,
    /// Members, by member id.
    pub members: Vec<DescribedMember>,
}

impl GroupCoordinator {
    /// ConsumerGroupDescribe, in request order. A classic or unknown group answers
    /// GROUP_ID_NOT_FOUND: clients (librdkafka's admin) then fall back to DescribeGroups.
    pub fn describe_consumer_groups(
        &self,
        group_ids: &[String],
    ) -> Vec<(String, Result<ConsumerGroupDescription, GroupError>)> {
        group_ids
            .iter()
            .map(|group_id| {
                let result = if group_id.is_empty() {
                    Err(GroupError::InvalidGroupId)
                } else {
                    self.consumer_groups
                        .get(group_id)
                        .map(|group| self.describe(group))
                        .ok_or(GroupError::GroupIdNotFound)
                };
                (group_id.clone(), result)
            })
            .collect()
    }

    fn describe(&self, group: &ConsumerGroup) -> ConsumerGroupDescription {
        ConsumerGroupDescription {
            group_id: group.group_id.clone(),
            state: group.state(),
            group_epoch: group.group_epoch,
            assignment_epoch: group.assignment_epoch,
            assignor_name: group.preferred_assignor(&self.consumer_config),
            members: group
                .members
                .values()
                .map(|m| DescribedMember {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed_topic_names: m.subscribed_topic_names.clone(),
                    subscribed_topic_regex: m.subscribed_topic_regex.clone(),
                    assignment: m.assigned_partitions.clone(),
                    target_assignment: group
                        .target_assignment
                        .get(&m.member_id)
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Every group of both kinds, sorted by id, for ListGroups. Dead classic groups are left
    /// out, as Kafka does.
    pub fn list_groups(&self) -> Vec<ListedGroup> {
        let mut listed: Vec<ListedGroup> = self
            .groups
            .values()
            .filter(|g| g.state != crate::group::GroupState::Dead)
            .map(|g| ListedGroup {
                group_id: g.group_id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                group_type: GroupType::Classic,
                state: g.state.to_string(),
            })
            .chain(self.consumer_groups.values().map(|g| ListedGroup {
                group_id: g.group_id.clone(),
                protocol_type: "consumer".to_string(),
                group_type: GroupType::Consumer,
                state: g.state().to_string(),
            }))
            .collect();
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        listed
    }

    /// OffsetCommit against a consumer group: `None` if `group_id` is not one. An admin
    /// commit (empty member id, epoch -1) needs a group without members; a member commits
    /// with its current member epoch.
    pub(crate) fn validate_consumer_group_commit(
        &self,
        group_id: &str,
        member_id: &str,
        member_epoch: i32,
    ) -> Option<Result<(), GroupError>> {
        let group = self.consumer_groups.get(group_id)?;
        if member_epoch < 0 && member_id.is_empty() {
            return Some(if group.members.is_empty() {
                Ok(())
            } else {
                Err(GroupError::UnknownMemberId)
            });
        }
        let Some(member) = group.members.get(member_id) else {
            return Some(Err(GroupError::UnknownMemberId));
        };
        if member_epoch != member.member_epoch {
            return Some(Err(GroupError::StaleMemberEpoch));
        }
        Some(Ok(()))
    }

    /// OffsetFetch v9+ (KIP-848) names the fetching member: in a consumer group it must be a
    /// member at `member_epoch` (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH otherwise). Requests
    /// without a member id (admin tools) and classic groups pass.
    pub fn validate_offset_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), GroupError> {
        let (Some(group), Some(member_id)) = (self.consumer_groups.get(group_id), member_id) else {
            return Ok(());
        };
        let member = group
            .members
            .get(member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        if member.member_epoch != member_epoch {
            return Err(GroupError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Topics some member of consumer group `group_id` subscribes to; `None` if it is not one.
    pub(crate) fn consumer_group_subscriptions(&self, group_id: &str) -> Option<BTreeSet<String>> {
        let group = self.consumer_groups.get(group_id)?;
        Some(
            group
                .members
                .values()
                .flat_map(|m| m.subscribed_topic_names.iter().cloned())
                .collect(),
        )
    }
}
