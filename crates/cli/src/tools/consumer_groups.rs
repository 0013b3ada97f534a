//! `kafka-consumer-groups`: list, describe and delete consumer groups, reset and delete their
//! offsets.
//!
//! Options and checks follow Kafka's `ConsumerGroupCommandOptions` (exactly one action,
//! `--group` or `--all-groups` where needed, one reset scenario, `--dry-run` xor
//! `--execute`). The tables are Kafka's: `%-Ns` columns whose widths grow with the longest
//! group, topic, consumer id and host (at least 15), a blank line before each table, and `-`
//! for a missing value (the tables live in [`super::group_tables`]). The datetime and duration parsers live in [`crate::time`].

use std::collections::BTreeMap;

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::time;
use crate::tool::Tool;
use crate::tools::{bootstrap_server, output_format, OutputFormat, BOOTSTRAP_ARG, OUTPUT};
use crate::{ToolError, ToolSpec};

pub use super::group_tables::{offsets_table, reset_table, OffsetRow};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "REQUIRED: The server(s) to connect to.",
    ),
    OptionSpec::with_arg(
        "group",
        "String: consumer group",
        "The consumer group we wish to act on.",
    ),
    OptionSpec::with_arg(
        "topic",
        "String: topic",
        "The topic whose consumer group information should be deleted or included in the \
         reset offset process. With --reset-offsets, partitions can be given as `topic1:0,1,2`.",
    ),
    OptionSpec::flag(
        "all-topics",
        "Consider all topics assigned to a group in the `reset-offsets` process.",
    ),
    OptionSpec::flag("list", "List all consumer groups."),
    OptionSpec::flag(
        "describe",
        "Describe consumer group and list offset lag (number of messages not yet processed) \
         related to given group.",
    ),
    OptionSpec::flag("all-groups", "Apply to all consumer groups."),
    OptionSpec::flag(
        "delete",
        "Pass in groups to delete topic partition offsets and ownership information over the \
         entire consumer group. For instance --group g1 --group g2",
    ),
    OptionSpec::with_arg(
        "timeout",
        "Long: timeout (ms)",
        "The maximum time in milliseconds to wait, e.g. for a group to stabilise when \
         describing it (default: 5000).",
    ),
    OptionSpec::with_arg(
        "command-config",
        "String: command config property file",
        "Property file containing configs to be passed to Admin Client and Consumer.",
    ),
    OptionSpec::flag(
        "reset-offsets",
        "Reset offsets of consumer group. Supports one consumer group at the time, and \
         instances should be inactive. --dry-run (the default) shows the plan, --execute \
         applies it. Choose one of --to-datetime, --by-duration, --to-earliest, --to-latest, \
         --shift-by, --from-file, --to-current, --to-offset, and a scope: --all-topics or \
         --topic.",
    ),
    OptionSpec::flag(
        "delete-offsets",
        "Delete offsets of consumer group. Supports one consumer group at the time, and \
         multiple topics.",
    ),
    OptionSpec::flag(
        "dry-run",
        "Only show results without executing changes on Consumer Groups. Supported \
         operations: reset-offsets.",
    ),
    OptionSpec::flag(
        "execute",
        "Execute operation. Supported operations: reset-offsets.",
    ),
    OptionSpec::flag(
        "export",
        "Export operation execution to a CSV format. Supported operations: reset-offsets.",
    ),
    OptionSpec::with_arg(
        "to-offset",
        "Long: offset",
        "Reset offsets to a specific offset.",
    ),
    OptionSpec::with_arg(
        "from-file",
        "String: path to CSV file",
        "Reset offsets to values defined in CSV file.",
    ),
    OptionSpec::with_arg(
        "to-datetime",
        "String: datetime",
        "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'",
    ),
    OptionSpec::with_arg(
        "by-duration",
        "String: duration",
        "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'",
    ),
    OptionSpec::flag("to-earliest", "Reset offsets to earliest offset."),
    OptionSpec::flag("to-latest", "Reset offsets to latest offset."),
    OptionSpec::flag("to-current", "Reset offsets to current offset."),
    OptionSpec::with_arg(
        "shift-by",
        "Long: number-of-offsets",
        "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.",
    ),
    OptionSpec::flag(
        "members",
        "Describe members of the group. This option may be used with '--describe' and \
         '--bootstrap-server' options only.",
    ),
    OptionSpec::flag(
        "verbose",
        "Provide additional information, if any, when describing the group.",
    ),
    OptionSpec::flag(
        "offsets",
        "Describe the group and list all topic partitions in the group along with their \
         offset lag. This is the default sub-action of '--describe'.",
    ),
    OptionSpec::optional_arg(
        "state",
        "String",
        "With '--describe', includes the state of the group. With '--list', displays the state \
         of all groups, or lists the groups in the given states: --list --state stable,empty",
    ),
    OptionSpec::optional_arg(
        "type",
        "String",
        "With '--list', displays the type of all groups, or lists the groups of the given \
         types: --list --type classic,consumer",
    ),
    OUTPUT,
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::ConsumerGroups,
    about: "This tool helps to list all consumer groups, describe a consumer group, delete \
            consumer group info, or reset consumer group offsets.",
    examples: "\
  kafka-consumer-groups --bootstrap-server localhost:9092 --list
  kafka-consumer-groups --bootstrap-server localhost:9092 --describe --group billing
  kafka-consumer-groups --bootstrap-server localhost:9092 --describe --group billing --members
  kafka-consumer-groups --bootstrap-server localhost:9092 --group billing --topic orders --reset-offsets --to-earliest --execute
  kafka-consumer-groups --bootstrap-server localhost:9092 --group billing --all-topics --reset-offsets --shift-by -10 --dry-run
  kafka-consumer-groups --bootstrap-server localhost:9092 --delete --group billing
