//! Carries out a checked [`ConfigCommand`] with the admin client and prints Kafka's output.

use std::collections::BTreeMap;
use std::io::Write;

use fjord_client::admin::{AlterConfigOp, ConfigEntry, ConfigResource, ConfigResourceType};
use fjord_client::{AdminClient, ClientError};
use serde_json::json;

use super::configs::{
    altered_text, describe_text, ConfigAction, ConfigCommand, ConfigLine, EntityType,
};
use crate::client;
use crate::tools::OutputFormat;
use crate::ToolError;

/// Kafka's names for DescribeConfigs' `config_source` codes.
fn source_name(code: i8) -> &'static str {
    match code {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}

fn resource(entity_type: EntityType, name: &str) -> Result<ConfigResource, ToolError> {
    let resource_type = match entity_type {
        EntityType::Topics => ConfigResourceType::Topic,
        EntityType::Brokers => ConfigResourceType::Broker,
        EntityType::BrokerLoggers => ConfigResourceType::BrokerLogger,
        EntityType::Groups => {
            return Err(ToolError::Failed(
                "Group configs are not supported by fjord's admin client yet".into(),
            ))
        }
    };
    Ok(ConfigResource {
        resource_type,
        name: name.to_owned(),
    })
}

/// Without `--all`, Kafka shows only what was set dynamically on the entity itself.
fn shown(entity_type: EntityType, default_entity: bool, all: bool, entry: &ConfigEntry) -> bool {
    if all {
        return true;
    }
    match entity_type {
        EntityType::Topics => entry.source == 1,
        EntityType::Brokers if default_entity => entry.source == 3,
        EntityType::Brokers => entry.source == 2,
        EntityType::BrokerLoggers => true,
        EntityType::Groups => entry.source == 8,
    }
}

fn line(entry: &ConfigEntry) -> ConfigLine {
    ConfigLine {
        name: entry.name.clone(),
        value: if entry.is_sensitive {
            None
        } else {
            entry.value.clone()
        },
        sensitive: entry.is_sensitive,
        synonyms: entry
            .synonyms
            .iter()
            .map(|(name, value, source)| {
                (source_name(*source).to_owned(), name.clone(), value.clone())
            })
            .collect(),
    }
}

fn failure(error: &ClientError) -> ToolError {
    match error {
        ClientError::Kafka {
            message: Some(m), ..
        } if !m.is_empty() => ToolError::Failed(m.clone()),
        other => ToolError::Failed(other.to_string()),
    }
}

/// Runs the command; what Kafka prints goes to `out`.
pub fn run(command: &ConfigCommand, out: &mut dyn Write) -> Result<i32, ToolError> {
    let config = client::client_config(&command.bootstrap_server, &command.command_config)?;
    client::block_on(async {
        let admin = client::admin(config).await?;
        let result = execute(&admin, command, out).await;
        admin.cluster().close().await;
        result
    })
}

async fn execute(
    admin: &AdminClient,
    command: &ConfigCommand,
    out: &mut dyn Write,
) -> Result<i32, ToolError> {
    let entity_type = command.entity_type;
    match &command.action {
        ConfigAction::Alter { add, delete } => {
            let name = command.entity_name.clone().unwrap_or_default();
            let mut ops: Vec<AlterConfigOp> = add
                .iter()
                .map(|(k, v)| AlterConfigOp::set(k.clone(), v.clone()))
                .collect();
            ops.extend(delete.iter().map(|k| AlterConfigOp::delete(k.clone())));
            let target = resource(entity_type, &name)?;
            let changes = BTreeMap::from([(target.clone(), ops)]);
            let outcomes = admin
                .incremental_alter_configs(&changes, false)
                .await
                .map_err(ToolError::Client)?;
            if let Some(Err(e)) = outcomes.get(&target) {
                return Err(failure(e));
            }
            let _ = write!(
                out,
                "{}",
                altered_text(entity_type, command.entity_name.as_deref())
            );
            Ok(0)
        }
        ConfigAction::Describe { all } => {
            // Entities to show: the named one, the default, or every entity of the type.
            let entities: Vec<Option<String>> = match (&command.entity_name, command.entity_default)
            {
                (Some(name), _) => vec![Some(name.clone())],
                (None, true) => vec![None],
                (None, false) => match entity_type {
                    EntityType::Topics => {
                        let mut names: Vec<String> = admin
                            .list_topics(true)
                            .await
                            .map_err(ToolError::Client)?
                            .into_iter()
                            .map(|t| t.name)
                            .collect();
                        names.sort();
                        names.into_iter().map(Some).collect()
                    }
                    _ => {
                        let mut ids: Vec<Option<String>> = admin
                            .describe_cluster()
                            .await
                            .map_err(ToolError::Client)?
                            .brokers
                            .iter()
                            .map(|b| Some(b.node_id.to_string()))
                            .collect();
                        if entity_type == EntityType::Brokers {
                            ids.push(None);
                        }
                        ids
                    }
                },
            };
            let mut documents = Vec::new();
            for entity in entities {
                let target = resource(entity_type, entity.as_deref().unwrap_or(""))?;
                let answers = admin
                    .describe_configs(std::slice::from_ref(&target), None)
                    .await
                    .map_err(ToolError::Client)?;
                let entries = match answers.get(&target) {
                    Some(Ok(entries)) => entries.clone(),
                    Some(Err(e)) => return Err(failure(e)),
                    None => Vec::new(),
                };
                let lines: Vec<ConfigLine> = entries
                    .iter()
                    .filter(|e| shown(entity_type, entity.is_none(), *all, e))
                    .map(line)
                    .collect();
                match command.output {
                    OutputFormat::Text => {
                        let _ = write!(
                            out,
                            "{}",
                            describe_text(entity_type, entity.as_deref(), *all, &lines)
                        );
                    }
                    OutputFormat::Json => documents.push(json!({
                        "entity_type": entity_type.name(),
                        "entity_name": entity,
                        "configs": lines.iter().map(|l| json!({
                            "name": l.name,
                            "value": l.value,
                            "sensitive": l.sensitive,
                            "synonyms": l.synonyms.iter().map(|(source, name, value)| json!({
                                "source": source, "name": name, "value": value,
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })),
                }
            }
            if command.output == OutputFormat::Json {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&documents).unwrap_or_default()
                );
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_kafkas() {
        assert_eq!(source_name(1), "DYNAMIC_TOPIC_CONFIG");
        assert_eq!(source_name(5), "DEFAULT_CONFIG");
        assert_eq!(source_name(99), "UNKNOWN");
    }

    #[test]
    fn describe_without_all_shows_the_entitys_own_settings() {
        let entry = |source| ConfigEntry {
            name: "retention.ms".into(),
            value: Some("1".into()),
            read_only: false,
            source,
            is_sensitive: false,
            synonyms: vec![],
        };
        assert!(shown(EntityType::Topics, false, false, &entry(1)));
        assert!(!shown(EntityType::Topics, false, false, &entry(5)));
        assert!(shown(EntityType::Topics, false, true, &entry(5)));
        assert!(shown(EntityType::Brokers, true, false, &entry(3)));
        assert!(!shown(EntityType::Brokers, false, false, &entry(3)));
    }
}
