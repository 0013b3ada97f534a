//! WriteTxnMarkers (key 27), v1 (Kafka 4.x dropped v0): the transaction coordinator asks the
//! leaders of a transaction's partitions to write its end-transaction markers.
//!
//! Each marker (producer id, producer epoch, commit or abort, coordinator epoch) is written as
//! a control batch to each listed partition through the replica manager, then waited on until
//! replicated (the high watermark passes it), as Kafka appends markers with `acks=all`.
//! Errors are per partition: UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER for
//! partitions not led here, INVALID_PRODUCER_EPOCH for a stale producer epoch,
//! TRANSACTION_COORDINATOR_FENCED for a marker from an older coordinator. Writes go through
//! [`crate::txn_markers::write_marker`], which also completes the transaction's offsets on a
//! `__consumer_offsets` partition; fjord's own coordinator calls it directly, this handler
//! serves the API for other brokers and tools.

use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use super::{BrokerContext, RequestContext};
use fjord_storage::{ControlRecordType, TxnMarker};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let mut markers = Vec::with_capacity(request.markers.len());
    for marker in request.markers {
        let txn_marker = TxnMarker {
            control_type: if marker.transaction_result {
                ControlRecordType::Commit
            } else {
                ControlRecordType::Abort
            },
            coordinator_epoch: marker.coordinator_epoch,
        };
        let mut topics = Vec::with_capacity(marker.topics.len());
        for topic in marker.topics {
            let name = topic.name.to_string();
            let mut partitions = Vec::with_capacity(topic.partition_indexes.len());
            for partition in topic.partition_indexes {
                let error_code = match crate::txn_markers::write_marker(
                    &ctx.replica_manager,
                    &ctx.groups,
                    &name,
                    partition,
                    marker.producer_id.0,
                    marker.producer_epoch,
                    txn_marker,
                )
                .await
                {
                    Ok(_) => 0,
                    Err(e) => {
                        tracing::debug!(topic = %name, partition, producer_id = marker.producer_id.0, error = %e, "transaction marker refused");
                        e.error_code()
                    }
                };
                partitions.push(
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(partition)
                        .with_error_code(error_code),
                );
            }
            topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(topic.name)
                    .with_partitions(partitions),
            );
        }
        markers.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(marker.producer_id)
                .with_topics(topics),
        );
    }
    WriteTxnMarkersResponse::default().with_markers(markers)
}
