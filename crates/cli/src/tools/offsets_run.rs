//! Carries out checked `kafka-get-offsets` and `kafka-delete-records` commands with the admin
//! client, printing Kafka's lines (`topic:partition:offset`; the delete-records report).

use std::collections::BTreeMap;
use std::io::Write;

use fjord_client::admin::OffsetSpec;
use fjord_client::{AdminClient, TopicPartition};

use super::delete_records::{report, DeleteRecordsCommand};
use super::get_offsets::{offset_line, GetOffsetsCommand, OffsetTime};
use crate::client;
use crate::ToolError;

fn spec(time: OffsetTime) -> Result<OffsetSpec, ToolError> {
    match time {
        OffsetTime::Latest => Ok(OffsetSpec::Latest),
        OffsetTime::Earliest => Ok(OffsetSpec::Earliest),
        OffsetTime::MaxTimestamp => Ok(OffsetSpec::MaxTimestamp),
        OffsetTime::Timestamp(ms) => Ok(OffsetSpec::Timestamp(ms)),
        OffsetTime::EarliestLocal | OffsetTime::LatestTiered => Err(ToolError::Failed(
            "earliest-local and latest-tiered need tiered storage, which fjord does not have"
                .into(),
        )),
    }
}

async fn with_admin<T>(
    bootstrap_server: &str,
    props: &crate::props::Properties,
    work: impl AsyncFnOnce(&AdminClient) -> Result<T, ToolError>,
) -> Result<T, ToolError> {
    let config = client::client_config(bootstrap_server, props)?;
    let admin = client::admin(config).await?;
    let result = work(&admin).await;
    admin.cluster().close().await;
    result
}

/// `kafka-get-offsets`: one `topic:partition:offset` line per selected partition, sorted.
pub fn get_offsets(
    command: &GetOffsetsCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<i32, ToolError> {
    let wanted = spec(command.time)?;
    let lines = client::block_on(with_admin(
        &command.bootstrap_server,
        &command.command_config,
        async |admin: &AdminClient| {
            let listing = admin
                .list_topics(!command.exclude_internal_topics)
                .await
                .map_err(ToolError::Client)?;
            let names: Vec<String> = listing.into_iter().map(|t| t.name).collect();
            let metadata = admin
                .describe_topics(&names)
                .await
                .map_err(ToolError::Client)?;
            let mut specs = BTreeMap::new();
            for topic in &metadata {
                for p in &topic.partitions {
                    let mut selected = false;
                    for filter in &command.filters {
                        selected |= filter.matches(&topic.name, p.partition)?;
                    }
                    if selected {
                        specs.insert(TopicPartition::new(topic.name.clone(), p.partition), wanted);
                    }
                }
            }
            if specs.is_empty() {
                return Ok(Vec::new());
            }
            let answers = admin
                .list_offsets(&specs, false)
                .await
                .map_err(ToolError::Client)?;
            let mut lines = Vec::new();
            for (tp, answer) in answers {
                match answer {
                    // Kafka prints nothing for a partition without an offset at that time.
                    Ok(found) if found.offset >= 0 => {
                        lines.push(offset_line(&tp.topic, tp.partition, found.offset))
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = writeln!(
                            err,
                            "Skip getting offsets for topic-partition {}-{} due to error: {e}",
                            tp.topic, tp.partition
                        );
                    }
                }
            }
            Ok(lines)
        },
    ))?;
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    Ok(0)
}

/// `kafka-delete-records`: DeleteRecords for every partition of the JSON file.
pub fn delete_records(
    command: &DeleteRecordsCommand,
    out: &mut dyn Write,
) -> Result<i32, ToolError> {
    let results = client::block_on(with_admin(
        &command.bootstrap_server,
        &command.command_config,
        async |admin: &AdminClient| {
            let before: BTreeMap<TopicPartition, i64> = command
                .targets
                .iter()
                .map(|t| (TopicPartition::new(t.topic.clone(), t.partition), t.offset))
                .collect();
            let outcomes = admin
                .delete_records(&before)
                .await
                .map_err(ToolError::Client)?;
            Ok(command
                .targets
                .iter()
                .map(|t| {
                    let tp = TopicPartition::new(t.topic.clone(), t.partition);
                    let result = match outcomes.get(&tp) {
                        Some(Ok(low)) => Ok(*low),
                        Some(Err(e)) => Err(e.to_string()),
                        None => Err("no answer from the broker".to_owned()),
                    };
                    (t.clone(), result)
                })
                .collect::<Vec<_>>())
        },
    ))?;
    let _ = write!(out, "{}", report(&results));
    Ok(if results.iter().all(|(_, r)| r.is_ok()) {
        0
    } else {
        1
    })
}
