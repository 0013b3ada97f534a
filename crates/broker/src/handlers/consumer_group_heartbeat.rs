//! ConsumerGroupHeartbeat (key 68), v0-1: the KIP-848 consumer protocol. One request joins
//! (member epoch 0), heartbeats (the member's current epoch), leaves (-1) or, for a static
//! member, leaves temporarily (-2); the answer carries the member's epoch and, whenever it
//! changed, its assignment as topic ids and partitions.
//!
//! The state machine is `fjord_coordinator::consumer_group`; this handler decodes the request,
//! resolves the subscribed topic names against the current `MetadataImage` (topic id and
//! partition count: a topic created, deleted or given more partitions changes what the
//! coordinator sees on the member's next heartbeat, which bumps the group epoch), and runs the
//! call on the group's shard, whose `write` appends the records with acks=-1 before the answer
//! leaves. v1 (KIP-1082) lets the client pick its member id; v0 clients send "" and receive
//! one. Session and revocation timeouts are enforced by the shard's timer (`poll`).
//!
//! With `consumer` left out of `group.coordinator.rebalance.protocols` every request answers
//! UNSUPPORTED_VERSION. Errors are Kafka's: INVALID_REQUEST for malformed combinations, UNKNOWN_MEMBER_ID,
//! FENCED_MEMBER_EPOCH, UNSUPPORTED_ASSIGNOR, UNRELEASED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED,
//! NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE. Error messages
//! are Kafka's short public reasons, never internal text.

use fjord_coordinator::{
    Assignment, ConsumerGroupHeartbeatRequest as Heartbeat,
    ConsumerGroupHeartbeatResponse as Answer, GroupError, Outcome,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as WireAssignment, TopicPartitions,
};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tracing::debug;
use uuid::Uuid;

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    if !ctx.groups.consumer_protocol_enabled() {
        // `group.coordinator.rebalance.protocols` without `consumer`: Kafka's answer, which
        // makes clients report that the broker does not support the consumer protocol.
        return ConsumerGroupHeartbeatResponse::default()
            .with_error_code(ResponseError::UnsupportedVersion.code());
    }
    match heartbeat(ctx, req, request).await {
        Ok(answer) => ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(StrBytes::from_string(answer.member_id)))
            .with_member_epoch(answer.member_epoch)
            .with_heartbeat_interval_ms(answer.heartbeat_interval_ms)
            .with_assignment(answer.assignment.as_ref().map(wire_assignment)),
        Err(e) => {
            if let GroupRuntimeError::Group(GroupError::InvalidRequest { reason }) = &e {
                // The client only logs the code; the reason is what an operator needs.
                debug!(peer = %req.peer, reason, "ConsumerGroupHeartbeat refused as invalid");
            }
            ConsumerGroupHeartbeatResponse::default()
                .with_error_code(e.error_code())
                .with_error_message(public_message(&e).map(StrBytes::from_static_str))
        }
    }
}

async fn heartbeat(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ConsumerGroupHeartbeatRequest,
) -> Result<Answer, GroupRuntimeError> {
    let decoded = decode(request, req);
    if decoded.group_id.is_empty() {
        // Refused before looking for a shard: an empty id must not create __consumer_offsets.
        return Err(GroupError::InvalidRequest {
            reason: "GroupId can't be empty",
        }
        .into());
    }
    let shard = ctx.groups.shard_for(&decoded.group_id).await?;
    // One image for the whole call, so every subscribed topic is seen at the same version.
    let image = ctx.controller.image();
    let topic_metadata = |name: &str| {
        image.topic(name).map(|t| {
            (
                t.topic_id,
                i32::try_from(t.partitions.len()).unwrap_or(i32::MAX),
            )
        })
    };
    let (result, _) = shard
        .write(|coordinator, now| {
            let (result, records) =
                coordinator.consumer_group_heartbeat(decoded, &topic_metadata, now);
            let outcome = Outcome {
                records,
                ..Outcome::default()
            };
            (result, outcome, None)
        })
        .await?;
    Ok(result?)
}

/// Decodes the wire request; `None` fields mean "unchanged since the last heartbeat".
fn decode(request: ConsumerGroupHeartbeatRequest, req: &RequestContext) -> Heartbeat {
    Heartbeat {
        group_id: request.group_id.to_string(),
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.map(|s| s.to_string()),
        rack_id: request.rack_id.map(|s| s.to_string()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        client_id: req.client_id.clone().unwrap_or_default(),
        // Kafka shows the address as Java's InetAddress prints it.
        client_host: format!("/{}", req.peer.ip()),
        subscribed_topic_names: request
            .subscribed_topic_names
            .map(|names| names.into_iter().map(|n| n.to_string()).collect()),
        subscribed_topic_regex: request
            .subscribed_topic_regex
            .map(|s| s.to_string())
            .filter(|regex| !regex.is_empty()),
        server_assignor: request.server_assignor.map(|s| s.to_string()),
        topic_partitions: request.topic_partitions.map(|topics| {
            topics
                .into_iter()
                .map(|t| (t.topic_id, t.partitions))
                .collect::<Vec<(Uuid, Vec<i32>)>>()
        }),
    }
}

fn wire_assignment(assignment: &Assignment) -> WireAssignment {
    WireAssignment::default().with_topic_partitions(
        assignment
            .iter()
            .map(|(topic_id, partitions)| {
                TopicPartitions::default()
                    .with_topic_id(*topic_id)
                    .with_partitions(partitions.iter().copied().collect())
            })
            .collect(),
    )
}

/// The client-facing reason for the refusals Kafka explains; clients log it.
fn public_message(error: &GroupRuntimeError) -> Option<&'static str> {
    match error {
        GroupRuntimeError::Group(GroupError::InvalidRequest { reason }) => Some(reason),
        GroupRuntimeError::Group(GroupError::UnsupportedAssignor { .. }) => {
            Some("The assignor is not supported.")
        }
        GroupRuntimeError::Group(GroupError::FencedMemberEpoch) => {
            Some("The consumer group member has a smaller member epoch than expected.")
        }
        _ => None,
    }
}
