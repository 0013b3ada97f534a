//! DescribeTopicPartitions (key 75, v0): topic layouts like Metadata, paged by partition count.
//!
//! Topics are answered in name order (all topics when the request lists none), starting at
//! the cursor's topic and partition. At most `response_partition_limit` partitions are
//! returned (capped at 2000, Kafka's `max.request.partition.size.limit` default); when the
//! limit cuts the answer short, `next_cursor` names the first partition not sent. A cursor
//! naming a topic the request does not list is INVALID_REQUEST for the cursor's topic entry,
//! as Kafka answers. Unknown topics get UNKNOWN_TOPIC_OR_PARTITION entries.

use std::collections::BTreeSet;

use fjord_metadata::topic_name::is_internal_topic;
use fjord_metadata::{MetadataImage, TopicImage, NO_LEADER};
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::metadata::TOPIC_AUTHORIZED_OPERATIONS;
use super::{BrokerContext, RequestContext};

/// Kafka's `max.request.partition.size.limit` default: the most partitions one response holds.
pub const MAX_PARTITIONS_PER_RESPONSE: i32 = 2000;

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let image = ctx.controller.image();
    let limit = request
        .response_partition_limit
        .clamp(1, MAX_PARTITIONS_PER_RESPONSE) as usize;
    let all_topics = request.topics.is_empty();
    let names: BTreeSet<String> = if all_topics {
        image.topics().map(|t| t.name.clone()).collect()
    } else {
        request.topics.iter().map(|t| t.name.to_string()).collect()
    };
    let (start_topic, start_partition) = match &request.cursor {
        Some(c) => (Some(c.topic_name.to_string()), c.partition_index.max(0)),
        None => (None, 0),
    };
    if let Some(cursor_topic) = &start_topic {
        if !all_topics && !names.contains(cursor_topic) {
            let topic = DescribeTopicPartitionsResponseTopic::default()
                .with_error_code(ResponseError::InvalidRequest.code())
                .with_name(Some(TopicName(StrBytes::from_string(cursor_topic.clone()))));
            return DescribeTopicPartitionsResponse::default().with_topics(vec![topic]);
        }
    }

    let mut topics = Vec::new();
    let mut remaining = limit;
    let mut next_cursor = None;
    let candidates = names
        .iter()
        .filter(|n| start_topic.as_ref().is_none_or(|s| *n >= s));
    for name in candidates {
        if remaining == 0 {
            next_cursor = Some(cursor(name, 0));
            break;
        }
        let first = if Some(name) == start_topic.as_ref() {
            start_partition
        } else {
            0
        };
        let Some(topic) = image.topic(name) else {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                    .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                    .with_is_internal(is_internal_topic(name))
                    .with_topic_authorized_operations(TOPIC_AUTHORIZED_OPERATIONS),
            );
            continue;
        };
        let (partitions, cut_at) = partitions_from(&image, topic, first, remaining);
        remaining -= partitions.len();
        topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
                .with_topic_id(topic.topic_id)
                .with_is_internal(is_internal_topic(&topic.name))
                .with_partitions(partitions)
                .with_topic_authorized_operations(TOPIC_AUTHORIZED_OPERATIONS),
        );
        if let Some(partition) = cut_at {
            next_cursor = Some(cursor(name, partition));
            break;
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(topics)
        .with_next_cursor(next_cursor)
}

fn cursor(topic: &str, partition: i32) -> Cursor {
    Cursor::default()
        .with_topic_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_index(partition)
}

/// Up to `limit` partitions of `topic` from index `first`; the second value is the first
/// partition left out, when the limit cut the topic short.
fn partitions_from(
    image: &MetadataImage,
    topic: &TopicImage,
    first: i32,
    limit: usize,
) -> (Vec<DescribeTopicPartitionsResponsePartition>, Option<i32>) {
    let mut out = Vec::new();
    for (&index, p) in topic.partitions.range(first..) {
        if out.len() == limit {
            return (out, Some(index));
        }
        let error = if p.leader == NO_LEADER {
            ResponseError::LeaderNotAvailable.code()
        } else {
            0
        };
        out.push(
            DescribeTopicPartitionsResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(index)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
                .with_eligible_leader_replicas(Some(Vec::new()))
                .with_last_known_elr(Some(Vec::new()))
                .with_offline_replicas(
                    image
                        .offline_replicas(p)
                        .into_iter()
                        .map(BrokerId)
                        .collect(),
                ),
        );
    }
    (out, None)
}
