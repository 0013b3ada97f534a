//! `kafka-delete-records`: moves each listed partition's log start offset forward
//! (DeleteRecords), from a JSON file in Kafka's format:
//!
//! ```json
//! {"partitions": [{"topic": "orders", "partition": 0, "offset": 42}], "version": 1}
//! ```
//!
//! An offset of `-1` means the high watermark (delete everything). Output is Kafka's:
//! `Executing records delete operation`, `Records delete operation completed:`, then per
//! partition `partition: orders-0\tlow_watermark: 42` or `partition: orders-0\terror: ...`.

use serde_json::Value;

use crate::options::{OptionParser, OptionSet, OptionSpec};
use crate::props::{self, Properties};
use crate::tool::Tool;
use crate::tools::{bootstrap_server, BOOTSTRAP_ARG};
use crate::{ToolError, ToolSpec};

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::with_arg(
        "bootstrap-server",
        BOOTSTRAP_ARG,
        "REQUIRED: The server to connect to.",
    ),
    OptionSpec::with_arg(
        "offset-json-file",
        "String: Offset json file path",
        "REQUIRED: The JSON file with offset per partition. The format to use is:\n\
         {\"partitions\":\n  [{\"topic\": \"foo\", \"partition\": 1, \"offset\": 1}],\n \
         \"version\":1\n}",
    ),
    OptionSpec::with_arg(
        "command-config",
        "String: command config property file path",
        "A property file containing configs to be passed to Admin Client.",
    ),
];

pub const SPEC: ToolSpec = ToolSpec {
    tool: Tool::DeleteRecords,
    about: "This tool helps to delete records of the given partitions down to the specified \
            offset.",
    examples: "\
  echo '{\"partitions\":[{\"topic\":\"orders\",\"partition\":0,\"offset\":100}],\"version\":1}' > delete.json
  kafka-delete-records --bootstrap-server localhost:9092 --offset-json-file delete.json
",
    parser: OptionParser { specs: OPTIONS },
};

/// One partition to truncate at the front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteTarget {
    pub topic: String,
    pub partition: i32,
    /// Delete everything below this offset; `-1` means the high watermark.
    pub offset: i64,
}

/// A checked `kafka-delete-records` command line, with the JSON file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRecordsCommand {
    pub bootstrap_server: String,
    pub command_config: Properties,
    pub targets: Vec<DeleteTarget>,
}

impl TryFrom<&OptionSet> for DeleteRecordsCommand {
    type Error = ToolError;

    fn try_from(set: &OptionSet) -> Result<DeleteRecordsCommand, ToolError> {
        set.require("bootstrap-server")?;
        set.require("offset-json-file")?;
        let bootstrap_server = bootstrap_server(set)?;
        let path = set.value("offset-json-file").unwrap_or_default();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ToolError::Failed(format!("cannot read {path}: {e}")))?;
        let command_config = match set.value("command-config") {
            Some(path) => {
                props::from_file(path.as_ref()).map_err(|e| ToolError::Failed(e.to_string()))?
            }
            None => Properties::new(),
        };
        Ok(DeleteRecordsCommand {
            bootstrap_server,
            command_config,
            targets: parse_offset_json(&text)?,
        })
    }
}

/// Reads Kafka's offset JSON; refuses a partition listed twice, as Kafka does.
pub fn parse_offset_json(text: &str) -> Result<Vec<DeleteTarget>, ToolError> {
    let bad = |why: &str| ToolError::Failed(format!("Invalid offset JSON: {why}"));
    let doc: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    if let Some(version) = doc.get("version") {
        if version.as_i64() != Some(1) {
            return Err(bad(&format!("Not supported version field value {version}")));
        }
    }
    let partitions = doc
        .get("partitions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"partitions\" list"))?;
    let mut targets: Vec<DeleteTarget> = Vec::with_capacity(partitions.len());
    for entry in partitions {
        let topic = entry
            .get("topic")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("every partition needs a \"topic\" string"))?;
        let partition = entry
            .get("partition")
            .and_then(Value::as_i64)
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| bad("every partition needs a \"partition\" number"))?;
        let offset = entry
            .get("offset")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("every partition needs an \"offset\" number"))?;
        if targets
            .iter()
            .any(|t| t.topic == topic && t.partition == partition)
        {
            return Err(ToolError::Failed(format!(
                "Offset json file contains duplicate topic partitions: {topic}-{partition}"
            )));
        }
        targets.push(DeleteTarget {
            topic: topic.to_owned(),
            partition,
            offset,
        });
    }
    Ok(targets)
}

/// Kafka's report: `results` holds, per target, the new low watermark or the error text.
pub fn report(results: &[(DeleteTarget, Result<i64, String>)]) -> String {
    let mut out =
        String::from("Executing records delete operation\nRecords delete operation completed:\n");
    for (target, result) in results {
        match result {
            Ok(low) => out.push_str(&format!(
                "partition: {}-{}\tlow_watermark: {low}\n",
                target.topic, target.partition
            )),
            Err(e) => out.push_str(&format!(
                "partition: {}-{}\terror: {e}\n",
                target.topic, target.partition
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_json_format() {
        let targets = parse_offset_json(
            r#"{"partitions":[{"topic":"a","partition":0,"offset":5},{"topic":"a","partition":1,"offset":-1}],"version":1}"#,
        )
        .expect("valid");
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[1].offset, -1);
        assert!(parse_offset_json(r#"{"partitions":[{"topic":"a","partition":0,"offset":5},{"topic":"a","partition":0,"offset":6}]}"#)
            .expect_err("duplicate")
            .to_string()
            .contains("duplicate topic partitions: a-0"));
        assert!(parse_offset_json(r#"{"version":1}"#).is_err());
        assert!(parse_offset_json("not json").is_err());
        assert!(parse_offset_json(r#"{"partitions":[],"version":2}"#).is_err());
    }

    #[test]
    fn kafka_report() {
        let target = |p| DeleteTarget {
            topic: "a".into(),
            partition: p,
            offset: 5,
        };
        assert_eq!(
            report(&[(target(0), Ok(5)), (target(1), Err("boom".into()))]),
            "Executing records delete operation\nRecords delete operation completed:\n\
             partition: a-0\tlow_watermark: 5\npartition: a-1\terror: boom\n"
        );
    }
}
