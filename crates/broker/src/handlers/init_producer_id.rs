//! InitProducerId (key 22), v0-5: a fresh producer id with epoch 0 for idempotent producers.
//!
//! Ids come in blocks from the controller's durable allocator (never reused, also across
//! restarts). The producer id and epoch a client may send (v3+) are ignored without a
//! transactional id, as Kafka ignores them: an idempotent producer that re-initialises simply
//! gets a new id.
//!
//! A request with a transactional id goes to the transaction coordinator of that id
//! (`crate::txn`): NOT_COORDINATOR when another node coordinates it,
//! COORDINATOR_LOAD_IN_PROGRESS while its `__transaction_state` partition loads. The
//! coordinator bumps the id's epoch (fencing older incarnations), aborts a transaction still
//! running (CONCURRENT_TRANSACTIONS until the abort completed, also while markers of a commit
//! are being written) and, from v3 (KIP-360), lets a producer that names its current id and
//! epoch re-initialise without being fenced. PRODUCER_FENCED is sent from v4 only; older
//! clients get INVALID_PRODUCER_EPOCH. An empty transactional id is INVALID_REQUEST, and so
//! is a v3+ request naming only one of producer id and epoch, as in Kafka.

use fjord_coordinator::txn::{InitProducerIdRequest as TxnInit, ProducerIdAndEpoch, TxnApi};
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use kafka_protocol::ResponseError;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let failed = |code: i16| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    match &request.transactional_id {
        None => {}
        // Kafka refuses an empty transactional id outright.
        Some(id) if id.is_empty() => return failed(ResponseError::InvalidRequest.code()),
        Some(id) => {
            let expected = match (request.producer_id.0, request.producer_epoch) {
                (-1, -1) => None,
                (producer_id, producer_epoch) if producer_id >= 0 && producer_epoch >= 0 => {
                    Some(ProducerIdAndEpoch {
                        producer_id,
                        producer_epoch,
                    })
                }
                _ => return failed(ResponseError::InvalidRequest.code()),
            };
            let init = TxnInit {
                transactional_id: id.to_string(),
                txn_timeout_ms: request.transaction_timeout_ms,
                expected,
            };
            let init_id = init.transactional_id.clone();
            let answer = match ctx.txns.shard_for(&init_id).await {
                Ok(shard) => shard.init_producer_id(init).await,
                Err(e) => Err(e),
            };
            return match answer {
                Ok(assigned) => InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(assigned.producer_id))
                    .with_producer_epoch(assigned.producer_epoch),
                Err(e) => {
                    tracing::debug!(peer = %req.peer, transactional_id = %init_id, error = %e,
                        "transactional InitProducerId refused");
                    failed(e.error_code_for(TxnApi::InitProducerId, req.api_version))
                }
            };
        }
    }
    match ctx.replica_manager.producer_ids().next_producer_id().await {
        Ok(producer_id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::warn!(peer = %req.peer, error = %e, "producer id allocation failed");
            failed(e.error_code())
        }
    }
}
