//! IncrementalAlterConfigs (key 44, v0–1): SET / DELETE / APPEND / SUBTRACT on single keys of
//! each resource, through the controller; the change takes effect when the image is published.
//! APPEND and SUBTRACT work on LIST keys only (`cleanup.policy`, the throttled-replica lists),
//! starting from the current value (the override, else the default). Broker configs are static
//! in fjord: altering one is INVALID_CONFIG naming the keys.

use fjord_metadata::{
    AlterConfigOp, ConfigResource, ConfigResourceType, IncrementalAlterConfig, MetadataError,
};
use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut valid = Vec::new();
    let checked: Vec<Result<(), MetadataError>> = request
        .resources
        .iter()
        .map(|r| {
            valid.push(convert(r)?);
            Ok(())
        })
        .collect();
    let answered = ctx
        .controller
        .incremental_alter_configs(valid, request.validate_only)
        .await;
    let responses = request
        .resources
        .iter()
        .zip(super::merge_outcomes(checked, answered))
        .map(|(r, outcome)| {
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match outcome {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.error_code().code())
                    .with_error_message(e.client_message().map(StrBytes::from_string)),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// The controller's view of one resource; a bad resource type or operation fails the resource.
fn convert(
    r: &AlterConfigsResource,
) -> Result<(ConfigResource, Vec<IncrementalAlterConfig>), MetadataError> {
    let resource_type = ConfigResourceType::try_from(r.resource_type).map_err(|other| {
        MetadataError::InvalidRequest(format!(
            "Unsupported resource type {other} in IncrementalAlterConfigs"
        ))
    })?;
    let ops = r
        .configs
        .iter()
        .map(|c| {
            Ok(IncrementalAlterConfig {
                name: c.name.to_string(),
                op: AlterConfigOp::try_from(c.config_operation)?,
                value: c.value.as_ref().map(|v| v.to_string()),
            })
        })
        .collect::<Result<Vec<_>, MetadataError>>()?;
    Ok((
        ConfigResource {
            resource_type,
            name: r.resource_name.to_string(),
        },
        ops,
    ))
}
