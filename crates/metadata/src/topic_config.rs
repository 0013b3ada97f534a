//! The topic config keys fjord knows: their types, Kafka's defaults, the broker keys that supply
//! a cluster-wide default, value validation, and how a topic's effective config is resolved
//! (override, else broker default, else Kafka's default) for DescribeConfigs.
//!
//! The table holds every topic key of Kafka 4.0 that a client may legitimately send, so that
//! `kafka-topics --config preallocate=false` works; a key outside the table is refused with
//! INVALID_CONFIG, as Kafka does. Values are validated with Kafka's types and ranges (e.g.
//! `segment.bytes` at least 1 MiB since Kafka 4.0) and stored trimmed.

use std::collections::BTreeMap;

use crate::error::{MetadataError, Result};

/// Kafka's `ConfigDef.Type`, with the ids DescribeConfigs v3+ sends as `config_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    Boolean,
    String,
    Int,
    Short,
    Long,
    Double,
    List,
    Class,
    Password,
}

impl ConfigType {
    /// The `config_type` id of DescribeConfigs v3+.
    pub fn id(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Short => 4,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
            ConfigType::Class => 8,
            ConfigType::Password => 9,
        }
    }
}

impl std::str::FromStr for ConfigType {
    type Err = String;

    /// Kafka's lower-case type names (`ConfigDef.Type` as documented: `int`, `long`, ...).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "boolean" => Ok(ConfigType::Boolean),
            "string" => Ok(ConfigType::String),
            "int" => Ok(ConfigType::Int),
            "short" => Ok(ConfigType::Short),
            "long" => Ok(ConfigType::Long),
            "double" => Ok(ConfigType::Double),
            "list" => Ok(ConfigType::List),
            "class" => Ok(ConfigType::Class),
            "password" => Ok(ConfigType::Password),
            other => Err(format!("unknown config type {other}")),
        }
    }
}

/// Where a config value comes from (Kafka's `DescribeConfigsResponse.ConfigSource` ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
}

impl ConfigSource {
    /// The `config_source` id on the wire.
    pub fn id(self) -> i8 {
        match self {
            ConfigSource::DynamicTopic => 1,
            ConfigSource::DynamicBroker => 2,
            ConfigSource::DynamicDefaultBroker => 3,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }
}

/// How a value is checked beyond its type.
#[derive(Clone, Copy, Debug)]
enum Rule {
    Any,
    AtLeast(i64),
    Between(i64, i64),
    /// `compression.gzip.level`: -1 (the codec default) or 1..=9.
    GzipLevel,
    DoubleBetween(f64, f64),
    OneOf(&'static [&'static str]),
    /// A non-empty comma-separated list whose items all come from the set.
    ListOf(&'static [&'static str]),
    /// `partition:broker` pairs or `*` (replication throttles).
    ThrottledReplicas,
    /// A key fjord accepts only at its default because the feature does not exist here.
    OnlyValue(&'static str),
}

/// One topic config key.
#[derive(Debug)]
pub struct TopicConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    /// Kafka's built-in default, used when the broker config sets none of the synonyms.
    pub kafka_default: &'static str,
    /// The broker keys that default this topic key, first the one Kafka reports, each with the
    /// factor that turns its unit into the topic key's (`log.retention.hours` × 3 600 000).
    pub broker_synonyms: &'static [(&'static str, i64)],
    /// Text for DescribeConfigs `include_documentation`.
    pub documentation: &'static str,
    rule: Rule,
}

const LONG_MAX: &str = "9223372036854775807";

macro_rules! def {
    ($name:expr, $ty:ident, $default:expr, $syn:expr, $rule:expr, $doc:expr) => {
        TopicConfigDef {
            name: $name,
            config_type: ConfigType::$ty,
            kafka_default: $default,
            broker_synonyms: $syn,
            documentation: $doc,
            rule: $rule,
        }
    };
}

