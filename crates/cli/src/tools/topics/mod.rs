//! `kafka-topics`: create, list, describe, alter (add partitions to) and delete topics.
//!
//! Options, checks and messages follow Kafka's `TopicCommand`: exactly one action, `--topic`
//! for every action but `--list`/`--describe`, `--partitions` only with `--create`/`--alter`,
//! `--replication-factor` only with `--create`, and so on. `--topic` is a regular expression
//! (whole-name match) for every action but `--create`.

pub mod describe;
pub mod run;

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::{bootstrap_server, output_format, OutputFormat, BOOTSTRAP_ARG, OUTPUT};
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "REQUIRED: The Kafka server to connect to.",
    ),
    OptionSpec::with_arg(
        "command-config",
        "String: command config property file",
        "Property file containing configs to be passed to Admin Client.",
    ),
    OptionSpec::flag("list", "List all available topics."),
    OptionSpec::flag("create", "Create a new topic."),
    OptionSpec::flag("delete", "Delete a topic."),
    OptionSpec::flag(
        "alter",
        "Alter the number of partitions and replica assignment. (To alter topic \
         configurations, the kafka-configs tool can be used.)",
    ),
    OptionSpec::flag("describe", "List details for the given topics."),
    OptionSpec::with_arg(
        "topic",
        "String: topic",
        "The topic to create, alter, describe or delete. For every action but --create it is \
         a regular expression matched against whole topic names; escape regular expression \
         symbols with '\\', e.g. \"test\\.topic\".",
    ),
    OptionSpec::with_arg("topic-id", "String: topic-id", "The topic-id to describe."),
    OptionSpec::with_arg(
        "config",
        "String: name=value",
        "A topic configuration override for the topic being created, e.g. retention.ms=86400000 \
         or cleanup.policy=compact. Only with --create. (To alter topic configurations, the \
         kafka-configs tool can be used.)",
    ),
    OptionSpec::with_arg(
        "delete-config",
        "String: name",
        "No longer supported since Kafka 4.0; use kafka-configs --alter --delete-config.",
    ),
    OptionSpec::with_arg(
        "partitions",
        "Integer: # of partitions",
        "The number of partitions for the topic being created or altered. If not supplied \
         with --create, the topic uses the cluster default (num.partitions). Adding partitions \
         to a topic with keys changes which partition a key goes to.",
    ),
    OptionSpec::with_arg(
        "replication-factor",
        "Integer: replication factor",
        "The replication factor for each partition in the topic being created. If not \
         supplied, the topic uses the cluster default.",
    ),
    OptionSpec::with_arg(
        "replica-assignment",
        "String: broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , \
         broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ...",
        "A list of manual partition-to-broker assignments for the topic being created or \
         altered.",
    ),
    OptionSpec::flag(
        "under-replicated-partitions",
        "If set when describing topics, only show under-replicated partitions.",
    ),
    OptionSpec::flag(
        "unavailable-partitions",
        "If set when describing topics, only show partitions whose leader is not available.",
    ),
    OptionSpec::flag(
        "under-min-isr-partitions",
        "If set when describing topics, only show partitions whose isr count is less than the \
         configured minimum.",
    ),
    OptionSpec::flag(
        "at-min-isr-partitions",
        "If set when describing topics, only show partitions whose isr count is equal to the \
         configured minimum.",
    ),
    OptionSpec::flag(
        "topics-with-overrides",
        "If set when describing topics, only show topics that have overridden configs.",
    ),
    OptionSpec::flag(
        "if-exists",
        "If set when altering or deleting or describing topics, the action will only execute \
         if the topic exists.",
    ),
    OptionSpec::flag(
        "if-not-exists",
        "If set when creating topics, the action will only execute if the topic does not \
         already exist.",
    ),
    OptionSpec::flag(
        "exclude-internal",
        "Exclude internal topics when listing or describing topics. By default, the internal \
         topics are included.",
    ),
    OptionSpec::with_arg(
        "partition-size-limit-per-response",
        "Integer: maximum number of partitions per response",
        "The maximum partition size to be included in one DescribeTopicPartitions response.",
    ),
    OUTPUT,
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::Topics,
    about: "Create, delete, describe, or change a topic.",
    examples: "\
  kafka-topics --bootstrap-server localhost:9092 --create --topic orders --partitions 3 --replication-factor 1
  kafka-topics --bootstrap-server localhost:9092 --create --topic audit --config retention.ms=604800000 --if-not-exists
  kafka-topics --bootstrap-server localhost:9092 --list
  kafka-topics --bootstrap-server localhost:9092 --describe --topic orders
  kafka-topics --bootstrap-server localhost:9092 --describe --topic 'orders.*' --output json
  kafka-topics --bootstrap-server localhost:9092 --alter --topic orders --partitions 6
  kafka-topics --bootstrap-server localhost:9092 --delete --topic orders
