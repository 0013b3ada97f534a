//! DeleteTopics (key 20, v1–6): by name (v1–5 `topic_names`, v6 entries with a name) or by id
//! (v6 entries with a null name). An entry naming both, or neither, is INVALID_REQUEST, as in
//! Kafka. Each result carries the topic's name and id when they are known.

use fjord_metadata::{DeleteTopicTarget, MetadataError};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::{BrokerContext, RequestContext};

/// One request entry: what to delete, or why the entry itself is malformed.
type Entry = (
    Option<TopicName>,
    Uuid,
    Result<DeleteTopicTarget, MetadataError>,
);

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let entries: Vec<Entry> = if req.api_version >= 6 {
        request
            .topics
            .into_iter()
            .map(|t| {
                let target = match (&t.name, t.topic_id.is_nil()) {
                    (Some(_), false) => Err(MetadataError::InvalidRequest(
                        "You may not specify both topic name and topic id.".into(),
                    )),
                    (Some(name), true) => Ok(DeleteTopicTarget::Name(name.to_string())),
                    (None, false) => Ok(DeleteTopicTarget::Id(t.topic_id)),
                    (None, true) => Err(MetadataError::InvalidRequest(
                        "Neither topic name nor id were specified.".into(),
                    )),
                };
                (t.name, t.topic_id, target)
            })
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(|name| {
                let target = Ok(DeleteTopicTarget::Name(name.to_string()));
                (Some(name), Uuid::nil(), target)
            })
            .collect()
    };

    let targets: Vec<DeleteTopicTarget> = entries
        .iter()
        .filter_map(|(_, _, t)| t.as_ref().ok().cloned())
        .collect();
    let mut outcomes = ctx.controller.delete_topics(targets).await.into_iter();
    let responses = entries
        .into_iter()
        .map(|(name, topic_id, target)| {
            let outcome = match target {
                Ok(_) => outcomes.next().unwrap_or(Err(MetadataError::NotController)),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(deleted) => DeletableTopicResult::default()
                    .with_name(Some(TopicName(StrBytes::from_string(deleted.name))))
                    .with_topic_id(deleted.topic_id),
                Err(e) => DeletableTopicResult::default()
                    .with_name(name)
                    .with_topic_id(topic_id)
                    .with_error_code(e.error_code().code())
                    .with_error_message(e.client_message().map(StrBytes::from_string)),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}
