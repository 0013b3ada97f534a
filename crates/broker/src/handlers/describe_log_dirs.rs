//! DescribeLogDirs (key 35), v1-4: every data directory (`log.dirs`) with the partitions it
//! holds (size in bytes, offset lag = log end offset - high watermark, never a future replica)
//! and, from v4, the file system's total and usable bytes. A `null` topic list asks for every
//! partition; otherwise only the listed ones are reported.

use std::collections::HashSet;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let filter: Option<HashSet<(String, i32)>> = request.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |&p| (t.topic.to_string(), p)))
            .collect()
    });
    let dirs = ctx.replica_manager.describe_log_dirs(filter.as_ref());
    let results = dirs
        .into_iter()
        .map(|dir| {
            let mut topics: Vec<DescribeLogDirsTopic> = Vec::new();
            let mut partitions = dir.partitions;
            partitions.sort();
            for (topic, partition, size, lag) in partitions {
                let entry = DescribeLogDirsPartition::default()
                    .with_partition_index(partition)
                    .with_partition_size(size)
                    .with_offset_lag(lag)
                    .with_is_future_key(false);
                match topics.last_mut() {
                    Some(t) if t.name.as_str() == topic => t.partitions.push(entry),
                    _ => topics.push(
                        DescribeLogDirsTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic)))
                            .with_partitions(vec![entry]),
                    ),
                }
            }
            DescribeLogDirsResult::default()
                .with_log_dir(StrBytes::from_string(dir.path.display().to_string()))
                .with_topics(topics)
                .with_total_bytes(dir.total_bytes)
                .with_usable_bytes(dir.usable_bytes)
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
}
