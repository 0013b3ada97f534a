//! CreateTopics (key 19, v2–7): hands the topics to the controller and reports, per topic, the
//! error code and message, or (v5+) the partition count, replication factor and effective
//! configs of the topic created. `validate_only` answers the same without creating anything.
//! The request's `timeout_ms` needs no waiting: the controller commits before it answers.

use fjord_metadata::{CreatedTopic, NewTopic};
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, RequestContext};

pub async fn handle(
    ctx: &BrokerContext,
    _req: &RequestContext,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let topics: Vec<NewTopic> = request
        .topics
        .iter()
        .map(|t| NewTopic {
            name: t.name.to_string(),
            num_partitions: t.num_partitions,
            replication_factor: t.replication_factor,
            assignments: t
                .assignments
                .iter()
                .map(|a| {
                    (
                        a.partition_index,
                        a.broker_ids.iter().map(|b| b.0).collect(),
                    )
                })
                .collect(),
            configs: t
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect(),
        })
        .collect();
    let results = ctx
        .controller
        .create_topics(topics, request.validate_only)
        .await;
    let responses = request
        .topics
        .iter()
        .zip(results)
        .map(|(t, result)| match result {
            Ok(created) => created_result(t.name.clone(), created),
            Err(e) => CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_error_code(e.error_code().code())
                .with_error_message(e.client_message().map(StrBytes::from_string))
                .with_num_partitions(-1)
                .with_replication_factor(-1),
        })
        .collect();
    CreateTopicsResponse::default().with_topics(responses)
}

fn created_result(name: TopicName, created: CreatedTopic) -> CreatableTopicResult {
    let configs = created
        .configs
        .into_iter()
        .map(|c| {
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_string(c.name))
                .with_value(c.value.map(StrBytes::from_string))
                .with_read_only(c.read_only)
                .with_config_source(c.source.id())
                .with_is_sensitive(c.is_sensitive)
        })
        .collect();
    CreatableTopicResult::default()
        .with_name(name)
        .with_topic_id(created.topic_id)
        .with_num_partitions(created.num_partitions)
        .with_replication_factor(created.replication_factor)
        .with_configs(Some(configs))
}
