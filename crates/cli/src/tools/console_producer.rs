//! `kafka-console-producer`: reads lines from stdin and produces one record per line.
//!
//! The options and defaults are those of Kafka's `ConsoleProducer` (acks `-1`, linger
//! 1000 ms through `--timeout`, `--compression-codec` alone meaning gzip, ...); the
//! `--property` settings are those of its `LineMessageReader`, implemented by [`LineReader`]:
//! with `parse.key=true` a line is `key<key.separator>value`, with `parse.headers=true` it
//! starts with `h1:v1,h2:v2<headers.delimiter>`, and `null.marker` turns a field into null.

use crate::options::{OptionParser, OptionSet, OptionSpec, UsageError};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::{check_bootstrap_server, BOOTSTRAP_ARG};
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "topic",
        "String: topic",
        "REQUIRED: The topic name to produce messages to.",
    ),
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "REQUIRED: The server(s) to connect to. The broker list string in the form \
         HOST1:PORT1,HOST2:PORT2.",
    ),
    OptionSpec::flag(
        "sync",
        "If set, records are sent one at a time, each waiting for its acknowledgement.",
    ),
    OptionSpec::optional_arg(
        "compression-codec",
        "String: compression-codec",
        "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If \
         specified without value, then it defaults to 'gzip'.",
    ),
    OptionSpec::with_arg(
        "batch-size",
        "Integer: size",
        "Number of messages to send in a single batch if they are not being sent \
         synchronously (default: 16384).",
    ),
    OptionSpec::with_arg(
        "message-send-max-retries",
        "Integer",
        "How many times a failed send is retried before the record is dropped; the producer \
         config `retries` (default: 3).",
    ),
    OptionSpec::with_arg(
        "retry-backoff-ms",
        "Long",
        "Wait before each retry; the producer config `retry.backoff.ms` (default: 100).",
    ),
    OptionSpec::with_arg(
        "timeout",
        "Long: timeout_ms",
        "How long a record may wait for a batch to fill, in ms; the producer config \
         `linger.ms` (default: 1000).",
    ),
    OptionSpec::with_arg(
        "request-required-acks",
        "String: request required acks",
        "The required `acks` of the producer requests (default: -1).",
    ),
    OptionSpec::with_arg(
        "request-timeout-ms",
        "Integer: request timeout ms",
        "The ack timeout of the producer requests. Value must be non-negative and non-zero \
         (default: 1500).",
    ),
    OptionSpec::with_arg(
        "metadata-expiry-ms",
        "Long: metadata expiration interval",
        "Refresh metadata at least this often; the producer config `metadata.max.age.ms` \
         (default: 300000).",
    ),
    OptionSpec::with_arg(
        "max-block-ms",
        "Long: max block on send",
        "The max time that the producer will block for during a send request (default: \
         60000).",
    ),
    OptionSpec::with_arg(
        "max-memory-bytes",
        "Long: total memory in bytes",
        "Memory for records waiting to be sent; the producer config `buffer.memory` \
         (default: 33554432).",
    ),
    OptionSpec::with_arg(
        "max-partition-memory-bytes",
        "Integer: memory in bytes per partition",
        "The batch size per partition; the producer config `batch.size` (default: 16384).",
    ),
    OptionSpec::with_arg(
        "line-reader",
        "String: reader_class",
        "Only the default, org.apache.kafka.tools.LineMessageReader, is available: each line \
         is one record.",
    ),
    OptionSpec::with_arg(
        "socket-buffer-size",
        "Integer: size",
        "The size of the TCP send buffer; the producer config `send.buffer.bytes` (default: \
         102400).",
    ),
    OptionSpec::with_arg(
        "property",
        "String: prop",
        "A key=value setting of the line reader. Defaults:\n parse.key=false\n \
         parse.headers=false\n ignore.error=false\n key.separator=\\t\n \
         headers.delimiter=\\t\n headers.separator=,\n headers.key.separator=:\n null.marker= \
         (when set, a field equal to it becomes null)\nLine layout with parse.headers=true and \
         parse.key=true: \"h1:v1,h2:v2...\\tkey\\tvalue\"; with parse.key=true: \
         \"key\\tvalue\"; with parse.headers=true: \"h1:v1,h2:v2...\\tvalue\".",
    ),
    OptionSpec::with_arg(
        "reader-config",
        "String: config file",
        "Config properties file for the message reader. Note that [property] takes precedence \
         over this config.",
    ),
    OptionSpec::with_arg(
        "producer-property",
        "String: producer_prop",
        "A mechanism to pass user-defined properties in the form key=value to the producer.",
    ),
    OptionSpec::with_arg(
        "producer.config",
        "String: config file",
        "Producer config properties file. Note that [producer-property] takes precedence over \
         this config.",
    ),
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::ConsoleProducer,
    about: "This tool helps to read data from standard input and publish it to Kafka.",
    examples: "\
  kafka-console-producer --bootstrap-server localhost:9092 --topic orders
  printf 'k1\\tv1\\nk2\\tv2\\n' | kafka-console-producer --bootstrap-server localhost:9092 --topic orders --property parse.key=true
  kafka-console-producer --bootstrap-server localhost:9092 --topic orders --property parse.key=true --property key.separator=:
  kafka-console-producer --bootstrap-server localhost:9092 --topic orders --producer-property acks=1 --compression-codec zstd
