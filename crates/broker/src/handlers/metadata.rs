//! Metadata (key 3, v0–13): brokers, cluster id, controller id and topic layouts from the
//! current metadata image.
//!
//! Kafka's behaviours kept here:
//! - brokers are listed with the endpoint of the listener the request came in on (a Docker
//!   set-up with an internal and an external listener gets the right address on each); a
//!   broker without that listener is left out, as are fenced brokers;
//! - `topics: null` (v0: an empty list) means every topic (internal ones included, flagged
//!   `is_internal`), an empty list means none; v10+ may name topics by id (unknown id:
//!   UNKNOWN_TOPIC_ID);
//! - an unknown topic is auto-created when `auto.create.topics.enable` and (v4+)
//!   `allow_auto_topic_creation` say so, and answered LEADER_NOT_AVAILABLE with no partitions
//!   until the next request, as Kafka does: the client retries, and by then the replica manager
//!   has opened the logs. Names starting with `__` are never auto-created (internal topics are
//!   created by their coordinators with their own settings). Otherwise
//!   UNKNOWN_TOPIC_OR_PARTITION, and INVALID_TOPIC_EXCEPTION for an illegal name;
//! - a partition without a leader carries LEADER_NOT_AVAILABLE;
//! - authorized operations are `i32::MIN` unless asked for; without an authorizer every
//!   operation is allowed, so the answer is the full set for the resource type.

use std::collections::HashMap;
use std::sync::Arc;

use fjord_metadata::topic_name::{is_internal_topic, validate_topic_name};
use fjord_metadata::{MetadataError, MetadataImage, NewTopic, TopicImage, NO_LEADER};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{BrokerContext, RequestContext};

/// `authorized_operations` when the client did not ask for them.
pub const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Every operation Kafka defines on a topic (READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE,
/// DESCRIBE_CONFIGS, ALTER_CONFIGS) as the bit field clients decode (bit = AclOperation code).
pub const TOPIC_AUTHORIZED_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

/// Every operation on the cluster resource (CREATE, ALTER, DESCRIBE, CLUSTER_ACTION,
/// DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE).
pub const CLUSTER_AUTHORIZED_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// The topic ids Metadata v10+ sends for "no id".
fn is_zero(id: &Uuid) -> bool {
    id.is_nil()
}

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: MetadataRequest,
) -> MetadataResponse {
    let mut image = ctx.controller.image();
    let topic_operations = if req.api_version >= 8 && request.include_topic_authorized_operations {
        TOPIC_AUTHORIZED_OPERATIONS
    } else {
        AUTHORIZED_OPERATIONS_OMITTED
    };

    // v0 has no null list: an empty one means every topic
    let requested = match request.topics {
        Some(list) if list.is_empty() && req.api_version == 0 => None,
        other => other,
    };
    let topics = match requested {
        None => image
            .topics()
            .map(|t| topic_metadata(&image, t, topic_operations))
            .collect(),
        Some(requested) => {
            let allow_auto_create = ctx.config.auto_create_topics_enable
                && (req.api_version < 4 || request.allow_auto_topic_creation);
            // auto-create every missing, valid name in one controller call
            let mut to_create = Vec::new();
            if allow_auto_create {
                for t in &requested {
                    if let Some(name) = &t.name {
                        let name = name.as_str();
                        if image.topic(name).is_none()
                            && validate_topic_name(name).is_ok()
                            && !name.starts_with("__")
                            && !to_create.iter().any(|n: &NewTopic| n.name == name)
                        {
                            to_create.push(NewTopic {
                                name: name.to_string(),
                                num_partitions: -1,
                                replication_factor: -1,
                                ..NewTopic::default()
                            });
                        }
                    }
                }
            }
            let mut creation: HashMap<String, Result<(), MetadataError>> = HashMap::new();
            if !to_create.is_empty() {
                let names: Vec<String> = to_create.iter().map(|t| t.name.clone()).collect();
                let results = ctx.controller.create_topics(to_create, false).await;
                for (name, result) in names.into_iter().zip(results) {
                    if let Err(e) = &result {
                        tracing::info!(topic = %name, error = %e, "auto-creation failed");
                    }
                    creation.insert(name, result.map(|_| ()));
                }
                image = ctx.controller.image();
            }
            requested
                .iter()
                .map(|t| {
                    // v10+ names a topic by id with a null (some clients: empty) name
                    let by_name = t
                        .name
                        .as_ref()
                        .map(|n| n.as_str())
                        .filter(|n| !n.is_empty() || is_zero(&t.topic_id));
                    requested_topic(&image, by_name, &t.topic_id, &creation, topic_operations)
                })
                .collect()
        }
    };

    let cluster_operations =
        if (8..=10).contains(&req.api_version) && request.include_cluster_authorized_operations {
            CLUSTER_AUTHORIZED_OPERATIONS
        } else {
            AUTHORIZED_OPERATIONS_OMITTED
        };
    MetadataResponse::default()
        .with_brokers(brokers(&image, &req.listener_name))
        .with_cluster_id(
            image
                .cluster_id()
                .map(|id| StrBytes::from_string(id.to_string())),
        )
        .with_controller_id(BrokerId(controller_id(ctx, &image)))
        .with_topics(topics)
        .with_cluster_authorized_operations(cluster_operations)
}

