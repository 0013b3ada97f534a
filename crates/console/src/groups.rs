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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::{Buf, Bytes};
use fjord_broker::group::GroupRuntimeError;
use fjord_broker::BrokerContext;
use fjord_coordinator::{GroupCoordinator, GroupType};
use fjord_metadata::MetadataImage;
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable;
use serde::Serialize;

use crate::error::{ConsoleError, Result};
use crate::model::{PartitionStats, Snapshot};

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

/// Reads one group; `only` limits the commits read to those partitions (the topic page asks
/// for one topic's, instead of copying every commit of every group).
fn raw_group(
    coordinator: &GroupCoordinator,
    image: &MetadataImage,
    group_id: &str,
    group_type: GroupType,
    state: String,
    only: Option<&[(String, i32)]>,
) -> Option<RawGroup> {
    let committed: BTreeMap<(String, i32), i64> = coordinator
        .fetch_offsets(group_id, only)
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

/// The member owning each assigned partition.
fn owners(members: &[GroupMember]) -> BTreeMap<(String, i32), PartitionOwner> {
    let mut owners = BTreeMap::new();
    for m in members {
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
    owners
}

/// Lag of one committed offset against the partition's high watermark.
fn lag(current_offset: Option<i64>, log_end_offset: Option<i64>) -> Option<i64> {
    match (current_offset, log_end_offset) {
        // A commit past the end (after a truncation) is no negative lag.
        (Some(c), Some(e)) => Some((e - c).max(0)),
        _ => None,
    }
}

/// Walks `committed` (sorted by topic) and calls `f(topic, partition, offset, high_watermark)`,
/// looking each topic's hosted partitions up once rather than once per partition.
fn for_each_commit<'a>(
    committed: &'a BTreeMap<(String, i32), i64>,
    snapshot: &Snapshot,
    mut f: impl FnMut(&'a str, i32, i64, Option<i64>),
) {
    let mut current: Option<(&str, Option<&HashMap<i32, PartitionStats>>)> = None;
    for ((topic, partition), offset) in committed {
        let hosted = match current {
            Some((t, hosted)) if t == topic => hosted,
            _ => {
                let hosted = snapshot.topic_stats(topic);
                current = Some((topic, hosted));
                hosted
            }
        };
        let high_watermark = hosted
            .and_then(|h| h.get(partition))
            .map(|s| s.high_watermark);
        f(topic, *partition, *offset, high_watermark);
    }
}

/// The summary of a group without its partition rows: topics and total lag.
fn summarize(raw: RawGroup, snapshot: &Snapshot) -> GroupSummary {
    let RawGroup {
        mut summary,
        committed,
    } = raw;
    let mut topics: BTreeSet<&str> = BTreeSet::new();
    let mut total: Option<i64> = None;
    for_each_commit(&committed, snapshot, |topic, _, offset, end| {
        if let Some(l) = lag(Some(offset), end) {
            *total.get_or_insert(0) += l;
        }
        topics.insert(topic);
    });
    let mut topics: BTreeSet<String> = topics.into_iter().map(str::to_string).collect();
    for m in &summary.members {
        topics.extend(m.assignment.iter().map(|(t, _)| t.clone()));
    }
    summary.topics = topics.into_iter().collect();
    summary.total_lag = total;
    summary
}

/// Joins a group's commits and assignments with the partitions' offsets.
fn finish(raw: RawGroup, snapshot: &Snapshot) -> GroupDetail {
    let mut owners = owners(&raw.summary.members);
    let mut partitions: Vec<PartitionLag> = Vec::with_capacity(raw.committed.len());
    for_each_commit(&raw.committed, snapshot, |topic, partition, offset, end| {
        partitions.push(PartitionLag {
            topic: topic.to_string(),
            partition,
            current_offset: Some(offset),
            log_end_offset: end,
            lag: lag(Some(offset), end),
            owner: owners.remove(&(topic.to_string(), partition)),
        });
    });
    // Assigned partitions without a commit yet.
    for ((topic, partition), owner) in owners {
        let log_end_offset = snapshot
            .partition_stats(&topic, partition)
            .map(|s| s.high_watermark);
        partitions.push(PartitionLag {
            topic,
            partition,
            current_offset: None,
            log_end_offset,
            lag: None,
            owner: Some(owner),
        });
    }
    partitions
        .sort_by(|a, b| (a.topic.as_str(), a.partition).cmp(&(b.topic.as_str(), b.partition)));
    let summary = summarize(raw, snapshot);
    GroupDetail {
        summary,
        partitions,
    }
}

/// Every live group of every loaded coordinator shard: one lock per shard, none per group or
/// partition. Shards still loading are skipped.
async fn read_groups(
    ctx: &BrokerContext,
    image: &MetadataImage,
    only: Option<&[(String, i32)]>,
) -> Vec<RawGroup> {
    let mut raws = Vec::new();
    for shard in ctx.groups.shards() {
        let listed = shard
            .read(|coordinator| {
                coordinator
                    .list_groups()
                    .into_iter()
                    .filter_map(|l| {
                        raw_group(coordinator, image, &l.group_id, l.group_type, l.state, only)
                    })
                    .collect::<Vec<_>>()
            })
            .await;
        if let Ok(listed) = listed {
            raws.extend(listed);
        }
    }
    raws.sort_by(|a, b| a.summary.group_id.cmp(&b.summary.group_id));
    raws
}

/// Every live group this broker coordinates, with partitions, sorted by id, joined with the
/// offsets of `snapshot`.
pub async fn list_group_details(ctx: &BrokerContext, snapshot: &Snapshot) -> Vec<GroupDetail> {
    read_groups(ctx, &snapshot.image, None)
        .await
        .into_iter()
        .map(|r| finish(r, snapshot))
        .collect()
}

/// Every live group this broker coordinates, sorted by id.
pub async fn list_groups(ctx: &BrokerContext) -> Vec<GroupSummary> {
    let snapshot = Snapshot::take(ctx);
    read_groups(ctx, &snapshot.image, None)
        .await
        .into_iter()
        .map(|r| summarize(r, &snapshot))
        .collect()
}

/// Per group (sorted by id), the sum of the known lags per topic (sorted), for the
/// `fjord_group_lag` gauge: the same join as the group page, without building its rows.
pub async fn group_topic_lags(
    ctx: &BrokerContext,
    snapshot: &Snapshot,
) -> Vec<(String, Vec<(String, i64)>)> {
    read_groups(ctx, &snapshot.image, None)
        .await
        .into_iter()
        .map(|raw| {
            let mut per_topic: Vec<(String, i64)> = Vec::new();
            for_each_commit(&raw.committed, snapshot, |topic, _, offset, end| {
                let Some(l) = lag(Some(offset), end) else {
                    return;
                };
                match per_topic.last_mut() {
                    Some((t, sum)) if t == topic => *sum += l,
                    _ => per_topic.push((topic.to_string(), l)),
                }
            });
            (raw.summary.group_id, per_topic)
        })
        .collect()
}

/// How many live groups this broker coordinates (the dashboard's count: no offsets read).
pub async fn count_groups(ctx: &BrokerContext) -> usize {
    let mut count = 0;
    for shard in ctx.groups.shards() {
        if let Ok(n) = shard.read(|c| c.list_groups().len()).await {
            count += n;
        }
    }
    count
}

/// A group consuming one topic, as the topic page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TopicGroup {
    pub group_id: String,
    pub group_type: &'static str,
    pub state: String,
    /// Members of the group (all of them, not only those assigned this topic).
    pub members: usize,
    /// Partitions of this topic the group has committed offsets for or is assigned.
    pub partitions: usize,
    /// Sum of the known lags on this topic's partitions; `None` when none is known.
    pub lag: Option<i64>,
}

/// The groups consuming `topic`: those with a committed offset on one of its partitions or a
/// member assigned one, sorted by id. 404 when the topic does not exist.
pub async fn topic_groups(ctx: &BrokerContext, topic: &str) -> Result<Vec<TopicGroup>> {
    let snapshot = Snapshot::take(ctx);
    let Some(image) = snapshot.image.topic(topic) else {
        return Err(ConsoleError::NotFound(format!(
            "topic {topic:?} does not exist"
        )));
    };
    let partitions: Vec<(String, i32)> = image
        .partitions
        .keys()
        .map(|p| (topic.to_string(), *p))
        .collect();
    let hosted = snapshot.topic_stats(topic);
    let mut groups = Vec::new();
    for raw in read_groups(ctx, &snapshot.image, Some(&partitions)).await {
        let mut partitions: BTreeSet<i32> = BTreeSet::new();
        let mut total: Option<i64> = None;
        let range = (topic.to_string(), i32::MIN)..=(topic.to_string(), i32::MAX);
        for ((_, partition), offset) in raw.committed.range(range) {
            partitions.insert(*partition);
            let end = hosted
                .and_then(|h| h.get(partition))
                .map(|s| s.high_watermark);
            if let Some(l) = lag(Some(*offset), end) {
                *total.get_or_insert(0) += l;
            }
        }
        for m in &raw.summary.members {
            partitions.extend(
                m.assignment
                    .iter()
                    .filter(|(t, _)| t == topic)
                    .map(|(_, p)| *p),
            );
        }
        if partitions.is_empty() {
            continue;
        }
        groups.push(TopicGroup {
            group_id: raw.summary.group_id,
            group_type: raw.summary.group_type,
            state: raw.summary.state,
            members: raw.summary.members.len(),
            partitions: partitions.len(),
            lag: total,
        });
    }
    Ok(groups)
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
                .and_then(|l| {
                    raw_group(coordinator, image, &l.group_id, l.group_type, l.state, None)
                })
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
