//! Turns a topic's config overrides (from the metadata image) plus the broker-derived topic
//! defaults into what the data path needs: the storage [`LogConfig`] of each partition log and
//! the [`PartitionSettings`] produce validation enforces (`max.message.bytes`,
//! `message.timestamp.*`, `min.insync.replicas`).
//!
//! Effective values come from `fjord_metadata::topic_config::effective_topic_config` and
//! `fjord_metadata::topic_log_config`, the same resolution DescribeConfigs reports, so what a
//! client reads is what the broker enforces.

use fjord_config::{ServerConfig, TimestampType};
use fjord_metadata::topic_config::effective_topic_config;
use fjord_metadata::topic_log_config;
use fjord_metadata::{ControllerConfig, MetadataImage, TopicConfigDefaults};
use fjord_storage::LogConfig;
use tracing::warn;

use super::partition::PartitionSettings;
use super::validation::ProduceLimits;

/// The broker-wide defaults a topic without overrides gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDefaults {
    /// Settings topics cannot override (`log.flush.on.ack`) and the starting point for the
    /// rest.
    pub base_log_config: LogConfig,
    pub topic_defaults: TopicConfigDefaults,
}

impl From<&ServerConfig> for TopicDefaults {
    fn from(config: &ServerConfig) -> Self {
        TopicDefaults {
            base_log_config: log_config_from_server(config),
            topic_defaults: ControllerConfig::from_server_config(config).topic_defaults,
        }
    }
}

/// The broker's `log.*` settings as the default [`LogConfig`] of every partition.
pub fn log_config_from_server(config: &ServerConfig) -> LogConfig {
    let defaults = LogConfig::default();
    LogConfig {
        segment_bytes: config.log_segment_bytes,
        segment_ms: config.log_roll_ms,
        segment_index_bytes: config.log_index_size_max_bytes,
        index_interval_bytes: config.log_index_interval_bytes,
        retention_ms: config.log_retention_ms,
        retention_bytes: config.log_retention_bytes,
        flush_interval_messages: config.log_flush_interval_messages,
        flush_interval_ms: config
            .log_flush_interval_ms
            .unwrap_or(defaults.flush_interval_ms),
        flush_on_ack: config.log_flush_on_ack,
        max_message_bytes: config.message_max_bytes.max(0) as usize,
        ..defaults
    }
}

/// Resolves one topic's settings in `image`. Values the controller validated but storage
/// refuses (a stricter bound) keep the base value, with a warning.
pub fn resolve(
    image: &MetadataImage,
    topic: &str,
    defaults: &TopicDefaults,
) -> (LogConfig, PartitionSettings) {
    let overrides = image.topic_configs(topic);
    let effective = |key: &str| effective_topic_config(overrides, &defaults.topic_defaults, key);
    let log_config = topic_log_config(
        image,
        &defaults.topic_defaults,
        &defaults.base_log_config,
        topic,
    );
    let parse_i64 = |key: &str, fallback: i64| -> i64 {
        match effective(key).map(|v| v.trim().parse::<i64>()) {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                warn!(topic, key, error = %e, "ignoring unparsable topic config");
                fallback
            }
            None => fallback,
        }
    };
    let timestamp_type = match effective("message.timestamp.type").map(|v| v.parse()) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            warn!(topic, error = %e, "ignoring unparsable message.timestamp.type");
            TimestampType::CreateTime
        }
        None => TimestampType::CreateTime,
    };
    let settings = PartitionSettings {
        produce: ProduceLimits {
            max_message_bytes: log_config.max_message_bytes as i64,
            segment_bytes: log_config.segment_bytes.min(i64::MAX as u64) as i64,
            timestamp_type,
            timestamp_before_max_ms: parse_i64("message.timestamp.before.max.ms", i64::MAX),
            timestamp_after_max_ms: parse_i64("message.timestamp.after.max.ms", 3_600_000),
        },
        min_insync_replicas: parse_i64("min.insync.replicas", 1).clamp(1, i64::from(i32::MAX))
            as i32,
    };
    (log_config, settings)
}
