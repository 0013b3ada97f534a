//! The producer's background task: drains due batches from the accumulator, groups them by
//! partition leader into Produce requests (at most `max.in.flight.requests.per.connection`
//! outstanding per broker), and resolves, retries or fails each batch from its partition's
//! answer.
//!
//! With idempotence the task first obtains a producer id and epoch (InitProducerId); each
//! batch then carries them and its base sequence number. A DUPLICATE_SEQUENCE_NUMBER answer
//! means the broker already has the batch (an earlier attempt's answer was lost) and counts as
//! success. Retriable failures go back to the front of the partition's queue after
//! `retry.backoff.ms`, with a metadata refresh when the leader may have moved, until
//! `delivery.timeout.ms` after the batch was created.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, ProduceRequest, ProduceResponse, ProducerId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType, NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
};
use kafka_protocol::ResponseError;
use tokio::sync::Semaphore;

use super::accumulator::ProducerBatch;
use super::{Acks, RecordMetadata, Shared};
use crate::admin::topic_name;
use crate::cluster::TopicPartition;
use crate::error::{codec_source, ClientError};

/// Produce versions this client speaks: 3 is the oldest Kafka 4 accepts; 13 switches to topic
/// ids, which the connection layer caps.
const PRODUCE_MIN_VERSION: i16 = 3;
const PRODUCE_MAX_VERSION: i16 = 12;

/// Runs until the producer is closed and everything buffered is resolved.
pub(crate) async fn run(shared: Arc<Shared>) {
    let linger = Duration::from_millis(shared.config.linger_ms);
    let mut broker_slots: HashMap<i32, Arc<Semaphore>> = HashMap::new();
    loop {
        let wake = shared.wake_sender.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();

        if shared.idempotent && shared.accumulator.lock().producer_id_and_epoch().is_none() {
            if let Err(err) = init_producer_id(&shared).await {
                tracing::warn!(%err, "InitProducerId failed");
                if !err.is_retriable() {
                    fail_sendable(&shared, linger, &err);
                }
                tokio::time::sleep(shared.cluster.config().retry_backoff()).await;
                if shared.accumulator.lock().closed && shared.accumulator.lock().is_empty() {
                    break;
                }
                continue;
            }
        }

        let (batches, next_due) =
            shared
                .accumulator
                .lock()
                .drain(Instant::now(), linger, shared.idempotent);
        if batches.is_empty() {
            let acc = shared.accumulator.lock();
            if acc.is_empty() {
                shared.idle.notify_waiters();
                if acc.closed {
                    break;
                }
            }
        }
        dispatch(&shared, batches, &mut broker_slots);

        let sleep_until = next_due.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = &mut wake => {}
            _ = tokio::time::sleep_until(sleep_until.into()) => {}
        }
    }
}

/// Fails every batch that could be sent now (InitProducerId failed for good).
fn fail_sendable(shared: &Shared, linger: Duration, err: &ClientError) {
    let (batches, _) = shared
        .accumulator
        .lock()
        .drain(Instant::now(), linger, false);
    for batch in batches {
        let tp = batch.tp.clone();
        batch.fail(err.clone());
        shared.accumulator.lock().complete(&tp, None);
    }
    shared.idle.notify_waiters();
}

async fn init_producer_id(shared: &Shared) -> Result<(), ClientError> {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(i32::MAX)
        .with_producer_id(ProducerId(NO_PRODUCER_ID))
        .with_producer_epoch(NO_PRODUCER_EPOCH);
    let response = shared
        .cluster
        .retry(|| async {
            let response = shared.cluster.call_any(&request).await?;
            ClientError::check(response.error_code, None)?;
            Ok(response)
        })
        .await?;
    shared
        .accumulator
        .lock()
        .set_producer(response.producer_id.0, response.producer_epoch);
    Ok(())
}