/// Every topic config key fjord accepts, sorted by name (DescribeConfigs lists them in this order).
pub static TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def!("cleanup.policy", List, "delete", &[("log.cleanup.policy", 1)],
        Rule::ListOf(&["compact", "delete"]),
        "Whether old segments are deleted by retention (\"delete\"), compacted by key (\"compact\"), or both."),
    def!("compression.gzip.level", Int, "-1", &[("compression.gzip.level", 1)], Rule::GzipLevel,
        "Compression level when compression.type is gzip."),
    def!("compression.lz4.level", Int, "9", &[("compression.lz4.level", 1)], Rule::Between(1, 17),
        "Compression level when compression.type is lz4."),
    def!("compression.type", String, "producer", &[("compression.type", 1)],
        Rule::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "The codec batches are stored with; \"producer\" keeps the producer's codec."),
    def!("compression.zstd.level", Int, "3", &[("compression.zstd.level", 1)],
        Rule::Between(-131072, 22), "Compression level when compression.type is zstd."),
    def!("delete.retention.ms", Long, "86400000", &[("log.cleaner.delete.retention.ms", 1)],
        Rule::AtLeast(0), "How long delete tombstones are kept in a compacted topic."),
    def!("file.delete.delay.ms", Long, "60000", &[("log.segment.delete.delay.ms", 1)],
        Rule::AtLeast(0), "Delay before a deleted segment's files are removed from disk."),
    def!("flush.messages", Long, LONG_MAX, &[("log.flush.interval.messages", 1)], Rule::AtLeast(1),
        "Force an fsync after this many messages (the default leaves flushing to the OS)."),
    def!("flush.ms", Long, LONG_MAX, &[("log.flush.interval.ms", 1)], Rule::AtLeast(0),
        "Force an fsync after this many milliseconds (the default leaves flushing to the OS)."),
    def!("follower.replication.throttled.replicas", List, "",
        &[("follower.replication.throttled.replicas", 1)], Rule::ThrottledReplicas,
        "Replicas whose replication is throttled on the follower side."),
    def!("index.interval.bytes", Int, "4096", &[("log.index.interval.bytes", 1)], Rule::AtLeast(0),
        "How many log bytes between two offset index entries."),
    def!("leader.replication.throttled.replicas", List, "",
        &[("leader.replication.throttled.replicas", 1)], Rule::ThrottledReplicas,
        "Replicas whose replication is throttled on the leader side."),
    def!("max.compaction.lag.ms", Long, LONG_MAX, &[("log.cleaner.max.compaction.lag.ms", 1)],
        Rule::AtLeast(1), "The longest a message stays ineligible for compaction."),
    def!("max.message.bytes", Int, "1048588", &[("message.max.bytes", 1)], Rule::AtLeast(0),
        "The largest record batch the topic accepts, after compression."),
    def!("message.timestamp.after.max.ms", Long, "3600000",
        &[("log.message.timestamp.after.max.ms", 1)], Rule::AtLeast(0),
        "How far in the future a CreateTime timestamp may be."),
    def!("message.timestamp.before.max.ms", Long, LONG_MAX,
        &[("log.message.timestamp.before.max.ms", 1)], Rule::AtLeast(0),
        "How far in the past a CreateTime timestamp may be."),
    def!("message.timestamp.type", String, "CreateTime", &[("log.message.timestamp.type", 1)],
        Rule::OneOf(&["CreateTime", "LogAppendTime"]),
        "Whether records keep the producer's timestamp or get the broker's append time."),
    def!("min.cleanable.dirty.ratio", Double, "0.5", &[("log.cleaner.min.cleanable.ratio", 1)],
        Rule::DoubleBetween(0.0, 1.0), "The dirty share of the log at which compaction starts."),
    def!("min.compaction.lag.ms", Long, "0", &[("log.cleaner.min.compaction.lag.ms", 1)],
        Rule::AtLeast(0), "The shortest a message stays uncompacted."),
    def!("min.insync.replicas", Int, "1", &[("min.insync.replicas", 1)], Rule::AtLeast(1),
        "The fewest in-sync replicas an acks=all write needs."),
    def!("preallocate", Boolean, "false", &[("log.preallocate", 1)], Rule::Any,
        "Preallocate segment files when they are created."),
    def!("remote.storage.enable", Boolean, "false", &[], Rule::OnlyValue("false"),
        "Tiered storage; fjord has none, so only false is accepted."),
    def!("retention.bytes", Long, "-1", &[("log.retention.bytes", 1)], Rule::Any,
        "The largest a partition may grow before old segments are deleted; -1 means no limit."),
    def!("retention.ms", Long, "604800000",
        &[("log.retention.ms", 1), ("log.retention.minutes", 60_000), ("log.retention.hours", 3_600_000)],
        Rule::AtLeast(-1), "How long segments are kept before deletion; -1 means forever."),
    def!("segment.bytes", Int, "1073741824", &[("log.segment.bytes", 1)], Rule::AtLeast(1_048_576),
        "The size at which a new segment is rolled."),
    def!("segment.index.bytes", Int, "10485760", &[("log.index.size.max.bytes", 1)],
        Rule::AtLeast(4), "The size of a segment's offset and time index files."),
    def!("segment.jitter.ms", Long, "0", &[("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", 3_600_000)],
        Rule::AtLeast(0), "Random jitter subtracted from segment.ms, so segments do not roll together."),
    def!("segment.ms", Long, "604800000", &[("log.roll.ms", 1), ("log.roll.hours", 3_600_000)],
        Rule::AtLeast(1), "The age at which a segment is rolled even if it is not full."),
    def!("unclean.leader.election.enable", Boolean, "false",
        &[("unclean.leader.election.enable", 1)], Rule::Any,
        "Whether a replica outside the ISR may become leader, at the cost of losing data."),
];

