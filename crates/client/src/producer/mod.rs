//! The batching producer: `send` puts a record into its partition's open batch and returns a
//! [`DeliveryFuture`]; a background sender task ships batches when they are full
//! (`batch.size`), old enough (`linger.ms`), or flushed, and resolves each future with the
//! record's partition and offset.
//!
//! - [`accumulator`]: per-partition batches, sticky partitions, sequence numbers.
//! - [`sender`]: the task that drains batches into Produce requests, retries and resolves.
//!
//! Ordering: up to `max.in.flight.requests.per.connection` batches of one partition are in
//! flight, written to the leader's connection in order (one request per broker lane). A batch
//! that fails with a retriable error goes back among its partition's batches in send order and
//! is resent only when none of them is in flight. With idempotence (the default, as in Java,
//! when `acks=all`) the broker checks per-partition sequence numbers, so records of one
//! partition are written in `send` order even across retries, and it deduplicates a batch that
//! was written but whose answer was lost; when the sequence state breaks (a batch rejected for
//! good between pipelined ones, UNKNOWN_PRODUCER_ID) the producer bumps its epoch (KIP-360).
//! Without idempotence a retried batch may land after later ones, as in Java with more than
//! one request in flight.

pub mod accumulator;
pub mod sender;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::records::Compression;
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, TopicPartition};
use crate::config::{parse, ClientConfig};
use crate::error::ClientError;
use crate::partitioner;
use accumulator::{Accumulator, PendingRecord};

/// `acks`: how many replicas must have a batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `acks=0`: the broker sends no answer at all.
    None = 0,
    /// `acks=1`: the leader has written it.
    Leader = 1,
    /// `acks=all` / `-1`: every in-sync replica has it.
    All = -1,
}

impl std::str::FromStr for Acks {
    type Err = ClientError;
    fn from_str(value: &str) -> Result<Acks, ClientError> {
        match value.trim() {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "all" | "-1" => Ok(Acks::All),
            other => Err(ClientError::InvalidConfig {
                key: "acks".to_string(),
                message: format!("{other:?} is not one of 0, 1, all, -1"),
            }),
        }
    }
}

/// Producer settings under Kafka's names and defaults.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub client: ClientConfig,
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `linger.ms` (default 5, as in Kafka 4.0).
    pub linger_ms: u64,
    /// `batch.size` in bytes, uncompressed estimate (default 16384).
    pub batch_size: usize,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// `enable.idempotence`; `None` means Java's default: on when `acks=all`.
    pub enable_idempotence: Option<bool>,
    /// `max.in.flight.requests.per.connection` (default 5): Produce requests outstanding per
    /// broker, and so batches of one partition in flight (see the module docs).
    pub max_in_flight_requests_per_connection: usize,
    /// `delivery.timeout.ms` (default 120000): time from `send` to giving up on a record.
    pub delivery_timeout_ms: u64,
    /// `buffer.memory` (default 32 MiB): bytes of unsent records before `send` waits.
    pub buffer_memory: usize,
    /// `max.request.size` (default 1048576): the largest record accepted.
    pub max_request_size: usize,
    /// `max.block.ms` (default 60000): how long `send` waits for metadata of its topic.
    pub max_block_ms: u64,
}

impl ProducerConfig {
    pub fn new(client: ClientConfig) -> ProducerConfig {
        ProducerConfig {
            client,
            acks: Acks::All,
            linger_ms: 5,
            batch_size: 16_384,
            compression: Compression::None,
            enable_idempotence: None,
            max_in_flight_requests_per_connection: 5,
            delivery_timeout_ms: 120_000,
            buffer_memory: 32 * 1024 * 1024,
            max_request_size: 1_048_576,
            max_block_ms: 60_000,
        }
    }

