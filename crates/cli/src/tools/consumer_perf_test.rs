//! `kafka-consumer-perf-test`: consumes `--messages` records and reports throughput in
//! Kafka's CSV-like layout:
//!
//! ```text
//! start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
//! 2024-01-02 03:04:05:006, 2024-01-02 03:04:06:006, 95.3674, 95.3674, 1000000, 1000000.0000, 3, 997, 95.6544, 1003009.0271
//! ```
//!
//! Times are printed in UTC with Kafka's default pattern `yyyy-MM-dd HH:mm:ss:SSS`.

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::time;
use crate::tool::Tool;
use crate::tools::{check_bootstrap_server, BOOTSTRAP_ARG};
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "REQUIRED: The server(s) to connect to.",
    ),
    OptionSpec::with_arg(
        "topic",
        "String: topic",
        "REQUIRED: The topic to consume from.",
    ),
    OptionSpec::with_arg(
        "group",
        "String: gid",
        "The group id to consume on (default: perf-consumer-NNNNN).",
    ),
    OptionSpec::with_arg(
        "fetch-size",
        "Integer: size",
        "The amount of data to fetch in a single request (default: 1048576).",
    ),
    OptionSpec::flag(
        "from-latest",
        "If the consumer does not already have an established offset to consume from, start \
         with the latest message present in the log rather than the earliest message.",
    ),
    OptionSpec::with_arg(
        "socket-buffer-size",
        "Integer: size",
        "The size of the tcp RECV size (default: 2097152).",
    ),
    OptionSpec::with_arg(
        "consumer.config",
        "String: config file",
        "Consumer config properties file.",
    ),
    OptionSpec::flag("print-metrics", "Print out the metrics."),
    OptionSpec::flag(
        "show-detailed-stats",
        "If set, stats are reported for each reporting interval as configured by \
         reporting-interval",
    ),
    OptionSpec::with_arg(
        "timeout",
        "Long: milliseconds",
        "The maximum allowed time in milliseconds between returned records (default: 10000).",
    ),
    OptionSpec::with_arg(
        "messages",
        "Long: count",
        "REQUIRED: The number of messages to send or consume",
    ),
    OptionSpec::with_arg(
        "reporting-interval",
        "Long: interval_ms",
        "Interval in milliseconds at which to print progress info (default: 5000).",
    ),
    OptionSpec::with_arg(
        "date-format",
        "String: date format",
        "Only Kafka's default, yyyy-MM-dd HH:mm:ss:SSS, is available.",
    ),
    OptionSpec::flag(
        "hide-header",
        "If set, skips printing the header for the stats",
    ),
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::ConsumerPerfTest,
    about: "This tool is used to verify the consumer performance.",
    examples: "\
  kafka-consumer-perf-test --bootstrap-server localhost:9092 --topic perf --messages 1000000
  kafka-consumer-perf-test --bootstrap-server localhost:9092 --topic perf --messages 100000 --show-detailed-stats --reporting-interval 1000
",
    parser: OptionParser { specs: OPTIONS },
};

/// A checked `kafka-consumer-perf-test` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfCommand {
    pub bootstrap_server: String,
    pub topic: String,
    pub group_id: String,
    pub messages: u64,
    pub from_latest: bool,
    pub timeout_ms: u64,
    pub reporting_interval_ms: u64,
    pub show_detailed_stats: bool,
    pub hide_header: bool,
    pub consumer_props: Properties,
}

impl TryFrom<&OptionSet> for PerfCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<PerfCommand, ToolError> {
        set.require("topic")?;
        set.require("messages")?;
        set.require("bootstrap-server")?;
        let bootstrap_server = set.value("bootstrap-server").unwrap_or_default().to_owned();
        check_bootstrap_server(&bootstrap_server)?;
        if set
            .value("date-format")
            .is_some_and(|f| f != "yyyy-MM-dd HH:mm:ss:SSS")
        {
            return Err(UsageError(
                "Only the default --date-format (yyyy-MM-dd HH:mm:ss:SSS) is available in fjord"
                    .into(),
            )
            .into());
        }
        let non_negative = |name: &str, default: u64| -> Result<u64, ToolError> {
            Ok(set
                .parsed::<i64>(name)?
                .map_or(default, |v| u64::try_from(v).unwrap_or(0)))
        };
        let mut consumer_props = match set.value("consumer.config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        let group_id = set.value("group").map_or_else(
            || format!("perf-consumer-{}", std::process::id() % 100_000),
            str::to_owned,
        );
        consumer_props.insert("bootstrap.servers".into(), bootstrap_server.clone());
        consumer_props.insert("group.id".into(), group_id.clone());
        consumer_props.insert(
            "auto.offset.reset".into(),
            if set.has("from-latest") {
                "latest"
            } else {
                "earliest"
            }
            .into(),
        );
        consumer_props.insert(
            "max.partition.fetch.bytes".into(),
            non_negative("fetch-size", 1024 * 1024)?.to_string(),
        );
        consumer_props.insert(
            "receive.buffer.bytes".into(),
            non_negative("socket-buffer-size", 2 * 1024 * 1024)?.to_string(),
        );
        consumer_props.insert("check.crcs".into(), "false".into());
        consumer_props
            .entry("client.id".into())
            .or_insert_with(|| "perf-consumer-client".into());
        Ok(PerfCommand {
            bootstrap_server,
            topic: set.value("topic").unwrap_or_default().to_owned(),
            group_id,
            messages: non_negative("messages", 0)?,
            from_latest: set.has("from-latest"),
            timeout_ms: non_negative("timeout", 10_000)?,
            reporting_interval_ms: non_negative("reporting-interval", 5000)?.max(1),
            show_detailed_stats: set.has("show-detailed-stats"),
            hide_header: set.has("hide-header"),
            consumer_props,
        })
    }
}

