//! Config administration: DescribeConfigs and IncrementalAlterConfigs for topics and brokers.
//!
//! A broker resource is named by its node id and must be sent to that broker (an empty name is
//! the cluster-wide default and may go to any broker); topic resources go to any broker.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};
use kafka_protocol::protocol::StrBytes;

use super::{AdminClient, Outcomes};
use crate::error::ClientError;

/// Kinds of config resources, with Kafka's wire codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigResourceType {
    Topic = 2,
    Broker = 4,
    BrokerLogger = 8,
}

impl TryFrom<i8> for ConfigResourceType {
    type Error = ClientError;
    fn try_from(code: i8) -> Result<Self, ClientError> {
        match code {
            2 => Ok(ConfigResourceType::Topic),
            4 => Ok(ConfigResourceType::Broker),
            8 => Ok(ConfigResourceType::BrokerLogger),
            other => Err(ClientError::InvalidArgument(format!(
                "unknown config resource type {other}"
            ))),
        }
    }
}

/// A topic or broker whose configs are read or changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigResource {
    pub resource_type: ConfigResourceType,
    pub name: String,
}

impl ConfigResource {
    pub fn topic(name: impl Into<String>) -> ConfigResource {
        ConfigResource {
            resource_type: ConfigResourceType::Topic,
            name: name.into(),
        }
    }

    pub fn broker(node_id: i32) -> ConfigResource {
        ConfigResource {
            resource_type: ConfigResourceType::Broker,
            name: node_id.to_string(),
        }
    }

    /// The broker this resource's requests must go to, if any particular one.
    fn target_node(&self) -> Option<i32> {
        match self.resource_type {
            ConfigResourceType::Topic => None,
            _ => self.name.parse().ok(),
        }
    }
}

/// One config as DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for sensitive values and unset ones.
    pub value: Option<String>,
    pub read_only: bool,
    /// Kafka's ConfigSource code: 1 dynamic topic, 2 dynamic broker, 3 dynamic default broker,
    /// 4 static broker, 5 default, 6 dynamic broker logger.
    pub source: i8,
    pub is_sensitive: bool,
    /// Synonyms in precedence order: (name, value, source).
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

impl ConfigEntry {
    /// Whether the value is Kafka's default rather than set anywhere.
    pub fn is_default(&self) -> bool {
        self.source == 5
    }
}

/// How IncrementalAlterConfigs changes one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlterOpType {
    Set = 0,
    Delete = 1,
    Append = 2,
    Subtract = 3,
}

/// One change of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterConfigOp {
    pub name: String,
    pub op: AlterOpType,
    pub value: Option<String>,
}

impl AlterConfigOp {
    pub fn set(name: impl Into<String>, value: impl Into<String>) -> AlterConfigOp {
        AlterConfigOp {
            name: name.into(),
            op: AlterOpType::Set,
            value: Some(value.into()),
        }
    }

    pub fn delete(name: impl Into<String>) -> AlterConfigOp {
        AlterConfigOp {
            name: name.into(),
            op: AlterOpType::Delete,
            value: None,
        }
    }
}

impl AdminClient {
    /// DescribeConfigs with synonyms; `keys` limits the answer to those config names.
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> Result<Outcomes<ConfigResource, Vec<ConfigEntry>>, ClientError> {
        let mut out = BTreeMap::new();
        for (node, group) in by_target(resources.iter()) {
            let request = DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(
                    group
                        .iter()
                        .map(|r| {
                            DescribeConfigsResource::default()
                                .with_resource_type(r.resource_type as i8)
                                .with_resource_name(StrBytes::from_string(r.name.clone()))
                                .with_configuration_keys(keys.map(|ks| {
                                    ks.iter()
                                        .map(|k| StrBytes::from_string(k.clone()))
                                        .collect()
                                }))
                        })
                        .collect(),
                );
            let response = self
                .cluster
                .retry(|| async {
                    match node {
                        Some(node_id) => self.cluster.call_node(node_id, &request).await,
                        None => self.cluster.call_any(&request).await,
                    }
                })
                .await?;
            for result in response.results {
                let resource = ConfigResource {
                    resource_type: ConfigResourceType::try_from(result.resource_type)?,
                    name: result.resource_name.to_string(),
                };
                let outcome = ClientError::check(
                    result.error_code,
                    result.error_message.as_deref(),
                )
                .map(|()| {
                    result
                        .configs
                        .into_iter()
                        .map(|c| ConfigEntry {
                            name: c.name.to_string(),
                            value: c.value.map(|v| v.to_string()),
                            read_only: c.read_only,
                            source: c.config_source,
                            is_sensitive: c.is_sensitive,
                            synonyms: c
                                .synonyms
                                .into_iter()
                                .map(|s| {
                                    (s.name.to_string(), s.value.map(|v| v.to_string()), s.source)
                                })
                                .collect(),
                        })
                        .collect()
                });
                out.insert(resource, outcome);
            }
        }
        Ok(out)
    }

    /// IncrementalAlterConfigs: set, delete, append to or subtract from keys.
    pub async fn incremental_alter_configs(
        &self,
        changes: &BTreeMap<ConfigResource, Vec<AlterConfigOp>>,
        validate_only: bool,
    ) -> Result<Outcomes<ConfigResource>, ClientError> {
        let mut out = BTreeMap::new();
        for (node, group) in by_target(changes.keys()) {
            let request = IncrementalAlterConfigsRequest::default()
                .with_validate_only(validate_only)
                .with_resources(
                    group
                        .iter()
                        .map(|r| {
                            AlterConfigsResource::default()
                                .with_resource_type(r.resource_type as i8)
                                .with_resource_name(StrBytes::from_string(r.name.clone()))
                                .with_configs(
                                    changes[*r]
                                        .iter()
                                        .map(|op| {
                                            AlterableConfig::default()
                                                .with_name(StrBytes::from_string(op.name.clone()))
                                                .with_config_operation(op.op as i8)
                                                .with_value(
                                                    op.value.clone().map(StrBytes::from_string),
                                                )
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let response = self
                .cluster
                .retry(|| async {
                    match node {
                        Some(node_id) => self.cluster.call_node(node_id, &request).await,
                        None => self.cluster.call_controller(&request).await,
                    }
                })
                .await?;
            for result in response.responses {
                let resource = ConfigResource {
                    resource_type: ConfigResourceType::try_from(result.resource_type)?,
                    name: result.resource_name.to_string(),
                };
                out.insert(
                    resource,
                    ClientError::check(result.error_code, result.error_message.as_deref()),
                );
            }
        }
        Ok(out)
    }
}

/// Resources grouped by the broker their requests must reach (`None`: any broker).
fn by_target<'a>(
    resources: impl Iterator<Item = &'a ConfigResource>,
) -> BTreeMap<Option<i32>, Vec<&'a ConfigResource>> {
    let mut groups: BTreeMap<Option<i32>, Vec<&ConfigResource>> = BTreeMap::new();
    for resource in resources {
        groups
            .entry(resource.target_node())
            .or_default()
            .push(resource);
    }
    groups
}