/// The id clients see as "controller": in KRaft the controllers are not reachable by clients,
/// so Kafka names a live broker; this node when it is registered.
pub fn controller_id(ctx: &BrokerContext, image: &MetadataImage) -> i32 {
    let own = ctx.config.node_id;
    if image.broker(own).is_some_and(|b| !b.fenced) {
        own
    } else {
        image
            .brokers()
            .find(|b| !b.fenced)
            .map(|b| b.broker_id)
            .unwrap_or(-1)
    }
}

/// Unfenced brokers with an endpoint on `listener_name`.
fn brokers(image: &MetadataImage, listener_name: &str) -> Vec<MetadataResponseBroker> {
    image
        .brokers()
        .filter(|b| !b.fenced)
        .filter_map(|b| {
            let endpoint = b.endpoint(listener_name)?;
            Some(
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.broker_id))
                    .with_host(StrBytes::from_string(endpoint.host.clone()))
                    .with_port(i32::from(endpoint.port))
                    .with_rack(b.rack.clone().map(StrBytes::from_string)),
            )
        })
        .collect()
}

/// The answer for one requested topic (by name, or by id on v10+).
fn requested_topic(
    image: &MetadataImage,
    name: Option<&str>,
    topic_id: &Uuid,
    creation: &HashMap<String, Result<(), MetadataError>>,
    operations: i32,
) -> MetadataResponseTopic {
    let Some(name) = name else {
        return match image.topic_by_id(topic_id).filter(|_| !is_zero(topic_id)) {
            Some(topic) => topic_metadata(image, topic, operations),
            None => MetadataResponseTopic::default()
                .with_error_code(ResponseError::UnknownTopicId.code())
                .with_topic_id(*topic_id)
                .with_topic_authorized_operations(operations),
        };
    };
    let error_only = |error: ResponseError| {
        MetadataResponseTopic::default()
            .with_error_code(error.code())
            .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
            .with_is_internal(is_internal_topic(name))
            .with_topic_authorized_operations(operations)
    };
    match creation.get(name) {
        // created by this request: the logs may not be open yet, let the client retry
        Some(Ok(())) => {
            let topic_id = image.topic(name).map(|t| t.topic_id).unwrap_or_default();
            return error_only(ResponseError::LeaderNotAvailable).with_topic_id(topic_id);
        }
        // someone else created it meanwhile: answer with what the image has
        Some(Err(MetadataError::TopicAlreadyExists(_))) => {}
        Some(Err(e)) => return error_only(e.error_code()),
        None => {}
    }
    match image.topic(name) {
        Some(topic) => topic_metadata(image, topic, operations),
        None if validate_topic_name(name).is_err() => {
            error_only(ResponseError::InvalidTopicException)
        }
        None => error_only(ResponseError::UnknownTopicOrPartition),
    }
}

/// An existing topic with all its partitions.
fn topic_metadata(
    image: &MetadataImage,
    topic: &Arc<TopicImage>,
    operations: i32,
) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .map(|(&index, p)| {
            let error = if p.leader == NO_LEADER {
                ResponseError::LeaderNotAvailable.code()
            } else {
                0
            };
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(index)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
                .with_offline_replicas(
                    image
                        .offline_replicas(p)
                        .into_iter()
                        .map(BrokerId)
                        .collect(),
                )
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.topic_id)
        .with_is_internal(is_internal_topic(&topic.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(operations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_bitfields_match_kafka() {
        // values Kafka sends with no authorizer configured
        assert_eq!(TOPIC_AUTHORIZED_OPERATIONS, 3576);
        assert_eq!(CLUSTER_AUTHORIZED_OPERATIONS, 8096);
    }
}
