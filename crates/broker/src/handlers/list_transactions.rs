//! ListTransactions (key 66), v0-1: the transactions of every `__transaction_state` partition
//! this node coordinates, filtered by state names, producer ids and (v1, KIP-994) a minimum
//! running time. State filters naming no state are echoed in `unknown_state_filters`. While
//! one of this node's partitions is still loading the answer is COORDINATOR_LOAD_IN_PROGRESS,
//! as Kafka answers, so admin tools retry rather than show a partial list.

use fjord_coordinator::txn::ListTransactionsFilter;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let filter = ListTransactionsFilter {
        state_filters: request
            .state_filters
            .iter()
            .map(|s| s.to_string())
            .collect(),
        producer_id_filters: request.producer_id_filters.iter().map(|p| p.0).collect(),
        duration_filter_ms: if req.api_version >= 1 {
            request.duration_filter
        } else {
            -1
        },
    };
    let mut unknown_state_filters = None;
    let mut states = Vec::new();
    for shard in ctx.txns.shards() {
        let listed = match shard.list(&filter).await {
            Ok(listed) => listed,
            Err(e) => return ListTransactionsResponse::default().with_error_code(e.error_code()),
        };
        unknown_state_filters.get_or_insert(listed.unknown_state_filters);
        states.extend(listed.transaction_states.into_iter().map(|t| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(t.transactional_id)))
                .with_producer_id(ProducerId(t.producer_id))
                .with_transaction_state(StrBytes::from_string(t.transaction_state))
        }));
    }
    // With no shard here, the filters are still checked against the state names.
    let unknown = unknown_state_filters.unwrap_or_else(|| {
        fjord_coordinator::txn::TransactionCoordinator::default()
            .list(&filter, 0)
            .unknown_state_filters
    });
    ListTransactionsResponse::default()
        .with_unknown_state_filters(unknown.into_iter().map(StrBytes::from_string).collect())
        .with_transaction_states(states)
}
