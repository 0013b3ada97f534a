//! `kafka-get-offsets`: prints `topic:partition:offset` for each selected partition at the
//! requested time (`--time latest` by default), as Kafka's `GetOffsetShell` does.
//!
//! Partitions are selected by `--topic` (a regular expression) and `--partitions 0,1`, or by
//! `--topic-partitions` patterns: `topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3` (a range
//! `a-b` is lower-inclusive, upper-exclusive; the topic part is a regular expression and may
//! be left out to mean every topic).

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::check_bootstrap_server;
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "bootstrap-server",
        "String: HOST1:PORT1,...,HOST3:PORT3",
        "REQUIRED. The server(s) to connect to in the form HOST1:PORT1,HOST2:PORT2.",
    ),
    OptionSpec::with_arg(
        "topic-partitions",
        "String: topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3",
        "Comma separated list of topic-partition patterns to get the offsets for. The topic \
         part is an optional regular expression; the partition part is a number, a range \
         'NUMBER-NUMBER' (upper bound exclusive), 'NUMBER-' or '-NUMBER'. Cannot be used with \
         --topic or --partitions.",
    ),
    OptionSpec::with_arg(
        "topic",
        "String: topic",
        "The topic to get the offsets for. It also accepts a regular expression. If not \
         present, all authorized topics are queried. Cannot be used if --topic-partitions is \
         present.",
    ),
    OptionSpec::with_arg(
        "partitions",
        "String: partition ids",
        "Comma separated list of partition ids to get the offsets for. If not present, all \
         partitions of the authorized topics are queried. Cannot be used if \
         --topic-partitions is present.",
    ),
    OptionSpec::with_arg(
        "time",
        "String: <timestamp> / -1 or latest / -2 or earliest / -3 or max-timestamp",
        "timestamp of the offsets before that. [Note: No offset is returned, if the timestamp \
         greater than recently committed record timestamp is given.] (default: latest)",
    ),
    OptionSpec::with_arg(
        "command-config",
        "String: config file",
        "Property file containing configs to be passed to Admin Client.",
    ),
    OptionSpec::flag(
        "exclude-internal-topics",
        "By default, internal topics are included. If specified, internal topics are excluded.",
    ),
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::GetOffsets,
    about: "An interactive shell for getting topic-partition offsets.",
    examples: "\
  kafka-get-offsets --bootstrap-server localhost:9092 --topic orders
  kafka-get-offsets --bootstrap-server localhost:9092 --topic orders --time earliest
  kafka-get-offsets --bootstrap-server localhost:9092 --topic-partitions 'orders:0-2,audit'
",
    parser: OptionParser { specs: OPTIONS },
};

/// The point in each partition to ask for (ListOffsets' special timestamps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetTime {
    Latest,
    Earliest,
    MaxTimestamp,
    EarliestLocal,
    LatestTiered,
    /// The first offset whose timestamp is at or after this (ms).
    Timestamp(i64),
}

impl OffsetTime {
    /// The ListOffsets timestamp for this choice.
    pub fn list_offsets_timestamp(self) -> i64 {
        match self {
            OffsetTime::Latest => -1,
            OffsetTime::Earliest => -2,
            OffsetTime::MaxTimestamp => -3,
            OffsetTime::EarliestLocal => -4,
            OffsetTime::LatestTiered => -5,
            OffsetTime::Timestamp(ms) => ms,
        }
    }
}

impl std::str::FromStr for OffsetTime {
    type Err = UsageError;

    fn from_str(s: &str) -> Result<OffsetTime, UsageError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "latest" | "-1" => OffsetTime::Latest,
            "earliest" | "-2" => OffsetTime::Earliest,
            "max-timestamp" | "-3" => OffsetTime::MaxTimestamp,
            "earliest-local" | "-4" => OffsetTime::EarliestLocal,
            "latest-tiered" | "-5" => OffsetTime::LatestTiered,
            other => match other.parse::<i64>() {
                Ok(ms) if ms >= 0 => OffsetTime::Timestamp(ms),
                _ => {
                    return Err(UsageError(format!(
                        "Malformed time argument {s}. Please use -1 or latest / -2 or earliest / \
                         -3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered, or a \
                         specified long format timestamp"
                    )))
                }
            },
        })
    }
}

/// Which partition numbers one pattern accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionRange {
    All,
    One(i32),
    /// `lower..upper` (upper exclusive); either side open.
    Range(Option<i32>, Option<i32>),
}

impl PartitionRange {
    pub fn contains(self, partition: i32) -> bool {
        match self {
            PartitionRange::All => true,
            PartitionRange::One(p) => p == partition,
            PartitionRange::Range(lower, upper) => {
                lower.is_none_or(|l| partition >= l) && upper.is_none_or(|u| partition < u)
            }
        }
    }
}

/// One `--topic-partitions` entry (or the `--topic`/`--partitions` pair): a topic regular
/// expression (`None`: every topic) and a partition range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionFilter {
    pub topic_pattern: Option<String>,
    pub partitions: PartitionRange,
}

impl TopicPartitionFilter {
    /// Whether the partition is selected (the pattern must match the whole name).
    pub fn matches(&self, topic: &str, partition: i32) -> Result<bool, ToolError> {
        let topic_ok = match &self.topic_pattern {
            None => true,
            Some(p) => regex::Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| ToolError::Failed(format!("Invalid topic pattern {p}: {e}")))?
                .is_match(topic),
        };
        Ok(topic_ok && self.partitions.contains(partition))
    }
}