",
    parser: OptionParser { specs: OPTIONS },
};

/// Printed on stderr when `--reset-offsets` comes without `--dry-run` or `--execute`.
pub const NO_EXECUTE_WARNING: &str = "WARN: No action will be performed as the --execute option \
     is missing. In a future major release, the default behavior of this command will be to \
     prompt the user before executing the reset rather than doing a dry run. You should add the \
     --dry-run option explicitly if you are scripting this command and want to keep the current \
     default behavior without prompting.";

/// What `--describe` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeView {
    Offsets,
    Members,
    State,
}

/// Where a reset moves each partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetSpec {
    ToEarliest,
    ToLatest,
    ToCurrent,
    ToOffset(i64),
    ShiftBy(i64),
    /// The first offset whose timestamp is at or after this time (ms since the epoch).
    ToDatetime(i64),
    /// The first offset at or after "now minus this many ms".
    ByDuration(i64),
    /// `topic,partition,offset` lines.
    FromFile(String),
}

/// The one action a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupAction {
    /// `--list`, with the states (lower case) to keep when `--state a,b` is given; `Some`
    /// empty list for a bare `--state` (print the STATE column, keep all).
    List {
        states: Option<Vec<String>>,
    },
    Describe {
        view: DescribeView,
        verbose: bool,
    },
    Delete,
    DeleteOffsets,
    ResetOffsets {
        spec: ResetSpec,
        execute: bool,
        export: bool,
    },
}

/// Which partitions a reset or offset deletion covers: `--all-topics`, or `--topic` values
/// (`orders` or `orders:0,1`; `None` means every partition of the topic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicScope {
    AllTopics,
    Topics(BTreeMap<String, Option<Vec<i32>>>),
    Unspecified,
}

/// A checked `kafka-consumer-groups` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCommand {
    pub bootstrap_server: String,
    pub command_config: Properties,
    pub action: GroupAction,
    /// `--group` values (repeatable); empty with `--all-groups`.
    pub groups: Vec<String>,
    pub all_groups: bool,
    pub scope: TopicScope,
    pub timeout_ms: u64,
    pub output: OutputFormat,
    /// `--reset-offsets` without `--dry-run`/`--execute`: Kafka warns, then does a dry run.
    pub warn_no_execute: bool,
}

const SCENARIOS: [&str; 8] = [
    "to-offset",
    "shift-by",
    "to-datetime",
    "by-duration",
    "to-earliest",
    "to-latest",
    "to-current",
    "from-file",
];

