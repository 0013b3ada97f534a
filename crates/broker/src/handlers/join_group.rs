//! JoinGroup (key 11), v0-9: a member joins (or rejoins) a classic group.
//!
//! The request usually waits: it is parked in the group's shard until every member rejoined
//! or the rebalance deadline passed (and, for a new empty group, at most
//! `group.initial.rebalance.delay.ms`), then answered with the generation, the leader and —
//! for the leader only — every member's metadata. v0 has no rebalance timeout (the session
//! timeout stands in). From v4 a new dynamic member is answered MEMBER_ID_REQUIRED with the id
//! it must rejoin with (KIP-394). v0-1 are served because Kafka 4.1 restored them
//! (KAFKA-19444). An empty group id is INVALID_GROUP_ID.

use fjord_coordinator::{GroupError, JoinGroupRequest as Join, Ready, Reply};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};
use crate::group::{GroupRuntimeError, ParkedKind};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: JoinGroupRequest,
) -> JoinGroupResponse {
    let version = req.api_version;
    let group_id = request.group_id.to_string();
    if group_id.is_empty() {
        return error_response(version, &GroupError::InvalidGroupId.into());
    }
    let join = Join {
        group_id: group_id.clone(),
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id: req.client_id.clone().unwrap_or_default(),
        // Kafka reports the address as Java's InetAddress.toString: "/127.0.0.1".
        client_host: format!("/{}", req.peer.ip()),
        session_timeout_ms: request.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let shard = match ctx.groups.shard_for(&group_id).await {
        Ok(shard) => shard,
        Err(e) => return error_response(version, &e),
    };
    let written = shard
        .write(|coordinator, now| {
            let (reply, outcome) = coordinator.join_group(join, now);
            let park = match &reply {
                Reply::Parked { member_id } => {
                    Some((group_id.clone(), member_id.clone(), ParkedKind::Join))
                }
                Reply::Now(_) => None,
            };
            (reply, outcome, park)
        })
        .await;
    let result = match written {
        Err(e) => Err(e),
        Ok((Reply::Now(result), _)) => result.map_err(GroupRuntimeError::from),
        Ok((Reply::Parked { .. }, parked)) => match parked {
            None => Err(GroupRuntimeError::CoordinatorNotAvailable),
            Some(parked) => match parked.await {
                Ok(Ok(Ready::Join { result, .. })) => result.map_err(GroupRuntimeError::from),
                Ok(Ok(Ready::Sync { .. })) => Err(GroupRuntimeError::CoordinatorNotAvailable),
                Ok(Err(e)) => Err(e),
                // The shard went away without answering (it always answers when closed).
                Err(_) => Err(GroupRuntimeError::CoordinatorNotAvailable),
            },
        },
    };
    match result {
        Ok(joined) => JoinGroupResponse::default()
            .with_generation_id(joined.generation_id)
            .with_protocol_type(joined.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(protocol_name(version, joined.protocol_name))
            .with_leader(StrBytes::from_string(joined.leader))
            .with_member_id(StrBytes::from_string(joined.member_id))
            .with_members(
                joined
                    .members
                    .into_iter()
                    .map(|m| {
                        JoinGroupResponseMember::default()
                            .with_member_id(StrBytes::from_string(m.member_id))
                            .with_group_instance_id(m.group_instance_id.map(StrBytes::from_string))
                            .with_metadata(m.metadata)
                    })
                    .collect(),
            ),
        Err(e) => error_response(version, &e),
    }
}

/// Before v7 the protocol name is a non-nullable string.
fn protocol_name(version: i16, name: Option<String>) -> Option<StrBytes> {
    match name {
        Some(name) => Some(StrBytes::from_string(name)),
        None if version < 7 => Some(StrBytes::default()),
        None => None,
    }
}

fn error_response(version: i16, error: &GroupRuntimeError) -> JoinGroupResponse {
    // KIP-394: the member learns its id from the refusal and rejoins with it.
    let member_id = match error {
        GroupRuntimeError::Group(GroupError::MemberIdRequired { member_id }) => member_id.clone(),
        _ => String::new(),
    };
    JoinGroupResponse::default()
        .with_error_code(error.error_code())
        .with_generation_id(-1)
        .with_protocol_name(protocol_name(version, None))
        .with_leader(StrBytes::default())
        .with_member_id(StrBytes::from_string(member_id))
        .with_members(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_required_carries_the_id() {
        let e = GroupRuntimeError::Group(GroupError::MemberIdRequired {
            member_id: "c-1".into(),
        });
        let response = error_response(5, &e);
        assert_eq!(response.error_code, 79);
        assert_eq!(response.member_id.as_str(), "c-1");
        assert_eq!(response.protocol_name.as_deref(), Some(""));
        assert_eq!(error_response(7, &e).protocol_name, None);
    }
}