/// The definition of a topic config key, if fjord knows it.
pub fn topic_config_def(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

fn invalid(name: &str, value: &str, why: impl std::fmt::Display) -> MetadataError {
    MetadataError::InvalidConfig(format!(
        "Invalid value {value} for configuration {name}: {why}"
    ))
}

/// Checks one topic config `name=value` and returns the value as stored (trimmed, list items
/// trimmed). Unknown keys and `null` values are refused with INVALID_CONFIG naming the key.
pub fn validate_topic_config(name: &str, value: Option<&str>) -> Result<String> {
    let def = topic_config_def(name).ok_or_else(|| {
        MetadataError::InvalidConfig(format!("Unknown topic config name: {name}"))
    })?;
    let value = value.ok_or_else(|| {
        MetadataError::InvalidConfig(format!(
            "Null value not supported for topic configs: {name}"
        ))
    })?;
    let trimmed = value.trim();
    match def.config_type {
        ConfigType::Boolean => {
            if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                return Err(invalid(
                    name,
                    value,
                    "Expected value to be either true or false",
                ));
            }
        }
        ConfigType::Int | ConfigType::Short | ConfigType::Long => {
            let n: i64 = if def.config_type == ConfigType::Long {
                trimmed
                    .parse::<i64>()
                    .map_err(|_| invalid(name, value, "Not a number of type LONG"))?
            } else {
                trimmed
                    .parse::<i32>()
                    .map(i64::from)
                    .map_err(|_| invalid(name, value, "Not a number of type INT"))?
            };
            check_number(def, name, value, n)?;
        }
        ConfigType::Double => {
            let x: f64 = trimmed
                .parse()
                .map_err(|_| invalid(name, value, "Not a number of type DOUBLE"))?;
            if let Rule::DoubleBetween(lo, hi) = def.rule {
                if !(lo..=hi).contains(&x) {
                    return Err(invalid(
                        name,
                        value,
                        format!("Value must be between {lo} and {hi}"),
                    ));
                }
            }
        }
        ConfigType::String | ConfigType::Class | ConfigType::Password => {
            if let Rule::OneOf(allowed) = def.rule {
                if !allowed.contains(&trimmed) {
                    return Err(invalid(
                        name,
                        value,
                        format!("String must be one of: {}", allowed.join(", ")),
                    ));
                }
            }
        }
        ConfigType::List => {
            let items: Vec<&str> = trimmed
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            match def.rule {
                Rule::ListOf(allowed) => {
                    if items.is_empty() {
                        return Err(invalid(name, value, "Empty list is not allowed"));
                    }
                    if let Some(bad) = items.iter().find(|i| !allowed.contains(i)) {
                        return Err(invalid(
                            name,
                            value,
                            format!(
                                "Invalid value {bad}, valid values are: {}",
                                allowed.join(", ")
                            ),
                        ));
                    }
                }
                Rule::ThrottledReplicas => check_throttled_replicas(name, value, &items)?,
                _ => {}
            }
            return Ok(items.join(","));
        }
    }
    if let Rule::OnlyValue(only) = def.rule {
        if !trimmed.eq_ignore_ascii_case(only) {
            return Err(invalid(name, value, format!("fjord supports only {only}")));
        }
    }
    Ok(trimmed.to_string())
}

