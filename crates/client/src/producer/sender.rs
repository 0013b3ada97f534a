//! The producer's background task: drains due batches from the accumulator, groups them by
//! partition leader into Produce requests (at most `max.in.flight.requests.per.connection`
//! outstanding per broker), and resolves, retries or fails each batch from its partition's
//! answer.
//!
//! Each broker has a lane: a task that writes its Produce requests to the connection in the
//! order they were drained (so one partition's batches reach the broker in sequence order
//! even with several in flight), and a second task that takes the answers in that same order
//! and settles them.
//!
//! With idempotence the task first obtains a producer id and epoch (InitProducerId); each
//! batch then carries them and its base sequence number. A DUPLICATE_SEQUENCE_NUMBER answer
//! means the broker already has the batch (an earlier attempt's answer was lost) and counts as
//! success. Retriable failures go back among the partition's batches in send order after
//! `retry.backoff.ms`, doubled per attempt up to `retry.backoff.max.ms`, with a metadata
//! refresh when the leader may have moved, until `delivery.timeout.ms` after the batch was
//! created. UNKNOWN_PRODUCER_ID and unexplained OUT_OF_ORDER_SEQUENCE_NUMBER answers bump the
//! epoch (KIP-360: InitProducerId with the current id and epoch) and resend the waiting
//! batches renumbered from 0.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, ProduceRequest, ProduceResponse, ProducerId,
};
use kafka_protocol::records::{NO_PRODUCER_EPOCH, NO_PRODUCER_ID};
use kafka_protocol::ResponseError;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::accumulator::ProducerBatch;
use super::{Acks, RecordMetadata, Shared};
use crate::admin::topic_name;
use crate::cluster::TopicPartition;
use crate::error::{codec_source, ClientError};
use crate::records::{self, BatchMeta, RecordRef};

/// Produce versions this client speaks: 3 is the oldest Kafka 4 accepts; 13 switches to topic
/// ids, which the connection layer caps.
const PRODUCE_MIN_VERSION: i16 = 3;
const PRODUCE_MAX_VERSION: i16 = 12;

/// Runs until the producer is closed and everything buffered is resolved.
pub(crate) async fn run(shared: Arc<Shared>) {
    let linger = Duration::from_millis(shared.config.linger_ms);
    let max_in_flight = shared.config.max_in_flight_requests_per_connection;
    let mut lanes: HashMap<i32, mpsc::UnboundedSender<Vec<ProducerBatch>>> = HashMap::new();
    let mut init_failures = 0u32;
    loop {
        let wake = shared.wake_sender.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();

        let (current, bump) = {
            let acc = shared.accumulator.lock();
            let bump = acc.epoch_bump_needed && acc.in_flight() == 0;
            (acc.producer_id_and_epoch(), bump)
        };
        if shared.idempotent && (current.is_none() || bump) {
            let bump_from = if bump { current } else { None };
            if let Err(err) = init_producer_id(&shared, bump_from).await {
                tracing::warn!(%err, "InitProducerId failed");
                if !err.is_retriable() {
                    fail_sendable(&shared, linger, &err);
                }
                tokio::time::sleep(shared.cluster.config().retry_backoff_for(init_failures)).await;
                init_failures = init_failures.saturating_add(1);
                if shared.accumulator.lock().closed && shared.accumulator.lock().is_empty() {
                    break;
                }
                continue;
            }
            init_failures = 0;
        }

        // Each drain takes at most one batch per partition (one request per leader), so
        // drain again until nothing more may go: that is what fills the in-flight slots of a
        // partition whose batches filled up faster than the sender woke.
        let mut next_due;
        let mut drained_any = false;
        loop {
            let (batches, due) = shared.accumulator.lock().drain(
                Instant::now(),
                linger,
                shared.idempotent,
                max_in_flight,
            );
            next_due = due;
            if batches.is_empty() {
                break;
            }
            drained_any = true;
            dispatch(&shared, batches, &mut lanes);
        }
        if !drained_any {
            let acc = shared.accumulator.lock();
            if acc.is_empty() {
                shared.idle.notify_waiters();
                if acc.closed {
                    break;
                }
            }
        }

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
        .drain(Instant::now(), linger, false, usize::MAX);
    for batch in batches {
        let tp = batch.tp.clone();
        batch.fail(err.clone());
        shared.accumulator.lock().complete(&tp, None);
    }
    shared.idle.notify_waiters();
}

/// Obtains a producer id and epoch; with `bump_from`, asks the broker to bump that id's epoch
/// (KIP-360) and renumbers every waiting batch. A broker that cannot bump (an older one, or
/// one that no longer knows the id) is asked for a fresh id instead, which serves the same
/// purpose: new sequence state that the broker accepts from 0.
async fn init_producer_id(
    shared: &Shared,
    bump_from: Option<(i64, i16)>,
) -> Result<(), ClientError> {
    let request_for = |(id, epoch): (i64, i16)| {
        InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(i32::MAX)
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch)
    };
    let call = |request: InitProducerIdRequest| async move {
        shared
            .cluster
            .retry(|| async {
                let response = shared.cluster.call_any(&request).await?;
                ClientError::check(response.error_code, None)?;
                Ok(response)
            })
            .await
    };
    let fresh = request_for((NO_PRODUCER_ID, NO_PRODUCER_EPOCH));
    let response = match bump_from {
        Some(current) => match call(request_for(current)).await {
            Ok(response) => response,
            Err(err) if !err.is_retriable() => {
                tracing::info!(%err, "epoch bump refused; asking for a new producer id");
                call(fresh).await?
            }
            Err(err) => return Err(err),
        },
        None => call(fresh).await?,
    };
    let mut acc = shared.accumulator.lock();
    if bump_from.is_some() {
        tracing::info!(
            producer_id = response.producer_id.0,
            producer_epoch = response.producer_epoch,
            "producer epoch bumped; resending waiting batches from sequence 0"
        );
        acc.reset_sequences();
    }
    acc.set_producer(response.producer_id.0, response.producer_epoch);
    Ok(())
}

