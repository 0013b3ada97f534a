//! Hosting coordinator shards on the partitions of an internal topic (`__consumer_offsets`,
//! `__transaction_state`): the part the group runtime and the transaction runtime share.
//!
//! - The topic is created through the controller, like any CreateTopics, the first time a key
//!   needs it (FindCoordinator or a coordinator request), with the partition count,
//!   replication factor and configs its runtime gives ([`InternalTopic`]). Until it exists
//!   requests answer COORDINATOR_NOT_AVAILABLE.
//! - A key (group id, transactional id) lives in partition
//!   `abs(hashCode(key)) % partition_count` (`fjord_coordinator::partitioner`); its
//!   coordinator is that partition's leader. A request for a partition led elsewhere answers
//!   NOT_COORDINATOR.
//! - The host follows the metadata image: a partition this node starts leading gets a shard
//!   (made by the runtime's factory) whose `run` task loads it and then runs its timers
//!   (COORDINATOR_LOAD_IN_PROGRESS meanwhile); a partition it stops leading, or whose log the
//!   replica manager replaced, loses its shard, which is closed with NOT_COORDINATOR.
//! - On shutdown every shard is closed with COORDINATOR_NOT_AVAILABLE and the host waits for
//!   the shards' tasks.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use fjord_metadata::{Controller, MetadataError, MetadataImage, NewTopic};
use kafka_protocol::ResponseError;
use parking_lot::RwLock;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::replica::{Partition, ReplicaManager};

/// Why the host cannot hand out a shard. Each runtime wraps it in its own error enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// This node does not lead the key's partition.
    #[error("not the coordinator of partition {partition}")]
    NotCoordinator { partition: i32 },
    /// The partition is being replayed into a fresh shard.
    #[error("partition {partition} is loading")]
    LoadInProgress { partition: i32 },
    /// The internal topic does not exist yet (or could not be created), its partition has no
    /// leader, or the broker is shutting down.
    #[error("the coordinator is not available")]
    CoordinatorNotAvailable,
}

impl HostError {
    /// Kafka's error code for this error.
    pub fn error_code(&self) -> i16 {
        match self {
            HostError::NotCoordinator { .. } => ResponseError::NotCoordinator.code(),
            HostError::LoadInProgress { .. } => ResponseError::CoordinatorLoadInProgress.code(),
            HostError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable.code(),
        }
    }
}

/// A coordinator shard the host can start and stop.
pub trait HostedShard: Send + Sync + 'static {
    /// The internal topic's partition index this shard serves.
    fn partition_index(&self) -> i32;
    /// The partition object the shard writes to.
    fn partition(&self) -> &Arc<Partition>;
    /// Loads the shard, then runs its timers until [`HostedShard::close`].
    fn run(self: Arc<Self>) -> impl Future<Output = ()> + Send + 'static;
    /// Stops serving; requests waiting on the shard are answered with `reason`.
    fn close(&self, reason: HostError);
}

/// How the internal topic is created.
#[derive(Debug, Clone)]
pub struct InternalTopic {
    pub name: &'static str,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// Topic configs (`cleanup.policy=compact`, `segment.bytes`, ...).
    pub configs: Vec<(String, Option<String>)>,
}

type ShardFactory<S> = Box<dyn Fn(i32, Arc<Partition>) -> Arc<S> + Send + Sync>;

