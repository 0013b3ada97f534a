//! InitProducerId (key 22), v0-5: a fresh producer id with epoch 0 for idempotent producers.
//!
//! Ids come in blocks from the controller's durable allocator (never reused, also across
//! restarts). The producer id and epoch a client may send (v3+) are ignored without a
//! transactional id, as Kafka ignores them: an idempotent producer that re-initialises simply
//! gets a new id.
//!
//! Requests with a transactional id need the transaction coordinator, which fjord does not
//! have yet. They are answered COORDINATOR_NOT_AVAILABLE (15), what Kafka answers while its
//! transaction coordinator is not available: the client treats it as retriable and, when it
//! never becomes available, fails its `initTransactions()` with a timeout instead of writing
//! transactional data that nobody could commit or abort. An empty transactional id is
//! INVALID_REQUEST, as in Kafka.

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
        Some(_) => return failed(ResponseError::CoordinatorNotAvailable.code()),
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
