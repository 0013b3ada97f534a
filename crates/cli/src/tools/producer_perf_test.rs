//! `kafka-producer-perf-test`: produces `--num-records` records of `--record-size` bytes
//! (or payloads from `--payload-file`) at up to `--throughput` records/s and reports
//! throughput and latency in Kafka's words.
//!
//! Options follow Kafka's `ProducerPerformance` (an argparse tool: `--producer-props` takes
//! several `key=value` words). [`PerfStats`] accumulates latencies and prints Kafka's lines:
//! every reporting window `N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms
//! max latency.` and at the end the same with `p50`, `p95`, `p99`, `p99.9` in ms.

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::check_bootstrap_server;
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg("topic", "TOPIC", "produce messages to this topic"),
    OptionSpec::with_arg(
        "num-records",
        "NUM-RECORDS",
        "number of messages to produce",
    ),
    OptionSpec::with_arg(
        "record-size",
        "RECORD-SIZE",
        "message size in bytes. Note that you must provide exactly one of --record-size or \
         --payload-file or --payload-monotonic.",
    ),
    OptionSpec::with_arg(
        "payload-file",
        "PAYLOAD-FILE",
        "file to read the message payloads from, split at --payload-delimiter; payloads are \
         picked at random.",
    ),
    OptionSpec::flag(
        "payload-monotonic",
        "payload is the record number as text, counting up from 0.",
    ),
    OptionSpec::with_arg(
        "payload-delimiter",
        "PAYLOAD-DELIMITER",
        "delimiter between payloads in --payload-file (default: \\n).",
    ),
    OptionSpec::with_arg(
        "throughput",
        "THROUGHPUT",
        "throttle maximum message throughput to *approximately* THROUGHPUT messages/sec. Set \
         this to -1 to disable throttling.",
    ),
    OptionSpec::many_args(
        "producer-props",
        "PROP-NAME=PROP-VALUE",
        "kafka producer related configuration properties like bootstrap.servers,client.id etc. \
         These configs take precedence over those passed via --producer.config.",
    ),
    OptionSpec::with_arg(
        "producer.config",
        "CONFIG-FILE",
        "producer config properties file.",
    ),
    OptionSpec::with_arg(
        "bootstrap-server",
        "BOOTSTRAP-SERVERS",
        "The server(s) to connect to; overrides bootstrap.servers from --producer-props.",
    ),
    OptionSpec::flag("print-metrics", "print out metrics at the end of the test."),
    OptionSpec::with_arg(
        "transactional-id",
        "TRANSACTIONAL-ID",
        "The transactional id to use (transactions are not supported by fjord's client yet).",
    ),
    OptionSpec::with_arg(
        "transaction-duration-ms",
        "TRANSACTION-DURATION",
        "The maximum age of each transaction (transactions are not supported by fjord's \
         client yet).",
    ),
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::ProducerPerfTest,
    about: "This tool is used to verify the producer performance.",
    examples: "\
  kafka-producer-perf-test --topic perf --num-records 1000000 --record-size 100 --throughput -1 --producer-props bootstrap.servers=localhost:9092
  kafka-producer-perf-test --topic perf --num-records 100000 --record-size 1024 --throughput 10000 --producer-props bootstrap.servers=localhost:9092 acks=1 linger.ms=5 compression.type=lz4
",
    parser: OptionParser { specs: OPTIONS },
};

/// Where the record payloads come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Random printable bytes of this size.
    Size(usize),
    /// Payloads read from a file, split at a delimiter.
    File { path: String, delimiter: String },
    /// The record number as text.
    Monotonic,
}

/// A checked `kafka-producer-perf-test` command line.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfCommand {
    pub topic: String,
    pub num_records: u64,
    pub payload: Payload,
    /// Records per second; `None` for no limit (`--throughput -1`).
    pub throughput: Option<f64>,
    pub producer_props: Properties,
    pub print_metrics: bool,
}

