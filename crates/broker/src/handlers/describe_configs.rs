//! DescribeConfigs (key 32, v1–4): topic configs from the metadata image (override, else the
//! broker-derived default, with the source of each) and broker configs from the static server
//! configuration. `configuration_keys` filters (unknown keys are left out silently, as in
//! Kafka); synonyms and documentation are sent only when asked for.
//!
//! A broker resource may be named "" or this node's id; any other id is INVALID_REQUEST, since
//! each broker describes only itself. Resource types other than topic and broker are
//! INVALID_REQUEST: fjord has no broker loggers, client-metrics or group configs yet.

use std::collections::HashSet;

use fjord_metadata::{ConfigResourceType, MetadataError, ResolvedConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let include_documentation = req.api_version >= 3 && request.include_documentation;
    let results = request
        .resources
        .iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match describe(ctx, resource) {
                Ok(configs) => {
                    let wanted: Option<HashSet<&str>> = resource
                        .configuration_keys
                        .as_ref()
                        .map(|keys| keys.iter().map(|k| k.as_str()).collect());
                    let configs = configs
                        .into_iter()
                        .filter(|c| wanted.as_ref().is_none_or(|w| w.contains(c.name.as_str())))
                        .map(|c| entry(c, request.include_synonyms, include_documentation))
                        .collect();
                    result.with_configs(configs)
                }
                Err(e) => result
                    .with_error_code(e.error_code().code())
                    .with_error_message(e.client_message().map(StrBytes::from_string)),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn describe(
    ctx: &BrokerContext,
    resource: &DescribeConfigsResource,
) -> Result<Vec<ResolvedConfig>, MetadataError> {
    match ConfigResourceType::try_from(resource.resource_type) {
        Ok(ConfigResourceType::Topic) => {
            let image = ctx.controller.image();
            ctx.controller
                .describe_topic_configs(&image, resource.resource_name.as_str())
        }
        Ok(ConfigResourceType::Broker) => {
            let name = resource.resource_name.as_str();
            if !name.is_empty() && name != ctx.config.node_id.to_string() {
                return Err(MetadataError::InvalidRequest(format!(
                    "Unexpected broker id, expected {} or empty string, but received {name}",
                    ctx.config.node_id
                )));
            }
            Ok(broker_configs(ctx))
        }
        Err(other) => Err(MetadataError::InvalidRequest(format!(
            "Unsupported resource type {other} in DescribeConfigs"
        ))),
    }
}

/// The static broker configuration as DescribeConfigs entries.
pub fn broker_configs(ctx: &BrokerContext) -> Vec<ResolvedConfig> {
    use fjord_metadata::{ConfigSource, ConfigType};
    ctx.config
        .describe()
        .into_iter()
        .map(|e| {
            let source = match e.source {
                fjord_config::ConfigSource::Default => ConfigSource::Default,
                _ => ConfigSource::StaticBroker,
            };
            let value = if e.sensitive { None } else { e.value };
            ResolvedConfig {
                synonyms: vec![fjord_metadata::topic_config::ConfigSynonym {
                    name: e.name.clone(),
                    value: value.clone(),
                    source,
                }],
                name: e.name,
                value,
                source,
                read_only: e.read_only,
                is_sensitive: e.sensitive,
                config_type: e.config_type.parse().unwrap_or(ConfigType::String),
                documentation: Some(e.documentation.to_string()),
            }
        })
        .collect()
}

fn entry(
    config: ResolvedConfig,
    include_synonyms: bool,
    include_documentation: bool,
) -> DescribeConfigsResourceResult {
    let synonyms = if include_synonyms {
        config
            .synonyms
            .iter()
            .map(|s| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(s.name.clone()))
                    .with_value(s.value.clone().map(StrBytes::from_string))
                    .with_source(s.source.id())
            })
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(config.name))
        .with_value(config.value.map(StrBytes::from_string))
        .with_read_only(config.read_only)
        .with_config_source(config.source.id())
        .with_is_sensitive(config.is_sensitive)
        .with_synonyms(synonyms)
        .with_config_type(config.config_type.id())
        .with_documentation(if include_documentation {
            config.documentation.map(StrBytes::from_string)
        } else {
            None
        })
}
