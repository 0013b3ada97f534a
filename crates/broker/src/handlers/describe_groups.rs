//! DescribeGroups (key 15), v0-6: state, protocol and members of classic groups.
//!
//! Members come with client id, host, their metadata for the selected protocol and their
//! assignment (the assignment only once the group is Stable, as Kafka does). An unknown group
//! is described as Dead with no members and no error before v6, and GROUP_ID_NOT_FOUND from v6
//! (KIP-1043). Errors are per group; an empty group id is INVALID_GROUP_ID.
//! `include_authorized_operations` (v3+) answers "not provided": fjord has no ACLs yet.

use bytes::Bytes;
use fjord_coordinator::{ClassicGroup, GroupError, GroupState};
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

/// Kafka's "authorized operations not requested" marker (`Integer.MIN_VALUE`).
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut groups = Vec::with_capacity(request.groups.len());
    for group_id in request.groups {
        let described = match describe(ctx, group_id.as_str()).await {
            Ok(Some(described)) => described,
            Ok(None) if req.api_version >= 6 => DescribedGroup::default()
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(StrBytes::from_string(format!(
                    "Group {} not found.",
                    group_id.as_str()
                ))))
                .with_group_state(StrBytes::from_static_str("Dead")),
            Ok(None) => {
                DescribedGroup::default().with_group_state(StrBytes::from_static_str("Dead"))
            }
            Err(e) => DescribedGroup::default()
                .with_error_code(e.error_code())
                .with_group_state(StrBytes::from_static_str("Dead")),
        };
        groups.push(
            described
                .with_group_id(group_id)
                .with_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED),
        );
    }
    DescribeGroupsResponse::default().with_groups(groups)
}

async fn describe(
    ctx: &BrokerContext,
    group_id: &str,
) -> Result<Option<DescribedGroup>, GroupRuntimeError> {
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    shard
        .read(|coordinator| {
            coordinator
                .group(group_id)
                .filter(|g| g.state != GroupState::Dead)
                .map(described)
        })
        .await
}

fn described(group: &ClassicGroup) -> DescribedGroup {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let stable = group.state == GroupState::Stable;
    let members = group
        .members
        .values()
        .map(|m| {
            let metadata = m.metadata_for(&protocol).cloned().unwrap_or_default();
            DescribedGroupMember::default()
                .with_member_id(StrBytes::from_string(m.member_id.clone()))
                .with_group_instance_id(m.group_instance_id.clone().map(StrBytes::from_string))
                .with_client_id(StrBytes::from_string(m.client_id.clone()))
                .with_client_host(StrBytes::from_string(m.client_host.clone()))
                .with_member_metadata(metadata)
                .with_member_assignment(if stable {
                    m.assignment.clone()
                } else {
                    Bytes::new()
                })
        })
        .collect();
    DescribedGroup::default()
        .with_group_state(StrBytes::from_string(group.state.to_string()))
        .with_protocol_type(StrBytes::from_string(
            group.protocol_type.clone().unwrap_or_default(),
        ))
        .with_protocol_data(StrBytes::from_string(protocol))
        .with_members(members)
}
