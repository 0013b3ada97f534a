//! `kafka-configs`: describe and alter the dynamic configuration of topics and brokers.
//!
//! Options and checks follow Kafka's `ConfigCommand` with `--bootstrap-server` (ZooKeeper
//! is gone): exactly one of `--describe`/`--alter`, an entity given either as
//! `--entity-type topics --entity-name X` or as a shorthand (`--topic X`, `--broker 1`,
//! `--broker-defaults`), `--add-config 'k1=v1,k2=[a,b],k3=v3'` (brackets keep commas inside
//! one value) and `--delete-config k1,k2`. This build handles topics, brokers and
//! broker-loggers; quota and SCRAM entity types are refused with a clear message.

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::{check_bootstrap_server, output_format, OutputFormat, BOOTSTRAP_ARG, OUTPUT};
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "The Kafka servers to connect to.",
    ),
    OptionSpec::with_arg(
        "bootstrap-controller",
        "String: controller to connect to",
        "The Kafka controllers to connect to (fjord answers on its broker listener; use \
         --bootstrap-server).",
    ),
    OptionSpec::with_arg(
        "command-config",
        "String: command config property file",
        "Property file containing configs to be passed to Admin Client.",
    ),
    OptionSpec::flag("alter", "Alter the configuration for the entity."),
    OptionSpec::flag("describe", "List configs for the given entity."),
    OptionSpec::flag(
        "all",
        "List all configs for the given entity, including static configs if available.",
    ),
    OptionSpec::with_arg(
        "entity-type",
        "String",
        "Type of entity (topics/clients/users/brokers/broker-loggers/ips/client-metrics/groups)",
    ),
    OptionSpec::with_arg(
        "entity-name",
        "String",
        "Name of entity (topic name/client id/user principal name/broker id/ip/client \
         metrics/group id)",
    ),
    OptionSpec::flag(
        "entity-default",
        "Default entity name for clients/users/brokers/ips (applies to corresponding entity \
         type)",
    ),
    OptionSpec::with_arg(
        "add-config",
        "String",
        "Key Value pairs of configs to add. Square brackets can be used to group values which \
         contain commas: 'k1=v1,k2=[v1,v2,v2],k3=v3'.",
    ),
    OptionSpec::with_arg(
        "add-config-file",
        "String",
        "Path to a properties file with configs to add. See add-config for a list of valid \
         configurations.",
    ),
    OptionSpec::with_arg("delete-config", "String", "config keys to remove 'k1,k2'"),
    OptionSpec::flag("force", "Suppress console prompts"),
    OptionSpec::with_arg("topic", "String", "The topic's name."),
    OptionSpec::with_arg("broker", "String", "The broker's ID."),
    OptionSpec::flag("broker-defaults", "The config defaults for all brokers."),
    OptionSpec::with_arg(
        "broker-logger",
        "String",
        "The broker's ID for its logger config.",
    ),
    OptionSpec::with_arg("group", "String", "The group's ID."),
    OUTPUT,
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::Configs,
    about: "This tool helps to manipulate and describe entity config for a topic, client, user, \
            broker, ip, client-metrics or group",
    examples: "\
  kafka-configs --bootstrap-server localhost:9092 --entity-type topics --entity-name orders --describe
  kafka-configs --bootstrap-server localhost:9092 --entity-type topics --entity-name orders --alter --add-config retention.ms=86400000,cleanup.policy=[compact,delete]
  kafka-configs --bootstrap-server localhost:9092 --topic orders --alter --delete-config retention.ms
  kafka-configs --bootstrap-server localhost:9092 --entity-type brokers --entity-name 1 --describe --all
  kafka-configs --bootstrap-server localhost:9092 --entity-type brokers --entity-default --alter --add-config log.cleaner.threads=2
",
    parser: OptionParser { specs: OPTIONS },
};

/// The kinds of entity this build can describe and alter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityType {
    Topics,
    Brokers,
    BrokerLoggers,
    Groups,
}

