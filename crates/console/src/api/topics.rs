//! Topics: list (search, sort, paginate), create, detail (partitions and configs), delete,
//! and config editing. The `*_topic*` functions are shared with the HTML pages; the async
//! handlers below them are the `/api/v1/topics...` routes.
//!
//! Create, delete and config changes go through the same controller calls the CreateTopics,
//! DeleteTopics and IncrementalAlterConfigs handlers use, so validation and its messages are
//! Kafka's.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use fjord_broker::BrokerContext;
use fjord_metadata::{
    AlterConfigOp, ConfigResource, ConfigResourceType, DeleteTopicTarget, IncrementalAlterConfig,
    NewTopic,
};
use serde::{Deserialize, Serialize};

use super::{json_body, param, Params};
use crate::error::{ConsoleError, Result};
use crate::model::{is_internal, Snapshot, TopicSummary};
use crate::state::ConsoleState;

/// Topics per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 1000;

/// The topics list's parameters.
#[derive(Debug, Clone)]
pub struct TopicQuery {
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
    pub sort: TopicSort,
    pub descending: bool,
    /// 1-based.
    pub page: usize,
    pub per_page: usize,
    pub include_internal: bool,
}

impl Default for TopicQuery {
    fn default() -> Self {
        TopicQuery {
            search: None,
            sort: TopicSort::Name,
            descending: false,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            include_internal: true,
        }
    }
}

/// Sort keys of the topics list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicSort {
    Name,
    Partitions,
    ReplicationFactor,
    Messages,
    Size,
}

impl std::str::FromStr for TopicSort {
    type Err = ConsoleError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "name" => TopicSort::Name,
            "partitions" => TopicSort::Partitions,
            "replication_factor" => TopicSort::ReplicationFactor,
            "messages" => TopicSort::Messages,
            "size" => TopicSort::Size,
            other => {
                return Err(ConsoleError::BadRequest(format!(
                "sort={other:?}: expected name, partitions, replication_factor, messages or size"
            )))
            }
        })
    }
}

impl TopicSort {
    pub fn as_str(self) -> &'static str {
        match self {
            TopicSort::Name => "name",
            TopicSort::Partitions => "partitions",
            TopicSort::ReplicationFactor => "replication_factor",
            TopicSort::Messages => "messages",
            TopicSort::Size => "size",
        }
    }
}

impl TryFrom<&Params> for TopicQuery {
    type Error = ConsoleError;

    fn try_from(params: &Params) -> Result<Self> {
        let order: Option<String> = param(params, "order")?;
        let descending = match order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(ConsoleError::BadRequest(format!(
                    "order={other:?}: expected asc or desc"
                )))
            }
        };
        Ok(TopicQuery {
            search: param(params, "q")?,
            sort: param(params, "sort")?.unwrap_or(TopicSort::Name),
            descending,
            page: param::<usize>(params, "page")?.unwrap_or(1).max(1),
            per_page: param::<usize>(params, "per_page")?
                .unwrap_or(DEFAULT_PER_PAGE)
                .clamp(1, MAX_PER_PAGE),
            include_internal: param(params, "internal")?.unwrap_or(true),
        })
    }
}

/// One page of the topics list.
#[derive(Debug, Clone, Serialize)]
pub struct TopicPage {
    /// Topics matching the search (all pages).
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub topics: Vec<TopicSummary>,
}

pub fn list_topics(ctx: &BrokerContext, query: &TopicQuery) -> TopicPage {
    let snapshot = Snapshot::take(ctx);
    let needle = query.search.as_ref().map(|s| s.to_lowercase());
    let mut rows: Vec<TopicSummary> = snapshot
        .image
        .topics()
        .filter(|t| query.include_internal || !is_internal(&t.name))
        .filter(|t| {
            needle
                .as_ref()
                .is_none_or(|n| t.name.to_lowercase().contains(n))
        })
        .map(|t| snapshot.topic_summary(t))
        .collect();
    // Ties stay in name order whichever way the key sorts.
    let key = |t: &TopicSummary| -> i64 {
        match query.sort {
            TopicSort::Name => 0,
            TopicSort::Partitions => t.partitions as i64,
            TopicSort::ReplicationFactor => t.replication_factor as i64,
            TopicSort::Messages => t.message_count,
            TopicSort::Size => t.size_bytes as i64,
        }
    };
    rows.sort_by(|a, b| {
        let by_key = key(a).cmp(&key(b));
        let by_key = if query.descending {
            by_key.reverse()
        } else {
            by_key
        };
        let by_name = if query.descending && query.sort == TopicSort::Name {
            b.name.cmp(&a.name)
        } else {
            a.name.cmp(&b.name)
        };
        by_key.then(by_name)
    });
    let total = rows.len();
    let topics = rows
        .into_iter()
        .skip((query.page - 1).saturating_mul(query.per_page))
        .take(query.per_page)
        .collect();
    TopicPage {
        total,
        page: query.page,
        per_page: query.per_page,
        topics,
    }
}