",
    parser: OptionParser { specs: OPTIONS },
};

/// A checked `kafka-console-producer` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerCommand {
    pub bootstrap_server: String,
    pub topic: String,
    pub sync: bool,
    /// Producer settings with Kafka's tool defaults applied (`acks`, `linger.ms`,
    /// `compression.type`, `client.id`, ...).
    pub producer_props: Properties,
    pub reader: LineReader,
}

/// Options mapped onto producer settings, with the tool's defaults (Kafka's
/// `maybeMergeOptions`: the option wins when given, else a setting from the properties
/// stays, else the default applies).
const MERGED: &[(&str, &str, &str)] = &[
    ("timeout", "linger.ms", "1000"),
    ("request-required-acks", "acks", "-1"),
    ("request-timeout-ms", "request.timeout.ms", "1500"),
    ("message-send-max-retries", "retries", "3"),
    ("retry-backoff-ms", "retry.backoff.ms", "100"),
    ("socket-buffer-size", "send.buffer.bytes", "102400"),
    ("max-memory-bytes", "buffer.memory", "33554432"),
    ("batch-size", "batch.size", "16384"),
    ("max-partition-memory-bytes", "batch.size", "16384"),
    ("metadata-expiry-ms", "metadata.max.age.ms", "300000"),
    ("max-block-ms", "max.block.ms", "60000"),
];

fn load(set: &OptionSet, option: &str) -> Result<Properties, ToolError> {
    match set.value(option) {
        Some(path) => props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string())),
        None => Ok(Properties::new()),
    }
}

