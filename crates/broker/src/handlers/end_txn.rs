//! EndTxn (key 26), v0-5: the producer commits or aborts its transaction.
//!
//! The answer comes once the PrepareCommit/PrepareAbort record is in `__transaction_state`;
//! the markers are written afterwards (`crate::txn::markers`), and until they are, the
//! producer's next transactional request gets CONCURRENT_TRANSACTIONS, as in Kafka. v5+ is
//! the transactions-v2 form (KIP-890 part 2): the coordinator bumps the epoch at every end and
//! the answer carries the producer id and epoch to continue with; Kafka derives the client's
//! transaction version from the request version the same way. PRODUCER_FENCED is sent from v2
//! only; v0-1 clients get INVALID_PRODUCER_EPOCH.

use fjord_coordinator::txn::{
    EndTxnRequest as TxnEnd, TransactionResult, TransactionVersion, TxnApi,
};
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};

use super::{BrokerContext, RequestContext};

/// The first EndTxn version of transactions v2.
const TRANSACTIONS_V2_VERSION: i16 = 5;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: EndTxnRequest,
) -> EndTxnResponse {
    let end = TxnEnd {
        transactional_id: request.transactional_id.to_string(),
        producer_id: request.producer_id.0,
        producer_epoch: request.producer_epoch,
        result: if request.committed {
            TransactionResult::Commit
        } else {
            TransactionResult::Abort
        },
        client_transaction_version: if req.api_version >= TRANSACTIONS_V2_VERSION {
            TransactionVersion::TV_2
        } else {
            TransactionVersion::TV_0
        },
    };
    let transactional_id = end.transactional_id.clone();
    let ended = match ctx.txns.shard_for(&transactional_id).await {
        Ok(shard) => shard.end_txn(end).await,
        Err(e) => Err(e),
    };
    match ended {
        Ok(next) => EndTxnResponse::default()
            .with_producer_id(ProducerId(next.producer_id))
            .with_producer_epoch(next.producer_epoch),
        Err(e) => {
            tracing::debug!(peer = %req.peer, transactional_id = %transactional_id, error = %e,
                "EndTxn refused");
            EndTxnResponse::default()
                .with_error_code(e.error_code_for(TxnApi::EndTxn, req.api_version))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        }
    }
}
