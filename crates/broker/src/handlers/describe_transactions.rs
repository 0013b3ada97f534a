//! DescribeTransactions (key 65), v0: the state of transactional ids coordinated here.
//!
//! One entry per requested id, in request order: its state name, timeout, start time,
//! producer id and epoch and the partitions in the transaction, or an error code:
//! TRANSACTIONAL_ID_NOT_FOUND for an id its coordinator does not know, NOT_COORDINATOR for an
//! id coordinated by another node, COORDINATOR_LOAD_IN_PROGRESS while its partition loads.

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let mut states = Vec::with_capacity(request.transactional_ids.len());
    for id in request.transactional_ids {
        let transactional_id = id.to_string();
        let failed = |code: i16| {
            TransactionState::default()
                .with_transactional_id(id.clone())
                .with_error_code(code)
                .with_transaction_state(StrBytes::from_static_str(""))
                .with_transaction_start_time_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        };
        let described = match ctx.txns.shard_for(&transactional_id).await {
            Ok(shard) => {
                shard
                    .describe(std::slice::from_ref(&transactional_id))
                    .await
            }
            Err(e) => Err(e),
        };
        let answer = match described {
            Ok(mut answers) => answers.pop().map(|(_, answer)| answer),
            Err(e) => {
                states.push(failed(e.error_code()));
                continue;
            }
        };
        let state = match answer {
            Some(Ok(d)) => {
                let mut topics: Vec<TopicData> = Vec::new();
                for tp in d.partitions {
                    match topics.iter_mut().find(|t| t.topic.0.as_str() == tp.topic) {
                        Some(topic) => topic.partitions.push(tp.partition),
                        None => topics.push(
                            TopicData::default()
                                .with_topic(TopicName(StrBytes::from_string(tp.topic)))
                                .with_partitions(vec![tp.partition]),
                        ),
                    }
                }
                TransactionState::default()
                    .with_transactional_id(id.clone())
                    .with_transaction_state(StrBytes::from_string(d.transaction_state))
                    .with_transaction_timeout_ms(d.transaction_timeout_ms)
                    .with_transaction_start_time_ms(d.transaction_start_time_ms)
                    .with_producer_id(ProducerId(d.producer_id))
                    .with_producer_epoch(d.producer_epoch)
                    .with_topics(topics)
            }
            Some(Err(e)) => failed(e.error_code()),
            // `describe` answers every id it is given; an empty answer is the same as unknown.
            None => failed(kafka_protocol::ResponseError::TransactionalIdNotFound.code()),
        };
        states.push(state);
    }
    DescribeTransactionsResponse::default().with_transaction_states(states)
}