/// Groups batches by leader and starts one request task per leader.
fn dispatch(
    shared: &Arc<Shared>,
    batches: Vec<ProducerBatch>,
    broker_slots: &mut HashMap<i32, Arc<Semaphore>>,
) {
    if batches.is_empty() {
        return;
    }
    let metadata = shared.cluster.metadata();
    let mut by_leader: BTreeMap<i32, Vec<ProducerBatch>> = BTreeMap::new();
    let mut leaderless = Vec::new();
    for batch in batches {
        match metadata.leader(&batch.tp) {
            Ok(leader) => by_leader.entry(leader).or_default().push(batch),
            Err(err) => leaderless.push((batch, err)),
        }
    }
    if !leaderless.is_empty() {
        let shared = shared.clone();
        tokio::spawn(async move {
            let _ = shared
                .cluster
                .refresh_metadata(Some(&topics_of(&leaderless)))
                .await;
            let mut acc_batches = Vec::new();
            for (batch, err) in leaderless {
                acc_batches.push((batch, Err(err)));
            }
            settle(&shared, acc_batches, false);
        });
    }
    let max_in_flight = shared.config.max_in_flight_requests_per_connection;
    for (leader, batches) in by_leader {
        let slot = broker_slots
            .entry(leader)
            .or_insert_with(|| Arc::new(Semaphore::new(max_in_flight)))
            .clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(_permit) = slot.acquire_owned().await else {
                return;
            };
            let outcomes = produce(&shared, leader, batches).await;
            let refresh = outcomes
                .iter()
                .any(|(_, r)| matches!(r, Err(e) if e.needs_metadata_refresh()));
            if refresh {
                let topics = topics_of(&outcomes);
                let _ = shared.cluster.refresh_metadata(Some(&topics)).await;
            }
            settle(&shared, outcomes, true);
        });
    }
}

fn topics_of<T>(batches: &[(ProducerBatch, T)]) -> Vec<String> {
    let mut topics: Vec<String> = batches.iter().map(|(b, _)| b.tp.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    topics
}

/// What a partition's answer says about its batch.
type PartitionAnswer = Result<(i64, i64), ClientError>;

/// Sends one Produce request for `batches` to `leader`; pairs each batch with its answer
/// (base offset and log append time) or error.
async fn produce(
    shared: &Shared,
    leader: i32,
    batches: Vec<ProducerBatch>,
) -> Vec<(ProducerBatch, PartitionAnswer)> {
    let fail_all = |batches: Vec<ProducerBatch>, err: ClientError| {
        batches
            .into_iter()
            .map(|b| (b, Err(err.clone())))
            .collect::<Vec<_>>()
    };
    let producer = shared.accumulator.lock().producer_id_and_epoch();
    let mut topic_data: BTreeMap<String, Vec<PartitionProduceData>> = BTreeMap::new();
    for batch in &batches {
        match encode_batch(batch, producer, shared.config.compression) {
            Ok(records) => topic_data.entry(batch.tp.topic.clone()).or_default().push(
                PartitionProduceData::default()
                    .with_index(batch.tp.partition)
                    .with_records(Some(records)),
            ),
            Err(err) => return fail_all(batches, err),
        }
    }
    let request = ProduceRequest::default()
        .with_transactional_id(None)
        .with_acks(shared.config.acks as i16)
        .with_timeout_ms(
            i32::try_from(shared.cluster.config().request_timeout_ms).unwrap_or(i32::MAX),
        )
        .with_topic_data(
            topic_data
                .into_iter()
                .map(|(topic, partitions)| {
                    TopicProduceData::default()
                        .with_name(topic_name(&topic))
                        .with_partition_data(partitions)
                })
                .collect(),
        );
    let conn = match shared.cluster.connection(leader).await {
        Ok(conn) => conn,
        Err(err) => return fail_all(batches, err),
    };
    let version = match conn.negotiate(ApiKey::Produce, PRODUCE_MIN_VERSION, PRODUCE_MAX_VERSION) {
        Ok(v) => v,
        Err(err) => return fail_all(batches, err),
    };
    if shared.config.acks == Acks::None {
        // The broker sends nothing back; the records count as sent once written.
        return match conn.send_without_response(&request, version) {
            Ok(()) => batches.into_iter().map(|b| (b, Ok((-1, -1)))).collect(),
            Err(err) => fail_all(batches, err),
        };
    }
    let response: ProduceResponse = match conn.call_at(&request, version).await {
        Ok(r) => r,
        Err(err) => return fail_all(batches, err),
    };
    let mut answers: HashMap<TopicPartition, PartitionAnswer> = HashMap::new();
    for topic in response.responses {
        let name = topic.name.0.to_string();
        for p in topic.partition_responses {
            let answer = match ClientError::from_code(p.error_code, p.error_message.as_deref()) {
                None => Ok((p.base_offset, p.log_append_time_ms)),
                // The broker has this batch already (an earlier answer was lost).
                Some(err) if err.kafka_error() == Some(ResponseError::DuplicateSequenceNumber) => {
                    Ok((-1, -1))
                }
                Some(err) => Err(err),
            };
            answers.insert(TopicPartition::new(name.clone(), p.index), answer);
        }
    }
    batches
        .into_iter()
        .map(|b| {
            let answer = answers.remove(&b.tp).unwrap_or_else(|| {
                Err(ClientError::Protocol {
                    addr: conn.addr().to_string(),
                    reason: format!("Produce response lacks {}", b.tp),
                })
            });
            (b, answer)
        })
        .collect()
}

/// Encodes a batch as one v2 record batch with the producer's id, epoch and sequence.
fn encode_batch(
    batch: &ProducerBatch,
    producer: Option<(i64, i16)>,
    compression: kafka_protocol::records::Compression,
) -> Result<Bytes, ClientError> {
    let (producer_id, producer_epoch) = match (producer, batch.base_sequence) {
        (Some(p), seq) if seq >= 0 => p,
        _ => (NO_PRODUCER_ID, NO_PRODUCER_EPOCH),
    };
    // The encoder derives the base sequence from the first record and keeps records in one
    // batch only while offset - sequence stays constant, so sequences count up from the base
    // (from -1 without idempotence, which still yields base sequence -1).
    let records: Vec<Record> = batch
        .records
        .iter()
        .enumerate()
        .map(|(i, pending)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if batch.base_sequence >= 0 {
                super::accumulator::wrap_add(batch.base_sequence, i)
            } else {
                (i as i32).wrapping_sub(1)
            },
            timestamp: pending.timestamp,
            key: pending.record.key.clone(),
            value: pending.record.value.clone(),
            headers: pending
                .record
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone()))
                .collect::<IndexMap<_, _>>(),
        })
        .collect();
    let mut buf = BytesMut::with_capacity(batch.size + 64);
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .map_err(|e| ClientError::Encode {
        api_key: ApiKey::Produce,
        version: 2,
        source: codec_source(e),
    })?;
    Ok(buf.freeze())
}