    /// Applies one Java producer property (client properties included).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ClientError> {
        if self.client.set(key, value)? {
            return Ok(true);
        }
        match key {
            "acks" => self.acks = value.parse()?,
            "linger.ms" => self.linger_ms = parse(key, value)?,
            "batch.size" => self.batch_size = parse(key, value)?,
            "compression.type" => self.compression = compression_from_name(value)?,
            "enable.idempotence" => self.enable_idempotence = Some(parse(key, value)?),
            "max.in.flight.requests.per.connection" => {
                self.max_in_flight_requests_per_connection = parse(key, value)?
            }
            "delivery.timeout.ms" => self.delivery_timeout_ms = parse(key, value)?,
            "buffer.memory" => self.buffer_memory = parse(key, value)?,
            "max.request.size" => self.max_request_size = parse(key, value)?,
            "max.block.ms" => self.max_block_ms = parse(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Whether idempotence is on, refusing the combination Java refuses.
    pub fn idempotence(&self) -> Result<bool, ClientError> {
        match self.enable_idempotence {
            None => Ok(self.acks == Acks::All),
            Some(true) if self.acks != Acks::All => Err(ClientError::InvalidConfig {
                key: "enable.idempotence".to_string(),
                message: "idempotence needs acks=all".to_string(),
            }),
            Some(on) => Ok(on),
        }
    }
}

/// `compression.type` values: none, gzip, snappy, lz4, zstd.
pub fn compression_from_name(value: &str) -> Result<Compression, ClientError> {
    match value.trim() {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        other => Err(ClientError::InvalidConfig {
            key: "compression.type".to_string(),
            message: format!("{other:?} is not one of none, gzip, snappy, lz4, zstd"),
        }),
    }
}

/// A record to send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    pub topic: String,
    /// An explicit partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Headers in order; a key may appear more than once (Kafka's `RecordHeaders` is a list).
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; `None` means now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            value: Some(value.into()),
            ..ProducerRecord::default()
        }
    }

    pub fn with_key(mut self, key: impl Into<Bytes>) -> ProducerRecord {
        self.key = Some(key.into());
        self
    }

    pub fn with_partition(mut self, partition: i32) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }

    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.headers.push((key.into(), Some(value.into())));
        self
    }

    pub fn with_timestamp(mut self, timestamp_ms: i64) -> ProducerRecord {
        self.timestamp = Some(timestamp_ms);
        self
    }
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    /// -1 with `acks=0` (the broker does not say) and for a duplicate the broker dropped.
    pub offset: i64,
    /// The log append time when the topic uses it, the record's create time otherwise.
    pub timestamp: i64,
}

/// Resolves when the record's batch is acknowledged or finally fails.
#[derive(Debug)]
pub struct DeliveryFuture {
    rx: oneshot::Receiver<Result<RecordMetadata, ClientError>>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ClientError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(ClientError::Closed)))
    }
}

/// State shared by the producer handle and its sender task.
pub(crate) struct Shared {
    pub(crate) cluster: Cluster,
    pub(crate) config: ProducerConfig,
    pub(crate) idempotent: bool,
    pub(crate) accumulator: parking_lot::Mutex<Accumulator>,
    /// Wakes the sender: a batch filled up, a flush or close began, a request finished.
    pub(crate) wake_sender: Notify,
    /// Wakes flushers: the accumulator may have become empty.
    pub(crate) idle: Notify,
    /// `buffer.memory`, in bytes.
    pub(crate) memory: Arc<Semaphore>,
}

/// An async Kafka producer. Cheap to clone; all clones share batches and the sender task.
#[derive(Clone)]
pub struct Producer {
    shared: Arc<Shared>,
    sender: Arc<parking_lot::Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// Bootstraps a cluster connection and starts the sender task.
    pub async fn connect(config: ProducerConfig) -> Result<Producer, ClientError> {
        let cluster = Cluster::connect(config.client.clone()).await?;
        Producer::new(cluster, config)
    }

    /// A producer on an existing cluster handle.
    pub fn new(cluster: Cluster, config: ProducerConfig) -> Result<Producer, ClientError> {
        let idempotent = config.idempotence()?;
        if config.batch_size == 0 || config.max_in_flight_requests_per_connection == 0 {
            return Err(ClientError::InvalidConfig {
                key: "batch.size / max.in.flight.requests.per.connection".to_string(),
                message: "must be positive".to_string(),
            });
        }
        let permits = config.buffer_memory.min(Semaphore::MAX_PERMITS);
        let shared = Arc::new(Shared {
            cluster,
            idempotent,
            accumulator: parking_lot::Mutex::new(Accumulator::default()),
            wake_sender: Notify::new(),
            idle: Notify::new(),
            memory: Arc::new(Semaphore::new(permits)),
            config,
        });
        let task = tokio::spawn(sender::run(shared.clone()));
        Ok(Producer {
            shared,
            sender: Arc::new(parking_lot::Mutex::new(Some(task))),
        })
    }

