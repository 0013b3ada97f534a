//! Heartbeat (key 12), v0-4: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to
//! rejoin. Unknown groups and members are UNKNOWN_MEMBER_ID, a stale generation
//! ILLEGAL_GENERATION, an empty group id INVALID_GROUP_ID.

use fjord_coordinator::{GroupError, Outcome};
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let result = heartbeat(ctx, &request).await;
    HeartbeatResponse::default().with_error_code(result.err().map_or(0, |e| e.error_code()))
}

async fn heartbeat(
    ctx: &BrokerContext,
    request: &HeartbeatRequest,
) -> Result<(), GroupRuntimeError> {
    let group_id = request.group_id.as_str();
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let member_id = request.member_id.as_str();
    let instance_id = request.group_instance_id.as_deref();
    let (result, _) = shard
        .write(|coordinator, now| {
            let result =
                coordinator.heartbeat(group_id, member_id, instance_id, request.generation_id, now);
            (result, Outcome::default(), None)
        })
        .await?;
    Ok(result?)
}