impl EntityType {
    /// Kafka's plural name (`topics`).
    pub fn name(self) -> &'static str {
        match self {
            EntityType::Topics => "topics",
            EntityType::Brokers => "brokers",
            EntityType::BrokerLoggers => "broker-loggers",
            EntityType::Groups => "groups",
        }
    }

    /// The singular Kafka prints in "Dynamic configs for topic X are:".
    pub fn singular(self) -> &'static str {
        match self {
            EntityType::Topics => "topic",
            EntityType::Brokers => "broker",
            EntityType::BrokerLoggers => "broker-logger",
            EntityType::Groups => "group",
        }
    }
}

/// What to do with the entity's configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAction {
    Describe {
        all: bool,
    },
    Alter {
        add: Vec<(String, String)>,
        delete: Vec<String>,
    },
}

/// A checked `kafka-configs` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigCommand {
    pub bootstrap_server: String,
    pub command_config: Properties,
    pub entity_type: EntityType,
    /// `None`: the cluster-wide default (`--entity-default`, `--broker-defaults`), or, for
    /// `--describe` without a name, every entity of the type.
    pub entity_name: Option<String>,
    pub entity_default: bool,
    pub action: ConfigAction,
    pub output: OutputFormat,
}

impl TryFrom<&OptionSet> for ConfigCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<ConfigCommand, ToolError> {
        if usize::from(set.has("alter")) + usize::from(set.has("describe")) != 1 {
            return Err(UsageError(
                "Command must include exactly one action: --describe, --alter".into(),
            )
            .into());
        }
        set.forbid("describe", &["alter", "add-config", "delete-config"])?;
        let shorthand = [
            ("topic", EntityType::Topics),
            ("broker", EntityType::Brokers),
            ("broker-defaults", EntityType::Brokers),
            ("broker-logger", EntityType::BrokerLoggers),
            ("group", EntityType::Groups),
        ];
        let generic = set.has("entity-type") || set.has("entity-name") || set.has("entity-default");
        let given: Vec<(&str, EntityType)> = shorthand
            .iter()
            .copied()
            .filter(|(o, _)| set.has(o))
            .collect();
        if generic && !given.is_empty() {
            return Err(ToolError::Failed(
                "--entity-{type,name,default} should not be used in conjunction with specific \
                 entity flags"
                    .into(),
            ));
        }
        let (entity_type, entity_name, entity_default) =
            if let [(option, entity_type)] = given.as_slice() {
                let name = set.value(option).map(str::to_owned);
                (*entity_type, name.clone(), name.is_none())
            } else if given.len() > 1 {
                return Err(ToolError::Failed(
                    "Only one entity may be given at a time in this build".into(),
                ));
            } else {
                let types = set.values("entity-type");
                let raw = match types {
                    [] => {
                        return Err(ToolError::Failed(
                            "At least one entity type must be specified".into(),
                        ))
                    }
                    [one] => one.as_str(),
                    _ => {
                        return Err(ToolError::Failed(
                            "Only one entity type may be given at a time in this build".into(),
                        ))
                    }
                };
                let entity_type = match raw {
                    "topics" => EntityType::Topics,
                    "brokers" => EntityType::Brokers,
                    "broker-loggers" => EntityType::BrokerLoggers,
                    "groups" => EntityType::Groups,
                    "clients" | "users" | "ips" | "client-metrics" => {
                        return Err(ToolError::Failed(format!(
                            "Entity type {raw} (quotas, SCRAM credentials, client metrics) is not \
                         supported by fjord yet"
                        )))
                    }
                    other => {
                        return Err(ToolError::Failed(format!(
                            "Invalid entity type {other}, the entity type must be one of topics, \
                         clients, users, brokers, broker-loggers, ips, client-metrics, groups \
                         with a --bootstrap-server or --bootstrap-controller argument"
                        )))
                    }
                };
                if set.has("entity-default") && set.has("entity-name") {
                    return Err(ToolError::Failed(
                        "Exactly one entity name must be specified for every entity type".into(),
                    ));
                }
                (
                    entity_type,
                    set.value("entity-name").map(str::to_owned),
                    set.has("entity-default"),
                )
            };
        if entity_default && entity_type != EntityType::Brokers {
            return Err(ToolError::Failed(format!(
                "--entity-default is only supported for brokers here, not for {}",
                entity_type.name()
            )));
        }
        if matches!(entity_type, EntityType::Brokers | EntityType::BrokerLoggers) {
            if let Some(name) = &entity_name {
                if name.parse::<i32>().is_err() {
                    return Err(ToolError::Failed(format!(
                        "The entity name for {} must be a valid integer broker id, but it is: \
                         {name}",
                        entity_type.name()
                    )));
                }
            }
        }
        let servers =
            match (
                set.value("bootstrap-server"),
                set.value("bootstrap-controller"),
            ) {
                (Some(_), Some(_)) => {
                    return Err(ToolError::Failed(
                        "Only one of --bootstrap-server or --bootstrap-controller can be specified"
                            .into(),
                    ))
                }
                (Some(s), None) | (None, Some(s)) => s.to_owned(),
                (None, None) => return Err(ToolError::Failed(
                    "One of the required --bootstrap-server or --bootstrap-controller arguments \
                     must be specified"
                        .into(),
                )),
            };
        check_bootstrap_server(&servers)?;
        let action = if set.has("alter") {
            if entity_name.is_none() && !entity_default {
                return Err(ToolError::Failed(
                    "--entity-name or --entity-default must be specified with each \
                     --entity-type for --alter"
                        .into(),
                ));
            }
            let mut add = match set.value("add-config") {
                Some(text) => add_config(text)?,
                None => Vec::new(),
            };
            if let Some(path) = set.value("add-config-file") {
                let file = props::from_file(path.as_ref())
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                add.extend(file);
            }
            let delete: Vec<String> = set
                .value("delete-config")
                .map(|d| {
                    d.split(',')
                        .map(|k| k.trim().to_owned())
                        .filter(|k| !k.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(key) = add.iter().map(|(k, _)| k).find(|k| delete.contains(k)) {
                return Err(ToolError::Failed(format!(
                    "Invalid config(s): {key} cannot be both added and deleted"
                )));
            }
            ConfigAction::Alter { add, delete }
        } else {
            ConfigAction::Describe {
                all: set.has("all"),
            }
        };
        let command_config = match set.value("command-config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        Ok(ConfigCommand {
            bootstrap_server: servers,
            command_config,
            entity_type,
            entity_name,
            entity_default,
            action,
            output: output_format(set)?,
        })
    }
}

/// `k1=v1,k2=[a,b],k3=v3` → pairs; brackets group a value containing commas.
pub fn add_config(text: &str) -> Result<Vec<(String, String)>, ToolError> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    entries.push(current);
    let mut pairs = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(ToolError::Failed(format!(
                "Invalid entity config: all configs to be added must be in the format \
                 \"key=val\" (got '{entry}')."
            )));
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(ToolError::Failed(format!(
                "Invalid character found for config key: {key}"
            )));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .unwrap_or(value);
        pairs.push((key.to_owned(), value.to_owned()));
    }
    Ok(pairs)
}

