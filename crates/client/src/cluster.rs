//! The client's view of the cluster: bootstrap, Metadata, one connection per broker node id,
//! and the retry loop every higher layer uses.
//!
//! Metadata is an immutable [`ClusterMetadata`] snapshot behind an `Arc`, replaced as a whole
//! on refresh so readers never see half an update. It is refreshed when it is older than
//! `metadata.max.age.ms`, when a caller asks for a topic it does not know, and when a request
//! fails in a way that means the view is stale ([`ClientError::needs_metadata_refresh`]:
//! NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, a lost connection, ...).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};
use parking_lot::RwLock;
use uuid::Uuid;

use crate::config::ClientConfig;
use crate::connection::Connection;
use crate::error::ClientError;

/// A topic name and partition index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A broker as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerInfo {
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    /// -1 when there is no leader.
    pub leader_id: i32,
    pub leader_epoch: i32,
    pub replica_nodes: Vec<i32>,
    pub isr_nodes: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    pub error_code: i16,
}

/// One topic as Metadata describes it; partitions are sorted by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    pub error_code: i16,
    pub partitions: Vec<PartitionMetadata>,
}

impl TopicMetadata {
    pub fn partition(&self, partition: i32) -> Option<&PartitionMetadata> {
        self.partitions.iter().find(|p| p.partition == partition)
    }
}

/// An immutable snapshot of the cluster.
#[derive(Debug, Clone)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicMetadata>,
    /// When this snapshot was fetched.
    pub fetched_at: Instant,
}

impl ClusterMetadata {
    fn empty() -> ClusterMetadata {
        ClusterMetadata {
            cluster_id: None,
            controller_id: -1,
            brokers: BTreeMap::new(),
            topics: BTreeMap::new(),
            fetched_at: Instant::now(),
        }
    }

    /// The node id leading `tp`, if known and led.
    pub fn leader(&self, tp: &TopicPartition) -> Result<i32, ClientError> {
        let topic = self
            .topics
            .get(&tp.topic)
            .ok_or_else(|| ClientError::Kafka {
                error: kafka_protocol::ResponseError::UnknownTopicOrPartition,
                message: Some(format!("topic {} not in metadata", tp.topic)),
            })?;
        let partition = topic
            .partition(tp.partition)
            .ok_or_else(|| ClientError::Kafka {
                error: kafka_protocol::ResponseError::UnknownTopicOrPartition,
                message: Some(format!("partition {tp} not in metadata")),
            })?;
        if partition.leader_id < 0 {
            return Err(ClientError::Kafka {
                error: kafka_protocol::ResponseError::LeaderNotAvailable,
                message: Some(format!("no leader for {tp}")),
            });
        }
        Ok(partition.leader_id)
    }