impl TryFrom<&OptionSet> for PerfCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<PerfCommand, ToolError> {
        for required in ["topic", "num-records", "throughput"] {
            if !set.has(required) {
                return Err(UsageError(format!("argument --{required} is required")).into());
            }
        }
        let payload_options = ["record-size", "payload-file", "payload-monotonic"];
        if payload_options.iter().filter(|o| set.has(o)).count() != 1 {
            return Err(UsageError(
                "one of the arguments --record-size --payload-file --payload-monotonic is \
                 required"
                    .into(),
            )
            .into());
        }
        let num_records = set.parsed::<i64>("num-records")?.unwrap_or_default();
        if num_records <= 0 {
            return Err(UsageError("--num-records should be greater than zero".into()).into());
        }
        let payload = if let Some(size) = set.parsed::<i64>("record-size")? {
            if size <= 0 {
                return Err(UsageError("--record-size should be greater than zero".into()).into());
            }
            Payload::Size(
                usize::try_from(size).map_err(|_| {
                    UsageError("--record-size is too large for this machine".into())
                })?,
            )
        } else if let Some(path) = set.value("payload-file") {
            let delimiter = match set.value("payload-delimiter") {
                None | Some("\\n") => "\n".to_owned(),
                Some(d) => d.to_owned(),
            };
            Payload::File {
                path: path.to_owned(),
                delimiter,
            }
        } else {
            Payload::Monotonic
        };
        let throughput = set.parsed::<f64>("throughput")?.unwrap_or(-1.0);
        if !set.has("producer-props") && !set.has("producer.config") && !set.has("bootstrap-server")
        {
            return Err(UsageError(
                "Either --producer-props or --producer.config must be specified.".into(),
            )
            .into());
        }
        if set.has("transactional-id") || set.has("transaction-duration-ms") {
            return Err(ToolError::Failed(
                "Transactions are not supported by fjord's producer yet; drop \
                 --transactional-id / --transaction-duration-ms"
                    .into(),
            ));
        }
        let mut producer_props = match set.value("producer.config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        producer_props.extend(props::from_key_values(set.values("producer-props")));
        if let Some(servers) = set.value("bootstrap-server") {
            producer_props.insert("bootstrap.servers".into(), servers.to_owned());
        }
        match producer_props.get("bootstrap.servers") {
            Some(servers) => check_bootstrap_server(servers)?,
            None => {
                return Err(UsageError(
                    "No bootstrap.servers given: add --producer-props bootstrap.servers=HOST:PORT \
                     or --bootstrap-server HOST:PORT"
                        .into(),
                )
                .into())
            }
        }
        Ok(PerfCommand {
            topic: set.value("topic").unwrap_or_default().to_owned(),
            num_records: num_records.unsigned_abs(),
            payload,
            throughput: (throughput > 0.0).then_some(throughput),
            producer_props,
            print_metrics: set.has("print-metrics"),
        })
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// Latency and volume bookkeeping, as Kafka's `Stats`: every latency counts toward the
/// average and maximum; a sample of them (every `sampling`-th record, so at most about
/// 500 000 are kept) gives the percentiles.
#[derive(Debug, Clone)]
pub struct PerfStats {
    sampling: u64,
    samples: Vec<u32>,
    count: u64,
    bytes: u64,
    total_latency_ms: u64,
    max_latency_ms: u32,
    window_count: u64,
    window_bytes: u64,
    window_total_latency_ms: u64,
    window_max_latency_ms: u32,
}

impl PerfStats {
    /// Bookkeeping for a run of `num_records` records.
    pub fn new(num_records: u64) -> PerfStats {
        let sampling = (num_records / 500_000).max(1);
        PerfStats {
            sampling,
            samples: Vec::with_capacity(
                usize::try_from(num_records / sampling)
                    .unwrap_or(0)
                    .min(500_001),
            ),
            count: 0,
            bytes: 0,
            total_latency_ms: 0,
            max_latency_ms: 0,
            window_count: 0,
            window_bytes: 0,
            window_total_latency_ms: 0,
            window_max_latency_ms: 0,
        }
    }

    /// One acknowledged record: its number (from 0), its latency and its size.
    pub fn record(&mut self, record_number: u64, latency_ms: u32, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
        self.total_latency_ms += u64::from(latency_ms);
        self.max_latency_ms = self.max_latency_ms.max(latency_ms);
        self.window_count += 1;
        self.window_bytes += bytes;
        self.window_total_latency_ms += u64::from(latency_ms);
        self.window_max_latency_ms = self.window_max_latency_ms.max(latency_ms);
        if record_number.is_multiple_of(self.sampling) {
            self.samples.push(latency_ms);
        }
    }

    /// Kafka's progress line for the window that just ended, then starts a new window.
    pub fn window_line(&mut self, window_ms: u64) -> String {
        let seconds = window_ms.max(1) as f64 / 1000.0;
        let line = format!(
            "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
            self.window_count,
            self.window_count as f64 / seconds,
            self.window_bytes as f64 / MIB / seconds,
            self.window_total_latency_ms as f64 / self.window_count.max(1) as f64,
            f64::from(self.window_max_latency_ms),
        );
        self.window_count = 0;
        self.window_bytes = 0;
        self.window_total_latency_ms = 0;
        self.window_max_latency_ms = 0;
        line
    }

    /// Kafka's final line over the whole run of `elapsed_ms`.
    pub fn final_line(&mut self, elapsed_ms: u64) -> String {
        let seconds = elapsed_ms.max(1) as f64 / 1000.0;
        self.samples.sort_unstable();
        let percentile = |p: f64| -> u32 {
            if self.samples.is_empty() {
                return 0;
            }
            let index = ((p * self.samples.len() as f64) as usize).min(self.samples.len() - 1);
            self.samples[index]
        };
        // Kafka's summary prints records/sec with Java's `%f` (six decimals), its window
        // lines with `%.1f`.
        format!(
            "{} records sent, {:.6} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            self.count,
            self.count as f64 / seconds,
            self.bytes as f64 / MIB / seconds,
            self.total_latency_ms as f64 / self.count.max(1) as f64,
            f64::from(self.max_latency_ms),
            percentile(0.5),
            percentile(0.95),
            percentile(0.99),
            percentile(0.999),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<PerfCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        PerfCommand::try_from(&set)
    }

    #[test]
    fn kafka_command_line() {
        let c = command(&[
            "--topic",
            "perf",
            "--num-records",
            "1000",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            "bootstrap.servers=localhost:9092",
            "acks=1",
        ])
        .expect("valid");
        assert_eq!(c.num_records, 1000);
        assert_eq!(c.payload, Payload::Size(100));
        assert_eq!(c.throughput, None);
        assert_eq!(c.producer_props["acks"], "1");
        assert_eq!(c.producer_props["bootstrap.servers"], "localhost:9092");
    }

    #[test]
    fn argument_errors() {
        let msg = |words: &[&str]| command(words).expect_err("refused").to_string();
        assert_eq!(
            msg(&[
                "--num-records",
                "1",
                "--record-size",
                "1",
                "--throughput",
                "1"
            ]),
            "argument --topic is required"
        );
        assert!(msg(&[
            "--topic",
            "t",
            "--num-records",
            "1",
            "--throughput",
            "1",
            "--producer-props",
            "bootstrap.servers=h:1"
        ])
        .starts_with("one of the arguments --record-size"));
        assert_eq!(
            msg(&[
                "--topic",
                "t",
                "--num-records",
                "0",
                "--record-size",
                "1",
                "--throughput",
                "1",
                "--producer-props",
                "bootstrap.servers=h:1"
            ]),
            "--num-records should be greater than zero"
        );
        assert_eq!(
            msg(&[
                "--topic",
                "t",
                "--num-records",
                "1",
                "--record-size",
                "1",
                "--throughput",
                "1"
            ]),
            "Either --producer-props or --producer.config must be specified."
        );
    }

    #[test]
    fn kafka_report_lines() {
        let mut stats = PerfStats::new(4);
        for (n, latency) in [1, 2, 3, 10].into_iter().enumerate() {
            stats.record(n as u64, latency, 1024 * 1024);
        }
        assert_eq!(
            stats.window_line(2000),
            "4 records sent, 2.0 records/sec (2.00 MB/sec), 4.0 ms avg latency, 10.0 ms max latency."
        );
        assert_eq!(
            stats.final_line(1000),
            "4 records sent, 4.000000 records/sec (4.00 MB/sec), 4.00 ms avg latency, 10.00 ms max latency, 3 ms 50th, 10 ms 95th, 10 ms 99th, 10 ms 99.9th."
        );
    }
}
