//! Carries out a checked [`TopicCommand`] with the admin client and prints Kafka's output.

use std::collections::BTreeMap;
use std::io::Write;

use fjord_client::admin::{ConfigResource, NewTopic};
use fjord_client::kafka_protocol::ResponseError;
use fjord_client::{AdminClient, ClientError, TopicPartition};

use super::describe::{self, PartitionDescription, TopicDescription};
use super::{ensure_topic_exists, select_topics, TopicAction, TopicCommand};
use crate::client;
use crate::tools::OutputFormat;
use crate::ToolError;

/// Kafka's Uuid text: URL-safe base64 of the 16 bytes, without padding (22 characters).
pub fn topic_id_text(bytes: &[u8; 16]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// A broker error as the text Kafka's tools show: the broker's message when it sent one.
fn broker_message(error: &ClientError) -> String {
    match error {
        ClientError::Kafka {
            message: Some(m), ..
        } if !m.is_empty() => m.clone(),
        other => other.to_string(),
    }
}

async fn all_topic_names(
    admin: &AdminClient,
    exclude_internal: bool,
) -> Result<Vec<String>, ToolError> {
    let listing = admin
        .list_topics(!exclude_internal)
        .await
        .map_err(ToolError::Client)?;
    Ok(listing.into_iter().map(|t| t.name).collect())
}

/// Runs the command; what Kafka prints goes to `out`. A failed operation is reported the way
/// Kafka's `TopicCommand` does, on stdout: `Error while executing topic command : ...`.
pub fn run(command: &TopicCommand, out: &mut dyn Write) -> Result<i32, ToolError> {
    let config = client::client_config(&command.bootstrap_server, &command.command_config)?;
    let result = client::block_on(async {
        let admin = client::admin(config).await?;
        let result = execute(&admin, command, out).await;
        admin.cluster().close().await;
        result
    });
    match result {
        Err(ToolError::Failed(message)) => {
            let _ = writeln!(out, "Error while executing topic command : {message}");
            Ok(1)
        }
        Err(ToolError::Client(e)) => {
            let _ = writeln!(
                out,
                "Error while executing topic command : {}",
                broker_message(&e)
            );
            Ok(1)
        }
        other => other,
    }
}

async fn execute(
    admin: &AdminClient,
    command: &TopicCommand,
    out: &mut dyn Write,
) -> Result<i32, ToolError> {
    match command.action {
        TopicAction::Create => create(admin, command, out).await,
        TopicAction::List => {
            let all = all_topic_names(admin, command.exclude_internal).await?;
            let topics = select_topics(&all, command.topic.as_deref(), command.exclude_internal)?;
            match command.output {
                OutputFormat::Json => {
                    let _ = writeln!(out, "{}", serde_json::json!(topics));
                }
                // Kafka prints the names joined by newlines, then a newline: an empty
                // cluster gives one empty line.
                OutputFormat::Text => {
                    let _ = writeln!(out, "{}", topics.join("\n"));
                }
            }
            Ok(0)
        }
        TopicAction::Describe => describe(admin, command, out).await,
        TopicAction::Alter => {
            let all = all_topic_names(admin, false).await?;
            let topics = select_topics(&all, command.topic.as_deref(), false)?;
            ensure_topic_exists(&topics, command.topic.as_deref(), command.if_exists)?;
            let count = command.partitions.unwrap_or_default();
            let totals: BTreeMap<String, i32> = topics.iter().map(|t| (t.clone(), count)).collect();
            if totals.is_empty() {
                return Ok(0);
            }
            let outcomes = admin
                .create_partitions(&totals, false)
                .await
                .map_err(ToolError::Client)?;
            first_failure(outcomes.into_values())
        }
        TopicAction::Delete => {
            let all = all_topic_names(admin, false).await?;
            let topics = select_topics(&all, command.topic.as_deref(), false)?;
            ensure_topic_exists(&topics, command.topic.as_deref(), command.if_exists)?;
            if topics.is_empty() {
                return Ok(0);
            }
            let outcomes = admin
                .delete_topics(&topics)
                .await
                .map_err(ToolError::Client)?;
            first_failure(outcomes.into_values())
        }
    }
}

/// Kafka reports the first failed topic and exits 1.
fn first_failure(
    outcomes: impl Iterator<Item = Result<(), ClientError>>,
) -> Result<i32, ToolError> {
    for outcome in outcomes {
        if let Err(e) = outcome {
            return Err(ToolError::Failed(broker_message(&e)));
        }
    }
    Ok(0)
}

async fn create(
    admin: &AdminClient,
    command: &TopicCommand,
    out: &mut dyn Write,
) -> Result<i32, ToolError> {
    let name = command.topic.clone().unwrap_or_default();
    if name.contains('.') || name.contains('_') {
        let _ = writeln!(
            out,
            "WARNING: Due to limitations in metric names, topics with a period ('.') or \
             underscore ('_') could collide. To avoid issues it is best to use either, but not \
             both."
        );
    }
    let mut topic = NewTopic::new(
        name.clone(),
        command.partitions.unwrap_or(-1),
        command
            .replication_factor
            .and_then(|rf| i16::try_from(rf).ok())
            .unwrap_or(-1),
    );
    topic.configs = command.configs.clone();
    if let Some(assignment) = &command.replica_assignment {
        topic.num_partitions = -1;
        topic.replication_factor = -1;
        topic.replica_assignment = assignment
            .iter()
            .enumerate()
            .map(|(p, replicas)| (i32::try_from(p).unwrap_or(i32::MAX), replicas.clone()))
            .collect();
    }
    let outcomes = admin
        .create_topics(&[topic], false)
        .await
        .map_err(ToolError::Client)?;
    match outcomes.into_values().next().unwrap_or(Ok(())) {
        Ok(()) => {
            let _ = writeln!(out, "Created topic {name}.");
            Ok(0)
        }
        Err(e)
            if command.if_not_exists
                && e.kafka_error() == Some(ResponseError::TopicAlreadyExists) =>
        {
            Ok(0)
        }
        Err(e) => Err(ToolError::Failed(broker_message(&e))),
    }
}

async fn describe(
    admin: &AdminClient,
    command: &TopicCommand,
    out: &mut dyn Write,
) -> Result<i32, ToolError> {
    let all = all_topic_names(admin, command.exclude_internal).await?;
    let mut topics = select_topics(&all, command.topic.as_deref(), command.exclude_internal)?;
    if let Some(id) = &command.topic_id {
        let metadata = admin
            .describe_topics(&all)
            .await
            .map_err(ToolError::Client)?;
        topics = metadata
            .iter()
            .filter(|t| topic_id_text(t.topic_id.as_bytes()) == *id)
            .map(|t| t.name.clone())
            .collect();
        if topics.is_empty() && !command.if_exists {
            return Err(ToolError::Failed(format!(
                "TopicId '{id}' does not exist as expected"
            )));
        }
    } else {
        ensure_topic_exists(&topics, command.topic.as_deref(), command.if_exists)?;
    }
    if topics.is_empty() {
        return Ok(0);
    }
    let metadata = admin
        .describe_topics(&topics)
        .await
        .map_err(ToolError::Client)?;
    let resources: Vec<ConfigResource> = topics.iter().map(ConfigResource::topic).collect();
    let configs = admin
        .describe_configs(&resources, None)
        .await
        .map_err(ToolError::Client)?;
    let live_brokers: Vec<i32> = admin
        .describe_cluster()
        .await
        .map_err(ToolError::Client)?
        .brokers
        .iter()
        .map(|b| b.node_id)
        .collect();
    let eligible = admin
        .describe_eligible_leader_replicas(&topics)
        .await
        .map_err(ToolError::Client)?;
    let mut descriptions = Vec::with_capacity(metadata.len());
    for topic in metadata {
        let entries = match configs.get(&ConfigResource::topic(topic.name.clone())) {
            Some(Ok(entries)) => entries.clone(),
            Some(Err(e)) => return Err(ToolError::Failed(broker_message(e))),
            None => Vec::new(),
        };
        let min_insync_replicas = entries
            .iter()
            .find(|e| e.name == "min.insync.replicas")
            .and_then(|e| e.value.as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let mut partitions: Vec<PartitionDescription> = topic
            .partitions
            .iter()
            .map(|p| PartitionDescription {
                partition: p.partition,
                leader: (p.leader_id >= 0).then_some(p.leader_id),
                replicas: p.replica_nodes.clone(),
                isr: p.isr_nodes.clone(),
                elr: eligible.as_ref().map(|e| {
                    e.get(&TopicPartition::new(topic.name.clone(), p.partition))
                        .map(|l| l.elr.clone())
                        .unwrap_or_default()
                }),
                last_known_elr: eligible.as_ref().map(|e| {
                    e.get(&TopicPartition::new(topic.name.clone(), p.partition))
                        .map(|l| l.last_known_elr.clone())
                        .unwrap_or_default()
                }),
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        descriptions.push(TopicDescription {
            topic_id: (!topic.topic_id.is_nil()).then(|| topic_id_text(topic.topic_id.as_bytes())),
            name: topic.name,
            partitions,
            overridden_configs: entries
                .iter()
                .filter(|e| !e.is_default())
                .map(|e| {
                    (
                        e.name.clone(),
                        e.value.clone().unwrap_or_else(|| "null".into()),
                    )
                })
                .collect(),
            min_insync_replicas,
            marked_for_deletion: false,
        });
    }
    descriptions.sort_by(|a, b| a.name.cmp(&b.name));
    match command.output {
        OutputFormat::Text => {
            let _ = write!(
                out,
                "{}",
                describe::text(&descriptions, &command.filter, &live_brokers)
            );
        }
        OutputFormat::Json => {
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&describe::json(
                    &descriptions,
                    &command.filter,
                    &live_brokers
                ))
                .unwrap_or_default()
            );
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_print_as_kafka_does() {
        assert_eq!(topic_id_text(&[0; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(topic_id_text(&one), "AAAAAAAAAAAAAAAAAAAAAQ");
        assert_eq!(topic_id_text(&[0xff; 16]), "_____________________w");
    }
}