/// The header line of the summary.
pub const SUMMARY_HEADER: &str = "start.time, end.time, data.consumed.in.MB, MB.sec, \
     data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, \
     fetch.nMsg.sec";

/// The header line of `--show-detailed-stats` (Kafka numbers its one consumer thread 0).
pub const DETAILED_HEADER: &str = "time, threadId, data.consumed.in.MB, MB.sec, \
     data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, \
     fetch.nMsg.sec";

/// Kafka's line for one `--reporting-interval` window of `window_ms` ending at `now_ms`, in
/// which `bytes` and `messages` arrived. As in Kafka, the fetch columns take `rebalance_ms`,
/// the join time spent in this window, out of the window.
pub fn detailed_line(
    now_ms: i64,
    window_ms: i64,
    bytes: u64,
    messages: u64,
    rebalance_ms: i64,
) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    let window_s = window_ms.max(1) as f64 / 1000.0;
    let fetch_ms = (window_ms - rebalance_ms).max(0);
    let fetch_s = fetch_ms.max(1) as f64 / 1000.0;
    format!(
        "{}, 0, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
        time::format_datetime_ms(now_ms),
        mb,
        mb / window_s,
        messages,
        messages as f64 / window_s,
        rebalance_ms,
        fetch_ms,
        mb / fetch_s,
        messages as f64 / fetch_s,
    )
}

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumeTotals {
    pub start_ms: i64,
    pub end_ms: i64,
    pub bytes: u64,
    pub messages: u64,
    /// Time spent joining the group before the first fetch.
    pub rebalance_ms: i64,
}

/// Kafka's summary line for a run.
pub fn summary_line(t: &ConsumeTotals) -> String {
    let mb = t.bytes as f64 / (1024.0 * 1024.0);
    let elapsed_s = (t.end_ms - t.start_ms).max(1) as f64 / 1000.0;
    let fetch_ms = (t.end_ms - t.start_ms - t.rebalance_ms).max(0);
    let fetch_s = fetch_ms.max(1) as f64 / 1000.0;
    format!(
        "{}, {}, {:.4}, {:.4}, {}, {:.4}, {}, {}, {:.4}, {:.4}",
        time::format_datetime_ms(t.start_ms),
        time::format_datetime_ms(t.end_ms),
        mb,
        mb / elapsed_s,
        t.messages,
        t.messages as f64 / elapsed_s,
        t.rebalance_ms,
        fetch_ms,
        mb / fetch_s,
        t.messages as f64 / fetch_s,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let set = SPEC
            .parser
            .parse(&[
                "--bootstrap-server",
                "h:1",
                "--topic",
                "perf",
                "--messages",
                "10",
            ])
            .expect("parse");
        let c = PerfCommand::try_from(&set).expect("valid");
        assert_eq!((c.messages, c.timeout_ms), (10, 10_000));
        assert!(c.group_id.starts_with("perf-consumer-"));
        assert_eq!(c.consumer_props["auto.offset.reset"], "earliest");
        let set = SPEC
            .parser
            .parse(&["--bootstrap-server", "h:1", "--topic", "perf"])
            .expect("parse");
        assert_eq!(
            PerfCommand::try_from(&set)
                .expect_err("refused")
                .to_string(),
            "Missing required argument \"[messages]\""
        );
    }

    #[test]
    fn kafka_summary_line() {
        let t = ConsumeTotals {
            start_ms: 1_704_164_645_006,
            end_ms: 1_704_164_646_006,
            bytes: 100 * 1024 * 1024,
            messages: 1000,
            rebalance_ms: 200,
        };
        assert_eq!(
            summary_line(&t),
            "2024-01-02 03:04:05:006, 2024-01-02 03:04:06:006, 100.0000, 100.0000, 1000, 1000.0000, 200, 800, 125.0000, 1250.0000"
        );
        assert_eq!(SUMMARY_HEADER.split(", ").count(), 10);
    }

    #[test]
    fn kafka_detailed_line() {
        assert_eq!(
            detailed_line(1_704_164_645_006, 1000, 1024 * 1024, 500, 250),
            "2024-01-02 03:04:05:006, 0, 1.0000, 1.0000, 500, 500.0000, 250, 750, 1.3333, 666.6667"
        );
        assert_eq!(DETAILED_HEADER.split(", ").count(), 10);
    }
}
