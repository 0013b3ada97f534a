//! AddPartitionsToTxn (key 24), v0-5: partitions join the producer's transaction.
//!
//! - v0-3 (from producers) carry one transaction; the answer lists an error code per
//!   partition. PRODUCER_FENCED is sent from v2 only; v0-1 clients get
//!   INVALID_PRODUCER_EPOCH.
//! - v4+ (KIP-890, from brokers) batch transactions, each an add or, with `verify_only`, a
//!   check that the partitions are already in the transaction (TRANSACTION_ABORTABLE for one
//!   that is not); the answer has one result per transaction.
//! - As in Kafka, when any partition of a transaction names a topic or partition the cluster
//!   does not have, that partition gets UNKNOWN_TOPIC_OR_PARTITION and the others
//!   OPERATION_NOT_ATTEMPTED, and nothing is added.
//! - Each transaction goes to its coordinator's shard (`crate::txn`); NOT_COORDINATOR /
//!   COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE apply to all its partitions.

use fjord_coordinator::txn::{AddPartitionsTxn, TopicPartition, TxnApi};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    if req.api_version <= 3 {
        let txn = AddPartitionsTxn {
            transactional_id: request.v3_and_below_transactional_id.to_string(),
            producer_id: request.v3_and_below_producer_id.0,
            producer_epoch: request.v3_and_below_producer_epoch,
            verify_only: false,
            partitions: flatten(&request.v3_and_below_topics),
        };
        let results = run_one(ctx, req, txn).await;
        return AddPartitionsToTxnResponse::default()
            .with_results_by_topic_v3_and_below(by_topic(results));
    }
    let mut results_by_transaction = Vec::with_capacity(request.transactions.len());
    for txn in request.transactions {
        let transactional_id = txn.transactional_id.clone();
        let txn = AddPartitionsTxn {
            transactional_id: txn.transactional_id.to_string(),
            producer_id: txn.producer_id.0,
            producer_epoch: txn.producer_epoch,
            verify_only: txn.verify_only,
            partitions: flatten(&txn.topics),
        };
        let results = run_one(ctx, req, txn).await;
        results_by_transaction.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(transactional_id)
                .with_topic_results(by_topic(results)),
        );
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results_by_transaction)
}

/// One transaction's partitions with their error codes, in request order.
async fn run_one(
    ctx: &BrokerContext,
    req: &RequestContext,
    txn: AddPartitionsTxn,
) -> Vec<(TopicPartition, i16)> {
    let image = ctx.controller.image();
    let known = |tp: &TopicPartition| {
        image
            .topic(&tp.topic)
            .is_some_and(|t| t.partitions.contains_key(&tp.partition))
    };
    if txn.partitions.iter().any(|tp| !known(tp)) {
        return txn
            .partitions
            .iter()
            .map(|tp| {
                let code = if known(tp) {
                    ResponseError::OperationNotAttempted.code()
                } else {
                    ResponseError::UnknownTopicOrPartition.code()
                };
                (tp.clone(), code)
            })
            .collect();
    }
    let all = |code: i16| -> Vec<(TopicPartition, i16)> {
        txn.partitions.iter().map(|tp| (tp.clone(), code)).collect()
    };
    let shard = match ctx.txns.shard_for(&txn.transactional_id).await {
        Ok(shard) => shard,
        Err(e) => return all(e.error_code()),
    };
    let answered = if txn.verify_only {
        shard.add_partitions_batch(vec![txn.clone()]).await
    } else {
        shard
            .add_partitions(
                &txn.transactional_id,
                txn.producer_id,
                txn.producer_epoch,
                &txn.partitions,
            )
            .await
            .map(|()| Vec::new())
    };
    match answered {
        Ok(results) if txn.verify_only => results
            .into_iter()
            .flat_map(|r| r.partitions)
            .map(|(tp, result)| {
                let code = result.map_or_else(
                    |e| e.error_code_for(TxnApi::AddPartitionsToTxn, req.api_version),
                    |()| 0,
                );
                (tp, code)
            })
            .collect(),
        Ok(_) => all(0),
        Err(e) => {
            tracing::debug!(peer = %req.peer, transactional_id = %txn.transactional_id,
                error = %e, "AddPartitionsToTxn refused");
            all(e.error_code_for(TxnApi::AddPartitionsToTxn, req.api_version))
        }
    }
}

fn flatten(topics: &[AddPartitionsToTxnTopic]) -> Vec<TopicPartition> {
    topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|&p| TopicPartition::new(t.name.to_string(), p))
        })
        .collect()
}

/// Groups per-partition codes by topic, topics in order of first appearance.
fn by_topic(results: Vec<(TopicPartition, i16)>) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut topics: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for (tp, code) in results {
        let partition = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(tp.partition)
            .with_partition_error_code(code);
        match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
            Some(topic) => topic.results_by_partition.push(partition),
            None => topics.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(StrBytes::from_string(tp.topic)))
                    .with_results_by_partition(vec![partition]),
            ),
        }
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_by_topic_in_order() {
        let grouped = by_topic(vec![
            (TopicPartition::new("b", 1), 0),
            (TopicPartition::new("a", 0), 3),
            (TopicPartition::new("b", 0), 0),
        ]);
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].name.0.as_str(), "b");
        assert_eq!(grouped[0].results_by_partition.len(), 2);
        assert_eq!(grouped[1].results_by_partition[0].partition_error_code, 3);
    }
}