impl TryFrom<&OptionSet> for ProducerCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<ProducerCommand, ToolError> {
        set.require("bootstrap-server")?;
        set.require("topic")?;
        let bootstrap_server = set.value("bootstrap-server").unwrap_or_default().to_owned();
        check_bootstrap_server(&bootstrap_server)?;
        if set.value("line-reader").is_some_and(|c| {
            c != "org.apache.kafka.tools.LineMessageReader" && c != "kafka.tools.LineMessageReader"
        }) {
            return Err(UsageError(
                "Only the default --line-reader (org.apache.kafka.tools.LineMessageReader) is \
                 available in fjord"
                    .into(),
            )
            .into());
        }
        let mut producer_props = load(set, "producer.config")?;
        producer_props.extend(props::from_key_values(set.values("producer-property")));
        producer_props.insert("bootstrap.servers".into(), bootstrap_server.clone());
        let codec = match set.value("compression-codec") {
            _ if !set.has("compression-codec") => "none",
            None | Some("") => "gzip",
            Some(codec) => codec,
        };
        if !["none", "gzip", "snappy", "lz4", "zstd"].contains(&codec) {
            return Err(UsageError(format!(
                "Invalid value {codec} for configuration compression.type: String must be one of: \
                 none, gzip, snappy, lz4, zstd"
            ))
            .into());
        }
        producer_props.insert("compression.type".into(), codec.to_owned());
        producer_props
            .entry("client.id".into())
            .or_insert_with(|| "console-producer".into());
        for (option, key, default) in MERGED {
            if let Some(value) = set.value(option) {
                producer_props.insert((*key).into(), value.to_owned());
            } else if !producer_props.contains_key(*key) {
                producer_props.insert((*key).into(), (*default).into());
            }
        }
        let mut reader_props = load(set, "reader-config")?;
        reader_props.extend(props::from_key_values(set.values("property")));
        let reader = LineReader::try_from(&reader_props)?;
        Ok(ProducerCommand {
            bootstrap_server,
            topic: set.value("topic").unwrap_or_default().to_owned(),
            sync: set.has("sync"),
            producer_props,
            reader,
        })
    }
}

/// One record read from a line: key, value and headers, each possibly null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRecord {
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: Vec<(String, Option<String>)>,
}

/// Kafka's `LineMessageReader` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReader {
    pub parse_key: bool,
    pub key_separator: String,
    pub parse_headers: bool,
    pub headers_delimiter: String,
    pub headers_separator: String,
    pub headers_key_separator: String,
    pub ignore_error: bool,
    pub null_marker: Option<String>,
}

impl Default for LineReader {
    fn default() -> LineReader {
        LineReader {
            parse_key: false,
            key_separator: "\t".into(),
            parse_headers: false,
            headers_delimiter: "\t".into(),
            headers_separator: ",".into(),
            headers_key_separator: ":".into(),
            ignore_error: false,
            null_marker: None,
        }
    }
}

impl TryFrom<&Properties> for LineReader {
    type Error = ToolError;

    /// Reads the `--property` settings, refusing separators that would make lines ambiguous
    /// (Kafka's messages).
    fn try_from(p: &Properties) -> Result<LineReader, ToolError> {
        let mut r = LineReader::default();
        let text = |key: &str, field: &mut String| {
            if let Some(v) = p.get(key) {
                field.clone_from(v);
            }
        };
        r.parse_key = props::flag(p, "parse.key");
        r.parse_headers = props::flag(p, "parse.headers");
        r.ignore_error = props::flag(p, "ignore.error");
        text("key.separator", &mut r.key_separator);
        text("headers.delimiter", &mut r.headers_delimiter);
        text("headers.separator", &mut r.headers_separator);
        text("headers.key.separator", &mut r.headers_key_separator);
        r.null_marker = p.get("null.marker").cloned();
        let pairs = [
            (
                "headers.delimiter",
                &r.headers_delimiter,
                "headers.separator",
                &r.headers_separator,
            ),
            (
                "headers.delimiter",
                &r.headers_delimiter,
                "headers.key.separator",
                &r.headers_key_separator,
            ),
            (
                "headers.separator",
                &r.headers_separator,
                "headers.key.separator",
                &r.headers_key_separator,
            ),
        ];
        for (a, va, b, vb) in pairs {
            if va == vb {
                return Err(ToolError::Failed(format!("{a} and {b} may not be equal")));
            }
        }
        if let Some(marker) = &r.null_marker {
            for (name, value) in [
                ("key.separator", &r.key_separator),
                ("headers.separator", &r.headers_separator),
                ("headers.delimiter", &r.headers_delimiter),
                ("headers.key.separator", &r.headers_key_separator),
            ] {
                if value == marker {
                    return Err(ToolError::Failed(format!(
                        "null.marker and {name} may not be equal"
                    )));
                }
            }
        }
        Ok(r)
    }
}

