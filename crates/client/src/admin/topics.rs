//! Topic administration: CreateTopics, DeleteTopics, CreatePartitions, topic listings and
//! descriptions from Metadata, and eligible leader replicas (KIP-966) from
//! DescribeTopicPartitions.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_topic_partitions_request::{Cursor, TopicRequest};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeTopicPartitionsRequest,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{topic_name, AdminClient, Outcomes};
use crate::cluster::{TopicMetadata, TopicPartition};
use crate::connection::client_versions;
use crate::error::ClientError;

/// The eligible leader replicas of one partition (KIP-966).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EligibleLeaders {
    pub elr: Vec<i32>,
    pub last_known_elr: Vec<i32>,
}

/// A topic to create. `-1` partitions / replication factor take the broker's defaults
/// (`num.partitions`, `default.replication.factor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    pub num_partitions: i32,
    pub replication_factor: i16,
    /// Topic configs under Kafka's names (`cleanup.policy`, `retention.ms`, ...).
    pub configs: BTreeMap<String, String>,
    /// Explicit replica placement: partition -> broker ids. Empty for automatic placement.
    pub replica_assignment: BTreeMap<i32, Vec<i32>>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, num_partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            num_partitions,
            replication_factor,
            configs: BTreeMap::new(),
            replica_assignment: BTreeMap::new(),
        }
    }

    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }
}

/// A topic in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicListing {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
}