",
    parser: OptionParser { specs: OPTIONS },
};

/// The one action a `kafka-topics` command line asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicAction {
    Create,
    List,
    Describe,
    Alter,
    Delete,
}

/// Which partitions and topics `--describe` shows (Kafka's `DescribeOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DescribeFilter {
    pub under_replicated_partitions: bool,
    pub unavailable_partitions: bool,
    pub under_min_isr_partitions: bool,
    pub at_min_isr_partitions: bool,
    pub topics_with_overrides: bool,
}

impl DescribeFilter {
    /// A partition filter hides the topic lines; `--topics-with-overrides` hides partitions.
    pub fn filters_partitions(&self) -> bool {
        self.under_replicated_partitions
            || self.unavailable_partitions
            || self.under_min_isr_partitions
            || self.at_min_isr_partitions
    }
}

/// A checked `kafka-topics` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCommand {
    pub action: TopicAction,
    pub bootstrap_server: String,
    pub command_config: Properties,
    pub topic: Option<String>,
    pub topic_id: Option<String>,
    pub partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    /// Per-partition replica lists from `--replica-assignment`, partition 0 first.
    pub replica_assignment: Option<Vec<Vec<i32>>>,
    pub configs: Properties,
    pub if_exists: bool,
    pub if_not_exists: bool,
    pub exclude_internal: bool,
    pub filter: DescribeFilter,
    pub output: OutputFormat,
}

const ACTIONS: [(&str, TopicAction); 5] = [
    ("create", TopicAction::Create),
    ("list", TopicAction::List),
    ("alter", TopicAction::Alter),
    ("describe", TopicAction::Describe),
    ("delete", TopicAction::Delete),
];

/// The actions other than `allowed`, for "can't be used with" checks.
fn other_actions(allowed: &[&str]) -> Vec<&'static str> {
    ACTIONS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !allowed.contains(name))
        .collect()
}

impl TryFrom<&OptionSet> for TopicCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<TopicCommand, ToolError> {
        let chosen: Vec<TopicAction> = ACTIONS
            .iter()
            .filter(|(name, _)| set.has(name))
            .map(|(_, action)| *action)
            .collect();
        let [action] = chosen.as_slice() else {
            return Err(UsageError(
                "Command must include exactly one action: --list, --describe, --create, --alter \
                 or --delete"
                    .into(),
            )
            .into());
        };
        let action = *action;
        let bootstrap_server = bootstrap_server(set)?;
        if action == TopicAction::Describe
            && set.has("if-exists")
            && !set.has("topic")
            && !set.has("topic-id")
        {
            return Err(
                UsageError("--topic or --topic-id is required to describe a topic".into()).into(),
            );
        }
        if !matches!(action, TopicAction::List | TopicAction::Describe) {
            set.require("topic")?;
        }
        if action == TopicAction::Alter {
            if set.has("config") {
                return Err(UsageError(
                    "Option combination \"[bootstrap-server, config]\" can't be used with option \
                     \"[alter]\" (To alter topic configurations, the kafka-configs tool can be \
                     used.)"
                        .into(),
                )
                .into());
            }
            set.require("partitions")?;
        }
        set.forbid("config", &other_actions(&["alter", "create"]))?;
        set.forbid("partitions", &other_actions(&["alter", "create"]))?;
        set.forbid("replication-factor", &other_actions(&["create"]))?;
        set.forbid("replica-assignment", &other_actions(&["alter", "create"]))?;
        if action == TopicAction::Create {
            set.forbid("replica-assignment", &["partitions", "replication-factor"])?;
        }
        for report in [
            "under-replicated-partitions",
            "under-min-isr-partitions",
            "at-min-isr-partitions",
            "unavailable-partitions",
        ] {
            let mut invalid = other_actions(&["describe"]);
            invalid.push("topics-with-overrides");
            set.forbid(report, &invalid)?;
        }
        let mut invalid = other_actions(&["describe"]);
        invalid.extend([
            "under-replicated-partitions",
            "under-min-isr-partitions",
            "at-min-isr-partitions",
            "unavailable-partitions",
        ]);
        set.forbid("topics-with-overrides", &invalid)?;
        set.forbid(
            "if-exists",
            &other_actions(&["alter", "delete", "describe"]),
        )?;
        set.forbid("if-not-exists", &other_actions(&["create"]))?;
        set.forbid("exclude-internal", &other_actions(&["list", "describe"]))?;

