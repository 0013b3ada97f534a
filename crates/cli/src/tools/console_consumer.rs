//! `kafka-console-consumer`: consumes records and prints them.
//!
//! Options and checks follow Kafka's `ConsoleConsumerOptions`: exactly one of `--topic` /
//! `--include`; `--partition` needs `--topic` and excludes `--group`; `--offset` needs
//! `--partition` and excludes `--from-beginning`; without `--group` (and without
//! `--partition`) the consumer joins a generated group `console-consumer-NNNNN` with auto
//! commit off, as Kafka's does. Printing follows Kafka's `DefaultMessageFormatter`,
//! implemented by [`RecordFormatter`].

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::{check_bootstrap_server, BOOTSTRAP_ARG};
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg("topic", "String: topic", "The topic to consume on."),
    OptionSpec::with_arg(
        "include",
        "String: Java regex (String)",
        "Regular expression specifying list of topics to include for consumption.",
    ),
    OptionSpec::with_arg(
        "partition",
        "Integer: partition",
        "The partition to consume from. Consumption starts from the end of the partition \
         unless '--offset' is specified.",
    ),
    OptionSpec::with_arg(
        "offset",
        "String: consume offset",
        "The offset to consume from (a non-negative number), or 'earliest' which means from \
         beginning, or 'latest' which means from end (default: latest).",
    ),
    OptionSpec::with_arg(
        "consumer-property",
        "String: consumer_prop",
        "A mechanism to pass user-defined properties in the form key=value to the consumer.",
    ),
    OptionSpec::with_arg(
        "consumer.config",
        "String: config file",
        "Consumer config properties file. Note that [consumer-property] takes precedence over \
         this config.",
    ),
    OptionSpec::with_arg(
        "formatter",
        "String: class",
        "Only the default, org.apache.kafka.tools.consumer.DefaultMessageFormatter, is \
         available.",
    ),
    OptionSpec::with_arg(
        "property",
        "String: prop",
        "The properties to initialize the message formatter. Default properties include:\n \
         print.timestamp=true|false\n print.key=true|false\n print.offset=true|false\n \
         print.epoch=true|false\n print.partition=true|false\n print.headers=true|false\n \
         print.value=true|false\n key.separator=<key.separator>\n \
         line.separator=<line.separator>\n headers.separator=<line.separator>\n \
         null.literal=<null.literal>",
    ),
    OptionSpec::with_arg(
        "formatter-config",
        "String: config file",
        "Config properties file to initialize the message formatter. Note that [property] \
         takes precedence over this config.",
    ),
    OptionSpec::flag(
        "from-beginning",
        "If the consumer does not already have an established offset to consume from, start \
         with the earliest message present in the log rather than the latest message.",
    ),
    OptionSpec::with_arg(
        "max-messages",
        "Integer: num_messages",
        "The maximum number of messages to consume before exiting. If not set, consumption is \
         continual.",
    ),
    OptionSpec::with_arg(
        "timeout-ms",
        "Long: timeout_ms",
        "If specified, exit if no message is available for consumption for the specified \
         interval.",
    ),
    OptionSpec::flag(
        "skip-message-on-error",
        "If there is an error when processing a message, skip it instead of halt.",
    ),
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "REQUIRED: The server(s) to connect to.",
    ),
    OptionSpec::with_arg(
        "key-deserializer",
        "String: deserializer for key",
        "Accepted for compatibility; keys are printed as their bytes.",
    ),
    OptionSpec::with_arg(
        "value-deserializer",
        "String: deserializer for values",
        "Accepted for compatibility; values are printed as their bytes.",
    ),
    OptionSpec::flag(
        "enable-systest-events",
        "Log lifecycle events of the consumer in addition to logging consumed messages. (This \
         is specific for system tests.)",
    ),
    OptionSpec::with_arg(
        "isolation-level",
        "String",
        "Set to read_committed in order to filter out transactional messages which are not \
         committed. Set to read_uncommitted to read all messages. (default: \
         read_uncommitted)",
    ),
    OptionSpec::with_arg(
        "group",
        "String: consumer group id",
        "The consumer group id of the consumer.",
    ),
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::ConsoleConsumer,
    about: "This tool helps to read data from Kafka topics and outputs it to standard output.",
    examples: "\
  kafka-console-consumer --bootstrap-server localhost:9092 --topic orders --from-beginning
  kafka-console-consumer --bootstrap-server localhost:9092 --topic orders --from-beginning --property print.key=true --property print.partition=true --property print.offset=true
  kafka-console-consumer --bootstrap-server localhost:9092 --topic orders --partition 0 --offset 42 --max-messages 10
  kafka-console-consumer --bootstrap-server localhost:9092 --topic orders --group billing --timeout-ms 5000
