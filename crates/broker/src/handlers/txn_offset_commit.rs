//! TxnOffsetCommit (key 28), v0-5: a transactional producer commits a group's offsets inside
//! its transaction (consume-transform-produce, KIP-98; member fencing of KIP-447).
//!
//! The offsets are staged in the group's shard as pending for the producer id and appended to
//! `__consumer_offsets` as ONE transactional batch of (producer id, producer epoch) with
//! `acks=-1` semantics; they become visible to OffsetFetch only when the transaction's COMMIT
//! marker reaches that partition (`crate::txn_markers`), and vanish on ABORT. v3+ carry the
//! member's generation, member id and instance id, checked as Kafka does (UNKNOWN_MEMBER_ID,
//! ILLEGAL_GENERATION, FENCED_INSTANCE_ID); v0-2 (no member fields) are accepted whatever the
//! group's state. v5 is v4's format (KIP-890's implicit AddOffsetsToTxn only applies once
//! `transaction.version` 2 is finalized, which fjord does not advertise).
//!
//! A group-level refusal (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, the member checks,
//! INVALID_PRODUCER_EPOCH from the log's producer state, ...) is reported on every partition,
//! as Kafka does; OFFSET_METADATA_TOO_LARGE is per partition. An empty group id is
//! INVALID_GROUP_ID.
//!
//! Not done (as Kafka 3.x before KIP-890 did not either): asking the transaction coordinator
//! whether `__consumer_offsets` was added to the transaction (AddOffsetsToTxn) first.

use fjord_coordinator::{GroupError, OffsetCommitEntry, PartitionResult, TxnOffsetCommitRequest};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest as Request, TxnOffsetCommitResponse};

use super::{BrokerContext, RequestContext};
use crate::coordinator_log::TxnProducer;
use crate::group::GroupRuntimeError;

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: Request,
) -> TxnOffsetCommitResponse {
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
    let staged = TxnOffsetCommitRequest {
        transactional_id: request.transactional_id.to_string(),
        group_id: request.group_id.to_string(),
        producer_id: request.producer_id.0,
        producer_epoch: request.producer_epoch,
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(|i| i.to_string()),
        entries,
    };
    let results = commit(ctx, staged).await;
    if let Err(e) = &results {
        tracing::debug!(group = %request.group_id.as_str(), producer_id = request.producer_id.0,
            error = %e, "TxnOffsetCommit refused");
    }
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
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

async fn commit(
    ctx: &BrokerContext,
    request: TxnOffsetCommitRequest,
) -> Result<Vec<PartitionResult>, GroupRuntimeError> {
    if request.group_id.is_empty() {
        return Err(GroupError::InvalidGroupId.into());
    }
    let shard = ctx.groups.shard_for(&request.group_id).await?;
    let txn = TxnProducer {
        producer_id: request.producer_id,
        producer_epoch: request.producer_epoch,
    };
    let staged = shard
        .write_txn(txn, |coordinator, now| {
            match coordinator.txn_commit_offsets(&request, now) {
                Ok((results, records)) => (Ok(results), records),
                Err(e) => (Err(e), Vec::new()),
            }
        })
        .await?;
    Ok(staged?)
}