        let partitions = set.parsed::<i32>("partitions")?;
        let replication_factor = set.parsed::<i32>("replication-factor")?;
        if action == TopicAction::Create {
            if replication_factor.is_some_and(|rf| !(1..=i32::from(i16::MAX)).contains(&rf)) {
                return Err(ToolError::Failed(format!(
                    "The replication factor must be between 1 and {} inclusive",
                    i16::MAX
                )));
            }
            if partitions.is_some_and(|p| p < 1) {
                return Err(ToolError::Failed(
                    "The partitions must be greater than 0".into(),
                ));
            }
        }
        let replica_assignment = set
            .value("replica-assignment")
            .map(replica_assignment)
            .transpose()?;
        let command_config = match set.value("command-config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        Ok(TopicCommand {
            action,
            bootstrap_server,
            command_config,
            topic: set.value("topic").map(str::to_owned),
            topic_id: set.value("topic-id").map(str::to_owned),
            partitions,
            replication_factor,
            replica_assignment,
            configs: topic_configs(set.values("config"))?,
            if_exists: set.has("if-exists"),
            if_not_exists: set.has("if-not-exists"),
            exclude_internal: set.has("exclude-internal"),
            filter: DescribeFilter {
                under_replicated_partitions: set.has("under-replicated-partitions"),
                unavailable_partitions: set.has("unavailable-partitions"),
                under_min_isr_partitions: set.has("under-min-isr-partitions"),
                at_min_isr_partitions: set.has("at-min-isr-partitions"),
                topics_with_overrides: set.has("topics-with-overrides"),
            },
            output: output_format(set)?,
        })
    }
}

/// `--config k=v` words: each must be exactly one `key=value` (blanks around `=` dropped).
fn topic_configs(words: &[String]) -> Result<Properties, ToolError> {
    let mut configs = Properties::new();
    for word in words {
        let parts: Vec<&str> = word.split('=').collect();
        match parts.as_slice() {
            [key, value] if !key.trim().is_empty() => {
                configs.insert(key.trim().to_owned(), value.trim().to_owned());
            }
            _ => {
                return Err(ToolError::Failed(
                    "requirement failed: Invalid topic config: all configs to be added must be in \
                     the format \"key=val\"."
                        .into(),
                ))
            }
        }
    }
    Ok(configs)
}