",
    parser: OptionParser { specs: OPTIONS },
};

/// Where consumption starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    Earliest,
    Latest,
    At(i64),
}

/// A checked `kafka-console-consumer` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerCommand {
    pub bootstrap_server: String,
    pub topic: Option<String>,
    /// `--include` regular expression.
    pub include: Option<String>,
    pub partition: Option<i32>,
    pub start: StartOffset,
    /// The group to join: `--group`, `group.id` from the properties, or a generated
    /// `console-consumer-NNNNN`. `None` with `--partition` (plain assignment).
    pub group_id: Option<String>,
    pub max_messages: Option<u64>,
    /// `None`: wait for ever.
    pub timeout_ms: Option<u64>,
    pub skip_message_on_error: bool,
    /// Consumer settings (`auto.offset.reset`, `client.id`, `isolation.level`, ...).
    pub consumer_props: Properties,
    pub formatter: RecordFormatter,
}

fn load(set: &OptionSet, option: &str) -> Result<Properties, ToolError> {
    match set.value(option) {
        Some(path) => props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string())),
        None => Ok(Properties::new()),
    }
}

impl TryFrom<&OptionSet> for ConsumerCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<ConsumerCommand, ToolError> {
        if usize::from(set.has("topic")) + usize::from(set.has("include")) != 1 {
            return Err(UsageError("Exactly one of --include/--topic is required. ".into()).into());
        }
        if set.has("partition") {
            if !set.has("topic") {
                return Err(UsageError(
                    "The topic is required when partition is specified.".into(),
                )
                .into());
            }
            if set.has("from-beginning") && set.has("offset") {
                return Err(UsageError(
                    "Options from-beginning and offset cannot be specified together.".into(),
                )
                .into());
            }
        } else if set.has("offset") {
            return Err(
                UsageError("The partition is required when offset is specified.".into()).into(),
            );
        }
        set.require("bootstrap-server")?;
        let bootstrap_server = set.value("bootstrap-server").unwrap_or_default().to_owned();
        check_bootstrap_server(&bootstrap_server)?;

