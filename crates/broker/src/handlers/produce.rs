//! Produce (key 0), v3-13: appends each partition's record batch through the replica manager
//! and answers per partition.
//!
//! - `acks=0`: no response at all; if any partition failed, the connection is closed instead,
//!   the only signal such a producer gets to refresh its metadata (Kafka does the same).
//! - `acks=1`: answered once the batch is in the leader's log.
//! - `acks=-1`: answered once the high watermark passed the batch (immediately with a single
//!   in-sync replica), or REQUEST_TIMED_OUT after `timeout_ms`.
//! - Any other `acks`: INVALID_REQUIRED_ACKS on every partition.
//!
//! Errors are per partition (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER,
//! CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, INVALID_TIMESTAMP, OUT_OF_ORDER_SEQUENCE_NUMBER,
//! INVALID_PRODUCER_EPOCH, ...) and never fail the rest of the request. A duplicate of one of
//! a producer's recent batches is answered with its original offsets and no error. v13 names
//! topics by id (UNKNOWN_TOPIC_ID when the id is unknown). v0-2 are advertised but refused
//! before reaching this handler (KAFKA-18659).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::{BrokerContext, RequestContext};
use crate::dispatcher::Reply;
use crate::replica::partition::append_many_as_leader;
use crate::replica::{now_ms, Partition, ReplicaError};

/// The dispatcher's entry: answers, or stays silent for `acks=0`.
pub async fn dispatch(ctx: &BrokerContext, req: &RequestContext, request: ProduceRequest) -> Reply {
    let acks = request.acks;
    let response = handle(ctx, req, request).await;
    if acks != 0 {
        return Reply::Send(ResponseKind::Produce(response));
    }
    let failed = response
        .responses
        .iter()
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.error_code != 0);
    match failed {
        None => Reply::NoResponse,
        Some(p) => Reply::Close {
            reason: format!(
                "acks=0 produce failed with error {} on partition {}",
                p.error_code, p.index
            ),
        },
    }
}

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: ProduceRequest,
) -> ProduceResponse {
    let replicas = &ctx.replica_manager;
    let acks = request.acks;
    let now = now_ms();
    let deadline = Instant::now() + Duration::from_millis(request.timeout_ms.max(0) as u64);
    let uses_topic_ids = req.api_version >= 13;

    // Resolve every partition first, then write all of them with one blocking task
    // (`append_many_as_leader`) rather than one thread hand-off per partition.
    // (topic index, partition index in the request, resolved partition or why not, records)
    let mut slots = Vec::new();
    let mut topics = Vec::with_capacity(request.topic_data.len());
    for (t, topic) in request.topic_data.into_iter().enumerate() {
        let name = if uses_topic_ids {
            replicas.topic_name(&topic.topic_id)
        } else {
            Some(topic.name.to_string())
        };
        for data in topic.partition_data {
            let partition = match &name {
                _ if !matches!(acks, -1..=1) => Err(ReplicaError::InvalidRequiredAcks { acks }),
                None => Err(ReplicaError::UnknownTopicId {
                    topic_id: topic.topic_id,
                }),
                Some(name) => replicas.leader_partition(name, data.index),
            };
            slots.push((t, data.index, partition, data.records));
        }
        topics.push((topic.name, topic.topic_id, name));
    }
    let appends: Vec<_> = slots
        .iter_mut()
        .filter_map(|(_, _, partition, records)| match partition {
            Ok(p) => Some((Arc::clone(p), records.take())),
            Err(_) => None,
        })
        .collect();
    let batch_bytes: Vec<u64> = appends
        .iter()
        .map(|(_, records)| records.as_ref().map_or(0, |r| r.len() as u64))
        .collect();
    let mut appended = append_many_as_leader(appends, acks, now)
        .await
        .into_iter()
        .zip(batch_bytes);

    let mut responses: Vec<TopicProduceResponse> = topics
        .iter()
        .map(|(name, topic_id, _)| {
            TopicProduceResponse::default()
                .with_name(name.clone())
                .with_topic_id(*topic_id)
        })
        .collect();
    // (topic index, partition index, partition, offset the high watermark must reach)
    let mut awaiting: Vec<(usize, usize, Arc<Partition>, i64)> = Vec::new();
    for (t, index, partition, _) in slots {
        let name = topics[t].2.as_deref();
        let outcome = match partition {
            Err(e) => Err(e),
            Ok(partition) => match appended.next() {
                Some((result, batch_bytes)) => result.map(|a| (partition, a, batch_bytes)),
                None => Err(ReplicaError::TaskFailed("append result missing".into())),
            },
        };
        let partition_responses = &mut responses[t].partition_responses;
        let response = match outcome {
            Ok((partition, appended, batch_bytes)) => {
                if !appended.duplicate {
                    let messages = (appended.last_offset - appended.base_offset + 1).max(0);
                    replicas
                        .throughput()
                        .record_in(batch_bytes, messages as u64);
                }
                if acks == -1 {
                    awaiting.push((
                        t,
                        partition_responses.len(),
                        partition,
                        appended.last_offset + 1,
                    ));
                }
                PartitionProduceResponse::default()
                    .with_index(index)
                    .with_base_offset(appended.base_offset)
                    .with_log_append_time_ms(appended.log_append_time_ms)
                    .with_log_start_offset(appended.log_start_offset)
            }
            Err(e) => error_response(index, &e, name),
        };
        partition_responses.push(response);
    }

    for (t, p, partition, required_offset) in awaiting {
        if let Err(e) = partition
            .wait_for_high_watermark(required_offset, deadline)
            .await
        {
            let index = responses[t].partition_responses[p].index;
            let topic = partition.topic_partition().topic.clone();
            responses[t].partition_responses[p] = error_response(index, &e, Some(&topic));
        }
    }

    ProduceResponse::default().with_responses(responses)
}

fn error_response(
    index: i32,
    error: &ReplicaError,
    topic: Option<&str>,
) -> PartitionProduceResponse {
    let code = error.error_code();
    if code == ResponseError::UnknownServerError.code()
        || code == ResponseError::KafkaStorageError.code()
    {
        warn!(topic, partition = index, error = %error, "produce failed");
    } else {
        debug!(topic, partition = index, error = %error, "produce refused");
    }
    let mut response = PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1);
    // Validation failures describe the client's own batch; internal errors stay internal.
    if let ReplicaError::Validation(e) = error {
        response = response.with_error_message(Some(StrBytes::from_string(e.to_string())));
    }
    response
}