/// The shards of one internal topic on this node.
pub struct CoordinatorHost<S: HostedShard> {
    topic: InternalTopic,
    node_id: i32,
    controller: Arc<Controller>,
    replicas: Arc<ReplicaManager>,
    new_shard: ShardFactory<S>,
    shards: RwLock<HashMap<i32, Arc<S>>>,
    /// Serialises creating the topic, so concurrent first requests create it once.
    creating: tokio::sync::Mutex<()>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl<S: HostedShard> CoordinatorHost<S> {
    /// Starts a shard for every partition of the topic this node leads and follows the
    /// metadata image. `new_shard` makes a (not yet loaded) shard for a partition.
    pub fn start(
        topic: InternalTopic,
        node_id: i32,
        controller: Arc<Controller>,
        replicas: Arc<ReplicaManager>,
        new_shard: impl Fn(i32, Arc<Partition>) -> Arc<S> + Send + Sync + 'static,
    ) -> Arc<Self> {
        let host = Arc::new(CoordinatorHost {
            topic,
            node_id,
            controller,
            replicas,
            new_shard: Box::new(new_shard),
            shards: RwLock::new(HashMap::new()),
            creating: tokio::sync::Mutex::new(()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        });
        host.sync_shards(&host.controller.image());
        host.tasks.spawn(Arc::clone(&host).follow_metadata());
        host
    }

    /// Closes every shard with COORDINATOR_NOT_AVAILABLE and waits for the host's tasks.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let shards: Vec<Arc<S>> = self.shards.write().drain().map(|(_, s)| s).collect();
        for shard in shards {
            shard.close(HostError::CoordinatorNotAvailable);
        }
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Whether [`CoordinatorHost::shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// The controller (its image names partitions' leaders).
    pub fn controller(&self) -> &Arc<Controller> {
        &self.controller
    }

    /// The number of partitions of the topic, creating it first if needed.
    pub async fn partition_count(&self) -> Result<i32, HostError> {
        let image = self.topic_image().await?;
        let count = image
            .topic(self.topic.name)
            .map_or(0, |t| t.partitions.len() as i32);
        if count == 0 {
            return Err(HostError::CoordinatorNotAvailable);
        }
        Ok(count)
    }

    /// The partition of `key` under the current image, creating the topic first if needed.
    pub async fn partition_for(&self, key: &str) -> Result<i32, HostError> {
        let count = self.partition_count().await?;
        Ok(fjord_coordinator::partitioner::partition_for(key, count))
    }

    /// The node leading the partition of `key` (FindCoordinator).
    pub async fn coordinator_node(&self, key: &str) -> Result<i32, HostError> {
        let partition = self.partition_for(key).await?;
        let image = self.controller.image();
        let leader = image
            .topic(self.topic.name)
            .and_then(|t| t.partitions.get(&partition))
            .map_or(fjord_metadata::NO_LEADER, |p| p.leader);
        if leader == fjord_metadata::NO_LEADER {
            return Err(HostError::CoordinatorNotAvailable);
        }
        if leader == self.node_id {
            // Start loading now so the requests that follow find the shard ready.
            self.sync_shards(&image);
        }
        Ok(leader)
    }

    /// The shard serving `key` on this node.
    pub async fn shard_for(&self, key: &str) -> Result<Arc<S>, HostError> {
        if self.shutdown.is_cancelled() {
            return Err(HostError::CoordinatorNotAvailable);
        }
        let partition = self.partition_for(key).await?;
        self.shard_for_partition(partition)
    }

    /// The shard of `partition` on this node: NOT_COORDINATOR when another node leads it,
    /// COORDINATOR_LOAD_IN_PROGRESS while it is being created or loaded.
    pub fn shard_for_partition(&self, partition: i32) -> Result<Arc<S>, HostError> {
        if self.shutdown.is_cancelled() {
            return Err(HostError::CoordinatorNotAvailable);
        }
        let current = self.shards.read().get(&partition).cloned();
        if let Some(shard) = current {
            if self.is_current(&shard) {
                return Ok(shard);
            }
        }
        let image = self.controller.image();
        let leads = image
            .topic(self.topic.name)
            .and_then(|t| t.partitions.get(&partition))
            .is_some_and(|p| p.leader == self.node_id);
        if !leads {
            return Err(HostError::NotCoordinator { partition });
        }
        self.sync_shards(&image);
        Err(HostError::LoadInProgress { partition })
    }

    /// Every shard of this node, by partition.
    pub fn shards(&self) -> Vec<Arc<S>> {
        let mut shards: Vec<Arc<S>> = self.shards.read().values().cloned().collect();
        shards.sort_by_key(|s| s.partition_index());
        shards
    }

    /// The current image once it has the topic, creating the topic if it has not.
    async fn topic_image(&self) -> Result<Arc<MetadataImage>, HostError> {
        let name = self.topic.name;
        let image = self.controller.image();
        if image.topic(name).is_some() {
            return Ok(image);
        }
        let _creating = self.creating.lock().await;
        let image = self.controller.image();
        if image.topic(name).is_some() {
            return Ok(image);
        }
        let topic = NewTopic {
            name: name.to_string(),
            num_partitions: self.topic.num_partitions,
            replication_factor: self.topic.replication_factor,
            assignments: Vec::new(),
            configs: self.topic.configs.clone(),
        };
        let created = self.controller.create_topics(vec![topic], false).await;
        match created.into_iter().next() {
            Some(Ok(created)) => {
                info!(partitions = created.num_partitions, "created {name}");
            }
            Some(Err(MetadataError::TopicAlreadyExists(_))) => {}
            Some(Err(e)) => {
                // Typically too few brokers for the replication factor: clients keep
                // retrying, as they do against Kafka.
                warn!(error = %e, "cannot create {name}");
                return Err(HostError::CoordinatorNotAvailable);
            }
            None => return Err(HostError::CoordinatorNotAvailable),
        }
        let image = self.controller.image();
        self.sync_shards(&image);
        if image.topic(name).is_some() {
            Ok(image)
        } else {
            Err(HostError::CoordinatorNotAvailable)
        }
    }

    /// Creates a loading shard for every partition of the topic this node leads and has none
    /// for, and closes the shards of partitions it no longer leads.
    fn sync_shards(&self, image: &MetadataImage) {
        if self.shutdown.is_cancelled() {
            return;
        }
        let name = self.topic.name;
        let node_id = self.node_id;
        let led: Vec<i32> = image
            .topic(name)
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
                    "no longer the coordinator of this {name} partition"
                );
                shard.close(HostError::NotCoordinator { partition: index });
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
                    "the {name} partition's log was replaced; reloading its shard"
                );
                if let Some(stale) = shards.remove(&index) {
                    stale.close(HostError::NotCoordinator { partition: index });
                }
            }
            let partition = match self.replicas.leader_partition(name, index) {
                Ok(partition) => partition,
                Err(e) => {
                    // The replica manager has not opened the log yet; the next image or
                    // request tries again.
                    warn!(partition = index, error = %e, "cannot host the {name} partition yet");
                    continue;
                }
            };
            let shard = (self.new_shard)(index, partition);
            shards.insert(index, Arc::clone(&shard));
            self.tasks.spawn(shard.run());
        }
    }

    /// Whether `shard` still writes to the partition the replica manager hosts.
    fn is_current(&self, shard: &S) -> bool {
        self.replicas
            .leader_partition(self.topic.name, shard.partition_index())
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
            let host = Arc::clone(&self);
            if let Err(e) = tokio::task::spawn_blocking(move || host.sync_shards(&image)).await {
                warn!(error = %e, "following the metadata image failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errors_are_kafkas_coordinator_errors() {
        assert_eq!(HostError::NotCoordinator { partition: 1 }.error_code(), 16);
        assert_eq!(HostError::LoadInProgress { partition: 1 }.error_code(), 14);
        assert_eq!(HostError::CoordinatorNotAvailable.error_code(), 15);
    }
}
