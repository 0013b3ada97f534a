//! fjord's native async Kafka client, on the `kafka-protocol` codecs.
//!
//! - [`connection`]: one TCP connection: framing, headers, pipelining, version negotiation.
//! - [`cluster`]: bootstrap, metadata, a connection per broker, retries with backoff.
//! - [`error`]: [`ClientError`] and its Kafka error codes.
//! - [`config`]: settings under Kafka's property names.
//! - [`admin`]: the admin client.
pub mod admin;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod error;

pub use admin::AdminClient;
pub use cluster::{
    BrokerInfo, Cluster, ClusterMetadata, PartitionMetadata, TopicMetadata, TopicPartition,
};
pub use config::ClientConfig;
pub use connection::Connection;
pub use error::ClientError;

/// The codec crate, re-exported so users name the same message types.
pub use kafka_protocol;
