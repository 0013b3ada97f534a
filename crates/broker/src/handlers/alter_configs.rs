//! AlterConfigs (key 33, v0–2): replaces the whole override set of each resource (keys not
//! named lose their override), through the controller, so the change is in the metadata log
//! and takes effect when the image is published. `validate_only` checks without changing.
//! Broker configs are static in fjord: altering one is INVALID_CONFIG naming the keys.

use fjord_metadata::{AlterConfigEntry, ConfigResource, ConfigResourceType, MetadataError};
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let mut valid = Vec::new();
    let checked: Vec<Result<(), MetadataError>> = request
        .resources
        .iter()
        .map(|r| {
            let resource_type = ConfigResourceType::try_from(r.resource_type).map_err(|other| {
                MetadataError::InvalidRequest(format!(
                    "Unsupported resource type {other} in AlterConfigs"
                ))
            })?;
            let entries: Vec<AlterConfigEntry> = r
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect();
            valid.push((
                ConfigResource {
                    resource_type,
                    name: r.resource_name.to_string(),
                },
                entries,
            ));
            Ok(())
        })
        .collect();
    let answered = ctx
        .controller
        .alter_configs(valid, request.validate_only)
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
    AlterConfigsResponse::default().with_responses(responses)
}