    /// Adds `record` to its partition's batch. Waits only for metadata of a topic not seen
    /// before and for buffer space; the returned future resolves on acknowledgement.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ClientError> {
        let size = accumulator::estimated_size(&record);
        if size > self.shared.config.max_request_size {
            return Err(ClientError::Kafka {
                error: kafka_protocol::ResponseError::MessageTooLarge,
                message: Some(format!(
                    "record of {size} bytes exceeds max.request.size {}",
                    self.shared.config.max_request_size
                )),
            });
        }
        if self.shared.accumulator.lock().closed {
            return Err(ClientError::Closed);
        }
        let deadline =
            std::time::Instant::now() + Duration::from_millis(self.shared.config.max_block_ms);
        let metadata = self
            .shared
            .cluster
            .fresh_metadata_until(std::slice::from_ref(&record.topic), true, deadline)
            .await?;
        let num_partitions = metadata.partition_count(&record.topic).unwrap_or(0);
        if let Some(p) = record.partition {
            if p < 0 || p as usize >= num_partitions {
                return Err(ClientError::InvalidArgument(format!(
                    "partition {p} of {} does not exist ({num_partitions} partitions)",
                    record.topic
                )));
            }
        }
        let permit = self
            .shared
            .memory
            .clone()
            .acquire_many_owned(size.min(self.shared.config.buffer_memory) as u32)
            .await
            .map_err(|_| ClientError::Closed)?;
        let (tx, rx) = oneshot::channel();
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let became_full = {
            let mut acc = self.shared.accumulator.lock();
            if acc.closed {
                return Err(ClientError::Closed);
            }
            let partition = match (record.partition, &record.key) {
                (Some(p), _) => p,
                (None, Some(key)) => partitioner::partition_for_key(key, num_partitions),
                (None, None) => acc.sticky_partition(&record.topic, num_partitions),
            };
            let tp = TopicPartition::new(record.topic.clone(), partition);
            acc.append(
                tp,
                PendingRecord {
                    record,
                    timestamp,
                    size,
                    tx,
                    permit,
                },
                self.shared.config.batch_size,
                num_partitions,
            )
        };
        if became_full {
            self.shared.wake_sender.notify_one();
        }
        Ok(DeliveryFuture { rx })
    }

    /// Sends everything buffered now and waits until it is acknowledged or failed.
    pub async fn flush(&self) {
        self.shared.accumulator.lock().flushing += 1;
        self.shared.wake_sender.notify_one();
        loop {
            let idle = self.shared.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.shared.accumulator.lock().is_empty() {
                break;
            }
            idle.await;
        }
        self.shared.accumulator.lock().flushing -= 1;
    }

    /// Flushes, then stops the sender task. Later sends fail with [`ClientError::Closed`].
    pub async fn close(&self) {
        self.flush().await;
        self.shared.accumulator.lock().closed = true;
        self.shared.wake_sender.notify_one();
        let task = self.sender.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The producer id and epoch in use, once idempotence has initialised them.
    pub fn producer_id_and_epoch(&self) -> Option<(i64, i16)> {
        self.shared.accumulator.lock().producer_id_and_epoch()
    }

    pub fn cluster(&self) -> &Cluster {
        &self.shared.cluster
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_properties_apply() {
        let mut config = ProducerConfig::new(ClientConfig::default());
        assert!(config.idempotence().unwrap());
        assert!(config.set("acks", "1").unwrap());
        assert!(!config.idempotence().unwrap());
        config.set("enable.idempotence", "true").unwrap();
        assert!(config.idempotence().is_err());
        config.set("compression.type", "zstd").unwrap();
        assert_eq!(config.compression, Compression::Zstd);
        assert!(config.set("compression.type", "brotli").is_err());
        assert!(config.set("linger.ms", "20").unwrap());
        assert_eq!(config.linger_ms, 20);
        assert!(config.set("client.id", "x").unwrap());
        assert!(!config.set("group.id", "x").unwrap());
    }
}
