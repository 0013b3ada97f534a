//! FindCoordinator (key 10), v0-6: which node coordinates a group (or a transactional id).
//!
//! - v0-3 ask for one key (`key`, with `key_type` from v1); v4+ batch them in
//!   `coordinator_keys` and answer one `coordinators` entry per key.
//! - GROUP (0): the leader of the group's `__consumer_offsets` partition, created on first
//!   use (COORDINATOR_NOT_AVAILABLE while that is not possible), with the endpoint of the
//!   listener the request came in on.
//! - TRANSACTION (1): the leader of the transactional id's `__transaction_state` partition,
//!   created on first use the same way.
//! - SHARE (2): COORDINATOR_NOT_AVAILABLE until share groups exist. Any other key type:
//!   INVALID_REQUEST, as in Kafka.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{BrokerContext, RequestContext};

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;
/// KIP-932 share groups (v6): no share coordinator yet, answered as Kafka did before it had one.
const KEY_TYPE_SHARE: i8 = 2;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    if req.api_version >= 4 {
        let mut coordinators = Vec::with_capacity(request.coordinator_keys.len());
        for key in &request.coordinator_keys {
            coordinators.push(find(ctx, req, request.key_type, key).await);
        }
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let found = find(ctx, req, request.key_type, &request.key).await;
    FindCoordinatorResponse::default()
        .with_error_code(found.error_code)
        .with_error_message(found.error_message)
        .with_node_id(found.node_id)
        .with_host(found.host)
        .with_port(found.port)
}

async fn find(
    ctx: &BrokerContext,
    req: &RequestContext,
    key_type: i8,
    key: &StrBytes,
) -> Coordinator {
    let failed = |error: ResponseError| {
        Coordinator::default()
            .with_key(key.clone())
            .with_node_id(BrokerId(-1))
            .with_host(StrBytes::from_static_str(""))
            .with_port(-1)
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_static_str(error_message(error))))
    };
    let found = match key_type {
        KEY_TYPE_GROUP => ctx
            .groups
            .coordinator_node(key)
            .await
            .map_err(|e| e.error_code()),
        KEY_TYPE_TRANSACTION => ctx
            .txns
            .coordinator_node(key)
            .await
            .map_err(|e| e.error_code()),
        KEY_TYPE_SHARE => return failed(ResponseError::CoordinatorNotAvailable),
        _ => return failed(ResponseError::InvalidRequest),
    };
    let node_id = match found {
        Ok(node_id) => node_id,
        Err(code) => {
            return Coordinator::default()
                .with_key(key.clone())
                .with_node_id(BrokerId(-1))
                .with_host(StrBytes::from_static_str(""))
                .with_port(-1)
                .with_error_code(code)
                .with_error_message(None);
        }
    };
    let image = ctx.controller.image();
    let endpoint = image
        .broker(node_id)
        .filter(|b| !b.fenced)
        .and_then(|b| b.endpoint(&req.listener_name));
    match endpoint {
        Some(endpoint) => Coordinator::default()
            .with_key(key.clone())
            .with_node_id(BrokerId(node_id))
            .with_host(StrBytes::from_string(endpoint.host.clone()))
            .with_port(i32::from(endpoint.port)),
        // The coordinator has no endpoint on this listener (or is fenced): clients retry.
        None => failed(ResponseError::CoordinatorNotAvailable),
    }
}

/// Kafka's text for the errors this handler sets itself.
fn error_message(error: ResponseError) -> &'static str {
    match error {
        ResponseError::InvalidRequest => "Unknown coordinator key type.",
        _ => "The coordinator is not available.",
    }
}
