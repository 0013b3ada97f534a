//! Topic lifecycle on the controller: CreateTopics, DeleteTopics and CreatePartitions, with
//! Kafka's validation order and messages. Each request is validated entry by entry (one bad
//! topic does not fail the others); the records of every valid entry go into one batch.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use super::{Controller, MAX_RECORDS_PER_OPERATION};
use crate::error::{MetadataError, Result};
use crate::image::{MetadataImage, NO_LEADER};
use crate::placement::{assign_replicas, PlacementSeed};
use crate::record::{
    ConfigRecord, ConfigResourceType, MetadataRecord, PartitionRecord, RemoveTopicRecord,
    TopicRecord, CLUSTER_METADATA_TOPIC,
};
use crate::topic_config::{resolve_topic_configs, validate_topic_config, ResolvedConfig};
use crate::topic_name::{
    has_collision_chars, is_internal_topic, unify_collision_chars, validate_topic_name,
};

/// One topic of a CreateTopics request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// -1: `num.partitions`.
    pub num_partitions: i32,
    /// -1: `default.replication.factor`.
    pub replication_factor: i16,
    /// Explicit `(partition, broker ids)`; when present both counts must be -1.
    pub assignments: Vec<(i32, Vec<i32>)>,
    /// Topic config overrides.
    pub configs: Vec<(String, Option<String>)>,
}

/// What CreateTopics reports for a created (or, with validate_only, creatable) topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTopic {
    pub name: String,
    pub topic_id: Uuid,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// The topic's effective configs (CreateTopics v5+ returns them).
    pub configs: Vec<ResolvedConfig>,
}

/// A DeleteTopics entry: by name (v0–5, v6 with a name) or by id (v6 with a null name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteTopicTarget {
    Name(String),
    Id(Uuid),
}

/// A topic that DeleteTopics removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedTopic {
    pub name: String,
    pub topic_id: Uuid,
}

/// One topic of a CreatePartitions request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatePartitionsSpec {
    pub topic: String,
    /// The new total partition count.
    pub count: i32,
    /// Broker ids for each new partition, when the client chose them.
    pub assignments: Option<Vec<Vec<i32>>>,
}

