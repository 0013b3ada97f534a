//! Group administration through the group coordinator: FindCoordinator, ListGroups,
//! DescribeGroups, OffsetFetch, OffsetCommit as an admin (generation -1, no member id),
//! DeleteGroups.
//!
//! Each group has one coordinator broker; requests about a group go there, and
//! NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS make the retry
//! loop look the coordinator up again.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest,
    FindCoordinatorRequest, GroupId, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use super::offsets::group_topics;
use super::{topic_name, AdminClient, Outcomes};
use crate::cluster::{Cluster, TopicPartition};
use crate::connection::client_versions;
use crate::error::ClientError;

/// A group in ListGroups' answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    /// Empty when the broker does not report states (ListGroups < v4).
    pub group_state: String,
    pub coordinator_id: i32,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub error_code: i16,
    pub group_state: String,
    pub protocol_type: String,
    /// The assignor chosen (`range`, `cooperative-sticky`, ...).
    pub protocol: String,
    pub members: Vec<GroupMember>,
    pub coordinator_id: i32,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// The consumer-protocol assignment, decoded when the group is a consumer group.
    pub assignment: Vec<TopicPartition>,
    pub raw_assignment: Bytes,
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// Decodes a consumer-protocol assignment (version prefix then body); empty on bytes that are
/// not one (other protocol types put anything there).
pub fn decode_assignment(bytes: &Bytes) -> Vec<TopicPartition> {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return Vec::new();
    }
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(assignment) => assignment
            .assigned_partitions
            .into_iter()
            .flat_map(|t| {
                let topic = t.topic.0.to_string();
                t.partitions
                    .into_iter()
                    .map(move |p| TopicPartition::new(topic.clone(), p))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The coordinator node of `group_id` (key type 0) or a transactional id (key type 1).
pub(crate) async fn find_coordinator(
    cluster: &Cluster,
    key: &str,
    key_type: i8,
) -> Result<i32, ClientError> {
    cluster
        .retry(|| async {
            let conn = cluster.any_connection().await?;
            let (min, max) = client_versions::<FindCoordinatorRequest>();
            let version = conn.negotiate(ApiKey::FindCoordinator, min, max)?;
            let key = StrBytes::from_string(key.to_string());
            // v4 batches keys (KIP-699); older versions take one key.
            let request = if version >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
            } else {
                FindCoordinatorRequest::default().with_key(key)
            }
            .with_key_type(key_type);
            let response = conn.call_at(&request, version).await?;
            let (node_id, code, message) =
                if version >= 4 {
                    let c = response.coordinators.into_iter().next().ok_or_else(|| {
                        ClientError::Kafka {
                            error: kafka_protocol::ResponseError::CoordinatorNotAvailable,
                            message: Some("empty FindCoordinator answer".to_string()),
                        }
                    })?;
                    (c.node_id.0, c.error_code, c.error_message)
                } else {
                    (
                        response.node_id.0,
                        response.error_code,
                        response.error_message,
                    )
                };
            ClientError::check(code, message.as_deref())?;
            if !cluster.metadata().brokers.contains_key(&node_id) {
                cluster.refresh_metadata(Some(&[])).await?;
            }
            Ok(node_id)
        })
        .await
}

fn group_id(name: &str) -> GroupId {
    GroupId(StrBytes::from_string(name.to_string()))
}

impl AdminClient {
    /// The node id of `group_id`'s coordinator.
    pub async fn find_coordinator(&self, group_id: &str) -> Result<i32, ClientError> {
        find_coordinator(&self.cluster, group_id, 0).await
    }

    /// ListGroups on every broker.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>, ClientError> {
        let nodes: Vec<i32> = self.cluster.metadata().brokers.keys().copied().collect();
        let mut out = Vec::new();
        for node_id in nodes {
            let response = self
                .cluster
                .retry(|| async {
                    let response = self
                        .cluster
                        .call_node(node_id, &ListGroupsRequest::default())
                        .await?;
                    ClientError::check(response.error_code, None)?;
                    Ok(response)
                })
                .await?;
            out.extend(response.groups.into_iter().map(|g| GroupListing {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                group_state: g.group_state.to_string(),
                coordinator_id: node_id,
            }));
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(out)
    }

    /// DescribeGroups, each at its coordinator.
    pub async fn describe_groups(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<GroupDescription>, ClientError> {
        let mut out = Vec::new();
        for group in group_ids {
            let (coordinator, described) = self
                .cluster
                .retry(|| async {
                    let coordinator = self.find_coordinator(group).await?;
                    let request =
                        DescribeGroupsRequest::default().with_groups(vec![group_id(group)]);
                    let response = self.cluster.call_node(coordinator, &request).await?;
                    let described = response.groups.into_iter().next().ok_or_else(|| {
                        ClientError::Protocol {
                            addr: format!("node {coordinator}"),
                            reason: "DescribeGroups answered no group".to_string(),
                        }
                    })?;
                    if let Some(err) = ClientError::from_code(described.error_code, None) {
                        if err.is_retriable() {
                            return Err(err);
                        }
                    }
                    Ok((coordinator, described))
                })
                .await?;
            let consumer = described.protocol_type.as_str() == "consumer";
            out.push(GroupDescription {
                group_id: described.group_id.0.to_string(),
                error_code: described.error_code,
                group_state: described.group_state.to_string(),
                protocol_type: described.protocol_type.to_string(),
                protocol: described.protocol_data.to_string(),
                coordinator_id: coordinator,
                members: described
                    .members
                    .into_iter()
                    .map(|m| GroupMember {
                        member_id: m.member_id.to_string(),
                        group_instance_id: m.group_instance_id.map(|i| i.to_string()),
                        client_id: m.client_id.to_string(),
                        client_host: m.client_host.to_string(),
                        assignment: if consumer {
                            decode_assignment(&m.member_assignment)
                        } else {
                            Vec::new()
                        },
                        raw_assignment: m.member_assignment,
                    })
                    .collect(),
            });
        }
        Ok(out)
    }

    /// OffsetFetch: the group's committed offsets, for `partitions` or all when `None`.
    pub async fn list_consumer_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>, ClientError> {
        fetch_offsets(&self.cluster, group, partitions).await
    }

    /// OffsetCommit as an admin (generation -1, no member): sets the group's offsets. The
    /// broker refuses this for a group with active members (UNKNOWN_MEMBER_ID).
    pub async fn alter_consumer_group_offsets(
        &self,
        group: &str,
        offsets: &BTreeMap<TopicPartition, i64>,
    ) -> Result<Outcomes<TopicPartition>, ClientError> {
        let offsets = offsets
            .iter()
            .map(|(tp, offset)| {
                (
                    tp.clone(),
                    OffsetAndMetadata {
                        offset: *offset,
                        leader_epoch: -1,
                        metadata: None,
                    },
                )
            })
            .collect();
        commit_offsets(&self.cluster, group, -1, "", None, &offsets).await
    }

    /// DeleteGroups, each at its coordinator.
    pub async fn delete_groups(
        &self,
        group_ids: &[String],
    ) -> Result<Outcomes<String>, ClientError> {
        let mut out = BTreeMap::new();
        for group in group_ids {
            let outcome = self
                .cluster
                .retry(|| async {
                    let coordinator = self.find_coordinator(group).await?;
                    let request =
                        DeleteGroupsRequest::default().with_groups_names(vec![group_id(group)]);
                    let response = self.cluster.call_node(coordinator, &request).await?;
                    let code = response.results.first().map_or(0, |r| r.error_code);
                    let outcome = ClientError::check(code, None);
                    match &outcome {
                        Err(err) if err.is_retriable() => Err(err.clone()),
                        _ => Ok(outcome),
                    }
                })
                .await?;
            out.insert(group.clone(), outcome);
        }
        Ok(out)
    }
}

/// OffsetFetch at the group's coordinator, shared with the consumer.
pub(crate) async fn fetch_offsets(
    cluster: &Cluster,
    group: &str,
    partitions: Option<&[TopicPartition]>,
) -> Result<BTreeMap<TopicPartition, OffsetAndMetadata>, ClientError> {
    cluster
        .retry(|| async {
            let coordinator = find_coordinator(cluster, group, 0).await?;
            let conn = cluster.connection(coordinator).await?;
            let (min, max) = client_versions::<OffsetFetchRequest>();
            let version = conn.negotiate(ApiKey::OffsetFetch, min, max)?;
            let mut out = BTreeMap::new();
            let mut add = |topic: String,
                           partition: i32,
                           offset: i64,
                           epoch: i32,
                           metadata: Option<StrBytes>,
                           code: i16|
             -> Result<(), ClientError> {
                ClientError::check(code, None)?;
                // -1: nothing committed for this partition.
                if offset >= 0 {
                    out.insert(
                        TopicPartition::new(topic, partition),
                        OffsetAndMetadata {
                            offset,
                            leader_epoch: epoch,
                            metadata: metadata.map(|m| m.to_string()),
                        },
                    );
                }
                Ok(())
            };
            if version >= 8 {
                let topics = partitions.map(|ps| {
                    group_topics(ps, |topic, ps| {
                        OffsetFetchRequestTopics::default()
                            .with_name(topic_name(topic))
                            .with_partition_indexes(ps.iter().map(|tp| tp.partition).collect())
                    })
                });
                let request = OffsetFetchRequest::default().with_groups(vec![
                    OffsetFetchRequestGroup::default()
                        .with_group_id(group_id(group))
                        .with_topics(topics),
                ]);
                let response = conn.call_at(&request, version).await?;
                for g in response.groups {
                    ClientError::check(g.error_code, None)?;
                    for t in g.topics {
                        for p in t.partitions {
                            add(
                                t.name.0.to_string(),
                                p.partition_index,
                                p.committed_offset,
                                p.committed_leader_epoch,
                                p.metadata,
                                p.error_code,
                            )?;
                        }
                    }
                }
            } else {
                let topics = partitions.map(|ps| {
                    group_topics(ps, |topic, ps| {
                        OffsetFetchRequestTopic::default()
                            .with_name(topic_name(topic))
                            .with_partition_indexes(ps.iter().map(|tp| tp.partition).collect())
                    })
                });
                let request = OffsetFetchRequest::default()
                    .with_group_id(group_id(group))
                    .with_topics(topics);
                let response = conn.call_at(&request, version).await?;
                ClientError::check(response.error_code, None)?;
                for t in response.topics {
                    for p in t.partitions {
                        add(
                            t.name.0.to_string(),
                            p.partition_index,
                            p.committed_offset,
                            p.committed_leader_epoch,
                            p.metadata,
                            p.error_code,
                        )?;
                    }
                }
            }
            Ok(out)
        })
        .await
}

/// OffsetCommit at the group's coordinator, shared with the consumer (which passes its
/// generation and member id; admins pass -1 and "").
pub(crate) async fn commit_offsets(
    cluster: &Cluster,
    group: &str,
    generation_id: i32,
    member_id: &str,
    group_instance_id: Option<&str>,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
) -> Result<Outcomes<TopicPartition>, ClientError> {
    let partitions: Vec<TopicPartition> = offsets.keys().cloned().collect();
    let request = OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_generation_id_or_member_epoch(generation_id)
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_group_instance_id(group_instance_id.map(|i| StrBytes::from_string(i.to_string())))
        .with_topics(group_topics(&partitions, |topic, ps| {
            OffsetCommitRequestTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(
                    ps.iter()
                        .map(|tp| {
                            let o = &offsets[*tp];
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(tp.partition)
                                .with_committed_offset(o.offset)
                                .with_committed_leader_epoch(o.leader_epoch)
                                .with_committed_metadata(
                                    o.metadata.clone().map(StrBytes::from_string),
                                )
                        })
                        .collect(),
                )
        }));
    cluster
        .retry(|| async {
            let coordinator = find_coordinator(cluster, group, 0).await?;
            let conn = cluster.connection(coordinator).await?;
            let (min, max) = client_versions::<OffsetCommitRequest>();
            let version = conn.negotiate(ApiKey::OffsetCommit, min, max)?;
            // group.instance.id exists from v7 only.
            let request = if version < 7 {
                request.clone().with_group_instance_id(None)
            } else {
                request.clone()
            };
            let response = conn.call_at(&request, version).await?;
            let mut out = BTreeMap::new();
            for t in response.topics {
                for p in t.partitions {
                    let outcome = ClientError::check(p.error_code, None);
                    if let Err(err) = &outcome {
                        if err.is_retriable() {
                            return Err(err.clone());
                        }
                    }
                    out.insert(
                        TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        outcome,
                    );
                }
            }
            Ok(out)
        })
        .await
}