/// `1:2,2:3` → `[[1, 2], [2, 3]]`, refusing duplicates and uneven replica counts as Kafka does.
fn replica_assignment(text: &str) -> Result<Vec<Vec<i32>>, ToolError> {
    let mut partitions: Vec<Vec<i32>> = Vec::new();
    for (index, part) in text.split(',').enumerate() {
        let brokers = part
            .split(':')
            .map(|b| {
                b.trim()
                    .parse::<i32>()
                    .map_err(|_| ToolError::Failed(format!("For input string: \"{}\"", b.trim())))
            })
            .collect::<Result<Vec<i32>, ToolError>>()?;
        let mut duplicates: Vec<i32> = brokers
            .iter()
            .enumerate()
            .filter(|(i, b)| brokers[..*i].contains(b))
            .map(|(_, b)| *b)
            .collect();
        duplicates.dedup();
        if !duplicates.is_empty() {
            return Err(ToolError::Failed(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                join(&duplicates)
            )));
        }
        if partitions
            .first()
            .is_some_and(|first| first.len() != brokers.len())
        {
            return Err(ToolError::Failed(format!(
                "Partition {index} has different replication factor: [{}]",
                brokers
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        partitions.push(brokers);
    }
    Ok(partitions)
}

/// Broker ids as Kafka prints them: `1,2,3`.
pub fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Topic names selected by `--topic` (a regular expression matched against whole names) from
/// `all` (sorted), leaving internal topics out when asked. With no `--topic`, every topic.
pub fn select_topics(
    all: &[String],
    pattern: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<String>, ToolError> {
    let matcher = pattern
        .map(|p| regex::Regex::new(&format!("^(?:{p})$")))
        .transpose()
        .map_err(|e| ToolError::Failed(format!("Invalid topic pattern: {e}")))?;
    let mut topics: Vec<String> = all
        .iter()
        .filter(|t| !(exclude_internal && t.starts_with("__")))
        .filter(|t| matcher.as_ref().is_none_or(|m| m.is_match(t)))
        .cloned()
        .collect();
    topics.sort();
    Ok(topics)
}

/// Kafka's `ensureTopicExists`: a `--topic` that matched nothing is an error unless
/// `--if-exists` was given.
pub fn ensure_topic_exists(
    found: &[String],
    requested: Option<&str>,
    if_exists: bool,
) -> Result<(), ToolError> {
    match requested {
        Some(topic) if found.is_empty() && !if_exists => Err(ToolError::Failed(format!(
            "Topic '{topic}' does not exist as expected"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<TopicCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        TopicCommand::try_from(&set)
    }

    fn message(words: &[&str]) -> String {
        command(words).expect_err("refused").to_string()
    }

    #[test]
    fn the_seed_create_line() {
        let c = command(&[
            "--create",
            "--bootstrap-server",
            "localhost:9092",
            "--topic",
            "test-topic",
            "--partitions",
            "3",
            "--replication-factor",
            "1",
        ])
        .expect("valid");
        assert_eq!(c.action, TopicAction::Create);
        assert_eq!(c.bootstrap_server, "localhost:9092");
        assert_eq!(c.topic.as_deref(), Some("test-topic"));
        assert_eq!((c.partitions, c.replication_factor), (Some(3), Some(1)));
        assert_eq!(c.output, OutputFormat::Text);
    }

    #[test]
    fn exactly_one_action() {
        let expected = "Command must include exactly one action: --list, --describe, --create, \
                        --alter or --delete";
        assert_eq!(message(&["--bootstrap-server", "h:1"]), expected);
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--list", "--describe"]),
            expected
        );
    }

    #[test]
    fn kafka_messages_for_missing_and_misplaced_options() {
        assert_eq!(message(&["--list"]), "--bootstrap-server must be specified");
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--create"]),
            "Missing required argument \"[topic]\""
        );
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--alter", "--topic", "t"]),
            "Missing required argument \"[partitions]\""
        );
        assert!(
            message(&["--bootstrap-server", "h:1", "--list", "--partitions", "3"])
                .starts_with("Option \"[partitions]\" can't be used with option")
        );
        assert!(message(&[
            "--bootstrap-server",
            "h:1",
            "--alter",
            "--topic",
            "t",
            "--partitions",
            "2",
            "--replication-factor",
            "3"
        ])
        .starts_with("Option \"[replication-factor]\" can't be used with option"));
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--describe", "--if-exists"]),
            "--topic or --topic-id is required to describe a topic"
        );
        assert!(message(&[
            "--bootstrap-server",
            "h:1",
            "--alter",
            "--topic",
            "t",
            "--config",
            "a=b"
        ])
        .contains("kafka-configs"));
    }

    #[test]
    fn values_are_checked() {
        let base = ["--bootstrap-server", "h:1", "--create", "--topic", "t"];
        let with = |extra: &[&str]| {
            let mut words = base.to_vec();
            words.extend_from_slice(extra);
            message(&words)
        };
        assert_eq!(
            with(&["--partitions", "0"]),
            "The partitions must be greater than 0"
        );
        assert_eq!(
            with(&["--replication-factor", "40000"]),
            "The replication factor must be between 1 and 32767 inclusive"
        );
        assert!(with(&["--partitions", "three"]).contains("'three'"));
        assert!(with(&["--config", "retention.ms"]).contains("key=val"));
        assert_eq!(
            with(&["--replica-assignment", "1:1,2:3"]),
            "Partition replica lists may not contain duplicate entries: 1"
        );
        assert_eq!(
            with(&["--replica-assignment", "1:2,3"]),
            "Partition 1 has different replication factor: [3]"
        );
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--create",
            "--topic",
            "t",
            "--config",
            "retention.ms = 100",
            "--config",
            "cleanup.policy=compact",
            "--replica-assignment",
            "1:2, 2:3",
        ])
        .expect("valid");
        assert_eq!(c.configs["retention.ms"], "100");
        assert_eq!(c.configs["cleanup.policy"], "compact");
        assert_eq!(c.replica_assignment, Some(vec![vec![1, 2], vec![2, 3]]));
    }

    #[test]
    fn topic_patterns_match_whole_names() {
        let all: Vec<String> = ["b", "a.b", "axb", "__consumer_offsets"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            select_topics(&all, None, false).expect("ok"),
            ["__consumer_offsets", "a.b", "axb", "b"]
        );
        assert_eq!(
            select_topics(&all, None, true).expect("ok"),
            ["a.b", "axb", "b"]
        );
        assert_eq!(
            select_topics(&all, Some("a\\.b"), false).expect("ok"),
            ["a.b"]
        );
        assert_eq!(
            select_topics(&all, Some("a.b"), false).expect("ok"),
            ["a.b", "axb"]
        );
        assert!(select_topics(&all, Some("b("), false).is_err());
        assert_eq!(
            ensure_topic_exists(&[], Some("x"), false)
                .expect_err("missing")
                .to_string(),
            "Topic 'x' does not exist as expected"
        );
        assert!(ensure_topic_exists(&[], Some("x"), true).is_ok());
        assert!(ensure_topic_exists(&[], None, false).is_ok());
    }
}