/// Groups batches by leader and hands each leader's share to that broker's lane.
fn dispatch(
    shared: &Arc<Shared>,
    batches: Vec<ProducerBatch>,
    lanes: &mut HashMap<i32, mpsc::UnboundedSender<Vec<ProducerBatch>>>,
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
            let outcomes = leaderless
                .into_iter()
                .map(|(batch, err)| (batch, Err(err)))
                .collect();
            settle(&shared, outcomes, false);
        });
    }
    for (leader, batches) in by_leader {
        let lane = lanes
            .entry(leader)
            .or_insert_with(|| start_lane(shared.clone(), leader));
        if let Err(mpsc::error::SendError(batches)) = lane.send(batches) {
            // The lane's tasks ended (a panic); start a new one rather than lose the batches.
            let lane = start_lane(shared.clone(), leader);
            let _ = lane.send(batches);
            lanes.insert(leader, lane);
        }
    }
}

/// A Produce request on its way: either already answered (failed before sending, or
/// `acks=0`) or written and waiting for the broker.
enum InFlight {
    Done(Vec<(ProducerBatch, PartitionAnswer)>),
    Waiting {
        batches: Vec<ProducerBatch>,
        addr: String,
        response: Pin<Box<dyn Future<Output = Result<ProduceResponse, ClientError>> + Send>>,
    },
}

impl InFlight {
    async fn finish(self) -> Vec<(ProducerBatch, PartitionAnswer)> {
        match self {
            InFlight::Done(outcomes) => outcomes,
            InFlight::Waiting {
                batches,
                addr,
                response,
            } => match response.await {
                Ok(response) => pair_answers(batches, response, &addr),
                Err(err) => fail_all(batches, err),
            },
        }
    }
}

/// Starts the two tasks of `leader`'s lane: the writer takes batch groups in drain order,
/// waits for one of the `max.in.flight.requests.per.connection` slots and writes the request;
/// the settler takes the written requests in the same order, awaits each answer (answers on
/// one connection come in request order), frees the slot and settles the batches.
fn start_lane(shared: Arc<Shared>, leader: i32) -> mpsc::UnboundedSender<Vec<ProducerBatch>> {
    let (lane_tx, mut lane_rx) = mpsc::unbounded_channel::<Vec<ProducerBatch>>();
    let (written_tx, mut written_rx) =
        mpsc::unbounded_channel::<(InFlight, OwnedSemaphorePermit)>();
    let slots = Arc::new(Semaphore::new(
        shared.config.max_in_flight_requests_per_connection,
    ));
    let writer_shared = shared.clone();
    tokio::spawn(async move {
        while let Some(batches) = lane_rx.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let in_flight = start_produce(&writer_shared, leader, batches).await;
            if written_tx.send((in_flight, permit)).is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        while let Some((in_flight, permit)) = written_rx.recv().await {
            let outcomes = in_flight.finish().await;
            drop(permit);
            let refresh = outcomes
                .iter()
                .any(|(_, r)| matches!(r, Err(e) if e.needs_metadata_refresh()));
            if refresh {
                let topics = topics_of(&outcomes);
                let _ = shared.cluster.refresh_metadata(Some(&topics)).await;
            }
            settle(&shared, outcomes, true);
        }
    });
    lane_tx
}

fn topics_of<T>(batches: &[(ProducerBatch, T)]) -> Vec<String> {
    let mut topics: Vec<String> = batches.iter().map(|(b, _)| b.tp.topic.clone()).collect();
    topics.sort();
    topics.dedup();
    topics
}

/// What a partition's answer says about its batch.
type PartitionAnswer = Result<(i64, i64), ClientError>;

fn fail_all(
    batches: Vec<ProducerBatch>,
    err: ClientError,
) -> Vec<(ProducerBatch, PartitionAnswer)> {
    batches.into_iter().map(|b| (b, Err(err.clone()))).collect()
}