/// Resolves, requeues or fails each batch from its answer, then wakes the sender and any
/// flusher.
fn settle(shared: &Shared, outcomes: Vec<(ProducerBatch, PartitionAnswer)>, was_sent: bool) {
    let backoff = shared.cluster.config().retry_backoff();
    let delivery_timeout = Duration::from_millis(shared.config.delivery_timeout_ms);
    for (mut batch, answer) in outcomes {
        let tp = batch.tp.clone();
        match answer {
            Ok((base_offset, log_append_time)) => {
                batch.resolve(|i, pending| {
                    Ok(RecordMetadata {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        offset: if base_offset >= 0 {
                            base_offset + i as i64
                        } else {
                            -1
                        },
                        timestamp: if log_append_time >= 0 {
                            log_append_time
                        } else {
                            pending.timestamp
                        },
                    })
                });
                shared.accumulator.lock().complete(&tp, None);
            }
            Err(err) if err.is_retriable() && batch.created.elapsed() < delivery_timeout => {
                tracing::debug!(%tp, %err, attempts = batch.attempts, "retrying batch");
                batch.attempts += u32::from(was_sent);
                batch.retry_after = Some(Instant::now() + backoff);
                shared.accumulator.lock().requeue(batch);
            }
            Err(err) => {
                let err = if err.is_retriable() {
                    ClientError::DeadlineExceeded {
                        timeout_ms: shared.config.delivery_timeout_ms,
                        last: Box::new(err),
                    }
                } else {
                    err
                };
                // The broker did not take the batch, so its sequence numbers are free again.
                let release = (batch.base_sequence >= 0).then_some(batch.base_sequence);
                batch.fail(err);
                shared.accumulator.lock().complete(&tp, release);
            }
        }
    }
    shared.wake_sender.notify_one();
    if shared.accumulator.lock().is_empty() {
        shared.idle.notify_waiters();
    }
}