fn scenario_list() -> String {
    format!(
        "[{}]",
        SCENARIOS
            .iter()
            .map(|s| format!("[{s}]"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl TryFrom<&OptionSet> for GroupCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<GroupCommand, ToolError> {
        let actions = [
            "list",
            "describe",
            "delete",
            "reset-offsets",
            "delete-offsets",
        ];
        if actions.iter().filter(|a| set.has(a)).count() != 1 {
            return Err(UsageError(
                "Command must include exactly one action: --list, --describe, --delete, \
                 --reset-offsets, --delete-offsets"
                    .into(),
            )
            .into());
        }
        set.require("bootstrap-server")?;
        let bootstrap_server = bootstrap_server(set)?;
        let selects_groups = set.has("group") || set.has("all-groups");
        let scope_message = |option: &str| {
            format!("Option [{option}] takes one of these options: [group], [all-groups]")
        };
        if set.has("describe") {
            if !selects_groups {
                return Err(UsageError(scope_message("describe")).into());
            }
            if ["members", "offsets", "state"]
                .iter()
                .filter(|o| set.has(o))
                .count()
                > 1
            {
                return Err(UsageError(
                    "Option [describe] takes at most one of these options: [members], [offsets], \
                     [state]"
                        .into(),
                )
                .into());
            }
            if set.value("state").is_some() {
                return Err(UsageError(
                    "Option [describe] does not take a value for [state]".into(),
                )
                .into());
            }
        }
        if set.has("delete") {
            if !selects_groups {
                return Err(UsageError(scope_message("delete")).into());
            }
            if set.has("topic") {
                return Err(UsageError(
                    "The consumer does not support topic-specific offset deletion from a \
                     consumer group."
                        .into(),
                )
                .into());
            }
        }
        if set.has("delete-offsets") && !(set.has("group") && set.has("topic")) {
            return Err(UsageError(
                "Option [delete-offsets] takes the following options: [group], [topic]".into(),
            )
            .into());
        }
        let mut warn_no_execute = false;
        if set.has("reset-offsets") {
            if set.has("dry-run") && set.has("execute") {
                return Err(UsageError(
                    "Option [reset-offsets] only accepts one of [execute] and [dry-run]".into(),
                )
                .into());
            }
            warn_no_execute = !set.has("dry-run") && !set.has("execute");
            if !selects_groups {
                return Err(UsageError(scope_message("reset-offsets")).into());
            }
            for scenario in SCENARIOS {
                let others: Vec<&str> = SCENARIOS
                    .iter()
                    .copied()
                    .filter(|s| *s != scenario)
                    .collect();
                set.forbid(scenario, &others)?;
            }
        }
        set.forbid("group", &["all-groups"])?;
        set.forbid("group", &["list"])?;
        set.forbid("topic", &["list", "describe"])?;
        for (option, allowed) in [
            ("members", &["describe"][..]),
            ("offsets", &["describe"][..]),
            ("verbose", &["describe"][..]),
            ("state", &["describe", "list"][..]),
            ("type", &["list"][..]),
        ] {
            if set.has(option) && !allowed.iter().any(|a| set.has(a)) {
                return Err(UsageError(format!(
                    "Option {option} is unavailable without {}",
                    allowed
                        .iter()
                        .map(|a| format!("[{a}]"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ))
                .into());
            }
        }

        let action = if set.has("list") {
            GroupAction::List {
                states: set.has("state").then(|| {
                    set.value("state")
                        .unwrap_or_default()
                        .split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                }),
            }
        } else if set.has("describe") {
            let view = if set.has("members") {
                DescribeView::Members
            } else if set.has("state") {
                DescribeView::State
            } else {
                DescribeView::Offsets
            };
            GroupAction::Describe {
                view,
                verbose: set.has("verbose"),
            }
        } else if set.has("delete") {
            GroupAction::Delete
        } else if set.has("delete-offsets") {
            GroupAction::DeleteOffsets
        } else {
            GroupAction::ResetOffsets {
                spec: reset_spec(set)?,
                execute: set.has("execute"),
                export: set.has("export"),
            }
        };
        let scope = if set.has("all-topics") {
            TopicScope::AllTopics
        } else if set.has("topic") {
            TopicScope::Topics(topic_scope(set.values("topic"))?)
        } else {
            TopicScope::Unspecified
        };
        if matches!(
            action,
            GroupAction::ResetOffsets {
                spec: ResetSpec::ToEarliest
                    | ResetSpec::ToLatest
                    | ResetSpec::ToCurrent
                    | ResetSpec::ToOffset(_)
                    | ResetSpec::ShiftBy(_)
                    | ResetSpec::ToDatetime(_)
                    | ResetSpec::ByDuration(_),
                ..
            }
        ) && scope == TopicScope::Unspecified
        {
            return Err(UsageError(
                "One of the reset scopes should be defined: --all-topics, --topic.".into(),
            )
            .into());
        }
        let command_config = match set.value("command-config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        Ok(GroupCommand {
            bootstrap_server,
            command_config,
            action,
            groups: set.values("group").to_vec(),
            all_groups: set.has("all-groups"),
            scope,
            timeout_ms: set
                .parsed::<i64>("timeout")?
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(5000),
            output: output_format(set)?,
            warn_no_execute,
        })
    }
}

fn reset_spec(set: &OptionSet) -> Result<ResetSpec, ToolError> {
    if set.has("to-earliest") {
        return Ok(ResetSpec::ToEarliest);
    }
    if set.has("to-latest") {
        return Ok(ResetSpec::ToLatest);
    }
    if set.has("to-current") {
        return Ok(ResetSpec::ToCurrent);
    }
    if let Some(offset) = set.parsed::<i64>("to-offset")? {
        return Ok(ResetSpec::ToOffset(offset));
    }
    if let Some(shift) = set.parsed::<i64>("shift-by")? {
        return Ok(ResetSpec::ShiftBy(shift));
    }
    if let Some(text) = set.value("to-datetime") {
        let ms = time::parse_datetime_ms(text).map_err(|e| UsageError(e.to_string()))?;
        return Ok(ResetSpec::ToDatetime(ms));
    }
    if let Some(text) = set.value("by-duration") {
        let ms = time::parse_duration_ms(text).map_err(|e| UsageError(e.to_string()))?;
        return Ok(ResetSpec::ByDuration(ms));
    }
    if let Some(path) = set.value("from-file") {
        return Ok(ResetSpec::FromFile(path.to_owned()));
    }
    Err(UsageError(format!(
        "Option '[reset-offsets]' requires one of the following scenarios: {}",
        scenario_list()
    ))
    .into())
}

/// `orders`, `orders:0,1,2` → topic → partitions.
fn topic_scope(values: &[String]) -> Result<BTreeMap<String, Option<Vec<i32>>>, ToolError> {
    let mut scope = BTreeMap::new();
    for value in values {
        match value.split_once(':') {
            None => {
                scope.insert(value.clone(), None);
            }
            Some((topic, partitions)) => {
                let partitions = partitions
                    .split(',')
                    .map(|p| {
                        p.trim().parse::<i32>().map_err(|_| {
                            ToolError::Failed(format!(
                                "Invalid partition '{p}' in --topic {value}: use topic:0,1,2"
                            ))
                        })
                    })
                    .collect::<Result<Vec<i32>, ToolError>>()?;
                scope.insert(topic.to_owned(), Some(partitions));
            }
        }
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<GroupCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        GroupCommand::try_from(&set)
    }

    fn message(words: &[&str]) -> String {
        command(words).expect_err("refused").to_string()
    }

    #[test]
    fn seed_lines() {
        let c = command(&["--bootstrap-server", "localhost:9092", "--list"]).expect("valid");
        assert_eq!(c.action, GroupAction::List { states: None });
        let c = command(&[
            "--bootstrap-server",
            "localhost:9092",
            "--group",
            "mon-groupe",
            "--describe",
        ])
        .expect("valid");
        assert_eq!(
            c.action,
            GroupAction::Describe {
                view: DescribeView::Offsets,
                verbose: false
            }
        );
        assert_eq!(c.groups, ["mon-groupe"]);
        let c = command(&[
            "--bootstrap-server",
            "localhost:9092",
            "--group",
            "mon-groupe",
            "--topic",
            "mon-topic",
            "--reset-offsets",
            "--to-earliest",
            "--execute",
        ])
        .expect("valid");
        assert_eq!(
            c.action,
            GroupAction::ResetOffsets {
                spec: ResetSpec::ToEarliest,
                execute: true,
                export: false
            }
        );
        assert!(!c.warn_no_execute);
        let TopicScope::Topics(topics) = &c.scope else {
            panic!("scope {:?}", c.scope)
        };
        assert_eq!(topics.get("mon-topic"), Some(&None));
    }

    #[test]
    fn reset_scenarios_and_scopes() {
        let base = [
            "--bootstrap-server",
            "h:1",
            "--group",
            "g",
            "--reset-offsets",
        ];
        let with = |extra: &[&str]| {
            let mut words = base.to_vec();
            words.extend_from_slice(extra);
            command(&words)
        };
        let c = with(&["--all-topics", "--shift-by", "-10"]).expect("valid");
        assert!(c.warn_no_execute);
        assert!(matches!(
            c.action,
            GroupAction::ResetOffsets {
                spec: ResetSpec::ShiftBy(-10),
                execute: false,
                ..
            }
        ));
        let c = with(&["--topic", "t:0,2", "--to-offset", "5", "--dry-run"]).expect("valid");
        let TopicScope::Topics(topics) = &c.scope else {
            panic!("scope")
        };
        assert_eq!(topics["t"], Some(vec![0, 2]));
        let c =
            with(&["--all-topics", "--to-datetime", "2024-01-02T03:04:05.006Z"]).expect("valid");
        assert!(matches!(
            c.action,
            GroupAction::ResetOffsets {
                spec: ResetSpec::ToDatetime(1_704_164_645_006),
                ..
            }
        ));
        let c = with(&["--all-topics", "--by-duration", "PT1H"]).expect("valid");
        assert!(matches!(
            c.action,
            GroupAction::ResetOffsets {
                spec: ResetSpec::ByDuration(3_600_000),
                ..
            }
        ));
        assert_eq!(
            with(&["--to-earliest"]).expect_err("no scope").to_string(),
            "One of the reset scopes should be defined: --all-topics, --topic."
        );
        assert!(with(&["--all-topics"])
            .expect_err("no scenario")
            .to_string()
            .starts_with("Option '[reset-offsets]' requires one of the following scenarios"));
        assert!(with(&["--all-topics", "--to-earliest", "--to-latest"])
            .expect_err("two")
            .to_string()
            .starts_with("Option \"[to-earliest]\" can't be used with option"));
        assert_eq!(
            with(&["--all-topics", "--to-earliest", "--execute", "--dry-run"])
                .expect_err("both")
                .to_string(),
            "Option [reset-offsets] only accepts one of [execute] and [dry-run]"
        );
    }

    #[test]
    fn kafka_messages() {
        assert_eq!(
            message(&["--bootstrap-server", "h:1"]),
            "Command must include exactly one action: --list, --describe, --delete, \
             --reset-offsets, --delete-offsets"
        );
        assert_eq!(
            message(&["--list"]),
            "Missing required argument \"[bootstrap-server]\""
        );
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--describe"]),
            "Option [describe] takes one of these options: [group], [all-groups]"
        );
        assert_eq!(
            message(&[
                "--bootstrap-server",
                "h:1",
                "--describe",
                "--group",
                "g",
                "--members",
                "--state"
            ]),
            "Option [describe] takes at most one of these options: [members], [offsets], [state]"
        );
        assert_eq!(
            message(&[
                "--bootstrap-server",
                "h:1",
                "--delete",
                "--group",
                "g",
                "--topic",
                "t"
            ]),
            "The consumer does not support topic-specific offset deletion from a consumer group."
        );
        assert!(message(&["--bootstrap-server", "h:1", "--list", "--members"]).contains("members"));
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--list",
            "--state",
            "Stable,Empty",
        ])
        .expect("valid");
        assert_eq!(
            c.action,
            GroupAction::List {
                states: Some(vec!["stable".into(), "empty".into()])
            }
        );
    }
}