fn partition_number(text: &str, whole: &str) -> Result<i32, UsageError> {
    text.trim()
        .parse::<i32>()
        .map_err(|_| UsageError(format!("Invalid topic-partition pattern: {whole}")))
}

/// One `--topic-partitions` entry.
fn topic_partition_pattern(entry: &str) -> Result<TopicPartitionFilter, UsageError> {
    let (topic, partitions) = match entry.rsplit_once(':') {
        Some((t, p)) => (t, Some(p)),
        None => (entry, None),
    };
    let partitions = match partitions.map(str::trim) {
        None | Some("") => PartitionRange::All,
        Some(p) => match p.split_once('-') {
            None => PartitionRange::One(partition_number(p, entry)?),
            Some((lower, upper)) => PartitionRange::Range(
                (!lower.is_empty())
                    .then(|| partition_number(lower, entry))
                    .transpose()?,
                (!upper.is_empty())
                    .then(|| partition_number(upper, entry))
                    .transpose()?,
            ),
        },
    };
    Ok(TopicPartitionFilter {
        topic_pattern: (!topic.is_empty()).then(|| topic.to_owned()),
        partitions,
    })
}

/// A checked `kafka-get-offsets` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOffsetsCommand {
    pub bootstrap_server: String,
    pub command_config: Properties,
    /// A partition is queried when any filter selects it.
    pub filters: Vec<TopicPartitionFilter>,
    pub time: OffsetTime,
    pub exclude_internal_topics: bool,
}

impl TryFrom<&OptionSet> for GetOffsetsCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<GetOffsetsCommand, ToolError> {
        set.require("bootstrap-server")?;
        let bootstrap_server = set.value("bootstrap-server").unwrap_or_default().to_owned();
        check_bootstrap_server(&bootstrap_server)?;
        let filters = if let Some(patterns) = set.value("topic-partitions") {
            if set.has("topic") || set.has("partitions") {
                return Err(UsageError(
                    "--topic-partitions cannot be used with --topic or --partitions".into(),
                )
                .into());
            }
            patterns
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| topic_partition_pattern(p.trim()))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let topic_pattern = set.value("topic").map(str::to_owned);
            match set.value("partitions") {
                None => vec![TopicPartitionFilter {
                    topic_pattern,
                    partitions: PartitionRange::All,
                }],
                Some(list) => list
                    .split(',')
                    .map(|p| {
                        Ok(TopicPartitionFilter {
                            topic_pattern: topic_pattern.clone(),
                            partitions: PartitionRange::One(partition_number(p, list)?),
                        })
                    })
                    .collect::<Result<Vec<_>, UsageError>>()?,
            }
        };
        let time = set
            .value("time")
            .map_or(Ok(OffsetTime::Latest), str::parse)?;
        let command_config = match set.value("command-config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        Ok(GetOffsetsCommand {
            bootstrap_server,
            command_config,
            filters,
            time,
            exclude_internal_topics: set.has("exclude-internal-topics"),
        })
    }
}

/// Kafka's output line for one partition.
pub fn offset_line(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}:{partition}:{offset}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<GetOffsetsCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        GetOffsetsCommand::try_from(&set)
    }

    #[test]
    fn times() {
        assert_eq!("earliest".parse(), Ok(OffsetTime::Earliest));
        assert_eq!("-1".parse(), Ok(OffsetTime::Latest));
        assert_eq!(
            "1700000000000".parse(),
            Ok(OffsetTime::Timestamp(1_700_000_000_000))
        );
        assert!("-7".parse::<OffsetTime>().is_err());
        assert_eq!(OffsetTime::MaxTimestamp.list_offsets_timestamp(), -3);
    }

    #[test]
    fn topic_partition_patterns() {
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--topic-partitions",
            "a:1,b:0-3,c,d:5-,:-3",
        ])
        .expect("valid");
        let f = &c.filters;
        assert_eq!(f.len(), 5);
        assert!(f[0].matches("a", 1).expect("ok") && !f[0].matches("a", 2).expect("ok"));
        assert!(f[1].matches("b", 2).expect("ok") && !f[1].matches("b", 3).expect("ok"));
        assert!(f[2].matches("c", 99).expect("ok") && !f[2].matches("cc", 0).expect("ok"));
        assert!(f[3].matches("d", 5).expect("ok") && !f[3].matches("d", 4).expect("ok"));
        assert!(f[4].matches("anything", 2).expect("ok") && !f[4].matches("x", 3).expect("ok"));
        assert!(command(&["--bootstrap-server", "h:1", "--topic-partitions", "a:x"]).is_err());
        assert!(command(&[
            "--bootstrap-server",
            "h:1",
            "--topic-partitions",
            "a",
            "--topic",
            "a"
        ])
        .is_err());
    }

    #[test]
    fn topic_and_partitions() {
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "or.*",
            "--partitions",
            "0,2",
            "--time",
            "-2",
        ])
        .expect("valid");
        assert_eq!(c.time, OffsetTime::Earliest);
        assert!(c
            .filters
            .iter()
            .any(|f| f.matches("orders", 2).expect("ok")));
        assert!(!c
            .filters
            .iter()
            .any(|f| f.matches("orders", 1).expect("ok")));
        assert_eq!(offset_line("orders", 2, 17), "orders:2:17");
        assert_eq!(
            command(&["--topic", "t"]).expect_err("refused").to_string(),
            "Missing required argument \"[bootstrap-server]\""
        );
    }
}
