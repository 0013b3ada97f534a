//! ConsumerGroupDescribe (key 69), v0-1: KIP-848 consumer groups with their epochs, assignor
//! and members (current and target assignment, by topic id and name).
//!
//! A classic or unknown group answers GROUP_ID_NOT_FOUND, as Kafka does: admin clients
//! (Java's and librdkafka's) then fall back to DescribeGroups, so answering "no members" here
//! would make every classic group look empty. An empty group id is INVALID_GROUP_ID. Topic
//! names come from the current `MetadataImage`; a topic deleted since the assignment shows
//! with an empty name. `include_authorized_operations` answers "not provided" (no ACLs yet).
//! v1 adds the member type (KIP-1099): always 1, "consumer protocol member", here.

use fjord_coordinator::{Assignment, ConsumerGroupDescription, GroupError};
use fjord_metadata::MetadataImage;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as WireAssignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

/// Kafka's "authorized operations not requested" marker (`Integer.MIN_VALUE`).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// KIP-1099 member type of a member that joined with ConsumerGroupHeartbeat.
const MEMBER_TYPE_CONSUMER: i8 = 1;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let image = ctx.controller.image();
    let mut groups = Vec::with_capacity(request.group_ids.len());
    for group_id in request.group_ids {
        let described = match describe(ctx, group_id.as_str()).await {
            Ok(description) => described(&description, &image, req.api_version),
            Err(e) => DescribedGroup::default()
                .with_error_code(e.error_code())
                .with_error_message(public_message(&e, group_id.as_str())),
        };
        groups.push(
            described
                .with_group_id(group_id)
                .with_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED),
        );
    }
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

async fn describe(
    ctx: &BrokerContext,
    group_id: &str,
) -> Result<ConsumerGroupDescription, GroupRuntimeError> {
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let ids = [group_id.to_string()];
    let described = shard
        .read(|coordinator| coordinator.describe_consumer_groups(&ids))
        .await?;
    match described.into_iter().next() {
        Some((_, result)) => Ok(result?),
        None => Err(GroupError::GroupIdNotFound.into()),
    }
}

fn described(
    description: &ConsumerGroupDescription,
    image: &MetadataImage,
    version: i16,
) -> DescribedGroup {
    // v0 has no member type: the codec refuses a non-default value there.
    let member_type = if version >= 1 {
        MEMBER_TYPE_CONSUMER
    } else {
        -1
    };
    DescribedGroup::default()
        .with_group_state(StrBytes::from_string(description.state.to_string()))
        .with_group_epoch(description.group_epoch)
        .with_assignment_epoch(description.assignment_epoch)
        .with_assignor_name(StrBytes::from_string(description.assignor_name.clone()))
        .with_members(
            description
                .members
                .iter()
                .map(|m| {
                    Member::default()
                        .with_member_id(StrBytes::from_string(m.member_id.clone()))
                        .with_instance_id(m.instance_id.clone().map(StrBytes::from_string))
                        .with_rack_id(m.rack_id.clone().map(StrBytes::from_string))
                        .with_member_epoch(m.member_epoch)
                        .with_client_id(StrBytes::from_string(m.client_id.clone()))
                        .with_client_host(StrBytes::from_string(m.client_host.clone()))
                        .with_subscribed_topic_names(
                            m.subscribed_topic_names
                                .iter()
                                .map(|t| TopicName(StrBytes::from_string(t.clone())))
                                .collect(),
                        )
                        .with_subscribed_topic_regex(
                            m.subscribed_topic_regex.clone().map(StrBytes::from_string),
                        )
                        .with_assignment(wire_assignment(&m.assignment, image))
                        .with_target_assignment(wire_assignment(&m.target_assignment, image))
                        .with_member_type(member_type)
                })
                .collect(),
        )
}

fn wire_assignment(assignment: &Assignment, image: &MetadataImage) -> WireAssignment {
    WireAssignment::default().with_topic_partitions(
        assignment
            .iter()
            .map(|(topic_id, partitions)| {
                let name = image
                    .topic_by_id(topic_id)
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                TopicPartitions::default()
                    .with_topic_id(*topic_id)
                    .with_topic_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions.iter().copied().collect())
            })
            .collect(),
    )
}

/// Kafka's message for GROUP_ID_NOT_FOUND names the group; other errors carry none.
fn public_message(error: &GroupRuntimeError, group_id: &str) -> Option<StrBytes> {
    match error {
        GroupRuntimeError::Group(GroupError::GroupIdNotFound) => Some(StrBytes::from_string(
            format!("Group {group_id} is not a consumer group."),
        )),
        _ => None,
    }
}
