//! OffsetFetch (key 9), v1-9: a group's committed offsets.
//!
//! v1-7 ask for one group (`group_id`, `topics`; null topics = every committed partition,
//! v2+); v8+ batch groups. A partition without a commit answers offset -1, leader epoch -1,
//! metadata "" and no error. A group-level error (NOT_COORDINATOR,
//! COORDINATOR_LOAD_IN_PROGRESS, INVALID_GROUP_ID) is the top-level (v2-7) or per-group (v8+)
//! error code; v1 has neither, so it goes on every partition. `require_stable` (v7+): a
//! partition for which an open transaction holds a TxnOffsetCommit offset answers
//! UNSTABLE_OFFSET_COMMIT with offset -1 (the consumer retries until the transaction ends);
//! without it the last committed offset is returned. v9 members of a KIP-848 consumer group
//! send their member id and epoch, checked as Kafka does (UNKNOWN_MEMBER_ID,
//! STALE_MEMBER_EPOCH).

use fjord_coordinator::{FetchedOffset, GroupCoordinator, GroupError, StableFetchedOffset};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    // v7+ only: older clients never asked for stability.
    let require_stable = req.api_version >= 7 && request.require_stable;
    if req.api_version >= 8 {
        let mut groups = Vec::with_capacity(request.groups.len());
        for group in request.groups {
            let asked: Option<Vec<(String, i32)>> = group.topics.as_ref().map(|topics| {
                topics
                    .iter()
                    .flat_map(|t| t.partition_indexes.iter().map(|&p| (t.name.to_string(), p)))
                    .collect()
            });
            // v9+: a member of a KIP-848 group names itself; an admin sends null and -1.
            let member = group
                .member_id
                .as_ref()
                .map(|m| (m.to_string(), group.member_epoch));
            let response = match fetch(ctx, group.group_id.as_str(), asked, member, require_stable)
                .await
            {
                Ok(fetched) => OffsetFetchResponseGroup::default().with_topics(
                    by_topic(fetched)
                        .into_iter()
                        .map(|(topic, partitions)| {
                            OffsetFetchResponseTopics::default()
                                .with_name(TopicName(StrBytes::from_string(topic)))
                                .with_partitions(
                                    partitions
                                        .into_iter()
                                        .map(|stable| {
                                            let code = stable.error.map_or(0, |e| e.error_code());
                                            let f = stable.fetched;
                                            OffsetFetchResponsePartitions::default()
                                                .with_error_code(code)
                                                .with_partition_index(f.partition)
                                                .with_committed_offset(f.offset)
                                                .with_committed_leader_epoch(f.leader_epoch)
                                                .with_metadata(Some(StrBytes::from_string(
                                                    f.metadata,
                                                )))
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                ),
                Err(e) => OffsetFetchResponseGroup::default().with_error_code(e.error_code()),
            };
            groups.push(response.with_group_id(GroupId(group.group_id.0)));
        }
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let asked: Option<Vec<(String, i32)>> = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partition_indexes.iter().map(|&p| (t.name.to_string(), p)))
            .collect()
    });
    match fetch(
        ctx,
        request.group_id.as_str(),
        asked.clone(),
        None,
        require_stable,
    )
    .await
    {
        Ok(fetched) => OffsetFetchResponse::default().with_topics(topics_v1(fetched, 0)),
        Err(e) if req.api_version >= 2 => {
            OffsetFetchResponse::default().with_error_code(e.error_code())
        }
        Err(e) => {
            // v1 has no top-level error: every asked partition carries it.
            let failed = asked
                .unwrap_or_default()
                .into_iter()
                .map(|(topic, partition)| StableFetchedOffset {
                    fetched: FetchedOffset {
                        topic,
                        partition,
                        offset: -1,
                        leader_epoch: -1,
                        metadata: String::new(),
                    },
                    error: None,
                })
                .collect();
            OffsetFetchResponse::default().with_topics(topics_v1(failed, e.error_code()))
        }
    }
}

async fn fetch(
    ctx: &BrokerContext,
    group_id: &str,
    asked: Option<Vec<(String, i32)>>,
    member: Option<(String, i32)>,
    require_stable: bool,
) -> Result<Vec<StableFetchedOffset>, GroupRuntimeError> {
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let fetched = shard
        .read(|coordinator| {
            check_member(coordinator, group_id, member.as_ref())?;
            Ok::<_, GroupError>(coordinator.fetch_offsets_stable(
                group_id,
                asked.as_deref(),
                require_stable,
            ))
        })
        .await?;
    Ok(fetched?)
}

/// Kafka's check for a fetch naming a member of a KIP-848 consumer group: the member must
/// exist and send its current epoch (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH). Classic groups
/// and admin fetches (no member id) are not checked, as in Kafka.
fn check_member(
    coordinator: &GroupCoordinator,
    group_id: &str,
    member: Option<&(String, i32)>,
) -> Result<(), GroupError> {
    let (Some(group), Some((member_id, member_epoch))) =
        (coordinator.consumer_group(group_id), member)
    else {
        return Ok(());
    };
    if *member_epoch < 0 && member_id.is_empty() {
        return Ok(());
    }
    match group.members.get(member_id) {
        None => Err(GroupError::UnknownMemberId),
        Some(m) if m.member_epoch != *member_epoch => Err(GroupError::StaleMemberEpoch),
        Some(_) => Ok(()),
    }
}

/// Groups fetched partitions by topic, keeping the order topics first appear in.
fn by_topic(fetched: Vec<StableFetchedOffset>) -> Vec<(String, Vec<StableFetchedOffset>)> {
    let mut topics: Vec<(String, Vec<StableFetchedOffset>)> = Vec::new();
    for f in fetched {
        match topics.iter_mut().find(|(t, _)| *t == f.fetched.topic) {
            Some((_, partitions)) => partitions.push(f),
            None => topics.push((f.fetched.topic.clone(), vec![f])),
        }
    }
    topics
}

/// v1-7 topics; `error_code` (v1's group-level error) goes on every partition, else each
/// partition's own (UNSTABLE_OFFSET_COMMIT).
fn topics_v1(fetched: Vec<StableFetchedOffset>, error_code: i16) -> Vec<OffsetFetchResponseTopic> {
    by_topic(fetched)
        .into_iter()
        .map(|(topic, partitions)| {
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|stable| {
                            let code = match (error_code, stable.error) {
                                (0, Some(e)) => e.error_code(),
                                (code, _) => code,
                            };
                            let f = stable.fetched;
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(f.partition)
                                .with_committed_offset(f.offset)
                                .with_committed_leader_epoch(f.leader_epoch)
                                .with_metadata(Some(StrBytes::from_string(f.metadata)))
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect()
}