        let mut consumer_props = load(set, "consumer.config")?;
        let from_file_group = consumer_props.get("group.id").cloned();
        let extra = props::from_key_values(set.values("consumer-property"));
        let extra_group = extra.get("group.id").cloned();
        consumer_props.extend(extra);
        let mut groups: Vec<String> = [
            set.value("group").map(str::to_owned),
            from_file_group,
            extra_group,
        ]
        .into_iter()
        .flatten()
        .collect();
        groups.dedup();
        groups.sort();
        groups.dedup();
        if groups.len() > 1 {
            return Err(UsageError(format!(
                "The group ids provided in different places (directly using '--group', via \
                 '--consumer-property', or via '--consumer.config') do not match. Detected group \
                 ids: {}",
                groups
                    .iter()
                    .map(|g| format!("'{g}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        if set.has("partition") && !groups.is_empty() {
            return Err(UsageError(
                "Options group and partition cannot be specified together.".into(),
            )
            .into());
        }
        let from_beginning = set.has("from-beginning");
        match consumer_props.get("auto.offset.reset") {
            Some(reset) if from_beginning && reset != "earliest" => {
                return Err(ToolError::Failed(format!(
                    "Can't simultaneously specify --from-beginning and 'auto.offset.reset={reset}', \
                     please remove one option"
                )));
            }
            Some(_) => {}
            None => {
                let reset = if from_beginning { "earliest" } else { "latest" };
                consumer_props.insert("auto.offset.reset".into(), reset.into());
            }
        }
        consumer_props.insert("bootstrap.servers".into(), bootstrap_server.clone());
        consumer_props
            .entry("client.id".into())
            .or_insert_with(|| "console-consumer".into());
        match set.value("isolation-level") {
            Some(level) => {
                consumer_props.insert("isolation.level".into(), level.to_owned());
            }
            None => {
                consumer_props
                    .entry("isolation.level".into())
                    .or_insert_with(|| "read_uncommitted".into());
            }
        }
        let group_id = if set.has("partition") {
            None
        } else if let Some(group) = groups.pop() {
            Some(group)
        } else {
            // Kafka's console consumer joins a throw-away group and does not commit to it.
            consumer_props
                .entry("enable.auto.commit".into())
                .or_insert_with(|| "false".into());
            Some(format!("console-consumer-{}", generated_group_suffix()))
        };
        if let Some(group) = &group_id {
            consumer_props.insert("group.id".into(), group.clone());
        }
        let start = match set.value("offset") {
            Some(raw) => match raw.to_ascii_lowercase().as_str() {
                "earliest" => StartOffset::Earliest,
                "latest" => StartOffset::Latest,
                _ => match raw.parse::<i64>() {
                    Ok(offset) if offset >= 0 => StartOffset::At(offset),
                    _ => {
                        return Err(UsageError(format!(
                            "The provided offset value '{raw}' is incorrect. Valid values are \
                             'earliest', 'latest', or a non-negative long."
                        ))
                        .into())
                    }
                },
            },
            None if from_beginning => StartOffset::Earliest,
            None => StartOffset::Latest,
        };
        if set
            .value("formatter")
            .is_some_and(|f| !f.ends_with("DefaultMessageFormatter"))
        {
            return Err(UsageError(
                "Only the default --formatter (DefaultMessageFormatter) is available in fjord"
                    .into(),
            )
            .into());
        }
        let mut formatter_props = load(set, "formatter-config")?;
        formatter_props.extend(props::from_key_values(set.values("property")));
        let timeout_ms = set
            .parsed::<i64>("timeout-ms")?
            .and_then(|t| u64::try_from(t).ok());
        let max_messages = set
            .parsed::<i64>("max-messages")?
            .and_then(|m| u64::try_from(m).ok());
        Ok(ConsumerCommand {
            bootstrap_server,
            topic: set.value("topic").map(str::to_owned),
            include: set.value("include").map(str::to_owned),
            partition: set.parsed::<i32>("partition")?,
            start,
            group_id,
            max_messages,
            timeout_ms,
            skip_message_on_error: set.has("skip-message-on-error"),
            consumer_props,
            formatter: RecordFormatter::from(&formatter_props),
        })
    }
}

/// Five decimal digits, like Kafka's `RANDOM.nextInt(100000)`, from the clock and the pid
/// (no need for a random generator for a throw-away name).
fn generated_group_suffix() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % 100_000
}

/// How the timestamp of a record is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    NoTimestamp,
    CreateTime,
    LogAppendTime,
}

/// The parts of a consumed record the formatter prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormattedRecord<'a> {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_type: TimestampType,
    pub timestamp: i64,
    pub leader_epoch: Option<i32>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Vec<u8>>)],
}

/// Kafka's `DefaultMessageFormatter` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFormatter {
    pub print_timestamp: bool,
    pub print_key: bool,
    pub print_offset: bool,
    pub print_epoch: bool,
    pub print_partition: bool,
    pub print_headers: bool,
    pub print_value: bool,
    pub key_separator: Vec<u8>,
    pub line_separator: Vec<u8>,
    pub headers_separator: Vec<u8>,
    pub null_literal: Vec<u8>,
}

impl Default for RecordFormatter {
    fn default() -> RecordFormatter {
        RecordFormatter {
            print_timestamp: false,
            print_key: false,
            print_offset: false,
            print_epoch: false,
            print_partition: false,
            print_headers: false,
            print_value: true,
            key_separator: b"\t".to_vec(),
            line_separator: b"\n".to_vec(),
            headers_separator: b",".to_vec(),
            null_literal: b"null".to_vec(),
        }
    }
}

