//! `MetadataImage`: the cluster state that results from applying the metadata log up to some
//! offset — brokers, topics with their partitions, dynamic configs, the producer-id watermark,
//! feature levels and the cluster id.
//!
//! An image is immutable once published: the controller clones the current image, applies the
//! records of one operation to the clone, and publishes the clone. The maps hold `Arc`s, so a
//! clone copies pointers, not topics. Request handlers read whatever image was current when
//! they started and never see half of an operation.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use uuid::Uuid;

use crate::error::{MetadataError, Result};
use crate::record::{
    BrokerEndpoint, ConfigRecord, ConfigResourceType, MetadataRecord, PartitionRecord,
    RegisterBrokerRecord,
};

/// The `leader` of a partition that has no leader.
pub const NO_LEADER: i32 = -1;

/// A broker as last registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub broker_id: i32,
    pub incarnation_id: Uuid,
    pub broker_epoch: i64,
    pub endpoints: Vec<BrokerEndpoint>,
    pub rack: Option<String>,
    pub fenced: bool,
}

impl BrokerRegistration {
    /// The endpoint of the listener called `listener_name`, if this broker advertises one.
    pub fn endpoint(&self, listener_name: &str) -> Option<&BrokerEndpoint> {
        self.endpoints.iter().find(|e| e.name == listener_name)
    }
}

impl From<&RegisterBrokerRecord> for BrokerRegistration {
    fn from(r: &RegisterBrokerRecord) -> Self {
        BrokerRegistration {
            broker_id: r.broker_id,
            incarnation_id: r.incarnation_id,
            broker_epoch: r.broker_epoch,
            endpoints: r.endpoints.clone(),
            rack: r.rack.clone(),
            fenced: r.fenced,
        }
    }
}

/// The replica set and leadership of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionRegistration {
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
}

impl From<&PartitionRecord> for PartitionRegistration {
    fn from(r: &PartitionRecord) -> Self {
        PartitionRegistration {
            replicas: r.replicas.clone(),
            isr: r.isr.clone(),
            leader: r.leader,
            leader_epoch: r.leader_epoch,
            partition_epoch: r.partition_epoch,
        }
    }
}

/// A topic and its partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicImage {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: BTreeMap<i32, PartitionRegistration>,
}

/// The state of the cluster at one offset of the metadata log.
#[derive(Clone, Debug)]
pub struct MetadataImage {
    /// The offset of the last record applied; -1 for the empty image.
    offset: i64,
    cluster_id: Option<String>,
    brokers: BTreeMap<i32, Arc<BrokerRegistration>>,
    topics_by_id: HashMap<Uuid, Arc<TopicImage>>,
    /// Sorted by name, so listings come out in a stable order.
    topic_ids_by_name: BTreeMap<String, Uuid>,
    configs: BTreeMap<(ConfigResourceType, String), Arc<BTreeMap<String, String>>>,
    next_producer_id: i64,
    features: BTreeMap<String, i16>,
}

impl Default for MetadataImage {
    fn default() -> Self {
        MetadataImage {
            offset: -1,
            cluster_id: None,
            brokers: BTreeMap::new(),
            topics_by_id: HashMap::new(),
            topic_ids_by_name: BTreeMap::new(),
            configs: BTreeMap::new(),
            next_producer_id: 0,
            features: BTreeMap::new(),
        }
    }
}

