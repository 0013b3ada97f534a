//! LeaveGroup (key 13), v0-5: members leave a group, which rebalances without them.
//!
//! v0-2 name one member (`member_id`) and answer with the top-level error code. v3+ batch
//! members by id or static instance id (KIP-345) and answer per member; the top-level error
//! is then only for the group as a whole (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, ...).
//! An empty group id is INVALID_GROUP_ID.

use fjord_coordinator::{GroupError, LeavingMember};
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let batched = req.api_version >= 3;
    let leaving: Vec<LeavingMember> = if batched {
        request
            .members
            .iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
            })
            .collect()
    } else {
        vec![LeavingMember {
            member_id: request.member_id.to_string(),
            group_instance_id: None,
        }]
    };
    let results = match leave(ctx, request.group_id.as_str(), &leaving).await {
        Ok(results) => results,
        Err(e) => return LeaveGroupResponse::default().with_error_code(e.error_code()),
    };
    if !batched {
        let code = results
            .first()
            .and_then(|r| r.as_ref().err())
            .map_or(0, GroupError::error_code);
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let members = request
        .members
        .into_iter()
        .zip(results)
        .map(|(m, result)| {
            MemberResponse::default()
                .with_member_id(m.member_id)
                .with_group_instance_id(m.group_instance_id)
                .with_error_code(result.err().map_or(0, |e| e.error_code()))
        })
        .collect();
    LeaveGroupResponse::default().with_members(members)
}

async fn leave(
    ctx: &BrokerContext,
    group_id: &str,
    leaving: &[LeavingMember],
) -> Result<Vec<Result<(), GroupError>>, GroupRuntimeError> {
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let (results, _) = shard
        .write(|coordinator, now| {
            let (results, outcome) = coordinator.leave_group(group_id, leaving, now);
            (results, outcome, None)
        })
        .await?;
    Ok(results)
}
