//! The group coordinator runtime: serves the classic consumer-group APIs from the pure state
//! machine in `fjord-coordinator`, one [`Shard`] per `__consumer_offsets` partition this node
//! leads.
//!
//! - Creating `__consumer_offsets`, following the metadata image and starting or closing a
//!   shard per led partition is [`crate::coordinator_host`]'s work; this module gives it the
//!   topic's settings and the shard factory.
//! - `__consumer_offsets` is created through the controller, like any CreateTopics, the first
//!   time a group needs it (FindCoordinator or a group request), with
//!   `offsets.topic.num.partitions` partitions, `offsets.topic.replication.factor` replicas,
//!   `cleanup.policy=compact` and `segment.bytes=offsets.topic.segment.bytes`. Until it exists
//!   requests answer COORDINATOR_NOT_AVAILABLE.
//! - A group lives in partition `abs(hashCode(group_id)) % partition_count` (`fjord_coordinator::partitioner`);
//!   its coordinator is that partition's leader. A request for a partition led elsewhere
//!   answers NOT_COORDINATOR.
//! - The runtime follows the metadata image: a partition this node starts leading gets a shard
//!   that replays the partition before it serves (COORDINATOR_LOAD_IN_PROGRESS meanwhile); a
//!   partition it stops leading loses its shard, and the requests parked there are answered
//!   NOT_COORDINATOR.
//! - Each shard has a timer task (`poll` every [`shard::TICK`]); on shutdown every parked
//!   request is answered COORDINATOR_NOT_AVAILABLE so shutdown never waits for a rebalance.

pub mod error;
pub mod records;
pub mod shard;

use std::sync::Arc;

use fjord_config::ServerConfig;
use fjord_coordinator::{ConsumerGroupConfig, GroupConfig};
use fjord_metadata::topic_name::GROUP_METADATA_TOPIC;
use fjord_metadata::Controller;

pub use error::GroupRuntimeError;
pub use shard::{OffsetExpiry, Parked, ParkedAnswer, ParkedKind, Shard};

use crate::coordinator_host::{CoordinatorHost, HostError, HostedShard, InternalTopic};
use crate::replica::{Partition, ReplicaManager};

/// Settings of the runtime, from the server configuration.
#[derive(Debug, Clone)]
pub struct GroupRuntimeConfig {
    pub node_id: i32,
    pub group: GroupConfig,
    /// `group.consumer.*`: the KIP-848 consumer protocol.
    pub consumer: ConsumerGroupConfig,
    /// Whether `group.coordinator.rebalance.protocols` lists `consumer`; without it
    /// ConsumerGroupHeartbeat answers UNSUPPORTED_VERSION, as Kafka does.
    pub consumer_protocol_enabled: bool,
    pub offsets_topic_num_partitions: i32,
    pub offsets_topic_replication_factor: i16,
    pub offsets_topic_segment_bytes: u64,
    pub offset_expiry: OffsetExpiry,
}

impl From<&ServerConfig> for GroupRuntimeConfig {
    fn from(config: &ServerConfig) -> Self {
        GroupRuntimeConfig {
            node_id: config.node_id,
            group: GroupConfig {
                group_min_session_timeout_ms: config.group_min_session_timeout_ms,
                group_max_session_timeout_ms: config.group_max_session_timeout_ms,
                group_max_size: usize::try_from(config.group_max_size).unwrap_or(usize::MAX),
                group_initial_rebalance_delay_ms: i32::try_from(
                    config.group_initial_rebalance_delay_ms,
                )
                .unwrap_or(i32::MAX),
                ..GroupConfig::default()
            },
            consumer: ConsumerGroupConfig {
                group_consumer_session_timeout_ms: config.group_consumer_session_timeout_ms,
                group_consumer_heartbeat_interval_ms: config.group_consumer_heartbeat_interval_ms,
                ..ConsumerGroupConfig::default()
            },
            consumer_protocol_enabled: config
                .group_coordinator_rebalance_protocols
                .iter()
                .any(|p| p == "consumer"),
            offsets_topic_num_partitions: config.offsets_topic_num_partitions,
            offsets_topic_replication_factor: config.offsets_topic_replication_factor,
            offsets_topic_segment_bytes: config.offsets_topic_segment_bytes,
            offset_expiry: OffsetExpiry {
                retention_ms: config.offsets_retention_minutes.saturating_mul(60_000),
                check_interval_ms: config.offsets_retention_check_interval_ms.max(1),
            },
        }
    }
}