/// One config entry as `--describe` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLine {
    pub name: String,
    /// `None` for sensitive values (printed `null`).
    pub value: Option<String>,
    pub sensitive: bool,
    /// `(source, name, value)`, e.g. `("DYNAMIC_TOPIC_CONFIG", "retention.ms", "1000")`.
    pub synonyms: Vec<(String, String, Option<String>)>,
}

/// Kafka's describe block for one entity: a heading, then `  name=value sensitive=false
/// synonyms={SOURCE:name=value, ...}` per entry.
pub fn describe_text(
    entity_type: EntityType,
    entity: Option<&str>,
    all: bool,
    lines: &[ConfigLine],
) -> String {
    let mut out = match entity {
        None => format!(
            "Default configs for {} in the cluster are:\n",
            entity_type.name()
        ),
        Some(name) => format!(
            "{} configs for {} {name} are:\n",
            if all { "All" } else { "Dynamic" },
            entity_type.singular()
        ),
    };
    for line in lines {
        let synonyms = line
            .synonyms
            .iter()
            .map(|(source, name, value)| {
                format!("{source}:{name}={}", value.as_deref().unwrap_or("null"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "  {}={} sensitive={} synonyms={{{synonyms}}}\n",
            line.name,
            line.value.as_deref().unwrap_or("null"),
            line.sensitive
        ));
    }
    out
}

/// Kafka's line after a successful `--alter`.
pub fn altered_text(entity_type: EntityType, entity: Option<&str>) -> String {
    match entity {
        Some(name) => format!(
            "Completed updating config for {} {name}.\n",
            entity_type.singular()
        ),
        None => format!(
            "Completed updating default config for {} in the cluster.\n",
            entity_type.name()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<ConfigCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        ConfigCommand::try_from(&set)
    }

    #[test]
    fn entity_type_and_name_or_shorthand() {
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--entity-type",
            "topics",
            "--entity-name",
            "orders",
            "--alter",
            "--add-config",
            "retention.ms=1000,cleanup.policy=[compact,delete]",
        ])
        .expect("valid");
        assert_eq!(c.entity_type, EntityType::Topics);
        assert_eq!(c.entity_name.as_deref(), Some("orders"));
        assert_eq!(
            c.action,
            ConfigAction::Alter {
                add: vec![
                    ("retention.ms".into(), "1000".into()),
                    ("cleanup.policy".into(), "compact,delete".into())
                ],
                delete: vec![]
            }
        );
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "orders",
            "--alter",
            "--delete-config",
            "a,b",
        ])
        .expect("valid");
        assert_eq!(
            c.action,
            ConfigAction::Alter {
                add: vec![],
                delete: vec!["a".into(), "b".into()]
            }
        );
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--broker-defaults",
            "--describe",
        ])
        .expect("valid");
        assert!(c.entity_default && c.entity_name.is_none());
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--entity-type",
            "brokers",
            "--describe",
            "--all",
        ])
        .expect("valid");
        assert_eq!(c.action, ConfigAction::Describe { all: true });
    }

    #[test]
    fn kafka_messages() {
        let msg = |words: &[&str]| command(words).expect_err("refused").to_string();
        assert_eq!(
            msg(&["--bootstrap-server", "h:1", "--entity-type", "topics"]),
            "Command must include exactly one action: --describe, --alter"
        );
        assert_eq!(
            msg(&["--bootstrap-server", "h:1", "--describe"]),
            "At least one entity type must be specified"
        );
        assert!(msg(&[
            "--bootstrap-server",
            "h:1",
            "--describe",
            "--entity-type",
            "tables"
        ])
        .starts_with("Invalid entity type tables"));
        assert_eq!(
            msg(&[
                "--bootstrap-server",
                "h:1",
                "--entity-type",
                "brokers",
                "--entity-name",
                "one",
                "--describe"
            ]),
            "The entity name for brokers must be a valid integer broker id, but it is: one"
        );
        assert!(msg(&[
            "--bootstrap-server",
            "h:1",
            "--entity-type",
            "topics",
            "--alter",
            "--add-config",
            "a=1"
        ])
        .starts_with("--entity-name or --entity-default must be specified"));
        assert!(msg(&[
            "--bootstrap-server",
            "h:1",
            "--describe",
            "--topic",
            "t",
            "--add-config",
            "a=1"
        ])
        .starts_with("Option \"[describe]\" can't be used with option \"[add-config]\""));
        assert!(msg(&["--entity-type", "topics", "--describe"]).starts_with("One of the required"));
        assert!(msg(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--alter",
            "--add-config",
            "novalue"
        ])
        .contains("key=val"));
    }

    #[test]
    fn output_lines() {
        let lines = [ConfigLine {
            name: "retention.ms".into(),
            value: Some("1000".into()),
            sensitive: false,
            synonyms: vec![
                (
                    "DYNAMIC_TOPIC_CONFIG".into(),
                    "retention.ms".into(),
                    Some("1000".into()),
                ),
                ("DEFAULT_CONFIG".into(), "log.retention.ms".into(), None),
            ],
        }];
        assert_eq!(
            describe_text(EntityType::Topics, Some("orders"), false, &lines),
            "Dynamic configs for topic orders are:\n  retention.ms=1000 sensitive=false \
             synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000, DEFAULT_CONFIG:log.retention.ms=null}\n"
        );
        assert_eq!(
            describe_text(EntityType::Brokers, None, false, &[]),
            "Default configs for brokers in the cluster are:\n"
        );
        assert_eq!(
            altered_text(EntityType::Topics, Some("orders")),
            "Completed updating config for topic orders.\n"
        );
        assert_eq!(
            altered_text(EntityType::Brokers, None),
            "Completed updating default config for brokers in the cluster.\n"
        );
    }
}
