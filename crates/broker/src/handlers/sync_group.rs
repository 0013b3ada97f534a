//! SyncGroup (key 14), v0-5: members fetch their assignment; the leader brings it.
//!
//! Followers usually wait (parked in the shard) until the leader's SyncGroup arrives; the
//! assignments are opaque bytes handed back exactly as the leader sent them. From v5 the
//! protocol type and name are checked against the group's and echoed back. An empty group id
//! is INVALID_GROUP_ID.

use fjord_coordinator::{GroupError, Ready, Reply, SyncGroupRequest as Sync};
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};
use crate::group::{GroupRuntimeError, ParkedKind};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    let group_id = request.group_id.to_string();
    if group_id.is_empty() {
        return error_response(&GroupError::InvalidGroupId.into());
    }
    let sync = Sync {
        group_id: group_id.clone(),
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        generation_id: request.generation_id,
        protocol_type: request.protocol_type.as_ref().map(|s| s.to_string()),
        protocol_name: request.protocol_name.as_ref().map(|s| s.to_string()),
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    let shard = match ctx.groups.shard_for(&group_id).await {
        Ok(shard) => shard,
        Err(e) => return error_response(&e),
    };
    let member_id = sync.member_id.clone();
    let written = shard
        .write(|coordinator, now| {
            let (reply, outcome) = coordinator.sync_group(sync, now);
            let park = match &reply {
                Reply::Parked { member_id } => {
                    Some((group_id.clone(), member_id.clone(), ParkedKind::Sync))
                }
                Reply::Now(_) => None,
            };
            (reply, outcome, park)
        })
        .await;
    let result = match written {
        Err(e) => Err(e),
        Ok((Reply::Now(result), _)) => result.map_err(GroupRuntimeError::from),
        Ok((Reply::Parked { .. }, None)) => Err(GroupRuntimeError::CoordinatorNotAvailable),
        Ok((Reply::Parked { .. }, Some(parked))) => match parked.await {
            Ok(Ok(Ready::Sync { result, .. })) => result.map_err(GroupRuntimeError::from),
            Ok(Ok(Ready::Join { .. })) | Err(_) => Err(GroupRuntimeError::CoordinatorNotAvailable),
            Ok(Err(e)) => Err(e),
        },
    };
    match result {
        Ok(synced) => SyncGroupResponse::default()
            .with_protocol_type(synced.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(synced.protocol_name.map(StrBytes::from_string))
            .with_assignment(synced.assignment),
        Err(e) => {
            tracing::debug!(member = %member_id, error = %e, "sync refused");
            error_response(&e)
        }
    }
}

fn error_response(error: &GroupRuntimeError) -> SyncGroupResponse {
    SyncGroupResponse::default()
        .with_error_code(error.error_code())
        .with_assignment(bytes::Bytes::new())
}
