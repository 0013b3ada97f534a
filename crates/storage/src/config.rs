//! Per-topic log configuration: the topic-level keys Kafka uses (`segment.bytes`,
//! `retention.ms`, ...) with Kafka's defaults, and parsing of per-topic overrides.

use crate::error::ConfigValueError;

/// How one partition log rolls, retains and flushes. Field comments give the Kafka topic key and
/// its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// segment.bytes, 1073741824
    pub segment_bytes: u64,
    /// segment.ms, 604800000 (7 days)
    pub segment_ms: i64,
    /// segment.index.bytes, 10485760: the preallocated size of the active segment's indexes
    pub segment_index_bytes: u64,
    /// index.interval.bytes, 4096
    pub index_interval_bytes: u64,
    /// retention.ms, 604800000 (-1 = infinite)
    pub retention_ms: i64,
    /// retention.bytes, -1 (infinite)
    pub retention_bytes: i64,
    /// flush.messages, i64::MAX in Kafka (never force)
    pub flush_interval_messages: u64,
    /// flush.ms, i64::MAX (never force)
    pub flush_interval_ms: i64,
    /// flush.on.ack (fjord's `log.flush.on.ack`), false: fsync before an append returns
    pub flush_on_ack: bool,
    /// max.message.bytes, 1048588 (checked by the broker, kept here for DescribeConfigs)
    pub max_message_bytes: usize,
    /// file.delete.delay.ms, 60000
    pub file_delete_delay_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            segment_index_bytes: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            flush_interval_messages: i64::MAX as u64,
            flush_interval_ms: i64::MAX,
            flush_on_ack: false,
            max_message_bytes: 1024 * 1024 + 12,
            file_delete_delay_ms: 60_000,
        }
    }
}

fn parse_int<T>(key: &str, value: &str, min: T) -> Result<T, ConfigValueError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let invalid = |reason: String| ConfigValueError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        reason,
    };
    let parsed: T = value
        .trim()
        .parse()
        .map_err(|_| invalid("not a valid number".to_string()))?;
    if parsed < min {
        return Err(invalid(format!("must be at least {min}")));
    }
    Ok(parsed)
}

impl LogConfig {
    /// The Kafka topic config keys that [`LogConfig::with_overrides`] applies (a topic cannot
    /// override fjord's `flush.on.ack`, which the broker sets from `log.flush.on.ack`).
    pub const TOPIC_KEYS: &'static [&'static str] = &[
        "segment.bytes",
        "segment.ms",
        "segment.index.bytes",
        "index.interval.bytes",
        "retention.ms",
        "retention.bytes",
        "flush.messages",
        "flush.ms",
        "max.message.bytes",
        "file.delete.delay.ms",
    ];

    /// Applies per-topic overrides given with Kafka's topic keys ("retention.ms",
    /// "segment.bytes", ...). Unknown keys are an error too: the broker decides which topic keys
    /// it stores without the log needing them.
    pub fn with_overrides<'a>(
        &self,
        overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LogConfig, ConfigValueError> {
        let mut config = self.clone();
        for (key, value) in overrides {
            match key {
                // Kafka's lower bound is tiny too (the smallest legacy record); small segments
                // are what tests need to exercise rolling.
                "segment.bytes" => config.segment_bytes = parse_int(key, value, 14u64)?,
                "segment.ms" => config.segment_ms = parse_int(key, value, 1i64)?,
                "segment.index.bytes" => config.segment_index_bytes = parse_int(key, value, 8u64)?,
                "index.interval.bytes" => {
                    config.index_interval_bytes = parse_int(key, value, 0u64)?
                }
                "retention.ms" => config.retention_ms = parse_int(key, value, -1i64)?,
                "retention.bytes" => config.retention_bytes = parse_int(key, value, -1i64)?,
                "flush.messages" => {
                    // Kafka stores a long; anything up to i64::MAX means "never".
                    config.flush_interval_messages = parse_int(key, value, 1i64)? as u64
                }
                "flush.ms" => config.flush_interval_ms = parse_int(key, value, 0i64)?,
                "flush.on.ack" | "log.flush.on.ack" => {
                    config.flush_on_ack = match value.trim().to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(ConfigValueError::InvalidValue {
                                key: key.to_string(),
                                value: value.to_string(),
                                reason: "must be true or false".to_string(),
                            })
                        }
                    }
                }
                "max.message.bytes" => {
                    config.max_message_bytes = parse_int(key, value, 0i64)? as usize
                }
                "file.delete.delay.ms" => {
                    config.file_delete_delay_ms = parse_int(key, value, 0i64)?
                }
                _ => {
                    return Err(ConfigValueError::UnknownKey {
                        key: key.to_string(),
                    })
                }
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_topic_key_is_applied() {
        for key in LogConfig::TOPIC_KEYS {
            let updated = LogConfig::default()
                .with_overrides([(*key, "1048577")])
                .unwrap_or_else(|e| panic!("{key} refused: {e}"));
            assert_ne!(updated, LogConfig::default(), "{key} changed nothing");
        }
    }

    #[test]
    fn defaults_are_kafkas() {
        let c = LogConfig::default();
        assert_eq!(c.segment_bytes, 1_073_741_824);
        assert_eq!(c.retention_ms, 604_800_000);
        assert_eq!(c.retention_bytes, -1);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.segment_index_bytes, 10_485_760);
        assert!(!c.flush_on_ack);
    }

    #[test]
    fn overrides_apply_and_validate() {
        let c = LogConfig::default()
            .with_overrides([
                ("retention.ms", "-1"),
                ("segment.bytes", "1048576"),
                ("retention.bytes", "5000"),
                ("flush.on.ack", "true"),
                ("flush.messages", "1"),
            ])
            .unwrap();
        assert_eq!(c.retention_ms, -1);
        assert_eq!(c.segment_bytes, 1_048_576);
        assert_eq!(c.retention_bytes, 5000);
        assert!(c.flush_on_ack);
        assert_eq!(c.flush_interval_messages, 1);

        let err = LogConfig::default()
            .with_overrides([("segment.bytes", "abc")])
            .unwrap_err();
        assert!(err.to_string().contains("segment.bytes"), "{err}");
        assert!(err.to_string().contains("abc"), "{err}");
        assert!(LogConfig::default()
            .with_overrides([("retention.ms", "-2")])
            .is_err());
        assert_eq!(
            LogConfig::default()
                .with_overrides([("cleanup.policy", "compact")])
                .unwrap_err(),
            ConfigValueError::UnknownKey {
                key: "cleanup.policy".into()
            }
        );
    }
}
