//! Config changes on the controller — AlterConfigs (replace a resource's whole override set)
//! and IncrementalAlterConfigs (SET / DELETE / APPEND / SUBTRACT per key) — and the read side:
//! a topic's resolved configs for DescribeConfigs and its `LogConfig` for the replica manager.
//!
//! Topic overrides take effect as soon as the image is published: the replica manager watches
//! the image and calls `PartitionLog::update_config` with [`topic_log_config`]. Broker configs
//! are static in fjord (read from `server.properties` at start), so altering one is refused
//! with INVALID_CONFIG naming the keys, as Kafka refuses keys that are not dynamic.

use std::collections::{BTreeMap, BTreeSet};

use fjord_storage::LogConfig;

use super::Controller;
use crate::error::{MetadataError, Result};
use crate::image::MetadataImage;
use crate::record::{ConfigRecord, ConfigResourceType, MetadataRecord};
use crate::topic_config::{
    effective_topic_config, resolve_topic_configs, topic_config_def, validate_topic_config,
    ConfigType, ResolvedConfig, TopicConfigDefaults,
};

/// A resource whose configs are altered: a topic by name, a broker by id ("" = cluster default).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigResource {
    pub resource_type: ConfigResourceType,
    pub name: String,
}

/// IncrementalAlterConfigs' operation, with Kafka's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlterConfigOp {
    Set,
    Delete,
    Append,
    Subtract,
}

impl TryFrom<i8> for AlterConfigOp {
    type Error = MetadataError;

    fn try_from(id: i8) -> Result<Self> {
        match id {
            0 => Ok(AlterConfigOp::Set),
            1 => Ok(AlterConfigOp::Delete),
            2 => Ok(AlterConfigOp::Append),
            3 => Ok(AlterConfigOp::Subtract),
            other => Err(MetadataError::InvalidRequest(format!(
                "Unknown config operation type {other}"
            ))),
        }
    }
}

/// One key of an AlterConfigs resource: the key and its new value.
pub type AlterConfigEntry = (String, Option<String>);

/// One key of an IncrementalAlterConfigs resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncrementalAlterConfig {
    pub name: String,
    pub op: AlterConfigOp,
    pub value: Option<String>,
}

/// The `LogConfig` for `topic`'s partitions: `base` (the broker's default log config, which
/// carries the settings topics cannot override such as `log.flush.on.ack`) with every storage
/// key set to its effective value — the topic's override, else the broker-derived default.
pub fn topic_log_config(
    image: &MetadataImage,
    defaults: &TopicConfigDefaults,
    base: &LogConfig,
    topic: &str,
) -> LogConfig {
    let overrides = image.topic_configs(topic);
    let mut config = base.clone();
    for key in LogConfig::TOPIC_KEYS {
        let Some(value) = effective_topic_config(overrides, defaults, key) else {
            continue;
        };
        match config.with_overrides([(*key, value.as_str())]) {
            Ok(updated) => config = updated,
            // validated by the controller already; a stricter storage bound keeps the base value
            Err(e) => {
                tracing::warn!(topic, key, value, error = %e, "topic config not applied to the log")
            }
        }
    }
    config
}

impl Controller {
    /// Every topic key of `topic` with its value and source (DescribeConfigs).
    pub fn describe_topic_configs(
        &self,
        image: &MetadataImage,
        topic: &str,
    ) -> Result<Vec<ResolvedConfig>> {
        if image.topic(topic).is_none() {
            return Err(MetadataError::UnknownTopicOrPartition(topic.to_string()));
        }
        Ok(resolve_topic_configs(
            image.topic_configs(topic),
            &self.config.topic_defaults,
        ))
    }

    /// The effective `LogConfig` of `topic` in `image`; see [`topic_log_config`].
    pub fn topic_log_config(
        &self,
        image: &MetadataImage,
        base: &LogConfig,
        topic: &str,
    ) -> LogConfig {
        topic_log_config(image, &self.config.topic_defaults, base, topic)
    }

    /// AlterConfigs: each resource's overrides become exactly the given set.
    pub async fn alter_configs(
        &self,
        resources: Vec<(ConfigResource, Vec<AlterConfigEntry>)>,
        validate_only: bool,
    ) -> Vec<Result<()>> {
        self.change_configs(resources, validate_only, |image, resource, entries| {
            let current = image
                .configs(resource.resource_type, &resource.name)
                .cloned()
                .unwrap_or_default();
            let mut wanted = BTreeMap::new();
            for (key, value) in entries {
                wanted.insert(key.clone(), validate_topic_config(key, value.as_deref())?);
            }
            Ok(diff_records(resource, &current, &wanted))
        })
        .await
    }