fn check_number(def: &TopicConfigDef, name: &str, value: &str, n: i64) -> Result<()> {
    match def.rule {
        Rule::AtLeast(min) if n < min => Err(invalid(
            name,
            value,
            format!("Value must be at least {min}"),
        )),
        Rule::Between(lo, hi) if !(lo..=hi).contains(&n) => Err(invalid(
            name,
            value,
            format!("Value must be no less than {lo} and no more than {hi}"),
        )),
        Rule::GzipLevel if n != -1 && !(1..=9).contains(&n) => {
            Err(invalid(name, value, "Value must be -1 or between 1 and 9"))
        }
        _ => Ok(()),
    }
}

fn check_throttled_replicas(name: &str, value: &str, items: &[&str]) -> Result<()> {
    if items == ["*"] {
        return Ok(());
    }
    for item in items {
        let ok = item
            .split_once(':')
            .map(|(p, b)| p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok())
            .unwrap_or(false);
        if !ok {
            return Err(invalid(
                name,
                value,
                "Should be a list of [partitionId]:[brokerId] pairs or the single wildcard '*'",
            ));
        }
    }
    Ok(())
}

/// A default value for a topic key and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultValue {
    pub value: String,
    /// `StaticBroker` when the broker config sets a synonym, else `Default`.
    pub source: ConfigSource,
    /// The broker key that supplied it (`None` for Kafka's built-in default).
    pub broker_key: Option<String>,
}

/// The defaults every topic without an override gets, derived once from the broker config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfigDefaults {
    values: BTreeMap<&'static str, DefaultValue>,
}

impl Default for TopicConfigDefaults {
    fn default() -> Self {
        Self::kafka()
    }
}

impl TopicConfigDefaults {
    /// Kafka's built-in defaults, as a broker with an empty `server.properties` has them.
    pub fn kafka() -> Self {
        let values = TOPIC_CONFIGS
            .iter()
            .map(|d| {
                let default = DefaultValue {
                    value: d.kafka_default.to_string(),
                    source: ConfigSource::Default,
                    broker_key: None,
                };
                (d.name, default)
            })
            .collect();
        TopicConfigDefaults { values }
    }

    /// Defaults from broker settings: `lookup(broker_key)` answers the value of a broker key and
    /// whether it was set explicitly (file, environment or override) rather than defaulted.
    /// For each topic key the first synonym the broker config has a value for wins, scaled to
    /// the topic key's unit (`log.retention.hours=1` gives `retention.ms=3600000`).
    pub fn from_broker<F>(mut lookup: F) -> Self
    where
        F: FnMut(&str) -> Option<(String, bool)>,
    {
        let mut defaults = Self::kafka();
        for def in TOPIC_CONFIGS {
            let mut explicit = None;
            let mut implicit = None;
            for (broker_key, factor) in def.broker_synonyms {
                let Some((raw, is_explicit)) = lookup(broker_key) else {
                    continue;
                };
                let Some(value) = scale(&raw, *factor) else {
                    continue;
                };
                let slot = if is_explicit {
                    &mut explicit
                } else {
                    &mut implicit
                };
                if slot.is_none() {
                    *slot = Some((broker_key.to_string(), value));
                }
            }
            let (source, chosen) = match (explicit, implicit) {
                (Some(e), _) => (ConfigSource::StaticBroker, e),
                (None, Some(i)) => (ConfigSource::Default, i),
                (None, None) => continue,
            };
            defaults.values.insert(
                def.name,
                DefaultValue {
                    value: chosen.1,
                    source,
                    broker_key: Some(chosen.0),
                },
            );
        }
        defaults
    }

    /// Replaces the default value of a known key, keeping its source and broker key: for
    /// values the broker config computes from several keys (`log.retention.{ms,minutes,hours}`)
    /// the typed config is the authority on the value.
    pub fn set_value(&mut self, name: &str, value: String) {
        if let Some(default) = self.values.get_mut(name) {
            default.value = value;
        }
    }

    /// The default for `name`, if it is a known topic key.
    pub fn get(&self, name: &str) -> Option<&DefaultValue> {
        self.values.get(name)
    }
}

