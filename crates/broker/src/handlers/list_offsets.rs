//! ListOffsets (key 2), v1-10: per partition, the offset for a timestamp.
//!
//! Special timestamps: -2 earliest (log start offset), -1 latest (the high watermark, or the
//! last stable offset for READ_COMMITTED requests), -3 the record with the
//! largest timestamp (KIP-734), -4 earliest local (the log start offset: all data is local).
//! Other negative values (tiered-storage lookups) answer -1/-1 as Kafka does without remote
//! storage. A real timestamp answers the first offset whose timestamp is >= it, or -1/-1 when
//! every record is older. Answers carry the leader epoch of the log.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::{BrokerContext, RequestContext};
use crate::replica::EARLIEST_LOCAL_TIMESTAMP;

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    // The leader epoch exists from v4; the codec refuses to encode it below that.
    let epoch_for_version = |epoch: i32| if req.api_version >= 4 { epoch } else { -1 };
    let replicas = &ctx.replica_manager;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let name = topic.name.to_string();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in topic.partitions {
            let response =
                ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
            let answer = if p.timestamp < EARLIEST_LOCAL_TIMESTAMP {
                // Tiered-storage lookups: nothing is remote, so there is no such offset; the
                // partition must still exist and be led here.
                replicas
                    .leader_partition(&name, p.partition_index)
                    .map(|_| crate::replica::ListedOffset {
                        timestamp: -1,
                        offset: -1,
                        leader_epoch: -1,
                    })
            } else {
                replicas
                    .list_offset_isolated(
                        &name,
                        p.partition_index,
                        p.timestamp,
                        p.current_leader_epoch,
                        request.isolation_level,
                    )
                    .await
            };
            partitions.push(match answer {
                Ok(found) => response
                    .with_timestamp(found.timestamp)
                    .with_offset(found.offset)
                    .with_leader_epoch(epoch_for_version(found.leader_epoch)),
                Err(e) => {
                    tracing::debug!(topic = %name, partition = p.partition_index, error = %e, "list offsets refused");
                    response
                        .with_error_code(e.error_code())
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1)
                }
            });
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    ListOffsetsResponse::default().with_topics(topics)
}