impl From<&Properties> for RecordFormatter {
    fn from(p: &Properties) -> RecordFormatter {
        let mut f = RecordFormatter::default();
        for (key, field) in [
            ("print.timestamp", &mut f.print_timestamp),
            ("print.key", &mut f.print_key),
            ("print.offset", &mut f.print_offset),
            ("print.epoch", &mut f.print_epoch),
            ("print.partition", &mut f.print_partition),
            ("print.headers", &mut f.print_headers),
            ("print.value", &mut f.print_value),
        ] {
            if p.contains_key(key) {
                *field = props::flag(p, key);
            }
        }
        for (key, field) in [
            ("key.separator", &mut f.key_separator),
            ("line.separator", &mut f.line_separator),
            ("headers.separator", &mut f.headers_separator),
            ("null.literal", &mut f.null_literal),
        ] {
            if let Some(v) = p.get(key) {
                *field = v.as_bytes().to_vec();
            }
        }
        f
    }
}

impl RecordFormatter {
    /// Appends one record to `out`, byte for byte as Kafka's formatter writes it: the chosen
    /// fields in a fixed order, `key.separator` between them, `line.separator` at the end.
    pub fn write(&self, record: &FormattedRecord<'_>, out: &mut Vec<u8>) {
        // Which fields follow each one decides between column and line separator.
        let fields = [
            self.print_timestamp,
            self.print_partition,
            self.print_offset,
            self.print_epoch,
            self.print_headers,
            self.print_key,
            self.print_value,
        ];
        let more_after = |index: usize| fields[index + 1..].iter().any(|f| *f);
        let separator = |out: &mut Vec<u8>, index: usize| {
            if more_after(index) {
                out.extend_from_slice(&self.key_separator);
            } else {
                out.extend_from_slice(&self.line_separator);
            }
        };
        if self.print_timestamp {
            match record.timestamp_type {
                TimestampType::NoTimestamp => out.extend_from_slice(b"NO_TIMESTAMP"),
                TimestampType::CreateTime => {
                    out.extend_from_slice(format!("CreateTime:{}", record.timestamp).as_bytes())
                }
                TimestampType::LogAppendTime => {
                    out.extend_from_slice(format!("LogAppendTime:{}", record.timestamp).as_bytes())
                }
            }
            separator(out, 0);
        }
        if self.print_partition {
            out.extend_from_slice(format!("Partition:{}", record.partition).as_bytes());
            separator(out, 1);
        }
        if self.print_offset {
            out.extend_from_slice(format!("Offset:{}", record.offset).as_bytes());
            separator(out, 2);
        }
        if self.print_epoch {
            let epoch = record
                .leader_epoch
                .map_or_else(|| "NOT_PRESENT".to_owned(), |e| e.to_string());
            out.extend_from_slice(format!("Epoch:{epoch}").as_bytes());
            separator(out, 3);
        }
        if self.print_headers {
            if record.headers.is_empty() {
                out.extend_from_slice(b"NO_HEADERS");
            }
            for (i, (key, value)) in record.headers.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(&self.headers_separator);
                }
                out.extend_from_slice(key.as_bytes());
                out.push(b':');
                out.extend_from_slice(value.as_deref().unwrap_or(&self.null_literal));
            }
            separator(out, 4);
        }
        if self.print_key {
            out.extend_from_slice(record.key.unwrap_or(&self.null_literal));
            separator(out, 5);
        }
        if self.print_value {
            out.extend_from_slice(record.value.unwrap_or(&self.null_literal));
            out.extend_from_slice(&self.line_separator);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<ConsumerCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        ConsumerCommand::try_from(&set)
    }

    fn message(words: &[&str]) -> String {
        command(words).expect_err("refused").to_string()
    }

    #[test]
    fn seed_line_joins_a_generated_group_from_the_beginning() {
        let c = command(&[
            "--bootstrap-server",
            "localhost:9092",
            "--topic",
            "mon-topic",
            "--from-beginning",
            "--property",
            "print.key=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
        ])
        .expect("valid");
        assert_eq!(c.start, StartOffset::Earliest);
        let group = c.group_id.as_deref().expect("a group");
        let suffix = group.strip_prefix("console-consumer-").expect("generated");
        assert!(suffix.parse::<u32>().is_ok_and(|n| n < 100_000), "{group}");
        assert_eq!(c.consumer_props["enable.auto.commit"], "false");
        assert_eq!(c.consumer_props["auto.offset.reset"], "earliest");
        assert_eq!(c.consumer_props["client.id"], "console-consumer");
        assert!(c.formatter.print_key && c.formatter.print_partition && c.formatter.print_offset);
    }

    #[test]
    fn partitions_offsets_and_groups() {
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--partition",
            "2",
            "--offset",
            "5",
        ])
        .expect("valid");
        assert_eq!(
            (c.partition, c.start, c.group_id),
            (Some(2), StartOffset::At(5), None)
        );
        let c =
            command(&["--bootstrap-server", "h:1", "--topic", "t", "--group", "g"]).expect("valid");
        assert_eq!(c.group_id.as_deref(), Some("g"));
        assert!(!c.consumer_props.contains_key("enable.auto.commit"));
        assert_eq!(c.start, StartOffset::Latest);
    }

    #[test]
    fn kafka_messages() {
        assert_eq!(
            message(&["--bootstrap-server", "h:1"]),
            "Exactly one of --include/--topic is required. "
        );
        assert_eq!(
            message(&[
                "--bootstrap-server",
                "h:1",
                "--include",
                "a.*",
                "--partition",
                "0"
            ]),
            "The topic is required when partition is specified."
        );
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--topic", "t", "--offset", "3"]),
            "The partition is required when offset is specified."
        );
        assert_eq!(
            message(&[
                "--bootstrap-server",
                "h:1",
                "--topic",
                "t",
                "--partition",
                "0",
                "--offset",
                "3",
                "--from-beginning"
            ]),
            "Options from-beginning and offset cannot be specified together."
        );
        assert_eq!(
            message(&["--bootstrap-server", "h:1", "--topic", "t", "--partition", "0", "--offset", "-3"]),
            "The provided offset value '-3' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."
        );
        assert_eq!(
            message(&[
                "--bootstrap-server",
                "h:1",
                "--topic",
                "t",
                "--partition",
                "0",
                "--group",
                "g"
            ]),
            "Options group and partition cannot be specified together."
        );
        assert!(message(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--group",
            "a",
            "--consumer-property",
            "group.id=b"
        ])
        .contains("do not match"));
        assert_eq!(
            message(&["--topic", "t"]),
            "Missing required argument \"[bootstrap-server]\""
        );
        assert!(message(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--from-beginning",
            "--consumer-property",
            "auto.offset.reset=latest"
        ])
        .starts_with("Can't simultaneously specify --from-beginning"));
    }

    fn formatted(formatter: &RecordFormatter, headers: &[(String, Option<Vec<u8>>)]) -> String {
        let record = FormattedRecord {
            partition: 1,
            offset: 42,
            timestamp_type: TimestampType::CreateTime,
            timestamp: 1_700_000_000_000,
            leader_epoch: Some(0),
            key: Some(b"k1"),
            value: Some(b"hello"),
            headers,
        };
        let mut out = Vec::new();
        formatter.write(&record, &mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn default_formatter_prints_the_value_only() {
        assert_eq!(formatted(&RecordFormatter::default(), &[]), "hello\n");
    }

    #[test]
    fn formatter_fields_in_kafka_order() {
        let p = props::from_key_values(&[
            "print.key=true",
            "print.partition=true",
            "print.offset=true",
        ]);
        assert_eq!(
            formatted(&RecordFormatter::from(&p), &[]),
            "Partition:1\tOffset:42\tk1\thello\n"
        );
        let p = props::from_key_values(&[
            "print.timestamp=true",
            "print.headers=true",
            "print.epoch=true",
            "key.separator= | ",
            "print.value=false",
        ]);
        let headers = [
            ("a".to_owned(), Some(b"1".to_vec())),
            ("b".to_owned(), None),
        ];
        assert_eq!(
            formatted(&RecordFormatter::from(&p), &headers),
            "CreateTime:1700000000000 | Epoch:0 | a:1,b:null\n"
        );
        let p = props::from_key_values(&["print.headers=true"]);
        assert_eq!(
            formatted(&RecordFormatter::from(&p), &[]),
            "NO_HEADERS\thello\n"
        );
    }
}