    /// Number of partitions of `topic`, if known.
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        self.topics.get(topic).map(|t| t.partitions.len())
    }

    fn apply(&self, response: MetadataResponse, all_topics: bool) -> ClusterMetadata {
        let brokers = response
            .brokers
            .into_iter()
            .map(|b| {
                let info = BrokerInfo {
                    node_id: b.node_id.0,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.map(|r| r.to_string()),
                };
                (info.node_id, info)
            })
            .collect();
        // A partial refresh keeps what it did not ask about.
        let mut topics = if all_topics {
            BTreeMap::new()
        } else {
            self.topics.clone()
        };
        for t in response.topics {
            let Some(name) = t.name else { continue };
            let name = name.0.to_string();
            let unknown = kafka_protocol::ResponseError::UnknownTopicOrPartition.code();
            if t.error_code == unknown {
                topics.remove(&name);
                continue;
            }
            let mut partitions: Vec<PartitionMetadata> = t
                .partitions
                .into_iter()
                .map(|p| PartitionMetadata {
                    partition: p.partition_index,
                    leader_id: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replica_nodes: p.replica_nodes.into_iter().map(|n| n.0).collect(),
                    isr_nodes: p.isr_nodes.into_iter().map(|n| n.0).collect(),
                    offline_replicas: p.offline_replicas.into_iter().map(|n| n.0).collect(),
                    error_code: p.error_code,
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            topics.insert(
                name.clone(),
                TopicMetadata {
                    name,
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    error_code: t.error_code,
                    partitions,
                },
            );
        }
        ClusterMetadata {
            cluster_id: response.cluster_id.map(|c| c.to_string()),
            controller_id: response.controller_id.0,
            brokers,
            topics,
            fetched_at: Instant::now(),
        }
    }
}

struct Inner {
    config: ClientConfig,
    metadata: RwLock<Arc<ClusterMetadata>>,
    /// One connection per broker node id.
    connections: tokio::sync::Mutex<HashMap<i32, Arc<Connection>>>,
    /// The connection made to a bootstrap address, used until node connections exist.
    bootstrap: tokio::sync::Mutex<Option<Arc<Connection>>>,
}

/// A handle on the cluster, cheap to clone and shared by admin, producer and consumer.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("bootstrap_servers", &self.inner.config.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to the first reachable bootstrap server and fetches the broker list.
    ///
    /// Fails with [`ClientError::BootstrapUnreachable`], naming every address tried, when none
    /// answers within `socket.connection.setup.timeout.ms`.
    pub async fn connect(config: ClientConfig) -> Result<Cluster, ClientError> {
        if config.bootstrap_servers.is_empty() {
            return Err(ClientError::InvalidConfig {
                key: "bootstrap.servers".to_string(),
                message: "no address given".to_string(),
            });
        }
        let cluster = Cluster {
            inner: Arc::new(Inner {
                config,
                metadata: RwLock::new(Arc::new(ClusterMetadata::empty())),
                connections: tokio::sync::Mutex::new(HashMap::new()),
                bootstrap: tokio::sync::Mutex::new(None),
            }),
        };
        cluster.bootstrap_connection().await?;
        cluster.refresh_metadata(Some(&[])).await?;
        Ok(cluster)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The current metadata snapshot (possibly stale; see [`Cluster::fresh_metadata`]).
    pub fn metadata(&self) -> Arc<ClusterMetadata> {
        self.inner.metadata.read().clone()
    }

    async fn bootstrap_connection(&self) -> Result<Arc<Connection>, ClientError> {
        let mut slot = self.inner.bootstrap.lock().await;
        if let Some(conn) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(conn.clone());
        }
        let mut last = None;
        for addr in &self.inner.config.bootstrap_servers {
            match Connection::connect(addr, &self.inner.config).await {
                Ok(conn) => {
                    let conn = Arc::new(conn);
                    *slot = Some(conn.clone());
                    return Ok(conn);
                }
                Err(err) => {
                    tracing::debug!(%addr, %err, "bootstrap server unreachable");
                    last = Some(err);
                }
            }
        }
        Err(ClientError::BootstrapUnreachable {
            tried: self.inner.config.bootstrap_servers.clone(),
            last: Box::new(last.unwrap_or(ClientError::Closed)),
        })
    }

    /// A connection to any broker: a known node first, the bootstrap servers otherwise.
    pub async fn any_connection(&self) -> Result<Arc<Connection>, ClientError> {
        let nodes: Vec<i32> = self.metadata().brokers.keys().copied().collect();
        for node_id in nodes {
            if let Ok(conn) = self.connection(node_id).await {
                return Ok(conn);
            }
        }
        self.bootstrap_connection().await
    }

    /// The connection to broker `node_id`, opened (or reopened) as needed.
    pub async fn connection(&self, node_id: i32) -> Result<Arc<Connection>, ClientError> {
        if let Some(conn) = self
            .inner
            .connections
            .lock()
            .await
            .get(&node_id)
            .filter(|c| !c.is_closed())
        {
            return Ok(conn.clone());
        }
        let broker = self.metadata().brokers.get(&node_id).cloned();
        let broker = broker.ok_or_else(|| ClientError::Kafka {
            error: kafka_protocol::ResponseError::BrokerNotAvailable,
            message: Some(format!("broker {node_id} not in metadata")),
        })?;
        // Connect without holding the map, so a slow or dead broker does not stall requests
        // to the others.
        let conn = Arc::new(Connection::connect(&broker.addr(), &self.inner.config).await?);
        let mut connections = self.inner.connections.lock().await;
        match connections.get(&node_id).filter(|c| !c.is_closed()) {
            // Another task connected first: keep one connection per broker.
            Some(existing) => {
                conn.close();
                Ok(existing.clone())
            }
            None => {
                connections.insert(node_id, conn.clone());
                Ok(conn)
            }
        }
    }

    /// Fetches metadata for `topics` (`None`: all topics, `Some(&[])`: brokers only) and
    /// installs it. Does not create topics.
    pub async fn refresh_metadata(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Arc<ClusterMetadata>, ClientError> {
        self.refresh_metadata_with(topics, false).await
    }

    async fn refresh_metadata_with(
        &self,
        topics: Option<&[String]>,
        allow_auto_topic_creation: bool,
    ) -> Result<Arc<ClusterMetadata>, ClientError> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|n| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(allow_auto_topic_creation);
        let conn = self.any_connection().await?;
        let response = match conn.call(&request).await {
            Ok(r) => r,
            Err(err) => {
                conn.close();
                return Err(err);
            }
        };
        let mut guard = self.inner.metadata.write();
        let updated = Arc::new(guard.apply(response, topics.is_none()));
        *guard = updated.clone();
        Ok(updated)
    }

    /// Metadata that covers `topics` with a leader for every partition, refreshed if stale or
    /// incomplete, retried until `default.api.timeout.ms`. With `auto_create`, asks the broker
    /// to create missing topics (`auto.create.topics.enable`), as producers do.
    pub async fn fresh_metadata(
        &self,
        topics: &[String],
        auto_create: bool,
    ) -> Result<Arc<ClusterMetadata>, ClientError> {
        let timeout = Duration::from_millis(self.inner.config.default_api_timeout_ms);
        self.fresh_metadata_until(topics, auto_create, Instant::now() + timeout)
            .await
    }

    /// [`Cluster::fresh_metadata`] retried until `deadline` (the producer's `max.block.ms`).
    pub async fn fresh_metadata_until(
        &self,
        topics: &[String],
        auto_create: bool,
        deadline: Instant,
    ) -> Result<Arc<ClusterMetadata>, ClientError> {
        let max_age = Duration::from_millis(self.inner.config.metadata_max_age_ms);
        let current = self.metadata();
        if current.fetched_at.elapsed() < max_age && covers(&current, topics).is_ok() {
            return Ok(current);
        }
        let names = topics.to_vec();
        self.retry_until(deadline, || async {
            let metadata = self
                .refresh_metadata_with(Some(&names), auto_create)
                .await?;
            covers(&metadata, &names)?;
            Ok(metadata)
        })
        .await
    }

    /// Sends `request` to broker `node_id`; a failed connection is dropped so the next call
    /// reconnects.
    pub async fn call_node<R: Request>(
        &self,
        node_id: i32,
        request: &R,
    ) -> Result<R::Response, ClientError> {
        let conn = self.connection(node_id).await?;
        conn.call(request).await
    }

    /// Sends `request` to any broker.
    pub async fn call_any<R: Request>(&self, request: &R) -> Result<R::Response, ClientError> {
        let conn = self.any_connection().await?;
        conn.call(request).await
    }

    /// Sends `request` to the active controller as Metadata names it (any broker forwards
    /// controller requests in KRaft mode, so fall back to any broker).
    pub async fn call_controller<R: Request>(
        &self,
        request: &R,
    ) -> Result<R::Response, ClientError> {
        let controller = self.metadata().controller_id;
        if controller >= 0 {
            if let Ok(conn) = self.connection(controller).await {
                return conn.call(request).await;
            }
        }
        self.call_any(request).await
    }

    /// Runs `attempt` until it succeeds, fails with a non-retriable error, or
    /// `default.api.timeout.ms` passes; between attempts refreshes metadata when the error calls
    /// for it and sleeps `retry.backoff.ms`, doubling per attempt up to `retry.backoff.max.ms`.
    pub async fn retry<T, F, Fut>(&self, attempt: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let timeout = Duration::from_millis(self.inner.config.default_api_timeout_ms);
        self.retry_until(Instant::now() + timeout, attempt).await
    }

    /// [`Cluster::retry`] with an explicit deadline.
    pub async fn retry_until<T, F, Fut>(
        &self,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let started = Instant::now();
        let mut attempts = 0u32;
        loop {
            let err = match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) if !err.is_retriable() => return Err(err),
                Err(err) => err,
            };
            let backoff = self.inner.config.retry_backoff_for(attempts);
            attempts = attempts.saturating_add(1);
            if Instant::now() + backoff >= deadline {
                return Err(ClientError::DeadlineExceeded {
                    timeout_ms: started.elapsed().as_millis() as u64,
                    last: Box::new(err),
                });
            }
            tracing::debug!(%err, "retrying");
            tokio::time::sleep(backoff).await;
            if err.needs_metadata_refresh() {
                self.drop_closed_connections().await;
                // A failed refresh is retried by the next attempt.
                let _ = self.refresh_metadata(Some(&[])).await;
            }
        }
    }

    async fn drop_closed_connections(&self) {
        self.inner
            .connections
            .lock()
            .await
            .retain(|_, conn| !conn.is_closed());
    }

    /// Closes every connection.
    pub async fn close(&self) {
        for conn in self.inner.connections.lock().await.values() {
            conn.close();
        }
        if let Some(conn) = self.inner.bootstrap.lock().await.as_ref() {
            conn.close();
        }
    }
}

/// Whether `metadata` knows every topic in `topics` and has a leader for each partition.
fn covers(metadata: &ClusterMetadata, topics: &[String]) -> Result<(), ClientError> {
    for name in topics {
        let topic = metadata
            .topics
            .get(name)
            .ok_or_else(|| ClientError::Kafka {
                error: kafka_protocol::ResponseError::UnknownTopicOrPartition,
                message: Some(format!("topic {name} does not exist")),
            })?;
        ClientError::check(topic.error_code, Some(name))?;
        if topic.partitions.is_empty() {
            return Err(ClientError::Kafka {
                error: kafka_protocol::ResponseError::LeaderNotAvailable,
                message: Some(format!("topic {name} has no partitions yet")),
            });
        }
        for partition in &topic.partitions {
            metadata.leader(&TopicPartition::new(name.clone(), partition.partition))?;
        }
    }
    Ok(())
}
