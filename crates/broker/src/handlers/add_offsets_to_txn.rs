//! AddOffsetsToTxn (key 25), v0-4: the consumer group's `__consumer_offsets` partition joins
//! the producer's transaction, so the TxnOffsetCommit that follows is committed or aborted
//! with it.
//!
//! The partition is the group's under the current `__consumer_offsets` layout (created on
//! first need, as FindCoordinator does); COORDINATOR_NOT_AVAILABLE while that topic cannot be
//! created. PRODUCER_FENCED is sent from v2 only; v0-1 clients get INVALID_PRODUCER_EPOCH.

use fjord_coordinator::txn::TxnApi;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use kafka_protocol::ResponseError;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let transactional_id = request.transactional_id.to_string();
    let group_id = request.group_id.to_string();
    let shard = match ctx.txns.shard_for(&transactional_id).await {
        Ok(shard) => shard,
        Err(e) => return AddOffsetsToTxnResponse::default().with_error_code(e.error_code()),
    };
    let offsets_partition = match ctx.groups.partition_for(&group_id).await {
        Ok(partition) => partition,
        Err(e) => {
            tracing::debug!(group_id = %group_id, error = %e, "no __consumer_offsets partition for AddOffsetsToTxn");
            return AddOffsetsToTxnResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code());
        }
    };
    let added = shard
        .add_offsets(
            &transactional_id,
            request.producer_id.0,
            request.producer_epoch,
            &group_id,
            offsets_partition,
        )
        .await;
    let error_code = match added {
        Ok(()) => 0,
        Err(e) => {
            tracing::debug!(peer = %req.peer, transactional_id = %transactional_id, error = %e,
                "AddOffsetsToTxn refused");
            e.error_code_for(TxnApi::AddOffsetsToTxn, req.api_version)
        }
    };
    AddOffsetsToTxnResponse::default().with_error_code(error_code)
}
