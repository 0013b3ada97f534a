//! Per-topic log configuration: the topic-level keys Kafka uses (`segment.bytes`,
//! `retention.ms`, `cleanup.policy`, ...) with Kafka's defaults, and parsing of per-topic
//! overrides.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigValueError;

/// `cleanup.policy`: what happens to old records. Kafka accepts the list `delete`, `compact`,
/// or both (in any order); an empty list is refused here as Kafka 4 refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupPolicy {
    /// Whole old segments go by `retention.ms` / `retention.bytes`.
    #[default]
    Delete,
    /// The cleaner keeps the latest record per key; retention never deletes segments.
    Compact,
    /// Both: compacted, and old segments still deleted by retention.
    CompactDelete,
}

impl CleanupPolicy {
    /// True when time/size retention deletes segments.
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    /// True when the log cleaner compacts this log.
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }
}

impl FromStr for CleanupPolicy {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (mut delete, mut compact) = (false, false);
        for policy in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match policy.to_ascii_lowercase().as_str() {
                "delete" => delete = true,
                "compact" => compact = true,
                other => {
                    return Err(format!(
                        "`{other}` is not a cleanup policy (delete, compact)"
                    ))
                }
            }
        }
        match (delete, compact) {
            (true, false) => Ok(CleanupPolicy::Delete),
            (false, true) => Ok(CleanupPolicy::Compact),
            (true, true) => Ok(CleanupPolicy::CompactDelete),
            (false, false) => Err("at least one policy is needed (delete, compact)".to_string()),
        }
    }
}

impl fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        })
    }
}

/// How one partition log rolls, retains and flushes. Field comments give the Kafka topic key and
/// its default.
#[derive(Debug, Clone, PartialEq)]
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
    /// cleanup.policy, delete
    pub cleanup_policy: CleanupPolicy,
    /// delete.retention.ms, 86400000 (1 day): how long a tombstone stays readable after the
    /// cleaner first cleaned the batch holding it
    pub delete_retention_ms: i64,
    /// min.compaction.lag.ms, 0: records younger than this are never compacted
    pub min_compaction_lag_ms: i64,
    /// max.compaction.lag.ms, i64::MAX: a dirty record older than this forces a clean even
    /// below `min.cleanable.dirty.ratio`
    pub max_compaction_lag_ms: i64,
    /// min.cleanable.dirty.ratio, 0.5: the dirty share of the log that triggers a clean
    pub min_cleanable_dirty_ratio: f64,
}

// The ratio is validated into [0, 1] (never NaN), so equality is total.
impl Eq for LogConfig {}

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
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
            min_cleanable_dirty_ratio: 0.5,
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
        "cleanup.policy",
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
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
                "cleanup.policy" => {
                    config.cleanup_policy =
                        value
                            .parse()
                            .map_err(|reason| ConfigValueError::InvalidValue {
                                key: key.to_string(),
                                value: value.to_string(),
                                reason,
                            })?
                }
                "delete.retention.ms" => config.delete_retention_ms = parse_int(key, value, 0i64)?,
                "min.compaction.lag.ms" => {
                    config.min_compaction_lag_ms = parse_int(key, value, 0i64)?
                }
                "max.compaction.lag.ms" => {
                    config.max_compaction_lag_ms = parse_int(key, value, 1i64)?
                }
                "min.cleanable.dirty.ratio" => {
                    let ratio: f64 = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|r: &f64| (0.0..=1.0).contains(r))
                        .ok_or_else(|| ConfigValueError::InvalidValue {
                            key: key.to_string(),
                            value: value.to_string(),
                            reason: "must be a number between 0 and 1".to_string(),
                        })?;
                    config.min_cleanable_dirty_ratio = ratio;
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
            let value = match *key {
                "cleanup.policy" => "compact",
                "min.cleanable.dirty.ratio" => "0.25",
                _ => "1048577",
            };
            let updated = LogConfig::default()
                .with_overrides([(*key, value)])
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
                .with_overrides([("compression.type", "zstd")])
                .unwrap_err(),
            ConfigValueError::UnknownKey {
                key: "compression.type".into()
            }
        );
    }

    #[test]
    fn cleanup_policy_and_compaction_keys() {
        let c = LogConfig::default();
        assert_eq!(c.cleanup_policy, CleanupPolicy::Delete);
        assert_eq!(c.delete_retention_ms, 86_400_000);
        assert_eq!(c.min_compaction_lag_ms, 0);
        assert_eq!(c.max_compaction_lag_ms, i64::MAX);
        assert_eq!(c.min_cleanable_dirty_ratio, 0.5);
        for (text, policy) in [
            ("delete", CleanupPolicy::Delete),
            ("compact", CleanupPolicy::Compact),
            (" compact , delete ", CleanupPolicy::CompactDelete),
            ("delete,compact", CleanupPolicy::CompactDelete),
        ] {
            let c = LogConfig::default()
                .with_overrides([("cleanup.policy", text)])
                .unwrap();
            assert_eq!(c.cleanup_policy, policy, "{text}");
            assert_eq!(
                c.cleanup_policy.to_string().parse::<CleanupPolicy>(),
                Ok(policy)
            );
        }
        assert!(CleanupPolicy::CompactDelete.deletes() && CleanupPolicy::CompactDelete.compacts());
        assert!(!CleanupPolicy::Compact.deletes() && !CleanupPolicy::Delete.compacts());
        for bad in [
            ("cleanup.policy", "shred"),
            ("cleanup.policy", ""),
            ("min.cleanable.dirty.ratio", "1.5"),
            ("min.cleanable.dirty.ratio", "NaN"),
            ("max.compaction.lag.ms", "0"),
            ("delete.retention.ms", "-1"),
        ] {
            assert!(
                LogConfig::default().with_overrides([bad]).is_err(),
                "{bad:?}"
            );
        }
    }
}
