//! The admin client: topics, partitions, configs, offsets, records, log dirs and groups, each
//! call retried on retriable errors until `default.api.timeout.ms`.
//!
//! Results that can fail per resource (one topic of several already exists, one partition has
//! no leader) come back as a map from the resource to its own `Result`, so one bad name does not
//! hide the others' outcomes, which is what the `kafka-*` tools print.
//!
//! - [`topics`]: create/delete/list/describe topics, create partitions.
//! - [`configs`]: describe and incrementally alter configs.
//! - [`offsets`]: list offsets, delete records.
//! - [`groups`]: coordinator lookup, list/describe/delete groups, group offsets.

pub mod configs;
pub mod groups;
pub mod offsets;
pub mod topics;

use std::collections::BTreeMap;

use kafka_protocol::messages::{
    DescribeClusterRequest, DescribeLogDirsRequest, DescribeLogDirsResponse,
};

use crate::cluster::{BrokerInfo, Cluster, TopicPartition};
use crate::config::ClientConfig;
use crate::error::ClientError;

pub use configs::{AlterConfigOp, AlterOpType, ConfigEntry, ConfigResource, ConfigResourceType};
pub use groups::{GroupDescription, GroupListing, GroupMember, OffsetAndMetadata};
pub use offsets::{ListOffsetsResult, OffsetSpec};
pub use topics::{EligibleLeaders, NewTopic, TopicListing};

/// Per-resource outcomes of a call that can partly fail.
pub type Outcomes<K, T = ()> = BTreeMap<K, Result<T, ClientError>>;

/// An admin client on a shared [`Cluster`].
#[derive(Debug, Clone)]
pub struct AdminClient {
    cluster: Cluster,
}

/// The cluster as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: Vec<BrokerInfo>,
}

/// One log directory of one broker, as DescribeLogDirs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirDescription {
    pub log_dir: String,
    pub error_code: i16,
    /// -1 when the broker does not report it.
    pub total_bytes: i64,
    pub usable_bytes: i64,
    pub replicas: BTreeMap<TopicPartition, ReplicaInfo>,
}

/// One replica in a log directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaInfo {
    pub size_bytes: i64,
    pub offset_lag: i64,
    pub is_future: bool,
}

impl AdminClient {
    /// Bootstraps a new cluster connection.
    pub async fn connect(config: ClientConfig) -> Result<AdminClient, ClientError> {
        Ok(AdminClient {
            cluster: Cluster::connect(config).await?,
        })
    }

    /// An admin client sharing `cluster`'s connections.
    pub fn new(cluster: Cluster) -> AdminClient {
        AdminClient { cluster }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    fn timeout_ms(&self) -> i32 {
        i32::try_from(self.cluster.config().request_timeout_ms).unwrap_or(i32::MAX)
    }

    /// DescribeCluster: the cluster id, controller and brokers.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, ClientError> {
        self.cluster
            .retry(|| async {
                let response = self
                    .cluster
                    .call_any(&DescribeClusterRequest::default())
                    .await?;
                ClientError::check(response.error_code, response.error_message.as_deref())?;
                Ok(ClusterDescription {
                    cluster_id: response.cluster_id.to_string(),
                    controller_id: response.controller_id.0,
                    brokers: response
                        .brokers
                        .into_iter()
                        .map(|b| BrokerInfo {
                            node_id: b.broker_id.0,
                            host: b.host.to_string(),
                            port: b.port,
                            rack: b.rack.map(|r| r.to_string()),
                        })
                        .collect(),
                })
            })
            .await
    }

    /// DescribeLogDirs on each broker in `node_ids` (all known brokers when empty), for all
    /// partitions.
    pub async fn describe_log_dirs(
        &self,
        node_ids: &[i32],
    ) -> Result<BTreeMap<i32, Vec<LogDirDescription>>, ClientError> {
        let nodes: Vec<i32> = if node_ids.is_empty() {
            self.cluster.metadata().brokers.keys().copied().collect()
        } else {
            node_ids.to_vec()
        };
        let mut out = BTreeMap::new();
        for node_id in nodes {
            let response: DescribeLogDirsResponse = self
                .cluster
                .retry(|| async {
                    let request = DescribeLogDirsRequest::default().with_topics(None);
                    let response = self.cluster.call_node(node_id, &request).await?;
                    ClientError::check(response.error_code, None)?;
                    Ok(response)
                })
                .await?;
            let dirs = response
                .results
                .into_iter()
                .map(|dir| LogDirDescription {
                    log_dir: dir.log_dir.to_string(),
                    error_code: dir.error_code,
                    total_bytes: dir.total_bytes,
                    usable_bytes: dir.usable_bytes,
                    replicas: dir
                        .topics
                        .into_iter()
                        .flat_map(|topic| {
                            let name = topic.name.0.to_string();
                            topic.partitions.into_iter().map(move |p| {
                                (
                                    TopicPartition::new(name.clone(), p.partition_index),
                                    ReplicaInfo {
                                        size_bytes: p.partition_size,
                                        offset_lag: p.offset_lag,
                                        is_future: p.is_future_key,
                                    },
                                )
                            })
                        })
                        .collect(),
                })
                .collect();
            out.insert(node_id, dirs);
        }
        Ok(out)
    }

    /// Groups `partitions` by the node id leading each (metadata refreshed as needed).
    pub(crate) async fn by_leader(
        &self,
        partitions: impl Iterator<Item = &TopicPartition>,
    ) -> Result<
        (
            BTreeMap<i32, Vec<TopicPartition>>,
            Outcomes<TopicPartition, ()>,
        ),
        ClientError,
    > {
        let partitions: Vec<TopicPartition> = partitions.cloned().collect();
        let mut topics: Vec<String> = partitions.iter().map(|tp| tp.topic.clone()).collect();
        topics.sort();
        topics.dedup();
        let mut unknown = BTreeMap::new();
        // A missing topic fails only its own partitions.
        let metadata = match self.cluster.fresh_metadata(&topics, false).await {
            Ok(m) => m,
            Err(_) => self.cluster.refresh_metadata(Some(&topics)).await?,
        };
        let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
        for tp in partitions {
            match metadata.leader(&tp) {
                Ok(leader) => by_leader.entry(leader).or_default().push(tp),
                Err(err) => {
                    unknown.insert(tp, Err(err));
                }
            }
        }
        Ok((by_leader, unknown))
    }
}

/// `name` as the codec's topic name type.
pub(crate) fn topic_name(name: &str) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(kafka_protocol::protocol::StrBytes::from_string(
        name.to_string(),
    ))
}