impl AdminClient {
    /// CreateTopics. With `validate_only` the broker checks and creates nothing.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Outcomes<String>, ClientError> {
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_validate_only(validate_only)
            .with_topics(topics.iter().map(creatable).collect());
        let response = self
            .cluster
            .retry(|| self.cluster.call_controller(&request))
            .await?;
        Ok(response
            .topics
            .into_iter()
            .map(|t| {
                let outcome = ClientError::check(t.error_code, t.error_message.as_deref());
                (t.name.0.to_string(), outcome)
            })
            .collect())
    }

    /// DeleteTopics by name.
    pub async fn delete_topics(&self, names: &[String]) -> Result<Outcomes<String>, ClientError> {
        let response = self
            .cluster
            .retry(|| async {
                let conn = self.cluster.any_connection().await?;
                let (min, max) = client_versions::<DeleteTopicsRequest>();
                let version = conn.negotiate(ApiKey::DeleteTopics, min, max)?;
                // v6 names topics in `topics`, older versions in `topic_names`.
                let request = if version >= 6 {
                    DeleteTopicsRequest::default().with_topics(
                        names
                            .iter()
                            .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                            .collect(),
                    )
                } else {
                    DeleteTopicsRequest::default()
                        .with_topic_names(names.iter().map(|n| topic_name(n)).collect())
                }
                .with_timeout_ms(self.timeout_ms());
                conn.call_at(&request, version).await
            })
            .await?;
        let mut outcomes: Outcomes<String> = response
            .responses
            .into_iter()
            .filter_map(|r| {
                let name = r.name?.0.to_string();
                Some((
                    name,
                    ClientError::check(r.error_code, r.error_message.as_deref()),
                ))
            })
            .collect();
        for name in names {
            outcomes.entry(name.clone()).or_insert(Ok(()));
        }
        // The deleted topics must not linger in the cached metadata.
        let _ = self.cluster.refresh_metadata(Some(names)).await;
        Ok(outcomes)
    }

    /// Every topic, from a full Metadata request; internal topics only with
    /// `include_internal`.
    pub async fn list_topics(
        &self,
        include_internal: bool,
    ) -> Result<Vec<TopicListing>, ClientError> {
        let metadata = self
            .cluster
            .retry(|| self.cluster.refresh_metadata(None))
            .await?;
        Ok(metadata
            .topics
            .values()
            .filter(|t| include_internal || !t.is_internal)
            .map(|t| TopicListing {
                name: t.name.clone(),
                topic_id: t.topic_id,
                is_internal: t.is_internal,
            })
            .collect())
    }

    /// Partitions, leaders, replicas and ISR of `names`; fails with
    /// UNKNOWN_TOPIC_OR_PARTITION naming the first topic that does not exist.
    pub async fn describe_topics(
        &self,
        names: &[String],
    ) -> Result<Vec<TopicMetadata>, ClientError> {
        let metadata = self
            .cluster
            .retry(|| self.cluster.refresh_metadata(Some(names)))
            .await?;
        names
            .iter()
            .map(|name| {
                metadata
                    .topics
                    .get(name)
                    .cloned()
                    .ok_or_else(|| ClientError::Kafka {
                        error: kafka_protocol::ResponseError::UnknownTopicOrPartition,
                        message: Some(format!("topic {name} does not exist")),
                    })
            })
            .collect()
    }

    /// Eligible leader replicas and last known ELR (KIP-966) of every partition of `names`,
    /// from DescribeTopicPartitions, which is where Kafka's Admin reads them. `None` when the
    /// broker does not offer that API: the ELR is then unknown (Kafka's tools print `N/A`),
    /// which is not the same as empty.
    pub async fn describe_eligible_leader_replicas(
        &self,
        names: &[String],
    ) -> Result<Option<BTreeMap<TopicPartition, EligibleLeaders>>, ClientError> {
        let conn = self.cluster.any_connection().await?;
        if conn
            .broker_versions(ApiKey::DescribeTopicPartitions)
            .is_none()
        {
            return Ok(None);
        }
        let mut found = BTreeMap::new();
        let mut cursor: Option<Cursor> = None;
        // The broker pages by partition count; each answer says where the next page starts.
        loop {
            let request = DescribeTopicPartitionsRequest::default()
                .with_topics(
                    names
                        .iter()
                        .map(|n| TopicRequest::default().with_name(topic_name(n)))
                        .collect(),
                )
                .with_response_partition_limit(2000)
                .with_cursor(cursor.take());
            let response = self
                .cluster
                .retry(|| self.cluster.call_any(&request))
                .await?;
            for topic in response.topics {
                ClientError::check(topic.error_code, None)?;
                let Some(name) = topic.name else { continue };
                for p in topic.partitions {
                    let ids = |v: Option<Vec<BrokerId>>| {
                        v.unwrap_or_default().into_iter().map(|b| b.0).collect()
                    };
                    found.insert(
                        TopicPartition::new(name.0.to_string(), p.partition_index),
                        EligibleLeaders {
                            elr: ids(p.eligible_leader_replicas),
                            last_known_elr: ids(p.last_known_elr),
                        },
                    );
                }
            }
            match response.next_cursor {
                Some(next) => {
                    cursor = Some(
                        Cursor::default()
                            .with_topic_name(next.topic_name)
                            .with_partition_index(next.partition_index),
                    )
                }
                None => return Ok(Some(found)),
            }
        }
    }

    /// CreatePartitions: raises each topic's partition count to the given total.
    pub async fn create_partitions(
        &self,
        new_totals: &BTreeMap<String, i32>,
        validate_only: bool,
    ) -> Result<Outcomes<String>, ClientError> {
        let request = CreatePartitionsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_validate_only(validate_only)
            .with_topics(
                new_totals
                    .iter()
                    .map(|(name, count)| {
                        CreatePartitionsTopic::default()
                            .with_name(topic_name(name))
                            .with_count(*count)
                            .with_assignments(None)
                    })
                    .collect(),
            );
        let response = self
            .cluster
            .retry(|| self.cluster.call_controller(&request))
            .await?;
        let names: Vec<String> = new_totals.keys().cloned().collect();
        let _ = self.cluster.refresh_metadata(Some(&names)).await;
        Ok(response
            .results
            .into_iter()
            .map(|r| {
                (
                    r.name.0.to_string(),
                    ClientError::check(r.error_code, r.error_message.as_deref()),
                )
            })
            .collect())
    }
}

fn creatable(topic: &NewTopic) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(topic_name(&topic.name))
        .with_num_partitions(if topic.replica_assignment.is_empty() {
            topic.num_partitions
        } else {
            -1
        })
        .with_replication_factor(if topic.replica_assignment.is_empty() {
            topic.replication_factor
        } else {
            -1
        })
        .with_assignments(
            topic
                .replica_assignment
                .iter()
                .map(|(partition, brokers)| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(*partition)
                        .with_broker_ids(brokers.iter().map(|b| BrokerId(*b)).collect())
                })
                .collect(),
        )
        .with_configs(
            topic
                .configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(k.clone()))
                        .with_value(Some(StrBytes::from_string(v.clone())))
                })
                .collect(),
        )
}
