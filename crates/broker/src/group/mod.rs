//! The group coordinator runtime: serves the classic consumer-group APIs from the pure state
//! machine in `fjord-coordinator`, one [`Shard`] per `__consumer_offsets` partition this node
//! leads.
//!
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

use std::collections::HashMap;
use std::sync::Arc;

use fjord_config::ServerConfig;
use fjord_coordinator::{ConsumerGroupConfig, GroupConfig};
use fjord_metadata::topic_name::GROUP_METADATA_TOPIC;
use fjord_metadata::{Controller, MetadataError, MetadataImage, NewTopic};
use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use error::GroupRuntimeError;
pub use shard::{OffsetExpiry, Parked, ParkedAnswer, ParkedKind, Shard};

use crate::replica::ReplicaManager;

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
    controller: Arc<Controller>,
    replicas: Arc<ReplicaManager>,
    shards: RwLock<HashMap<i32, Arc<Shard>>>,
    /// Serialises creating `__consumer_offsets`, so concurrent first requests create it once.
    creating: tokio::sync::Mutex<()>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl GroupRuntime {
    /// Starts loading the partitions this node leads and following the metadata image.
    pub fn start(
        config: GroupRuntimeConfig,
        controller: Arc<Controller>,
        replicas: Arc<ReplicaManager>,
    ) -> Arc<GroupRuntime> {
        let runtime = Arc::new(GroupRuntime {
            config,
            controller,
            replicas,
            shards: RwLock::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        runtime.sync_shards(&runtime.controller.image());
        runtime.tasks.spawn(Arc::clone(&runtime).follow_metadata());
        runtime
    }

    /// Answers every parked request, stops the timers and waits for the runtime's tasks.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let shards: Vec<Arc<Shard>> = self.shards.write().drain().map(|(_, s)| s).collect();
        for shard in shards {
            shard.close(GroupRuntimeError::CoordinatorNotAvailable);
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// The `__consumer_offsets` partition of `group_id` under the current image, creating the
    /// topic first if needed.
    pub async fn partition_for(&self, group_id: &str) -> Result<i32, GroupRuntimeError> {
        let image = self.offsets_topic_image().await?;
        let count = image
            .topic(GROUP_METADATA_TOPIC)
            .map_or(0, |t| t.partitions.len() as i32);
        if count == 0 {
            return Err(GroupRuntimeError::CoordinatorNotAvailable);
        }
        Ok(fjord_coordinator::partitioner::partition_for(
            group_id, count,
        ))
    }

    /// The node leading the `__consumer_offsets` partition of `group_id` (FindCoordinator).
    pub async fn coordinator_node(&self, group_id: &str) -> Result<i32, GroupRuntimeError> {
        let partition = self.partition_for(group_id).await?;
        let image = self.controller.image();
        let leader = image
            .topic(GROUP_METADATA_TOPIC)
            .and_then(|t| t.partitions.get(&partition))
            .map_or(fjord_metadata::NO_LEADER, |p| p.leader);
        if leader == fjord_metadata::NO_LEADER {
            return Err(GroupRuntimeError::CoordinatorNotAvailable);
        }
        if leader == self.config.node_id {
            // Start loading now so the group requests that follow find the shard ready.
            self.sync_shards(&image);
        }
        Ok(leader)
    }

    /// The shard serving `group_id` on this node.
    pub async fn shard_for(&self, group_id: &str) -> Result<Arc<Shard>, GroupRuntimeError> {
        if self.shutdown.is_cancelled() {
            return Err(GroupRuntimeError::CoordinatorNotAvailable);
        }
        let partition = self.partition_for(group_id).await?;
        let current = self.shards.read().get(&partition).cloned();
        if let Some(shard) = current {
            if self.is_current(&shard) {
                return Ok(shard);
            }
        }
        let image = self.controller.image();
        let leads = image
            .topic(GROUP_METADATA_TOPIC)
            .and_then(|t| t.partitions.get(&partition))
            .is_some_and(|p| p.leader == self.config.node_id);
        if !leads {
            return Err(GroupRuntimeError::NotCoordinator { partition });
        }
        self.sync_shards(&image);
        Err(GroupRuntimeError::LoadInProgress { partition })
    }

    /// Whether the KIP-848 consumer protocol is served (`group.coordinator.rebalance.protocols`).
    pub fn consumer_protocol_enabled(&self) -> bool {
        self.config.consumer_protocol_enabled
    }

    /// Every loaded shard (ListGroups asks all of them).
    pub fn shards(&self) -> Vec<Arc<Shard>> {
        let mut shards: Vec<Arc<Shard>> = self.shards.read().values().cloned().collect();
        shards.sort_by_key(|s| s.partition_index());
        shards
    }

    /// The current image once it has `__consumer_offsets`, creating the topic if it has not.
    async fn offsets_topic_image(&self) -> Result<Arc<MetadataImage>, GroupRuntimeError> {
        let image = self.controller.image();
        if image.topic(GROUP_METADATA_TOPIC).is_some() {
            return Ok(image);
        }
        let _creating = self.creating.lock().await;
        let image = self.controller.image();
        if image.topic(GROUP_METADATA_TOPIC).is_some() {
            return Ok(image);
        }
        let topic = NewTopic {
            name: GROUP_METADATA_TOPIC.to_string(),
            num_partitions: self.config.offsets_topic_num_partitions,
            replication_factor: self.config.offsets_topic_replication_factor,
            assignments: Vec::new(),
            configs: vec![
                ("cleanup.policy".into(), Some("compact".into())),
                (
                    "segment.bytes".into(),
                    Some(self.config.offsets_topic_segment_bytes.to_string()),
                ),
                ("compression.type".into(), Some("producer".into())),
            ],
        };
        let created = self.controller.create_topics(vec![topic], false).await;
        match created.into_iter().next() {
            Some(Ok(created)) => {
                info!(
                    partitions = created.num_partitions,
                    "created {GROUP_METADATA_TOPIC}"
                );
            }
            Some(Err(MetadataError::TopicAlreadyExists(_))) => {}
            Some(Err(e)) => {
                // Typically too few brokers for offsets.topic.replication.factor: clients
                // keep retrying, as they do against Kafka.
                warn!(error = %e, "cannot create {GROUP_METADATA_TOPIC}");
                return Err(GroupRuntimeError::CoordinatorNotAvailable);
            }
            None => return Err(GroupRuntimeError::CoordinatorNotAvailable),
        }
        let image = self.controller.image();
        self.sync_shards(&image);
        if image.topic(GROUP_METADATA_TOPIC).is_some() {
            Ok(image)
        } else {
            Err(GroupRuntimeError::CoordinatorNotAvailable)
        }
    }

    /// Creates a loading shard for every `__consumer_offsets` partition this node leads and
    /// has none for, and closes the shards of partitions it no longer leads.
    fn sync_shards(&self, image: &MetadataImage) {
        if self.shutdown.is_cancelled() {
            return;
        }
        let node_id = self.config.node_id;
        let led: Vec<i32> = image
            .topic(GROUP_METADATA_TOPIC)
            .map(|t| {
                t.partitions
                    .iter()
                    .filter(|(_, p)| p.leader == node_id)
                    .map(|(&index, _)| index)
                    .collect()
            })
            .unwrap_or_default();
        let mut shards = self.shards.write();
        let gone: Vec<i32> = shards
            .keys()
            .copied()
            .filter(|p| !led.contains(p))
            .collect();
        for index in gone {
            if let Some(shard) = shards.remove(&index) {
                info!(
                    partition = index,
                    "no longer the group coordinator of this partition"
                );
                shard.close(GroupRuntimeError::NotCoordinator { partition: index });
            }
        }
        for index in led {
            if let Some(shard) = shards.get(&index) {
                if self.is_current(shard) {
                    continue;
                }
                // The replica manager hosts a different partition object now (the topic was
                // deleted and re-created, or the log re-opened): the shard would write to a
                // closed log, so it is rebuilt from the hosted one.
                warn!(
                    partition = index,
                    "the coordinator partition's log was replaced; reloading its shard"
                );
                if let Some(stale) = shards.remove(&index) {
                    stale.close(GroupRuntimeError::NotCoordinator { partition: index });
                }
            }
            let partition = match self.replicas.leader_partition(GROUP_METADATA_TOPIC, index) {
                Ok(partition) => partition,
                Err(e) => {
                    // The replica manager has not opened the log yet; the next image or
                    // request tries again.
                    warn!(partition = index, error = %e, "cannot host the coordinator partition yet");
                    continue;
                }
            };
            let shard = Arc::new(Shard::new(
                index,
                partition,
                self.config.group.clone(),
                self.config.consumer.clone(),
                self.config.offset_expiry,
            ));
            shards.insert(index, Arc::clone(&shard));
            self.tasks.spawn(shard.run());
        }
    }

    /// Whether `shard` still writes to the partition the replica manager hosts.
    fn is_current(&self, shard: &Shard) -> bool {
        self.replicas
            .leader_partition(GROUP_METADATA_TOPIC, shard.partition_index())
            .is_ok_and(|p| Arc::ptr_eq(&p, shard.partition()))
    }

    async fn follow_metadata(self: Arc<Self>) {
        let mut metadata = self.controller.subscribe();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                changed = metadata.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            let image = metadata.borrow_and_update().clone();
            // Opening a log may touch the disk: off the async workers.
            let runtime = Arc::clone(&self);
            if let Err(e) = tokio::task::spawn_blocking(move || runtime.sync_shards(&image)).await {
                warn!(error = %e, "following the metadata image failed");
            }
        }
    }
}