    /// IncrementalAlterConfigs: the operations apply in order to the current overrides.
    pub async fn incremental_alter_configs(
        &self,
        resources: Vec<(ConfigResource, Vec<IncrementalAlterConfig>)>,
        validate_only: bool,
    ) -> Vec<Result<()>> {
        let defaults = self.config.topic_defaults.clone();
        self.change_configs(resources, validate_only, move |image, resource, ops| {
            let mut seen = BTreeSet::new();
            if !ops.iter().all(|op| seen.insert(op.name.as_str())) {
                return Err(MetadataError::InvalidRequest(
                    "Error due to duplicate config keys".into(),
                ));
            }
            let current = image
                .configs(resource.resource_type, &resource.name)
                .cloned()
                .unwrap_or_default();
            let mut wanted = current.clone();
            for op in ops {
                apply_op(&mut wanted, &current, &defaults, op)?;
            }
            Ok(diff_records(resource, &current, &wanted))
        })
        .await
    }

    /// The shared frame of both alter APIs: per-resource checks, one batch for all valid ones.
    async fn change_configs<E, F>(
        &self,
        resources: Vec<(ConfigResource, Vec<E>)>,
        validate_only: bool,
        plan: F,
    ) -> Vec<Result<()>>
    where
        E: Keyed,
        F: Fn(&MetadataImage, &ConfigResource, &[E]) -> Result<Vec<MetadataRecord>>,
    {
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        let mut counts = BTreeMap::new();
        for (resource, _) in &resources {
            *counts.entry(resource.clone()).or_insert(0) += 1;
        }
        let mut records = Vec::new();
        let mut results = Vec::with_capacity(resources.len());
        for (resource, entries) in &resources {
            let planned = if counts.get(resource).copied().unwrap_or(0) > 1 {
                Err(MetadataError::InvalidRequest(format!(
                    "Duplicate resource {} in the request.",
                    resource.name
                )))
            } else {
                match resource.resource_type {
                    ConfigResourceType::Topic => {
                        if image.topic(&resource.name).is_none() {
                            Err(MetadataError::UnknownTopicOrPartition(
                                resource.name.clone(),
                            ))
                        } else {
                            plan(&image, resource, entries)
                        }
                    }
                    ConfigResourceType::Broker => refuse_broker_change(entries),
                }
            };
            match planned {
                Ok(new_records) => {
                    records.extend(new_records);
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        self.commit_planned(&image, records, results, validate_only)
            .await
            .0
    }
}

/// Entries of both alter APIs name a key.
trait Keyed {
    fn key(&self) -> &str;
}

impl Keyed for AlterConfigEntry {
    fn key(&self) -> &str {
        &self.0
    }
}

impl Keyed for IncrementalAlterConfig {
    fn key(&self) -> &str {
        &self.name
    }
}

/// fjord's broker configs are static: an empty change is fine, any key is refused.
fn refuse_broker_change<E: Keyed>(entries: &[E]) -> Result<Vec<MetadataRecord>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<&str> = entries.iter().map(Keyed::key).collect();
    Err(MetadataError::InvalidConfig(format!(
        "Cannot update these configs dynamically: {}",
        keys.join(", ")
    )))
}

/// Applies one incremental operation to `wanted` (the overrides being built).
fn apply_op(
    wanted: &mut BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
    defaults: &TopicConfigDefaults,
    op: &IncrementalAlterConfig,
) -> Result<()> {
    match op.op {
        AlterConfigOp::Set => {
            let value = validate_topic_config(&op.name, op.value.as_deref())?;
            wanted.insert(op.name.clone(), value);
        }
        AlterConfigOp::Delete => {
            wanted.remove(&op.name);
        }
        AlterConfigOp::Append | AlterConfigOp::Subtract => {
            let def = topic_config_def(&op.name).ok_or_else(|| {
                MetadataError::InvalidConfig(format!("Unknown topic config name: {}", op.name))
            })?;
            let verb = if op.op == AlterConfigOp::Append {
                "APPEND"
            } else {
                "SUBTRACT"
            };
            if def.config_type != ConfigType::List {
                return Err(MetadataError::InvalidConfig(format!(
                    "Can't {verb} to key {} because its type is not LIST.",
                    op.name
                )));
            }
            let base =
                effective_topic_config(Some(current), defaults, &op.name).unwrap_or_default();
            let mut items: Vec<String> = split_list(&base);
            let changes = split_list(op.value.as_deref().unwrap_or(""));
            if op.op == AlterConfigOp::Append {
                for item in changes {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            } else {
                items.retain(|i| !changes.contains(i));
            }
            let value = validate_topic_config(&op.name, Some(&items.join(",")))?;
            wanted.insert(op.name.clone(), value);
        }
    }
    Ok(())
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The ConfigRecords that turn `current` into `wanted`.
fn diff_records(
    resource: &ConfigResource,
    current: &BTreeMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Vec<MetadataRecord> {
    let record = |name: &str, value: Option<&String>| {
        MetadataRecord::Config(ConfigRecord {
            resource_type: resource.resource_type,
            resource_name: resource.name.clone(),
            name: name.to_string(),
            value: value.cloned(),
        })
    };
    let mut records = Vec::new();
    for key in current.keys().filter(|k| !wanted.contains_key(*k)) {
        records.push(record(key, None));
    }
    for (key, value) in wanted {
        if current.get(key) != Some(value) {
            records.push(record(key, Some(value)));
        }
    }
    records
}
