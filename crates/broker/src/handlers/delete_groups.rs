//! DeleteGroups (key 42), v0-2: removes empty groups and all their committed offsets.
//!
//! Per group: NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when unknown,
//! INVALID_GROUP_ID for an empty id, or a coordinator error (NOT_COORDINATOR, ...). The
//! tombstones are durable in `__consumer_offsets` before the answer.

use fjord_coordinator::{GroupError, Outcome};
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let mut results = Vec::with_capacity(request.groups_names.len());
    for group_id in request.groups_names {
        let code = match delete(ctx, group_id.as_str()).await {
            Ok(()) => 0,
            Err(e) => e.error_code(),
        };
        results.push(
            DeletableGroupResult::default()
                .with_group_id(group_id)
                .with_error_code(code),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}

async fn delete(ctx: &BrokerContext, group_id: &str) -> Result<(), GroupRuntimeError> {
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let ids = [group_id.to_string()];
    let (mut results, _) = shard
        .write(|coordinator, now| {
            let (results, records) = coordinator.delete_groups(&ids, now);
            let outcome = Outcome {
                ready: Vec::new(),
                records,
            };
            (results, outcome, None)
        })
        .await?;
    match results.pop() {
        Some((_, result)) => Ok(result?),
        None => Err(GroupRuntimeError::CoordinatorNotAvailable),
    }
}
