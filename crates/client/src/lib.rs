//! fjord's native async Kafka client, on the `kafka-protocol` codecs.
//!
//! - [`connection`]: one TCP connection: framing, headers, pipelining, version negotiation.
//! - [`cluster`]: bootstrap, metadata, a connection per broker, retries with backoff.
//! - [`error`]: [`ClientError`] and its Kafka error codes.
//! - [`config`]: settings under Kafka's property names.
//! - [`admin`]: the admin client.
//! - [`producer`]: the batching, idempotent producer.
//! - [`consumer`]: the consumer: assign/seek, group membership, commits.
//! - [`partitioner`]: Java's default partitioner (murmur2) and sticky partitions.
//! - `records`: v2 record batches written and read by the client itself (headers keep order
//!   and duplicate keys).
//!
//! ```no_run
//! use std::time::Duration;
//! use fjord_client::admin::NewTopic;
//! use fjord_client::{
//!     AdminClient, ClientConfig, Consumer, ConsumerConfig, Producer, ProducerConfig,
//!     ProducerRecord, TopicPartition,
//! };
//!
//! # async fn example() -> Result<(), fjord_client::ClientError> {
//! let config = ClientConfig::new("127.0.0.1:9092");
//! let admin = AdminClient::connect(config.clone()).await?;
//! admin.create_topics(&[NewTopic::new("orders", 3, 1)], false).await?;
//!
//! let producer = Producer::connect(ProducerConfig::new(config.clone())).await?;
//! let delivery = producer
//!     .send(ProducerRecord::new("orders", "42 widgets").with_key("customer-7"))
//!     .await?;
//! let written = delivery.await?; // partition and offset
//! producer.close().await;
//!
//! let mut consumer = Consumer::connect(ConsumerConfig::new(config)).await?;
//! let tp = TopicPartition::new("orders", written.partition);
//! consumer.assign([tp.clone()]);
//! consumer.seek(&tp, written.offset)?;
//! for record in consumer.poll(Duration::from_secs(1)).await? {
//!     println!("{} {:?}", record.offset, record.value);
//! }
//! # Ok(())
//! # }
//! ```
pub mod admin;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod consumer;
pub mod error;
pub mod partitioner;
pub mod producer;
mod records;

pub use admin::AdminClient;
pub use cluster::{
    BrokerInfo, Cluster, ClusterMetadata, PartitionMetadata, TopicMetadata, TopicPartition,
};
pub use config::ClientConfig;
pub use connection::Connection;
pub use consumer::{Consumer, ConsumerConfig, ConsumerRecord, IsolationLevel, OffsetReset};
pub use error::ClientError;
pub use producer::{
    Acks, DeliveryFuture, Producer, ProducerConfig, ProducerRecord, RecordMetadata,
};

/// The codec crate, re-exported so users name the same message types.
pub use kafka_protocol;
