//! Fetch (key 1), v4-18: resolves the request against its fetch session (KIP-227), reads
//! through the replica manager with long polling, and builds the (possibly incremental)
//! response.
//!
//! - v7+ carry `session_id` / `session_epoch`; older versions are always sessionless.
//! - v13+ name topics by id: unknown ids answer UNKNOWN_TOPIC_ID for their partitions, and the
//!   response carries ids (the name field is not on the wire there).
//! - v15+ move the follower's id into `replica_state`.
//! - Every partition answer carries the high watermark, last stable offset and log start
//!   offset; `preferred_read_replica` is -1 (no follower fetching yet); aborted transactions
//!   are null for READ_UNCOMMITTED and, for READ_COMMITTED (which reads only up to the last
//!   stable offset), the aborted transactions overlapping the records returned.
//! - A session error (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH,
//!   FETCH_SESSION_TOPIC_ID_ERROR) fails the whole request with session id 0 and no topics.

use std::time::Instant;

use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use uuid::Uuid;

use super::{BrokerContext, RequestContext};
use crate::replica::fetch_session::{
    PartitionFetchParams, PartitionOutcome, SessionKey, FINAL_EPOCH, INVALID_SESSION_ID,
};
use crate::replica::{FetchParams, FetchTarget};

pub async fn handle(
    ctx: &BrokerContext,
    req: &RequestContext,
    request: FetchRequest,
) -> FetchResponse {
    let replicas = &ctx.replica_manager;
    let version = req.api_version;
    let uses_topic_ids = version >= 13;
    let replica_id = if version >= 15 {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    };
    let (session_id, session_epoch) = if version >= 7 {
        (request.session_id, request.session_epoch)
    } else {
        (INVALID_SESSION_ID, FINAL_EPOCH)
    };

    let key = |topic_id: Uuid, name: &TopicName, partition: i32| SessionKey {
        topic_id: if uses_topic_ids {
            topic_id
        } else {
            Uuid::nil()
        },
        topic: if uses_topic_ids {
            String::new()
        } else {
            name.to_string()
        },
        partition,
    };
    let mut requested = Vec::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            requested.push((
                key(topic.topic_id, &topic.topic, p.partition),
                PartitionFetchParams {
                    fetch_offset: p.fetch_offset,
                    partition_max_bytes: p.partition_max_bytes,
                    current_leader_epoch: p.current_leader_epoch,
                    log_start_offset: p.log_start_offset,
                },
            ));
        }
    }
    let mut forgotten = Vec::new();
    for topic in &request.forgotten_topics_data {
        for &partition in &topic.partitions {
            forgotten.push(key(topic.topic_id, &topic.topic, partition));
        }
    }

    let sessions = replicas.fetch_sessions();
    let context = match sessions.new_context(
        uses_topic_ids,
        session_id,
        session_epoch,
        requested,
        &forgotten,
        Instant::now(),
    ) {
        Ok(context) => context,
        Err(e) => {
            tracing::debug!(peer = %req.peer, error = %e, "fetch session refused");
            return FetchResponse::default()
                .with_error_code(e.error_code())
                .with_session_id(INVALID_SESSION_ID);
        }
    };

    // Resolve each partition once; the names are needed again for the response.
    let mut names = Vec::with_capacity(context.partitions.len());
    let mut targets = Vec::with_capacity(context.partitions.len());
    for (key, params) in &context.partitions {
        let name = if uses_topic_ids {
            replicas.topic_name(&key.topic_id)
        } else {
            Some(key.topic.clone())
        };
        let partition = match &name {
            None => Err(ResponseError::UnknownTopicId.code()),
            Some(name) => replicas
                .partition(name, key.partition)
                .map_err(|e| e.error_code()),
        };
        names.push(name);
        targets.push(FetchTarget {
            partition,
            fetch_offset: params.fetch_offset,
            partition_max_bytes: params.partition_max_bytes,
            current_leader_epoch: params.current_leader_epoch,
        });
    }

    let params = FetchParams {
        replica_id,
        max_wait_ms: request.max_wait_ms,
        min_bytes: request.min_bytes,
        max_bytes: request.max_bytes,
        isolation_level: request.isolation_level,
    };
    let results = replicas.fetch(params, targets).await;

    let outcomes: Vec<PartitionOutcome> = results
        .iter()
        .map(|r| PartitionOutcome {
            error_code: r.error_code,
            high_watermark: r.high_watermark,
            last_stable_offset: r.last_stable_offset,
            log_start_offset: r.log_start_offset,
            has_records: !r.records.is_empty(),
        })
        .collect();
    let (response_session_id, include) = sessions.complete(&context, &outcomes, Instant::now());

    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    for (((key, _), result), (name, included)) in context
        .partitions
        .iter()
        .zip(results)
        .zip(names.into_iter().zip(include))
    {
        if !included {
            continue;
        }
        let mut data = PartitionData::default()
            .with_partition_index(key.partition)
            .with_error_code(result.error_code)
            .with_high_watermark(result.high_watermark)
            .with_last_stable_offset(result.last_stable_offset)
            .with_log_start_offset(result.log_start_offset)
            .with_aborted_transactions(result.aborted_transactions.map(|list| {
                list.into_iter()
                    .map(|t| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(t.producer_id))
                            .with_first_offset(t.first_offset)
                    })
                    .collect()
            }))
            .with_preferred_read_replica(BrokerId(-1))
            .with_records(Some(result.records));
        if result.error_code == ResponseError::NotLeaderOrFollower.code()
            || result.error_code == ResponseError::FencedLeaderEpoch.code()
        {
            data = data.with_current_leader(
                LeaderIdAndEpoch::default()
                    .with_leader_id(BrokerId(result.leader_id))
                    .with_leader_epoch(result.leader_epoch),
            );
        }
        let topic_name = TopicName(StrBytes::from_string(name.unwrap_or_default()));
        let same_topic = responses.last().is_some_and(|t: &FetchableTopicResponse| {
            if uses_topic_ids {
                t.topic_id == key.topic_id
            } else {
                t.topic == topic_name
            }
        });
        if !same_topic {
            responses.push(
                FetchableTopicResponse::default()
                    .with_topic(topic_name)
                    .with_topic_id(key.topic_id),
            );
        }
        if let Some(topic) = responses.last_mut() {
            topic.partitions.push(data);
        }
    }

    FetchResponse::default()
        .with_error_code(0)
        .with_session_id(response_session_id)
        .with_responses(responses)
}