/// Multiplies a numeric broker value into the topic key's unit; non-numeric values (policies,
/// booleans) pass through unchanged when the factor is 1.
fn scale(raw: &str, factor: i64) -> Option<String> {
    let raw = raw.trim();
    if factor == 1 {
        return Some(raw.to_string());
    }
    let n = raw.parse::<i64>().ok()?;
    if n < 0 {
        // any negative hours/minutes means "no limit", which the ms key spells -1
        return Some("-1".to_string());
    }
    n.checked_mul(factor).map(|n| n.to_string())
}

/// One synonym of a resolved config, most specific first (DescribeConfigs `synonyms`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One entry of a DescribeConfigs answer, independent of the wire version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedConfig {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub is_sensitive: bool,
    pub config_type: ConfigType,
    pub documentation: Option<String>,
    pub synonyms: Vec<ConfigSynonym>,
}

impl ResolvedConfig {
    /// Kafka's `is_default` flag (DescribeConfigs v0): the value is no one's explicit choice.
    pub fn is_default(&self) -> bool {
        self.source == ConfigSource::Default
    }
}

/// Every topic key with its effective value: the override from `overrides` if there is one,
/// else the broker-derived default.
pub fn resolve_topic_configs(
    overrides: Option<&BTreeMap<String, String>>,
    defaults: &TopicConfigDefaults,
) -> Vec<ResolvedConfig> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let override_value = overrides.and_then(|o| o.get(def.name));
            let default = defaults.get(def.name);
            let mut synonyms = Vec::new();
            if let Some(v) = override_value {
                synonyms.push(ConfigSynonym {
                    name: def.name.to_string(),
                    value: Some(v.clone()),
                    source: ConfigSource::DynamicTopic,
                });
            }
            if let Some(DefaultValue {
                value,
                source,
                broker_key: Some(key),
            }) = default
            {
                synonyms.push(ConfigSynonym {
                    name: key.clone(),
                    value: Some(value.clone()),
                    source: *source,
                });
            }
            let (value, source) = match (override_value, default) {
                (Some(v), _) => (v.clone(), ConfigSource::DynamicTopic),
                (None, Some(d)) => (d.value.clone(), d.source),
                (None, None) => (def.kafka_default.to_string(), ConfigSource::Default),
            };
            ResolvedConfig {
                name: def.name.to_string(),
                value: Some(value),
                source,
                read_only: false,
                is_sensitive: false,
                config_type: def.config_type,
                documentation: Some(def.documentation.to_string()),
                synonyms,
            }
        })
        .collect()
}

