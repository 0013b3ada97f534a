//! OffsetCommit (key 8), v2-9: stores a group's consumed positions in `__consumer_offsets`.
//!
//! Members commit with their member id and generation; tools and standalone consumers with an
//! empty member id and generation -1, which only an empty (or unknown) group accepts — tools
//! rely on UNKNOWN_MEMBER_ID to refuse resetting an active group. A group-level refusal
//! (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, NOT_COORDINATOR, ...) is
//! reported on every partition, as Kafka does; OFFSET_METADATA_TOO_LARGE is per partition.
//! The answer is sent once the records are durable (`acks=-1` semantics). The v2-4
//! `retention_time_ms` is honoured as Kafka 4.x still honours it: anything but -1 gives the
//! offsets an explicit expire timestamp (commit time + retention, an offset value v1), after
//! which offset expiry removes them; later versions carry no such field (-1). An empty group id
//! is INVALID_GROUP_ID.

use fjord_coordinator::{GroupError, OffsetCommitEntry, Outcome, PartitionResult};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let entries: Vec<OffsetCommitEntry> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| OffsetCommitEntry {
                topic: t.name.to_string(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: p.committed_leader_epoch,
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let results = commit(ctx, &request, &entries).await;
    let mut results = results.map(|r| r.into_iter());
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = match &mut results {
                        Ok(results) => results
                            .next()
                            .and_then(|r| r.error)
                            .map_or(0, |e| e.error_code()),
                        Err(e) => e.error_code(),
                    };
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_topic_id(t.topic_id)
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

async fn commit(
    ctx: &BrokerContext,
    request: &OffsetCommitRequest,
    entries: &[OffsetCommitEntry],
) -> Result<Vec<PartitionResult>, GroupRuntimeError> {
    let group_id = request.group_id.as_str();
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let member_id = request.member_id.as_str();
    let instance_id = request.group_instance_id.as_deref();
    let generation_id = request.generation_id_or_member_epoch;
    let (committed, _) = shard
        .write(|coordinator, now| {
            match coordinator.commit_offsets_with_retention(
                group_id,
                member_id,
                instance_id,
                generation_id,
                entries,
                request.retention_time_ms,
                now,
            ) {
                Ok((results, records)) => (
                    Ok(results),
                    Outcome {
                        ready: Vec::new(),
                        records,
                    },
                    None,
                ),
                Err(e) => (Err(e), Outcome::default(), None),
            }
        })
        .await?;
    Ok(committed?)
}