/// Writes one Produce request for `batches` to `leader`'s connection (before returning, so
/// requests started in order are written in order).
async fn start_produce(shared: &Shared, leader: i32, batches: Vec<ProducerBatch>) -> InFlight {
    let producer = shared.accumulator.lock().producer_id_and_epoch();
    let mut topic_data: BTreeMap<String, Vec<PartitionProduceData>> = BTreeMap::new();
    for batch in &batches {
        match encode_batch(batch, producer, shared.config.compression) {
            Ok(records) => topic_data.entry(batch.tp.topic.clone()).or_default().push(
                PartitionProduceData::default()
                    .with_index(batch.tp.partition)
                    .with_records(Some(records)),
            ),
            Err(err) => return InFlight::Done(fail_all(batches, err)),
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
        Err(err) => return InFlight::Done(fail_all(batches, err)),
    };
    let version = match conn.negotiate(ApiKey::Produce, PRODUCE_MIN_VERSION, PRODUCE_MAX_VERSION) {
        Ok(v) => v,
        Err(err) => return InFlight::Done(fail_all(batches, err)),
    };
    if shared.config.acks == Acks::None {
        // The broker sends nothing back; the records count as sent once written.
        return InFlight::Done(match conn.send_without_response(&request, version) {
            Ok(()) => batches.into_iter().map(|b| (b, Ok((-1, -1)))).collect(),
            Err(err) => fail_all(batches, err),
        });
    }
    match conn.start_call(&request, version) {
        Ok(response) => InFlight::Waiting {
            batches,
            addr: conn.addr().to_string(),
            response: Box::pin(response),
        },
        Err(err) => InFlight::Done(fail_all(batches, err)),
    }
}

/// Pairs each batch with its partition's answer (base offset and log append time) or error.
fn pair_answers(
    batches: Vec<ProducerBatch>,
    response: ProduceResponse,
    addr: &str,
) -> Vec<(ProducerBatch, PartitionAnswer)> {
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
                    addr: addr.to_string(),
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
    let meta = BatchMeta {
        producer_id,
        producer_epoch,
        base_sequence: batch.base_sequence.max(-1),
        transactional: false,
        compression,
    };
    let records: Vec<RecordRef<'_>> = batch
        .records
        .iter()
        .map(|pending| RecordRef {
            timestamp: pending.timestamp,
            key: pending.record.key.as_deref(),
            value: pending.record.value.as_deref(),
            headers: &pending.record.headers,
        })
        .collect();
    let mut buf = BytesMut::with_capacity(batch.size + 64);
    records::encode_batch(&mut buf, &meta, &records).map_err(|e| ClientError::Encode {
        api_key: ApiKey::Produce,
        version: 2,
        source: codec_source(e),
    })?;
    Ok(buf.freeze())
}

/// Resolves, requeues or fails each batch from its answer, then wakes the sender and any
/// flusher.
fn settle(shared: &Shared, outcomes: Vec<(ProducerBatch, PartitionAnswer)>, was_sent: bool) {
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
            Err(err)
                if shared.idempotent
                    && lost_sequence_state(&err)
                    && batch.created.elapsed() < delivery_timeout =>
            {
                let mut acc = shared.accumulator.lock();
                let explained = err.kafka_error() == Some(ResponseError::OutOfOrderSequenceNumber)
                    && acc.earlier_retry_pending(&tp, batch.send_order);
                if explained {
                    // An earlier batch of this partition is being retried: this one simply
                    // arrived before it, and goes again behind it.
                    tracing::debug!(%tp, %err, "batch overtook a retried one; retrying");
                    batch.retry_after = Some(
                        Instant::now() + shared.cluster.config().retry_backoff_for(batch.attempts),
                    );
                } else {
                    tracing::info!(%tp, %err, "broker lost our sequence state; bumping epoch");
                    acc.epoch_bump_needed = true;
                    batch.retry_after = None;
                }
                batch.attempts += u32::from(was_sent);
                acc.requeue(batch);
            }
            Err(err) if err.is_retriable() && batch.created.elapsed() < delivery_timeout => {
                tracing::debug!(%tp, %err, attempts = batch.attempts, "retrying batch");
                let backoff = shared.cluster.config().retry_backoff_for(batch.attempts);
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
                // The broker did not take the batch, so its sequence numbers are free again
                // (or, when later batches already hold later ones, the epoch is bumped).
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

/// Answers meaning the broker no longer has (or never had) the sequence state our batches
/// continue: the producer id expired or was removed with its records (DeleteRecords,
/// retention), or the broker lost it; OUT_OF_ORDER_SEQUENCE_NUMBER may also just mean an
/// earlier batch is being retried, which `settle` tells apart.
fn lost_sequence_state(err: &ClientError) -> bool {
    matches!(
        err.kafka_error(),
        Some(ResponseError::OutOfOrderSequenceNumber | ResponseError::UnknownProducerId)
    )
}