/// The effective value of one topic key: override, else default.
pub fn effective_topic_config(
    overrides: Option<&BTreeMap<String, String>>,
    defaults: &TopicConfigDefaults,
    name: &str,
) -> Option<String> {
    overrides
        .and_then(|o| o.get(name).cloned())
        .or_else(|| defaults.get(name).map(|d| d.value.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_type_names() {
        assert_eq!("long".parse::<ConfigType>().unwrap().id(), 5);
        assert_eq!(
            "boolean".parse::<ConfigType>().unwrap(),
            ConfigType::Boolean
        );
        assert!("float".parse::<ConfigType>().is_err());
    }

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in TOPIC_CONFIGS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} !< {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn every_kafka_default_validates() {
        for def in TOPIC_CONFIGS {
            if def.config_type == ConfigType::List && def.kafka_default.is_empty() {
                continue;
            }
            validate_topic_config(def.name, Some(def.kafka_default))
                .unwrap_or_else(|e| panic!("{}: {e}", def.name));
        }
    }

    #[test]
    fn ranges_follow_kafka() {
        assert!(validate_topic_config("segment.bytes", Some("1048576")).is_ok());
        let err = validate_topic_config("segment.bytes", Some("1000")).unwrap_err();
        assert_eq!(err.error_code().code(), 40);
        assert!(err.to_string().contains("segment.bytes"), "{err}");
        assert!(validate_topic_config("retention.ms", Some("-1")).is_ok());
        assert!(validate_topic_config("retention.ms", Some("-2")).is_err());
        assert!(validate_topic_config("retention.ms", Some("abc")).is_err());
        assert!(
            validate_topic_config("segment.bytes", Some("4294967296")).is_err(),
            "INT overflow"
        );
        assert!(validate_topic_config("min.cleanable.dirty.ratio", Some("1.5")).is_err());
        assert!(validate_topic_config("compression.gzip.level", Some("0")).is_err());
        assert!(validate_topic_config("compression.gzip.level", Some("-1")).is_ok());
        assert!(validate_topic_config("min.insync.replicas", Some("0")).is_err());
        assert!(validate_topic_config("preallocate", Some("TRUE")).is_ok());
        assert!(validate_topic_config("preallocate", Some("yes")).is_err());
        assert!(validate_topic_config("remote.storage.enable", Some("true")).is_err());
    }

    #[test]
    fn enums_and_lists() {
        assert_eq!(
            validate_topic_config("cleanup.policy", Some(" compact , delete ")).unwrap(),
            "compact,delete"
        );
        assert!(validate_topic_config("cleanup.policy", Some("compact,shred")).is_err());
        assert!(validate_topic_config("cleanup.policy", Some("")).is_err());
        assert!(validate_topic_config("compression.type", Some("zstd")).is_ok());
        assert!(validate_topic_config("compression.type", Some("brotli")).is_err());
        assert!(validate_topic_config("message.timestamp.type", Some("LogAppendTime")).is_ok());
        assert!(
            validate_topic_config("leader.replication.throttled.replicas", Some("0:1,1:2")).is_ok()
        );
        assert!(validate_topic_config("leader.replication.throttled.replicas", Some("*")).is_ok());
        assert!(validate_topic_config("leader.replication.throttled.replicas", Some("x")).is_err());
    }

    #[test]
    fn unknown_and_null_are_refused_naming_the_key() {
        let err = validate_topic_config("retention.days", Some("1")).unwrap_err();
        assert!(err.to_string().contains("retention.days"));
        let err = validate_topic_config("retention.ms", None).unwrap_err();
        assert!(err.to_string().contains("retention.ms"));
    }

    #[test]
    fn broker_defaults_scale_and_mark_source() {
        let defaults = TopicConfigDefaults::from_broker(|key| match key {
            "log.retention.hours" => Some(("1".into(), true)),
            "log.retention.ms" => None,
            "log.segment.bytes" => Some(("1073741824".into(), false)),
            "log.cleanup.policy" => Some(("compact".into(), true)),
            _ => None,
        });
        let retention = defaults.get("retention.ms").unwrap();
        assert_eq!(retention.value, "3600000");
        assert_eq!(retention.source, ConfigSource::StaticBroker);
        assert_eq!(retention.broker_key.as_deref(), Some("log.retention.hours"));
        assert_eq!(
            defaults.get("segment.bytes").unwrap().source,
            ConfigSource::Default
        );
        assert_eq!(defaults.get("cleanup.policy").unwrap().value, "compact");
        assert_eq!(defaults.get("max.message.bytes").unwrap().value, "1048588");
        let unlimited = TopicConfigDefaults::from_broker(|key| {
            (key == "log.retention.hours").then(|| ("-5".to_string(), true))
        });
        assert_eq!(unlimited.get("retention.ms").unwrap().value, "-1");
    }

    #[test]
    fn resolve_prefers_override_and_lists_synonyms() {
        let defaults = TopicConfigDefaults::from_broker(|key| {
            (key == "log.retention.ms").then(|| ("1000".to_string(), true))
        });
        let mut overrides = BTreeMap::new();
        overrides.insert("retention.ms".to_string(), "5".to_string());
        let resolved = resolve_topic_configs(Some(&overrides), &defaults);
        assert_eq!(resolved.len(), TOPIC_CONFIGS.len());
        let r = resolved.iter().find(|c| c.name == "retention.ms").unwrap();
        assert_eq!(r.value.as_deref(), Some("5"));
        assert_eq!(r.source, ConfigSource::DynamicTopic);
        assert_eq!(r.synonyms.len(), 2);
        assert_eq!(r.synonyms[1].name, "log.retention.ms");
        assert_eq!(r.synonyms[1].source, ConfigSource::StaticBroker);
        let r = resolved.iter().find(|c| c.name == "segment.bytes").unwrap();
        assert!(r.is_default());
        assert_eq!(
            effective_topic_config(Some(&overrides), &defaults, "retention.ms").as_deref(),
            Some("5")
        );
        assert_eq!(
            effective_topic_config(None, &defaults, "retention.ms").as_deref(),
            Some("1000")
        );
    }
}