/// A create request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTopic {
    pub name: String,
    /// Absent: `num.partitions`.
    #[serde(default)]
    pub partitions: Option<i32>,
    /// Absent: `default.replication.factor`.
    #[serde(default)]
    pub replication_factor: Option<i16>,
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedTopic {
    pub name: String,
    pub topic_id: String,
    pub partitions: i32,
    pub replication_factor: i16,
}

pub async fn create_topic(ctx: &BrokerContext, request: CreateTopic) -> Result<CreatedTopic> {
    let topic = NewTopic {
        name: request.name,
        num_partitions: request.partitions.unwrap_or(-1),
        replication_factor: request.replication_factor.unwrap_or(-1),
        assignments: Vec::new(),
        configs: request
            .configs
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect(),
    };
    let created = ctx
        .controller
        .create_topics(vec![topic], false)
        .await
        .into_iter()
        .next()
        .ok_or(fjord_metadata::MetadataError::NotController)??;
    wait_until_hosted(ctx, &created.name, created.num_partitions).await;
    Ok(CreatedTopic {
        name: created.name,
        topic_id: created.topic_id.to_string(),
        partitions: created.num_partitions,
        replication_factor: created.replication_factor,
    })
}

/// How long a create waits for this broker to open the new partitions.
const HOSTING_WAIT: Duration = Duration::from_secs(5);

