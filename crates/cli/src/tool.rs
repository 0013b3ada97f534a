//! The list of tools: each fjord subcommand, the Apache Kafka script it stands in for, and a
//! one-line summary. The binary's `argv[0]` dispatch and `fjord install-aliases` both read
//! [`Tool::ALL`], so a tool added here is reachable under its Kafka name everywhere at once.

use std::fmt;
use std::str::FromStr;

/// One of the `kafka-*` tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    Topics,
    ConsoleProducer,
    ConsoleConsumer,
    ConsumerGroups,
    Configs,
    ProducerPerfTest,
    ConsumerPerfTest,
    DeleteRecords,
    GetOffsets,
}

impl Tool {
    /// Every tool, in the order `fjord --help` lists them.
    pub const ALL: [Tool; 9] = [
        Tool::Topics,
        Tool::ConsoleProducer,
        Tool::ConsoleConsumer,
        Tool::ConsumerGroups,
        Tool::Configs,
        Tool::ProducerPerfTest,
        Tool::ConsumerPerfTest,
        Tool::DeleteRecords,
        Tool::GetOffsets,
    ];

    /// The fjord subcommand: `fjord topics ...`.
    pub fn subcommand(self) -> &'static str {
        match self {
            Tool::Topics => "topics",
            Tool::ConsoleProducer => "console-producer",
            Tool::ConsoleConsumer => "console-consumer",
            Tool::ConsumerGroups => "consumer-groups",
            Tool::Configs => "configs",
            Tool::ProducerPerfTest => "producer-perf-test",
            Tool::ConsumerPerfTest => "consumer-perf-test",
            Tool::DeleteRecords => "delete-records",
            Tool::GetOffsets => "get-offsets",
        }
    }

    /// Apache Kafka's script name without `.sh` (Confluent's packages drop the suffix).
    pub fn kafka_script(self) -> &'static str {
        match self {
            Tool::Topics => "kafka-topics",
            Tool::ConsoleProducer => "kafka-console-producer",
            Tool::ConsoleConsumer => "kafka-console-consumer",
            Tool::ConsumerGroups => "kafka-consumer-groups",
            Tool::Configs => "kafka-configs",
            Tool::ProducerPerfTest => "kafka-producer-perf-test",
            Tool::ConsumerPerfTest => "kafka-consumer-perf-test",
            Tool::DeleteRecords => "kafka-delete-records",
            Tool::GetOffsets => "kafka-get-offsets",
        }
    }

    /// What the tool does, for `fjord --help`.
    pub fn about(self) -> &'static str {
        match self {
            Tool::Topics => "Create, delete, describe, or change a topic (kafka-topics)",
            Tool::ConsoleProducer => {
                "Read lines from stdin and produce them (kafka-console-producer)"
            }
            Tool::ConsoleConsumer => "Consume records and print them (kafka-console-consumer)",
            Tool::ConsumerGroups => {
                "List, describe, delete consumer groups, reset offsets (kafka-consumer-groups)"
            }
            Tool::Configs => "Describe and alter topic and broker configs (kafka-configs)",
            Tool::ProducerPerfTest => {
                "Measure produce throughput and latency (kafka-producer-perf-test)"
            }
            Tool::ConsumerPerfTest => "Measure consume throughput (kafka-consumer-perf-test)",
            Tool::DeleteRecords => "Delete records below an offset (kafka-delete-records)",
            Tool::GetOffsets => "Print partition offsets (kafka-get-offsets)",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.subcommand())
    }
}

/// The name is neither a fjord subcommand nor a Kafka script name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a kafka-* tool")]
pub struct UnknownTool(pub String);

impl FromStr for Tool {
    type Err = UnknownTool;

    /// Accepts `topics`, `kafka-topics` and `kafka-topics.sh`.
    fn from_str(name: &str) -> Result<Tool, UnknownTool> {
        let bare = name.strip_suffix(".sh").unwrap_or(name);
        Tool::ALL
            .into_iter()
            .find(|t| t.subcommand() == bare || t.kafka_script() == bare)
            .ok_or_else(|| UnknownTool(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_to_its_tool() {
        for tool in Tool::ALL {
            assert_eq!(tool.subcommand().parse(), Ok(tool));
            assert_eq!(tool.kafka_script().parse(), Ok(tool));
            assert_eq!(format!("{}.sh", tool.kafka_script()).parse(), Ok(tool));
            assert_eq!(tool.kafka_script(), format!("kafka-{tool}"));
        }
        assert!("kafka-server-start".parse::<Tool>().is_err());
        assert!("topics.sh.sh".parse::<Tool>().is_err());
    }
}