/// The shards of this node and the way to them. Shared as `Arc` through the `BrokerContext`.
pub struct GroupRuntime {
    config: GroupRuntimeConfig,
    host: Arc<CoordinatorHost<Shard>>,
}

impl HostedShard for Shard {
    fn partition_index(&self) -> i32 {
        Shard::partition_index(self)
    }

    fn partition(&self) -> &Arc<Partition> {
        Shard::partition(self)
    }

    fn run(self: Arc<Self>) -> impl std::future::Future<Output = ()> + Send + 'static {
        Shard::run(self)
    }

    fn close(&self, reason: HostError) {
        Shard::close(self, reason.into());
    }
}

impl From<HostError> for GroupRuntimeError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::NotCoordinator { partition } => {
                GroupRuntimeError::NotCoordinator { partition }
            }
            HostError::LoadInProgress { partition } => {
                GroupRuntimeError::LoadInProgress { partition }
            }
            HostError::CoordinatorNotAvailable => GroupRuntimeError::CoordinatorNotAvailable,
        }
    }
}

impl GroupRuntime {
    /// Starts loading the partitions this node leads and following the metadata image.
    pub fn start(
        config: GroupRuntimeConfig,
        controller: Arc<Controller>,
        replicas: Arc<ReplicaManager>,
    ) -> Arc<GroupRuntime> {
        let topic = InternalTopic {
            name: GROUP_METADATA_TOPIC,
            num_partitions: config.offsets_topic_num_partitions,
            replication_factor: config.offsets_topic_replication_factor,
            configs: vec![
                ("cleanup.policy".into(), Some("compact".into())),
                (
                    "segment.bytes".into(),
                    Some(config.offsets_topic_segment_bytes.to_string()),
                ),
                ("compression.type".into(), Some("producer".into())),
            ],
        };
        let shard_config = config.clone();
        let host = CoordinatorHost::start(
            topic,
            config.node_id,
            controller,
            replicas,
            move |index, partition| {
                Arc::new(Shard::new(
                    index,
                    partition,
                    shard_config.group.clone(),
                    shard_config.consumer.clone(),
                    shard_config.offset_expiry,
                ))
            },
        );
        Arc::new(GroupRuntime { config, host })
    }

    /// Answers every parked request, stops the timers and waits for the runtime's tasks.
    pub async fn shutdown(&self) {
        self.host.shutdown().await;
    }

    /// The `__consumer_offsets` partition of `group_id` under the current image, creating the
    /// topic first if needed.
    pub async fn partition_for(&self, group_id: &str) -> Result<i32, GroupRuntimeError> {
        Ok(self.host.partition_for(group_id).await?)
    }

    /// The node leading the `__consumer_offsets` partition of `group_id` (FindCoordinator).
    pub async fn coordinator_node(&self, group_id: &str) -> Result<i32, GroupRuntimeError> {
        Ok(self.host.coordinator_node(group_id).await?)
    }

    /// The shard serving `group_id` on this node.
    pub async fn shard_for(&self, group_id: &str) -> Result<Arc<Shard>, GroupRuntimeError> {
        Ok(self.host.shard_for(group_id).await?)
    }

    /// Whether the KIP-848 consumer protocol is served (`group.coordinator.rebalance.protocols`).
    pub fn consumer_protocol_enabled(&self) -> bool {
        self.config.consumer_protocol_enabled
    }

    /// Every loaded shard (ListGroups asks all of them).
    pub fn shards(&self) -> Vec<Arc<Shard>> {
        self.host.shards()
    }
}
