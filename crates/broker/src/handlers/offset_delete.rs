//! OffsetDelete (key 47), v0: removes committed offsets of an empty group.
//!
//! A group-level error (GROUP_ID_NOT_FOUND, INVALID_GROUP_ID, NOT_COORDINATOR, ...) is the
//! top-level error code; GROUP_SUBSCRIBED_TO_TOPIC is per partition while the group has
//! members. Tombstones are durable before the answer.

use fjord_coordinator::{GroupError, Outcome, PartitionResult};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::{BrokerContext, RequestContext};
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let partitions: Vec<(String, i32)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.to_string(), p.partition_index))
        })
        .collect();
    let results = match delete(ctx, request.group_id.as_str(), &partitions).await {
        Ok(results) => results,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(e.error_code()),
    };
    let mut results = results.into_iter();
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = results
                        .next()
                        .and_then(|r| r.error)
                        .map_or(0, |e| e.error_code());
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}

async fn delete(
    ctx: &BrokerContext,
    group_id: &str,
    partitions: &[(String, i32)],
) -> Result<Vec<PartitionResult>, GroupRuntimeError> {
    if group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(group_id).await?;
    let known = shard
        .read(|coordinator| {
            coordinator.group(group_id).is_some()
                || !coordinator.fetch_offsets(group_id, None).is_empty()
        })
        .await?;
    if !known {
        return Err(GroupError::GroupIdNotFound.into());
    }
    let (deleted, _) = shard
        .write(
            |coordinator, _now| match coordinator.delete_offsets(group_id, partitions) {
                Ok((results, records)) => (
                    Ok(results),
                    Outcome {
                        ready: Vec::new(),
                        records,
                    },
                    None,
                ),
                Err(e) => (Err(e), Outcome::default(), None),
            },
        )
        .await?;
    Ok(deleted?)
}
