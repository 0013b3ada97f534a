//! Consumer groups as the console shows them: classic and KIP-848 consumer groups of every
//! `__consumer_offsets` partition this broker coordinates, read from the group coordinator
//! runtime (`BrokerContext::groups`) the way the ListGroups, DescribeGroups and OffsetFetch
//! handlers read it, joined with the hosted partitions' offsets to give the lag.
//!
//! Lag of a partition is `log_end_offset - current_offset`, where `log_end_offset` is what a
//! consumer can read up to (the high watermark, as `kafka-consumer-groups --describe` reports
//! it) and `current_offset` the committed offset. A partition with no commit, or not hosted
//! here, has no lag; the group's total is the sum of the known ones.
//!
//! Owners: a classic group's member assignment is decoded as the consumer protocol's
//! `ConsumerProtocolAssignment` (a version prefix then the body); other protocol types own
//! nothing we can show. A KIP-848 member's assignment names topic ids, resolved through the
//! metadata image. Shards still loading are skipped, so a listing during start-up may be
//! partial.
//!
//! Mutations (offset reset, delete) live in `group_admin.rs`.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, Bytes};
use fjord_broker::group::GroupRuntimeError;
use fjord_broker::BrokerContext;
use fjord_coordinator::{GroupCoordinator, GroupType};
use fjord_metadata::MetadataImage;
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable;
use serde::Serialize;

use crate::error::{ConsoleError, Result};
use crate::model::Snapshot;

/// One member of a group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Partitions assigned to this member, as (topic, partition).
    pub assignment: Vec<(String, i32)>,
}

/// One group, as the list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupSummary {
    pub group_id: String,
    /// `classic` (JoinGroup/SyncGroup) or `consumer` (KIP-848).
    pub group_type: &'static str,
    /// Kafka's state names: Empty, PreparingRebalance, CompletingRebalance, Stable for classic
    /// groups; Empty, Assigning, Reconciling, Stable for consumer groups.
    pub state: String,
    pub protocol_type: Option<String>,
    /// The assignor chosen for the current generation (classic groups).
    pub protocol: Option<String>,
    /// Generation (classic) or group epoch (consumer).
    pub generation_id: i32,
    pub members: Vec<GroupMember>,
    /// Topics the group has committed offsets for or is assigned, sorted.
    pub topics: Vec<String>,
    /// Sum of the known per-partition lags; `None` when no partition's lag is known.
    pub total_lag: Option<i64>,
}

/// The member owning a partition.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartitionOwner {
    pub member_id: String,
    pub client_id: String,
    pub client_host: String,
}

/// One partition of a group's page.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// The committed offset, `None` when the group has not committed this partition.
    pub current_offset: Option<i64>,
    /// The high watermark, `None` when this broker does not host the partition.
    pub log_end_offset: Option<i64>,
    pub lag: Option<i64>,
    pub owner: Option<PartitionOwner>,
}

/// A group with its partitions.
#[derive(Debug, Clone, Serialize)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub summary: GroupSummary,
    pub partitions: Vec<PartitionLag>,
}

