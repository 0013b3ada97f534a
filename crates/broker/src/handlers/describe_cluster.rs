//! DescribeCluster (key 60, v0–2): cluster id, the broker clients treat as controller, and the
//! registered brokers with their endpoint on the listener the request came in on. v1+ asks
//! for an endpoint type: a broker listener serves BROKER (1) only, CONTROLLER (2) is
//! UNSUPPORTED_ENDPOINT_TYPE as in Kafka. v2 may include fenced brokers, flagged `is_fenced`.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::metadata::{
    controller_id, AUTHORIZED_OPERATIONS_OMITTED, CLUSTER_AUTHORIZED_OPERATIONS,
};
use super::{BrokerContext, RequestContext};

/// `endpoint_type` values (Kafka's `EndpointType`).
const ENDPOINT_TYPE_BROKER: i8 = 1;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let image = ctx.controller.image();
    let endpoint_type = if req.api_version >= 1 {
        request.endpoint_type
    } else {
        ENDPOINT_TYPE_BROKER
    };
    let response = DescribeClusterResponse::default()
        .with_endpoint_type(endpoint_type)
        .with_cluster_id(StrBytes::from_string(
            image.cluster_id().unwrap_or_default().to_string(),
        ))
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
    if endpoint_type != ENDPOINT_TYPE_BROKER {
        return response
            .with_error_code(ResponseError::UnsupportedEndpointType.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
            )))
            .with_controller_id(BrokerId(-1));
    }
    let include_fenced = req.api_version >= 2 && request.include_fenced_brokers;
    let brokers = image
        .brokers()
        .filter(|b| include_fenced || !b.fenced)
        .filter_map(|b| {
            let endpoint = b.endpoint(&req.listener_name)?;
            Some(
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(b.broker_id))
                    .with_host(StrBytes::from_string(endpoint.host.clone()))
                    .with_port(i32::from(endpoint.port))
                    .with_rack(b.rack.clone().map(StrBytes::from_string))
                    .with_is_fenced(b.fenced),
            )
        })
        .collect();
    let operations = if request.include_cluster_authorized_operations {
        CLUSTER_AUTHORIZED_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };
    response
        .with_controller_id(BrokerId(controller_id(ctx, &image)))
        .with_brokers(brokers)
        .with_cluster_authorized_operations(operations)
}
