//! DeleteRecords (key 21), v0-2: moves each partition's log start offset ("low watermark") up
//! to the requested offset; -1 means the high watermark. Offsets beyond the high watermark are
//! refused with OFFSET_OUT_OF_RANGE; offsets at or below the current log start offset change
//! nothing and answer the current one. Whole segments below the new start are removed by the
//! next retention pass; reads below it fail with OFFSET_OUT_OF_RANGE at once.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let replicas = &ctx.replica_manager;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let name = topic.name.to_string();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in topic.partitions {
            let result =
                DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
            partitions.push(
                match replicas.delete_records(&name, p.partition_index, p.offset).await {
                    Ok(low_watermark) => result.with_low_watermark(low_watermark),
                    Err(e) => {
                        tracing::debug!(topic = %name, partition = p.partition_index, error = %e, "delete records refused");
                        result.with_low_watermark(-1).with_error_code(e.error_code())
                    }
                },
            );
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
