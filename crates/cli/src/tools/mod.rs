//! One module per tool, plus what they share: the `--bootstrap-server` check, the `--output`
//! option, and [`run`], which turns a parsed command line into the tool's typed command.

pub mod configs;
pub mod configs_run;
pub mod console_consumer;
pub mod console_producer;
pub mod console_run;
pub mod consumer_groups;
pub mod consumer_perf_run;
pub mod consumer_perf_test;
pub mod delete_records;
pub mod get_offsets;
pub mod group_tables;
pub mod groups_run;
pub mod offsets_run;
pub mod perf_run;
pub mod producer_perf_test;
pub mod topics;

use std::io::Write;
use std::str::FromStr;

use crate::options::{OptionSet, OptionSpec, UsageError};
use crate::tool::Tool;
use crate::ToolError;

/// The argument text Kafka shows for `--bootstrap-server`.
pub const BOOTSTRAP_ARG: &str = "String: server to connect to";

/// fjord's addition to every tool that prints a table.
pub const OUTPUT: OptionSpec = OptionSpec::with_arg(
    "output",
    "String: text|json",
    "Output format: 'text' (Kafka's layout, the default) or 'json' (one JSON document). \
     fjord only; Apache Kafka's tools do not have this option.",
);

/// How a tool prints its tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Kafka's own layout, byte for byte.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

impl FromStr for OutputFormat {
    type Err = UsageError;

    fn from_str(s: &str) -> Result<OutputFormat, UsageError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(OutputFormat::Text),
            "json" => Ok(OutputFormat::Json),
            other => Err(UsageError(format!(
                "Unknown output format '{other}': use --output text or --output json"
            ))),
        }
    }
}

/// The `--output` value, text when absent.
pub fn output_format(set: &OptionSet) -> Result<OutputFormat, UsageError> {
    set.value("output")
        .map_or(Ok(OutputFormat::Text), OutputFormat::from_str)
}

/// The `--bootstrap-server` value, with the message Kafka's admin tools give when it is
/// missing, and a check of each `host:port` (Kafka's `validateBootstrapServer`).
pub fn bootstrap_server(set: &OptionSet) -> Result<String, ToolError> {
    let Some(servers) = set.value("bootstrap-server") else {
        return Err(ToolError::Failed(
            "--bootstrap-server must be specified".into(),
        ));
    };
    check_bootstrap_server(servers)?;
    Ok(servers.to_owned())
}

/// Every comma-separated entry must be `host:port` with a port number.
pub fn check_bootstrap_server(servers: &str) -> Result<(), UsageError> {
    let bad = || {
        UsageError(format!(
            "Please provide valid host:port like host1:9091,host2:9092 (got '{servers}')"
        ))
    };
    if servers.trim().is_empty() {
        return Err(bad());
    }
    for entry in servers.split(',').map(str::trim) {
        let (host, port) = entry.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad());
        }
    }
    Ok(())
}

/// Checks the command line of `tool` and builds its typed command; the typed command then
/// needs a client to run.
pub fn run(
    tool: Tool,
    set: &OptionSet,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ToolError> {
    match tool {
        Tool::Topics => {
            let command = topics::TopicCommand::try_from(set)?;
            if set.has("delete-config") {
                let _ = writeln!(
                    err,
                    "delete-config option is no longer supported and deprecated since version \
                     4.0. The config will be fully removed in future releases."
                );
            }
            topics::run::run(&command, out)
        }
        Tool::ConsoleProducer => {
            let command = console_producer::ProducerCommand::try_from(set)?;
            console_run::produce(&command, err)
        }
        Tool::ConsoleConsumer => {
            let command = console_consumer::ConsumerCommand::try_from(set)?;
            console_run::consume(&command, out, err)
        }
        Tool::ConsumerGroups => {
            let command = consumer_groups::GroupCommand::try_from(set)?;
            if command.warn_no_execute {
                let _ = writeln!(err, "{}", consumer_groups::NO_EXECUTE_WARNING);
            }
            groups_run::run(&command, out, err)
        }
        Tool::Configs => {
            let command = configs::ConfigCommand::try_from(set)?;
            configs_run::run(&command, out)
        }
        Tool::ProducerPerfTest => {
            let command = producer_perf_test::PerfCommand::try_from(set)?;
            perf_run::run(&command, out)
        }
        Tool::ConsumerPerfTest => {
            let command = consumer_perf_test::PerfCommand::try_from(set)?;
            consumer_perf_run::run(&command, out)
        }
        Tool::DeleteRecords => {
            let command = delete_records::DeleteRecordsCommand::try_from(set)?;
            offsets_run::delete_records(&command, out)
        }
        Tool::GetOffsets => {
            let command = get_offsets::GetOffsetsCommand::try_from(set)?;
            offsets_run::get_offsets(&command, out, err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_servers_are_host_port_lists() {
        assert!(check_bootstrap_server("localhost:9092").is_ok());
        assert!(check_bootstrap_server("a:1, b:2").is_ok());
        assert!(check_bootstrap_server("[::1]:9092").is_ok());
        assert!(check_bootstrap_server("localhost").is_err());
        assert!(check_bootstrap_server("localhost:x").is_err());
        assert!(check_bootstrap_server(":9092").is_err());
        assert!(check_bootstrap_server("").is_err());
    }

    #[test]
    fn output_formats() {
        assert_eq!("json".parse(), Ok(OutputFormat::Json));
        assert_eq!("TEXT".parse(), Ok(OutputFormat::Text));
        assert!("yaml".parse::<OutputFormat>().is_err());
    }
}
