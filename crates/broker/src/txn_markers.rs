//! Writing one end-transaction marker on this broker, and telling the coordinators that own
//! the partition about it.
//!
//! Every marker write goes through [`write_marker`]: the WriteTxnMarkers handler (markers sent
//! by a transaction coordinator) and fjord's own transaction runtime alike. It appends the
//! control batch through [`ReplicaManager::write_txn_marker`] (which waits until the marker is
//! replicated, as Kafka writes markers with `acks=all`), and when the partition is one of
//! `__consumer_offsets` it then hands the outcome to the group coordinator shard of that
//! partition, whose pending TxnOffsetCommit offsets of the producer become committed (COMMIT)
//! or are dropped (ABORT) — Kafka's `GroupCoordinator.onTransactionCompleted`.
//!
//! The marker is in the log before the shard hears of it, so a shard that is loading (or
//! reloads later) sees it in its replay; a shard that is not hosted here has nothing to
//! update.

use fjord_metadata::topic_name::GROUP_METADATA_TOPIC;
use fjord_storage::{ControlRecordType, TxnMarker};

use crate::group::GroupRuntime;
use crate::replica::{AppendResult, ReplicaError, ReplicaManager};

/// Writes `marker` for (`producer_id`, `producer_epoch`) to `topic`-`partition`, led here,
/// and completes the producer's transactional offsets there when it is a `__consumer_offsets`
/// partition. The error is the replica manager's (NOT_LEADER_OR_FOLLOWER,
/// INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED, ...); the group side cannot fail.
pub async fn write_marker(
    replicas: &ReplicaManager,
    groups: &GroupRuntime,
    topic: &str,
    partition: i32,
    producer_id: i64,
    producer_epoch: i16,
    marker: TxnMarker,
) -> Result<AppendResult, ReplicaError> {
    let appended = replicas
        .write_txn_marker(topic, partition, producer_id, producer_epoch, marker)
        .await?;
    if topic == GROUP_METADATA_TOPIC {
        let shard = groups
            .shards()
            .into_iter()
            .find(|s| s.partition_index() == partition);
        if let Some(shard) = shard {
            let commit = marker.control_type == ControlRecordType::Commit;
            shard.complete_transaction(producer_id, commit).await;
        }
    }
    Ok(appended)
}
