//! Delivering the end-transaction markers of a [`WriteMarkers`] outcome: one task per
//! transaction writes the COMMIT or ABORT control batch to each of its partitions, then tells
//! the shard, whose coordinator writes the CompleteCommit/CompleteAbort record.
//!
//! - A partition is done when its marker is in the log and replicated, or when the partition
//!   no longer exists (its topic was deleted: Kafka drops such partitions from the
//!   transaction too).
//! - Retriable failures (the partition has no leader here yet, a replication timeout, the
//!   shard still loading when the report comes) are retried every [`RETRY_BACKOFF`] until
//!   they succeed or the shard is closed; a closed shard's successor re-drives every marker
//!   of the transaction from the Prepare* record when it loads.
//! - A marker the partition refuses as stale (INVALID_PRODUCER_EPOCH,
//!   TRANSACTION_COORDINATOR_FENCED) means this coordinator is the stale one: the delivery
//!   stops without completing, as Kafka's marker channel does.
//!
//! Each marker goes through [`crate::txn_markers::write_marker`], which also completes the
//! producer's transactional offsets when the partition is one of `__consumer_offsets`.
//!
//! fjord has no multi-broker data replication yet (no follower fetcher, a single-node
//! quorum): every partition is led by this node, so markers are written locally. A partition led by another broker would need WriteTxnMarkers sent to that leader;
//! until then such a marker is retried here (NOT_LEADER_OR_FOLLOWER) and never completes.

use std::sync::Arc;
use std::time::Duration;

use fjord_coordinator::txn::{TopicPartition, TransactionResult, WriteMarkers};
use fjord_storage::{ControlRecordType, TxnMarker};
use kafka_protocol::ResponseError;
use tracing::{debug, error, warn};

use super::error::TxnRuntimeError;
use super::shard::TxnShard;
use crate::coordinator_host::HostError;
use crate::replica::ReplicaError;
use crate::txn_markers;

/// Pause between attempts of a marker (or of its report) that failed retriably.
pub const RETRY_BACKOFF: Duration = Duration::from_millis(200);

/// Starts delivering `markers` on the shard's task tracker.
pub(super) fn spawn_delivery(shard: &Arc<TxnShard>, markers: WriteMarkers) {
    let shard_for_task = Arc::clone(shard);
    shard
        .deliveries()
        .spawn(async move { deliver(shard_for_task, markers).await });
}

/// What became of one partition's marker.
enum MarkerResult {
    Written,
    /// The partition is gone: nothing to mark.
    Gone,
    /// This coordinator is stale: stop the delivery.
    Fenced,
    Retry,
}

async fn deliver(shard: Arc<TxnShard>, markers: WriteMarkers) {
    let marker = TxnMarker {
        control_type: match markers.result {
            TransactionResult::Commit => ControlRecordType::Commit,
            TransactionResult::Abort => ControlRecordType::Abort,
        },
        coordinator_epoch: shard.coordinator_epoch(),
    };
    for tp in &markers.partitions {
        loop {
            if shard.stop_token().is_cancelled() {
                return;
            }
            match write_one(&shard, &markers, tp, marker).await {
                MarkerResult::Written | MarkerResult::Gone => break,
                MarkerResult::Fenced => return,
                MarkerResult::Retry => {
                    if !pause(&shard).await {
                        return;
                    }
                }
            }
        }
    }
    loop {
        let reported = shard
            .markers_written(
                &markers.transactional_id,
                markers.producer_id,
                markers.producer_epoch,
                &markers.partitions,
            )
            .await;
        match reported {
            Ok(()) => {
                debug!(transactional_id = %markers.transactional_id, result = ?markers.result,
                    partitions = markers.partitions.len(), "transaction markers written");
                return;
            }
            // Markers re-driven by `load` report while the shard finishes loading.
            Err(TxnRuntimeError::Host(HostError::LoadInProgress { .. })) => {}
            Err(e) => {
                // NOT_COORDINATOR (the shard moved: its successor re-drives from the log) or
                // a failed append (the shard reverted and re-drove what the log still owes).
                warn!(transactional_id = %markers.transactional_id, error = %e,
                    "completing a transaction failed");
                return;
            }
        }
        if !pause(&shard).await {
            return;
        }
    }
}

/// Waits [`RETRY_BACKOFF`]; false when the shard was closed meanwhile.
async fn pause(shard: &TxnShard) -> bool {
    tokio::select! {
        _ = shard.stop_token().cancelled() => false,
        _ = tokio::time::sleep(RETRY_BACKOFF) => true,
    }
}

async fn write_one(
    shard: &TxnShard,
    markers: &WriteMarkers,
    tp: &TopicPartition,
    marker: TxnMarker,
) -> MarkerResult {
    let written = txn_markers::write_marker(
        shard.replicas(),
        shard.groups(),
        &tp.topic,
        tp.partition,
        markers.producer_id,
        markers.producer_epoch,
        marker,
    )
    .await;
    let error = match written {
        Ok(_) => return MarkerResult::Written,
        Err(e) => e,
    };
    if matches!(error, ReplicaError::UnknownTopicOrPartition { .. }) && is_gone(shard, tp) {
        debug!(partition = %tp, "no marker for a deleted partition");
        return MarkerResult::Gone;
    }
    let code = error.error_code();
    if code == ResponseError::InvalidProducerEpoch.code()
        || code == ResponseError::TransactionCoordinatorFenced.code()
    {
        error!(partition = %tp, transactional_id = %markers.transactional_id, error = %error,
            "a partition refused the transaction marker as stale; this coordinator stops writing it");
        return MarkerResult::Fenced;
    }
    debug!(partition = %tp, error = %error, "transaction marker not written yet; retrying");
    MarkerResult::Retry
}

/// Whether the metadata image no longer has `tp`.
fn is_gone(shard: &TxnShard, tp: &TopicPartition) -> bool {
    shard
        .replicas()
        .metadata_image()
        .topic(&tp.topic)
        .is_none_or(|t| !t.partitions.contains_key(&tp.partition))
}