impl MetadataImage {
    /// The empty image, before any record.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The offset of the last applied record (-1 when nothing was applied).
    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }

    /// Registered brokers by id.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values().map(|b| b.as_ref())
    }

    pub fn broker(&self, broker_id: i32) -> Option<&BrokerRegistration> {
        self.brokers.get(&broker_id).map(|b| b.as_ref())
    }

    /// Brokers that can take replicas (registered and not fenced), in id order.
    pub fn usable_broker_ids(&self) -> Vec<i32> {
        self.brokers
            .values()
            .filter(|b| !b.fenced)
            .map(|b| b.broker_id)
            .collect()
    }

    /// All topics, sorted by name.
    pub fn topics(&self) -> impl Iterator<Item = &Arc<TopicImage>> {
        self.topic_ids_by_name
            .values()
            .filter_map(|id| self.topics_by_id.get(id))
    }

    pub fn topic_count(&self) -> usize {
        self.topics_by_id.len()
    }

    pub fn topic(&self, name: &str) -> Option<&Arc<TopicImage>> {
        self.topic_ids_by_name
            .get(name)
            .and_then(|id| self.topics_by_id.get(id))
    }

    pub fn topic_by_id(&self, topic_id: &Uuid) -> Option<&Arc<TopicImage>> {
        self.topics_by_id.get(topic_id)
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionRegistration> {
        self.topic(topic).and_then(|t| t.partitions.get(&partition))
    }

    /// Dynamic configs of a resource (topic by name, broker by id as a string, "" = cluster
    /// default).
    pub fn configs(
        &self,
        resource_type: ConfigResourceType,
        resource_name: &str,
    ) -> Option<&BTreeMap<String, String>> {
        self.configs
            .get(&(resource_type, resource_name.to_string()))
            .map(|c| c.as_ref())
    }

    /// Topic config overrides of `topic`.
    pub fn topic_configs(&self, topic: &str) -> Option<&BTreeMap<String, String>> {
        self.configs(ConfigResourceType::Topic, topic)
    }

    /// The first producer id nobody has been given.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    pub fn feature_level(&self, name: &str) -> Option<i16> {
        self.features.get(name).copied()
    }

    pub fn features(&self) -> &BTreeMap<String, i16> {
        &self.features
    }

    /// Replicas of `partition` whose broker is not registered or fenced (Metadata
    /// `offline_replicas`).
    pub fn offline_replicas(&self, partition: &PartitionRegistration) -> Vec<i32> {
        partition
            .replicas
            .iter()
            .copied()
            .filter(|id| self.brokers.get(id).is_none_or(|b| b.fenced))
            .collect()
    }

    /// Applies one record found at `offset`. An error means the log contradicts itself (a
    /// partition of an unknown topic, a second id for a name…); replay must stop there.
    pub fn apply(&mut self, offset: i64, record: &MetadataRecord) -> Result<()> {
        let corrupt = |reason: String| MetadataError::CorruptRecord { offset, reason };
        match record {
            MetadataRecord::RegisterBroker(r) => {
                self.brokers
                    .insert(r.broker_id, Arc::new(BrokerRegistration::from(r)));
            }
            MetadataRecord::Topic(r) => {
                if let Some(existing) = self.topic_ids_by_name.get(&r.name) {
                    if *existing != r.topic_id {
                        return Err(corrupt(format!(
                            "topic {} already exists with id {existing}, record has {}",
                            r.name, r.topic_id
                        )));
                    }
                }
                if self.topics_by_id.contains_key(&r.topic_id) {
                    return Err(corrupt(format!("topic id {} already in use", r.topic_id)));
                }
                self.topic_ids_by_name.insert(r.name.clone(), r.topic_id);
                self.topics_by_id.insert(
                    r.topic_id,
                    Arc::new(TopicImage {
                        name: r.name.clone(),
                        topic_id: r.topic_id,
                        partitions: BTreeMap::new(),
                    }),
                );
            }
            MetadataRecord::Partition(r) => {
                let topic = self.topics_by_id.get_mut(&r.topic_id).ok_or_else(|| {
                    corrupt(format!("partition of unknown topic id {}", r.topic_id))
                })?;
                if r.partition < 0 {
                    return Err(corrupt(format!("negative partition {}", r.partition)));
                }
                Arc::make_mut(topic)
                    .partitions
                    .insert(r.partition, PartitionRegistration::from(r));
            }
            MetadataRecord::Config(r) => self.apply_config(r),
            MetadataRecord::RemoveTopic(r) => {
                let topic = self.topics_by_id.remove(&r.topic_id).ok_or_else(|| {
                    corrupt(format!("removal of unknown topic id {}", r.topic_id))
                })?;
                self.topic_ids_by_name.remove(&topic.name);
                self.configs
                    .remove(&(ConfigResourceType::Topic, topic.name.clone()));
            }
            MetadataRecord::ProducerIds(r) => {
                if r.next_producer_id < self.next_producer_id {
                    return Err(corrupt(format!(
                        "producer id watermark moves back from {} to {}",
                        self.next_producer_id, r.next_producer_id
                    )));
                }
                self.next_producer_id = r.next_producer_id;
            }
            MetadataRecord::FeatureLevel(r) => {
                self.features.insert(r.name.clone(), r.feature_level);
            }
            MetadataRecord::ClusterId(r) => match &self.cluster_id {
                Some(existing) if *existing != r.cluster_id => {
                    return Err(corrupt(format!(
                        "cluster id {existing} replaced by {}",
                        r.cluster_id
                    )));
                }
                _ => self.cluster_id = Some(r.cluster_id.clone()),
            },
        }
        self.offset = self.offset.max(offset);
        Ok(())
    }

    fn apply_config(&mut self, r: &ConfigRecord) {
        let key = (r.resource_type, r.resource_name.clone());
        let entry = self.configs.entry(key.clone()).or_default();
        let map = Arc::make_mut(entry);
        match &r.value {
            Some(v) => {
                map.insert(r.name.clone(), v.clone());
            }
            None => {
                map.remove(&r.name);
            }
        }
        if map.is_empty() {
            self.configs.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::*;

    fn topic(name: &str, id: Uuid) -> MetadataRecord {
        MetadataRecord::Topic(TopicRecord {
            name: name.into(),
            topic_id: id,
        })
    }

    fn partition(id: Uuid, p: i32) -> MetadataRecord {
        MetadataRecord::Partition(PartitionRecord {
            topic_id: id,
            partition: p,
            replicas: vec![1, 2],
            isr: vec![1],
            leader: 1,
            leader_epoch: 0,
            partition_epoch: 0,
        })
    }

    #[test]
    fn topics_partitions_and_removal() {
        let mut image = MetadataImage::empty();
        let id = Uuid::new_v4();
        image.apply(0, &topic("b", id)).unwrap();
        image.apply(1, &partition(id, 0)).unwrap();
        image.apply(2, &partition(id, 1)).unwrap();
        let other = Uuid::new_v4();
        image.apply(3, &topic("a", other)).unwrap();
        assert_eq!(image.offset(), 3);
        let names: Vec<_> = image.topics().map(|t| t.name.clone()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(image.topic("b").unwrap().partitions.len(), 2);
        assert_eq!(image.partition("b", 1).unwrap().leader, 1);
        // broker 1 and 2 are not registered: both replicas are offline
        assert_eq!(
            image.offline_replicas(image.partition("b", 0).unwrap()),
            vec![1, 2]
        );

        image
            .apply(
                4,
                &MetadataRecord::Config(ConfigRecord {
                    resource_type: ConfigResourceType::Topic,
                    resource_name: "b".into(),
                    name: "retention.ms".into(),
                    value: Some("1".into()),
                }),
            )
            .unwrap();
        assert_eq!(image.topic_configs("b").unwrap()["retention.ms"], "1");
        image
            .apply(
                5,
                &MetadataRecord::RemoveTopic(RemoveTopicRecord { topic_id: id }),
            )
            .unwrap();
        assert!(image.topic("b").is_none());
        assert!(image.topic_by_id(&id).is_none());
        assert!(
            image.topic_configs("b").is_none(),
            "configs go with the topic"
        );
    }

    #[test]
    fn published_clone_is_not_affected_by_later_changes() {
        let mut image = MetadataImage::empty();
        let id = Uuid::new_v4();
        image.apply(0, &topic("t", id)).unwrap();
        image.apply(1, &partition(id, 0)).unwrap();
        let published = image.clone();
        image.apply(2, &partition(id, 1)).unwrap();
        assert_eq!(published.topic("t").unwrap().partitions.len(), 1);
        assert_eq!(image.topic("t").unwrap().partitions.len(), 2);
    }

    #[test]
    fn contradictions_are_corrupt() {
        let mut image = MetadataImage::empty();
        let id = Uuid::new_v4();
        assert!(image.apply(0, &partition(id, 0)).is_err());
        image.apply(1, &topic("t", id)).unwrap();
        assert!(image.apply(2, &topic("t", Uuid::new_v4())).is_err());
        assert!(image
            .apply(
                3,
                &MetadataRecord::RemoveTopic(RemoveTopicRecord {
                    topic_id: Uuid::new_v4()
                })
            )
            .is_err());
        image
            .apply(
                4,
                &MetadataRecord::ProducerIds(ProducerIdsRecord {
                    broker_id: 1,
                    broker_epoch: 0,
                    next_producer_id: 1000,
                }),
            )
            .unwrap();
        assert!(image
            .apply(
                5,
                &MetadataRecord::ProducerIds(ProducerIdsRecord {
                    broker_id: 1,
                    broker_epoch: 0,
                    next_producer_id: 10,
                })
            )
            .is_err());
    }

    #[test]
    fn config_delete_removes_the_key() {
        let mut image = MetadataImage::empty();
        let set = |v: Option<&str>| {
            MetadataRecord::Config(ConfigRecord {
                resource_type: ConfigResourceType::Broker,
                resource_name: "1".into(),
                name: "log.retention.ms".into(),
                value: v.map(String::from),
            })
        };
        image.apply(0, &set(Some("5"))).unwrap();
        assert_eq!(
            image
                .configs(ConfigResourceType::Broker, "1")
                .unwrap()
                .len(),
            1
        );
        image.apply(1, &set(None)).unwrap();
        assert!(image.configs(ConfigResourceType::Broker, "1").is_none());
    }
}