/// Decodes a consumer-protocol assignment; empty on bytes that are not one (other protocol
/// types put anything there, and a member between join and sync has none).
pub fn decode_assignment(bytes: &Bytes) -> Vec<(String, i32)> {
    let mut buf = bytes.clone();
    if buf.remaining() < 2 {
        return Vec::new();
    }
    // Versions above 3 are read as 3: later versions only add tagged fields.
    let version = buf.get_i16().clamp(0, 3);
    match ConsumerProtocolAssignment::decode(&mut buf, version) {
        Ok(assignment) => assignment
            .assigned_partitions
            .into_iter()
            .flat_map(|t| {
                let topic = t.topic.0.to_string();
                t.partitions.into_iter().map(move |p| (topic.clone(), p))
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// What one coordinator read gathers about a group: members, assignments, commits.
struct RawGroup {
    summary: GroupSummary,
    /// (topic, partition) → committed offset.
    committed: BTreeMap<(String, i32), i64>,
}

fn raw_group(
    coordinator: &GroupCoordinator,
    image: &MetadataImage,
    group_id: &str,
    group_type: GroupType,
    state: String,
) -> Option<RawGroup> {
    let committed: BTreeMap<(String, i32), i64> = coordinator
        .fetch_offsets(group_id, None)
        .into_iter()
        .filter(|o| o.offset >= 0)
        .map(|o| ((o.topic, o.partition), o.offset))
        .collect();
    let summary = match group_type {
        GroupType::Consumer => {
            let g = coordinator.consumer_group(group_id)?;
            GroupSummary {
                group_id: g.group_id.clone(),
                group_type: "consumer",
                state,
                protocol_type: Some("consumer".to_string()),
                protocol: None,
                generation_id: g.group_epoch,
                members: g
                    .members
                    .values()
                    .map(|m| GroupMember {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        assignment: m
                            .assigned_partitions
                            .iter()
                            .filter_map(|(id, ps)| {
                                image.topic_by_id(id).map(|t| (t.name.clone(), ps))
                            })
                            .flat_map(|(name, ps)| ps.iter().map(move |p| (name.clone(), *p)))
                            .collect(),
                    })
                    .collect(),
                topics: Vec::new(),
                total_lag: None,
            }
        }
        _ => {
            let g = coordinator.group(group_id)?;
            let consumer_protocol = g.protocol_type.as_deref() == Some("consumer");
            GroupSummary {
                group_id: g.group_id.clone(),
                group_type: "classic",
                state,
                protocol_type: g.protocol_type.clone().filter(|p| !p.is_empty()),
                protocol: g.protocol_name.clone(),
                generation_id: g.generation_id,
                members: g
                    .members
                    .values()
                    .map(|m| GroupMember {
                        member_id: m.member_id.clone(),
                        group_instance_id: m.group_instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        assignment: if consumer_protocol {
                            decode_assignment(&m.assignment)
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
                topics: Vec::new(),
                total_lag: None,
            }
        }
    };
    Some(RawGroup { summary, committed })
}

/// Joins a group's commits and assignments with the partitions' offsets.
fn finish(raw: RawGroup, snapshot: &Snapshot) -> GroupDetail {
    let RawGroup {
        mut summary,
        committed,
    } = raw;
    let mut owners: BTreeMap<(String, i32), PartitionOwner> = BTreeMap::new();
    for m in &summary.members {
        for tp in &m.assignment {
            owners.insert(
                tp.clone(),
                PartitionOwner {
                    member_id: m.member_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                },
            );
        }
    }
    let keys: BTreeSet<(String, i32)> = committed.keys().chain(owners.keys()).cloned().collect();
    let partitions: Vec<PartitionLag> = keys
        .into_iter()
        .map(|(topic, partition)| {
            let current_offset = committed.get(&(topic.clone(), partition)).copied();
            let log_end_offset = snapshot
                .partition_stats(&topic, partition)
                .map(|s| s.high_watermark);
            let lag = match (current_offset, log_end_offset) {
                // A commit past the end (after a truncation) is no negative lag.
                (Some(c), Some(e)) => Some((e - c).max(0)),
                _ => None,
            };
            let owner = owners.remove(&(topic.clone(), partition));
            PartitionLag {
                topic,
                partition,
                current_offset,
                log_end_offset,
                lag,
                owner,
            }
        })
        .collect();
    let topics: BTreeSet<&str> = partitions.iter().map(|p| p.topic.as_str()).collect();
    summary.topics = topics.into_iter().map(str::to_string).collect();
    let lags: Vec<i64> = partitions.iter().filter_map(|p| p.lag).collect();
    summary.total_lag = (!lags.is_empty()).then(|| lags.iter().sum());
    GroupDetail {
        summary,
        partitions,
    }
}

/// Every live group this broker coordinates, with partitions, sorted by id.
pub async fn list_group_details(ctx: &BrokerContext) -> Vec<GroupDetail> {
    let snapshot = Snapshot::take(ctx);
    let image = &snapshot.image;
    let mut raws = Vec::new();
    for shard in ctx.groups.shards() {
        let listed = shard
            .read(|coordinator| {
                coordinator
                    .list_groups()
                    .into_iter()
                    .filter_map(|l| {
                        raw_group(coordinator, image, &l.group_id, l.group_type, l.state)
                    })
                    .collect::<Vec<_>>()
            })
            .await;
        if let Ok(listed) = listed {
            raws.extend(listed);
        }
    }
    let mut groups: Vec<GroupDetail> = raws.into_iter().map(|r| finish(r, &snapshot)).collect();
    groups.sort_by(|a, b| a.summary.group_id.cmp(&b.summary.group_id));
    groups
}

/// Every live group this broker coordinates, sorted by id.
pub async fn list_groups(ctx: &BrokerContext) -> Vec<GroupSummary> {
    list_group_details(ctx)
        .await
        .into_iter()
        .map(|d| d.summary)
        .collect()
}

/// One group with its partitions; 404 when no live group has this id.
pub async fn group_detail(ctx: &BrokerContext, group_id: &str) -> Result<GroupDetail> {
    let snapshot = Snapshot::take(ctx);
    let image = &snapshot.image;
    let shard = ctx.groups.shard_for(group_id).await?;
    let raw = shard
        .read(|coordinator| {
            coordinator
                .list_groups()
                .into_iter()
                .find(|l| l.group_id == group_id)
                .and_then(|l| raw_group(coordinator, image, &l.group_id, l.group_type, l.state))
        })
        .await?;
    match raw {
        Some(raw) => Ok(finish(raw, &snapshot)),
        None => Err(ConsoleError::Group(GroupRuntimeError::Group(
            fjord_coordinator::GroupError::GroupIdNotFound,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    #[test]
    fn decodes_a_consumer_protocol_assignment_and_ignores_other_bytes() {
        let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            TopicPartition::default()
                .with_topic(TopicName(StrBytes::from_static_str("orders")))
                .with_partitions(vec![0, 2]),
        ]);
        let mut buf = bytes::BytesMut::new();
        buf.put_i16(3);
        assignment.encode(&mut buf, 3).expect("encodes");
        assert_eq!(
            decode_assignment(&buf.freeze()),
            vec![("orders".to_string(), 0), ("orders".to_string(), 2)]
        );
        assert!(decode_assignment(&Bytes::from_static(b"\x00")).is_empty());
        assert!(decode_assignment(&Bytes::from_static(b"\x00\x01\xff\xff\xff")).is_empty());
    }
}
