//! OffsetForLeaderEpoch (key 23), v2-4: for each partition, the largest leader epoch <= the
//! requested one that the log knows and the offset where the next epoch starts (the log end
//! offset for the latest epoch). Consumers use it to detect log truncation after a leader
//! change; unknown epochs answer -1/-1. The client's `current_leader_epoch` is checked
//! (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH).

use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let replicas = &ctx.replica_manager;
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.topic.to_string();
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let answer = EpochEndOffset::default().with_partition(p.partition);
                    match replicas.offset_for_leader_epoch(
                        &name,
                        p.partition,
                        p.current_leader_epoch,
                        p.leader_epoch,
                    ) {
                        Ok((leader_epoch, end_offset)) => answer
                            .with_leader_epoch(leader_epoch)
                            .with_end_offset(end_offset),
                        Err(e) => answer
                            .with_error_code(e.error_code())
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