/// A line that does not have the layout the reader was told to expect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("No {what} found on line number {line_number}: '{line}'")]
    MissingSeparator {
        what: &'static str,
        line_number: u64,
        line: String,
    },
    #[error("No header key separator found in pair '{pair}' on line number {line_number}")]
    MissingHeaderKeySeparator { pair: String, line_number: u64 },
    #[error("Header keys should not be equal to the null marker '{0}' as they can't be null")]
    NullHeaderKey(String),
}

impl LineReader {
    fn nullable(&self, field: &str) -> Option<String> {
        match &self.null_marker {
            Some(marker) if marker == field => None,
            _ => Some(field.to_owned()),
        }
    }

    /// `line[start..]` up to `separator`; `None` when parsing is off or (with `ignore.error`)
    /// the separator is missing.
    fn field<'l>(
        &self,
        enabled: bool,
        line: &'l str,
        start: usize,
        separator: &str,
        what: &'static str,
        line_number: u64,
    ) -> Result<Option<&'l str>, LineError> {
        if !enabled {
            return Ok(None);
        }
        match line[start..].find(separator) {
            Some(at) => Ok(Some(&line[start..start + at])),
            None if self.ignore_error => Ok(None),
            None => Err(LineError::MissingSeparator {
                what,
                line_number,
                line: line.to_owned(),
            }),
        }
    }

    /// The record for one line (without its line terminator); `line_number` counts from 1.
    pub fn record(&self, line: &str, line_number: u64) -> Result<LineRecord, LineError> {
        let headers = self.field(
            self.parse_headers,
            line,
            0,
            &self.headers_delimiter,
            "headers delimiter",
            line_number,
        )?;
        let header_end = headers.map_or(0, |h| h.len() + self.headers_delimiter.len());
        let key = self.field(
            self.parse_key,
            line,
            header_end,
            &self.key_separator,
            "key separator",
            line_number,
        )?;
        let key_end = key.map_or(0, |k| k.len() + self.key_separator.len());
        let value = &line[header_end + key_end..];
        let mut record = LineRecord {
            key: key.and_then(|k| self.nullable(k)),
            value: self.nullable(value),
            headers: Vec::new(),
        };
        if let Some(headers) = headers.filter(|h| self.nullable(h).is_some()) {
            for pair in headers.split(self.headers_separator.as_str()) {
                let Some(at) = pair.find(&self.headers_key_separator) else {
                    if self.ignore_error {
                        record.headers.push((pair.to_owned(), None));
                        continue;
                    }
                    return Err(LineError::MissingHeaderKeySeparator {
                        pair: pair.to_owned(),
                        line_number,
                    });
                };
                let header_key = &pair[..at];
                if self.null_marker.as_deref() == Some(header_key) {
                    return Err(LineError::NullHeaderKey(header_key.to_owned()));
                }
                let header_value = &pair[at + self.headers_key_separator.len()..];
                record
                    .headers
                    .push((header_key.to_owned(), self.nullable(header_value)));
            }
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(words: &[&str]) -> Result<ProducerCommand, ToolError> {
        let set = SPEC.parser.parse(words).expect("parse");
        ProducerCommand::try_from(&set)
    }

    #[test]
    fn seed_line_and_kafka_defaults() {
        let c = command(&[
            "--bootstrap-server",
            "localhost:9092",
            "--topic",
            "test-topic",
        ])
        .expect("valid");
        assert_eq!(c.topic, "test-topic");
        let p = &c.producer_props;
        assert_eq!(p["acks"], "-1");
        assert_eq!(p["linger.ms"], "1000");
        assert_eq!(p["compression.type"], "none");
        assert_eq!(p["client.id"], "console-producer");
        assert_eq!(p["bootstrap.servers"], "localhost:9092");
        assert_eq!(c.reader, LineReader::default());
    }

    #[test]
    fn options_and_properties_merge_like_kafka() {
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--producer-property",
            "acks=1",
            "--producer-property",
            "linger.ms=5",
            "--timeout",
            "7",
            "--compression-codec",
        ])
        .expect("valid");
        // The property survives where no option is given; the option wins where it is.
        assert_eq!(c.producer_props["acks"], "1");
        assert_eq!(c.producer_props["linger.ms"], "7");
        assert_eq!(c.producer_props["compression.type"], "gzip");
        let c = command(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--compression-codec",
            "zstd",
        ])
        .expect("valid");
        assert_eq!(c.producer_props["compression.type"], "zstd");
        assert!(command(&[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--compression-codec",
            "brotli"
        ])
        .is_err());
    }

    #[test]
    fn missing_options_use_kafka_messages() {
        assert_eq!(
            command(&["--topic", "t"]).expect_err("refused").to_string(),
            "Missing required argument \"[bootstrap-server]\""
        );
        assert_eq!(
            command(&["--bootstrap-server", "h:1"])
                .expect_err("refused")
                .to_string(),
            "Missing required argument \"[topic]\""
        );
        assert!(command(&["--bootstrap-server", "h", "--topic", "t"]).is_err());
    }

    fn reader(pairs: &[&str]) -> LineReader {
        LineReader::try_from(&props::from_key_values(pairs)).expect("valid reader")
    }

    #[test]
    fn plain_lines_are_values() {
        let r = LineReader::default();
        let rec = r.record("Hello Kafka", 1).expect("record");
        assert_eq!(rec.key, None);
        assert_eq!(rec.value.as_deref(), Some("Hello Kafka"));
        assert!(rec.headers.is_empty());
        assert_eq!(r.record("", 2).expect("record").value.as_deref(), Some(""));
    }

    #[test]
    fn keys_and_headers() {
        let r = reader(&["parse.key=true", "key.separator=:"]);
        let rec = r.record("user-1:{\"a\":1}", 1).expect("record");
        assert_eq!(rec.key.as_deref(), Some("user-1"));
        assert_eq!(rec.value.as_deref(), Some("{\"a\":1}"));
        assert_eq!(
            r.record("no separator", 3)
                .expect_err("refused")
                .to_string(),
            "No key separator found on line number 3: 'no separator'"
        );
        let r = reader(&["parse.key=true", "parse.headers=true"]);
        let rec = r.record("h1:v1,h2:v2\tk\tv", 1).expect("record");
        assert_eq!(
            rec.headers,
            [
                ("h1".into(), Some("v1".into())),
                ("h2".into(), Some("v2".into()))
            ]
        );
        assert_eq!(
            (rec.key.as_deref(), rec.value.as_deref()),
            (Some("k"), Some("v"))
        );
        assert!(matches!(
            r.record("h1\tk\tv", 1),
            Err(LineError::MissingHeaderKeySeparator { .. })
        ));
    }

    #[test]
    fn null_marker_and_ignore_error() {
        let r = reader(&["parse.key=true", "null.marker=NULL", "parse.headers=true"]);
        let rec = r.record("h:NULL\tNULL\tNULL", 1).expect("record");
        assert_eq!((rec.key, rec.value), (None, None));
        assert_eq!(rec.headers, [("h".into(), None)]);
        assert!(matches!(
            r.record("NULL:x\tk\tv", 1),
            Err(LineError::NullHeaderKey(_))
        ));
        let r = reader(&["parse.key=true", "ignore.error=true"]);
        let rec = r.record("just a value", 1).expect("record");
        assert_eq!(
            (rec.key, rec.value.as_deref()),
            (None, Some("just a value"))
        );
    }

    #[test]
    fn ambiguous_separators_are_refused() {
        let refused = |pairs: &[&str]| {
            LineReader::try_from(&props::from_key_values(pairs))
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            refused(&["headers.separator=\t"]),
            "headers.delimiter and headers.separator may not be equal"
        );
        assert_eq!(
            refused(&["null.marker=\t"]),
            "null.marker and key.separator may not be equal"
        );
    }
}