/// The replica manager opens a new topic's logs when it sees the next metadata image, a
/// moment after the controller answered. Waiting here (bounded; there is no notification to
/// wait on) means the page the person lands on, and a produce right after, find the
/// partitions in place rather than a transient "unknown partition".
async fn wait_until_hosted(ctx: &BrokerContext, topic: &str, partitions: i32) {
    let node_id = ctx.config.node_id;
    let deadline = tokio::time::Instant::now() + HOSTING_WAIT;
    loop {
        let image = ctx.controller.image();
        let Some(t) = image.topic(topic) else { return };
        let hosted = t
            .partitions
            .iter()
            .filter(|(_, p)| p.replicas.contains(&node_id))
            .all(|(index, _)| ctx.replica_manager.partition(topic, *index).is_ok());
        if hosted || partitions <= 0 || tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn delete_topic(ctx: &BrokerContext, name: &str) -> Result<()> {
    ctx.controller
        .delete_topics(vec![DeleteTopicTarget::Name(name.to_string())])
        .await
        .into_iter()
        .next()
        .ok_or(fjord_metadata::MetadataError::NotController)??;
    Ok(())
}

/// One partition of the topic page.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionView {
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// None when this broker does not host the partition.
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    pub log_end_offset: Option<i64>,
    pub size_bytes: Option<u64>,
    pub message_count: Option<i64>,
}

/// One topic config.
#[derive(Debug, Clone, Serialize)]
pub struct TopicConfig {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's source names: DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG, ...
    pub source: &'static str,
    pub is_default: bool,
    pub read_only: bool,
    pub sensitive: bool,
    pub documentation: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicDetail {
    #[serde(flatten)]
    pub summary: TopicSummary,
    pub partitions: Vec<PartitionView>,
    pub configs: Vec<TopicConfig>,
}

pub fn topic_configs(ctx: &BrokerContext, name: &str) -> Result<Vec<TopicConfig>> {
    let image = ctx.controller.image();
    let resolved = ctx.controller.describe_topic_configs(&image, name)?;
    Ok(resolved
        .into_iter()
        .map(|c| TopicConfig {
            is_default: c.is_default(),
            source: match c.source {
                fjord_metadata::ConfigSource::DynamicTopic => "DYNAMIC_TOPIC_CONFIG",
                fjord_metadata::ConfigSource::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
                fjord_metadata::ConfigSource::DynamicDefaultBroker => {
                    "DYNAMIC_DEFAULT_BROKER_CONFIG"
                }
                fjord_metadata::ConfigSource::StaticBroker => "STATIC_BROKER_CONFIG",
                fjord_metadata::ConfigSource::Default => "DEFAULT_CONFIG",
            },
            value: if c.is_sensitive { None } else { c.value },
            name: c.name,
            read_only: c.read_only,
            sensitive: c.is_sensitive,
            documentation: c.documentation,
        })
        .collect())
}

pub fn topic_detail(ctx: &BrokerContext, name: &str) -> Result<TopicDetail> {
    let snapshot = Snapshot::take(ctx);
    let Some(topic) = snapshot.image.topic(name) else {
        return Err(ConsoleError::NotFound(format!(
            "topic {name:?} does not exist"
        )));
    };
    let partitions = topic
        .partitions
        .iter()
        .map(|(index, p)| {
            let stats = snapshot.partition_stats(name, *index);
            PartitionView {
                partition: *index,
                leader: p.leader,
                leader_epoch: p.leader_epoch,
                replicas: p.replicas.clone(),
                isr: p.isr.clone(),
                log_start_offset: stats.map(|s| s.log_start_offset),
                high_watermark: stats.map(|s| s.high_watermark),
                log_end_offset: stats.map(|s| s.log_end_offset),
                size_bytes: stats.map(|s| s.size_bytes),
                message_count: stats.map(|s| s.message_count()),
            }
        })
        .collect();
    Ok(TopicDetail {
        summary: snapshot.topic_summary(topic),
        partitions,
        configs: topic_configs(ctx, name)?,
    })
}

/// A config edit: keys to set, keys to return to their default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigChanges {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub delete: Vec<String>,
}

pub async fn change_topic_configs(
    ctx: &BrokerContext,
    name: &str,
    changes: ConfigChanges,
) -> Result<()> {
    if ctx.controller.image().topic(name).is_none() {
        return Err(ConsoleError::NotFound(format!(
            "topic {name:?} does not exist"
        )));
    }
    let ops: Vec<IncrementalAlterConfig> = changes
        .set
        .into_iter()
        .map(|(name, value)| IncrementalAlterConfig {
            name,
            op: AlterConfigOp::Set,
            value: Some(value),
        })
        .chain(
            changes
                .delete
                .into_iter()
                .map(|name| IncrementalAlterConfig {
                    name,
                    op: AlterConfigOp::Delete,
                    value: None,
                }),
        )
        .collect();
    if ops.is_empty() {
        return Err(ConsoleError::BadRequest(
            "nothing to change: give `set` and/or `delete`".into(),
        ));
    }
    let resource = ConfigResource {
        resource_type: ConfigResourceType::Topic,
        name: name.to_string(),
    };
    ctx.controller
        .incremental_alter_configs(vec![(resource, ops)], false)
        .await
        .into_iter()
        .next()
        .ok_or(fjord_metadata::MetadataError::NotController)??;
    Ok(())
}

pub async fn list(
    State(state): State<ConsoleState>,
    Query(params): Query<Params>,
) -> Result<Json<TopicPage>> {
    let query = TopicQuery::try_from(&params)?;
    Ok(Json(list_topics(&state.ctx, &query)))
}

pub async fn create(
    State(state): State<ConsoleState>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedTopic>)> {
    let request: CreateTopic = json_body(&body)?;
    let created = create_topic(&state.ctx, request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn detail(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
) -> Result<Json<TopicDetail>> {
    Ok(Json(topic_detail(&state.ctx, &topic)?))
}

pub async fn delete(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
) -> Result<StatusCode> {
    delete_topic(&state.ctx, &topic).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct ConfigList {
    pub configs: Vec<TopicConfig>,
}

pub async fn configs(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
) -> Result<Json<ConfigList>> {
    Ok(Json(ConfigList {
        configs: topic_configs(&state.ctx, &topic)?,
    }))
}

pub async fn alter_configs(
    State(state): State<ConsoleState>,
    Path(topic): Path<String>,
    body: Bytes,
) -> Result<Json<ConfigList>> {
    let changes: ConfigChanges = json_body(&body)?;
    change_topic_configs(&state.ctx, &topic, changes).await?;
    Ok(Json(ConfigList {
        configs: topic_configs(&state.ctx, &topic)?,
    }))
}