impl Controller {
    /// CreateTopics. Results are in request order. With `validate_only` nothing is written but
    /// the answers are the ones a real creation would give.
    pub async fn create_topics(
        &self,
        topics: Vec<NewTopic>,
        validate_only: bool,
    ) -> Vec<Result<CreatedTopic>> {
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        let duplicates = duplicated(topics.iter().map(|t| t.name.as_str()));
        let mut unified_in_request: HashMap<String, String> = HashMap::new();
        let mut records = Vec::new();
        let mut results = Vec::with_capacity(topics.len());
        for topic in &topics {
            if duplicates.contains(topic.name.as_str()) {
                results.push(Err(MetadataError::InvalidRequest(format!(
                    "Create topics request contains multiple entries for the topic {}.",
                    topic.name
                ))));
                continue;
            }
            match self.plan_topic(&image, topic, &unified_in_request) {
                Ok((topic_records, created)) => {
                    unified_in_request
                        .insert(unify_collision_chars(&created.name), created.name.clone());
                    records.extend(topic_records);
                    results.push(Ok(created));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let (results, committed) = self
            .commit_planned(&image, records, results, validate_only)
            .await;
        if committed {
            for created in results.iter().flatten() {
                // Internal topics (`__consumer_offsets`) are named by Kafka itself: no warning.
                if has_collision_chars(&created.name) && !is_internal_topic(&created.name) {
                    tracing::warn!(
                        topic = %created.name,
                        "due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide"
                    );
                }
                tracing::info!(topic = %created.name, topic_id = %created.topic_id,
                        partitions = created.num_partitions, "created topic");
            }
        }
        results
    }

    /// Validates one new topic and builds its records.
    fn plan_topic(
        &self,
        image: &MetadataImage,
        topic: &NewTopic,
        unified_in_request: &HashMap<String, String>,
    ) -> Result<(Vec<MetadataRecord>, CreatedTopic)> {
        validate_topic_name(&topic.name)?;
        if topic.name == CLUSTER_METADATA_TOPIC {
            // its partition directory is the metadata log's
            return Err(MetadataError::InvalidRequest(format!(
                "Creation of internal topic {CLUSTER_METADATA_TOPIC} is prohibited."
            )));
        }
        if image.topic(&topic.name).is_some() {
            return Err(MetadataError::TopicAlreadyExists(topic.name.clone()));
        }
        let unified = unify_collision_chars(&topic.name);
        let colliding = image
            .topics()
            .map(|t| t.name.clone())
            .find(|existing| unify_collision_chars(existing) == unified)
            .or_else(|| unified_in_request.get(&unified).cloned());
        if let Some(existing) = colliding {
            return Err(MetadataError::InvalidTopic(format!(
                "Topic '{}' collides with existing topic: {existing}",
                topic.name
            )));
        }

        let replica_lists = if topic.assignments.is_empty() {
            let num_partitions = match topic.num_partitions {
                -1 => self.config.num_partitions,
                n if n < 1 => {
                    return Err(MetadataError::InvalidPartitions(
                        "Number of partitions was set to an invalid non-positive value.".into(),
                    ))
                }
                n => n,
            };
            let replication_factor =
                match topic.replication_factor {
                    -1 => self.config.default_replication_factor,
                    n if n < 1 => return Err(MetadataError::InvalidReplicationFactor(
                        "Replication factor must be larger than 0, or -1 to use the default value."
                            .into(),
                    )),
                    n => n,
                };
            check_partition_count(num_partitions as usize)?;
            // placement is seeded later with the topic id; validate counts before picking one
            (num_partitions, replication_factor)
        } else {
            if topic.num_partitions != -1 || topic.replication_factor != -1 {
                return Err(MetadataError::InvalidRequest(
                    "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.".into(),
                ));
            }
            (-1, -1)
        };

        let mut overrides = BTreeMap::new();
        for (key, value) in &topic.configs {
            let value = validate_topic_config(key, value.as_deref())?;
            overrides.insert(key.clone(), value);
        }

        let topic_id = loop {
            let id = Uuid::new_v4();
            if image.topic_by_id(&id).is_none() {
                break id;
            }
        };
        let assignments: Vec<Vec<i32>> = if topic.assignments.is_empty() {
            let (count, rf) = replica_lists;
            assign_replicas(
                &image.usable_broker_ids(),
                0,
                count,
                rf,
                PlacementSeed::from_topic_id(&topic_id),
            )?
        } else {
            manual_assignments(image, &topic.assignments)?
        };

        let mut records = Vec::with_capacity(2 + overrides.len() + assignments.len());
        records.push(MetadataRecord::Topic(TopicRecord {
            name: topic.name.clone(),
            topic_id,
        }));
        for (key, value) in &overrides {
            records.push(MetadataRecord::Config(ConfigRecord {
                resource_type: ConfigResourceType::Topic,
                resource_name: topic.name.clone(),
                name: key.clone(),
                value: Some(value.clone()),
            }));
        }
        for (partition, replicas) in assignments.iter().enumerate() {
            records.push(new_partition_record(
                image,
                topic_id,
                partition as i32,
                replicas,
            )?);
        }
        let created = CreatedTopic {
            name: topic.name.clone(),
            topic_id,
            num_partitions: assignments.len() as i32,
            replication_factor: assignments.first().map(|r| r.len() as i16).unwrap_or(0),
            configs: resolve_topic_configs(Some(&overrides), &self.config.topic_defaults),
        };
        Ok((records, created))
    }

    /// DeleteTopics. Results are in request order.
    pub async fn delete_topics(
        &self,
        targets: Vec<DeleteTopicTarget>,
    ) -> Vec<Result<DeletedTopic>> {
        if !self.config.delete_topic_enable {
            return targets
                .iter()
                .map(|_| Err(MetadataError::TopicDeletionDisabled))
                .collect();
        }
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        let duplicate_names = duplicated(targets.iter().filter_map(|t| match t {
            DeleteTopicTarget::Name(n) => Some(n.as_str()),
            DeleteTopicTarget::Id(_) => None,
        }));
        let mut seen_ids = HashMap::new();
        for t in &targets {
            if let DeleteTopicTarget::Id(id) = t {
                *seen_ids.entry(*id).or_insert(0) += 1;
            }
        }
        let mut records = Vec::new();
        let mut removed = BTreeSet::new();
        let mut results = Vec::with_capacity(targets.len());
        for target in &targets {
            let found = match target {
                DeleteTopicTarget::Name(name) if duplicate_names.contains(name.as_str()) => Err(
                    MetadataError::InvalidRequest("Duplicate topic name.".into()),
                ),
                DeleteTopicTarget::Id(id) if seen_ids.get(id).copied().unwrap_or(0) > 1 => {
                    Err(MetadataError::InvalidRequest("Duplicate topic id.".into()))
                }
                DeleteTopicTarget::Name(name) => image
                    .topic(name)
                    .ok_or_else(|| MetadataError::UnknownTopicOrPartition(name.clone())),
                DeleteTopicTarget::Id(id) => image
                    .topic_by_id(id)
                    .ok_or(MetadataError::UnknownTopicId(*id)),
            };
            match found {
                Ok(topic) => {
                    // the same topic named once by name and once by id is removed once
                    if removed.insert(topic.topic_id) {
                        records.push(MetadataRecord::RemoveTopic(RemoveTopicRecord {
                            topic_id: topic.topic_id,
                        }));
                    }
                    results.push(Ok(DeletedTopic {
                        name: topic.name.clone(),
                        topic_id: topic.topic_id,
                    }));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        let (results, committed) = self.commit_planned(&image, records, results, false).await;
        if committed {
            for deleted in results.iter().flatten() {
                tracing::info!(topic = %deleted.name, topic_id = %deleted.topic_id, "deleted topic");
            }
        }
        results
    }

    /// CreatePartitions. Results are in request order.
    pub async fn create_partitions(
        &self,
        specs: Vec<CreatePartitionsSpec>,
        validate_only: bool,
    ) -> Vec<Result<()>> {
        let _guard = self.write_lock.lock().await;
        let image = self.image();
        let duplicates = duplicated(specs.iter().map(|s| s.topic.as_str()));
        let mut records = Vec::new();
        let mut results = Vec::with_capacity(specs.len());
        for spec in &specs {
            if duplicates.contains(spec.topic.as_str()) {
                results.push(Err(MetadataError::InvalidRequest(
                    "Duplicate topic name.".into(),
                )));
                continue;
            }
            match plan_partitions(&image, spec) {
                Ok(new_records) => {
                    records.extend(new_records);
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        self.commit_planned(&image, records, results, validate_only)
            .await
            .0
    }
}

/// Validates one CreatePartitions entry and builds the new partitions' records.
fn plan_partitions(
    image: &MetadataImage,
    spec: &CreatePartitionsSpec,
) -> Result<Vec<MetadataRecord>> {
    let topic = image
        .topic(&spec.topic)
        .ok_or_else(|| MetadataError::UnknownTopicOrPartition(spec.topic.clone()))?;
    let current = topic.partitions.len() as i32;
    if spec.count < current {
        return Err(MetadataError::InvalidPartitions(format!(
            "Topic currently has {current} partitions, which is higher than the requested {}.",
            spec.count
        )));
    }
    if spec.count == current {
        return Err(MetadataError::InvalidPartitions(format!(
            "Topic already has {current} partitions."
        )));
    }
    let added = spec.count - current;
    check_partition_count(added as usize)?;
    let replication_factor = topic
        .partitions
        .values()
        .next()
        .map(|p| p.replicas.len())
        .unwrap_or(1);
    let replica_lists = match &spec.assignments {
        Some(assignments) => {
            if assignments.len() != added as usize {
                return Err(MetadataError::InvalidReplicaAssignment(format!(
                    "Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.",
                    assignments.len()
                )));
            }
            let numbered: Vec<(i32, Vec<i32>)> = assignments
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, r)| (current + i as i32, r))
                .collect();
            for (_, replicas) in &numbered {
                if replicas.len() != replication_factor {
                    return Err(MetadataError::InvalidReplicaAssignment(format!(
                        "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {replication_factor} replica(s).",
                        replicas.len()
                    )));
                }
            }
            check_manual_lists(image, &numbered)?;
            numbered.into_iter().map(|(_, r)| r).collect()
        }
        None => assign_replicas(
            &image.usable_broker_ids(),
            current,
            added,
            i16::try_from(replication_factor).unwrap_or(i16::MAX),
            PlacementSeed::from_topic_id(&topic.topic_id),
        )?,
    };
    replica_lists
        .iter()
        .enumerate()
        .map(|(i, replicas)| {
            new_partition_record(image, topic.topic_id, current + i as i32, replicas)
        })
        .collect()
}

/// A fresh partition: the ISR is every replica that can serve, led by the first of them.
fn new_partition_record(
    image: &MetadataImage,
    topic_id: Uuid,
    partition: i32,
    replicas: &[i32],
) -> Result<MetadataRecord> {
    let usable = image.usable_broker_ids();
    let isr: Vec<i32> = replicas
        .iter()
        .copied()
        .filter(|r| usable.contains(r))
        .collect();
    let leader = isr.first().copied().unwrap_or(NO_LEADER);
    if leader == NO_LEADER {
        return Err(MetadataError::InvalidReplicaAssignment(format!(
            "All brokers specified in the partition assignment for partition {partition} are fenced or not registered."
        )));
    }
    Ok(MetadataRecord::Partition(PartitionRecord {
        topic_id,
        partition,
        replicas: replicas.to_vec(),
        isr,
        leader,
        leader_epoch: 0,
        partition_epoch: 0,
    }))
}

/// Validates a CreateTopics manual assignment: partitions 0..n, every list non-empty, of one
/// length, without repeats, naming registered brokers. Returns the lists in partition order.
fn manual_assignments(
    image: &MetadataImage,
    assignments: &[(i32, Vec<i32>)],
) -> Result<Vec<Vec<i32>>> {
    check_partition_count(assignments.len())?;
    let mut by_partition = BTreeMap::new();
    for (partition, replicas) in assignments {
        if by_partition.insert(*partition, replicas.clone()).is_some() {
            return Err(MetadataError::InvalidReplicaAssignment(format!(
                "Partition {partition} appears more than once in the manual partition assignment."
            )));
        }
    }
    let expected: Vec<i32> = (0..assignments.len() as i32).collect();
    if by_partition.keys().copied().collect::<Vec<_>>() != expected {
        return Err(MetadataError::InvalidReplicaAssignment(
            "Partitions in the manual partition assignment must be numbered consecutively from 0."
                .into(),
        ));
    }
    let numbered: Vec<(i32, Vec<i32>)> = by_partition.into_iter().collect();
    let rf = numbered.first().map(|(_, r)| r.len()).unwrap_or(0);
    if numbered.iter().any(|(_, r)| r.len() != rf) {
        return Err(MetadataError::InvalidReplicaAssignment(
            "All partitions in the manual partition assignment must have the same number of replicas."
                .into(),
        ));
    }
    check_manual_lists(image, &numbered)?;
    Ok(numbered.into_iter().map(|(_, r)| r).collect())
}

/// Non-empty, no repeated broker, only registered brokers.
fn check_manual_lists(image: &MetadataImage, numbered: &[(i32, Vec<i32>)]) -> Result<()> {
    for (partition, replicas) in numbered {
        if replicas.is_empty() {
            return Err(MetadataError::InvalidReplicaAssignment(format!(
                "The manual partition assignment includes an empty replica list for partition {partition}."
            )));
        }
        let mut seen = BTreeSet::new();
        for broker in replicas {
            if !seen.insert(broker) {
                return Err(MetadataError::InvalidReplicaAssignment(format!(
                    "The manual partition assignment includes the broker {broker} more than once."
                )));
            }
            if image.broker(*broker).is_none() {
                return Err(MetadataError::InvalidReplicaAssignment(format!(
                    "The manual partition assignment includes broker {broker}, but no such broker is registered."
                )));
            }
        }
    }
    Ok(())
}

fn check_partition_count(count: usize) -> Result<()> {
    if count > MAX_RECORDS_PER_OPERATION {
        return Err(MetadataError::InvalidPartitions(format!(
            "Creating {count} partitions at once exceeds the maximum of {MAX_RECORDS_PER_OPERATION}."
        )));
    }
    Ok(())
}

/// Names that appear more than once.
fn duplicated<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut dups = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            dups.insert(name);
        }
    }
    dups
}

/// After a failed commit every entry that would have succeeded fails with the commit's error
/// (which is internal, so clients only see its code).
pub(super) fn fail_successes<T>(results: Vec<Result<T>>, error: &MetadataError) -> Vec<Result<T>> {
    tracing::error!(error = %error, "metadata commit failed");
    results
        .into_iter()
        .map(|r| {
            r.and_then(|_| {
                Err(MetadataError::Log {
                    context: "committing to the metadata log".into(),
                    source: error.to_string().into(),
                })
            })
        })
        .collect()
}
