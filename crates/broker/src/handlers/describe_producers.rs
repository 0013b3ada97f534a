//! DescribeProducers (key 61), v0: the producers a partition leader remembers (its producer
//! state: idempotence and open transactions), as `kafka-transactions.sh describe-producers`
//! shows them.
//!
//! Per partition: producer id, epoch, last sequence (-1 when no batch is remembered), last
//! timestamp (-1 likewise), the coordinator epoch of its last marker and the first offset of
//! its open transaction (-1 when none). A partition not led here answers
//! NOT_LEADER_OR_FOLLOWER, an unknown one UNKNOWN_TOPIC_OR_PARTITION.

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let replicas = &ctx.replica_manager;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let name = topic.name.to_string();
        let mut partitions = Vec::with_capacity(topic.partition_indexes.len());
        for index in topic.partition_indexes {
            let answer = match replicas.leader_partition(&name, index) {
                Ok(partition) => {
                    let producers = partition
                        .log()
                        .producer_entries()
                        .into_iter()
                        .map(|(producer_id, entry)| {
                            let last = entry.batches.back();
                            ProducerState::default()
                                .with_producer_id(ProducerId(producer_id))
                                .with_producer_epoch(i32::from(entry.producer_epoch))
                                .with_last_sequence(last.map_or(-1, |b| b.last_sequence))
                                .with_last_timestamp(last.map_or(-1, |b| b.max_timestamp))
                                .with_coordinator_epoch(entry.coordinator_epoch)
                                .with_current_txn_start_offset(
                                    entry.current_txn_first_offset.unwrap_or(-1),
                                )
                        })
                        .collect();
                    PartitionResponse::default()
                        .with_partition_index(index)
                        .with_active_producers(producers)
                }
                Err(e) => PartitionResponse::default()
                    .with_partition_index(index)
                    .with_error_code(e.error_code()),
            };
            partitions.push(answer);
        }
        topics.push(
            TopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    DescribeProducersResponse::default().with_topics(topics)
}
