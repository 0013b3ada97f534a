//! `MetadataError`: everything the controller and the metadata image can refuse or fail at, and
//! [`MetadataError::error_code`], the only place in this crate where an error becomes a Kafka
//! error code.
//!
//! The `String` payloads are messages meant for clients (CreateTopics, DeleteTopics,
//! AlterConfigs and friends carry an `error_message`), so they name the topic or the config key
//! the way Kafka's messages do. Internal failures (log I/O, a corrupt metadata record) keep their
//! `source` for the logs and map to codes whose text is never sent to a client.

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

/// A boxed error from the storage layer or the record codec; kept as the `source` so that
/// nothing about the root cause is lost (the storage error type is not ours to name here).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a metadata operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The topic name breaks Kafka's naming rules, or collides with an existing topic.
    #[error("{0}")]
    InvalidTopic(String),
    /// CreateTopics for a name that is already taken.
    #[error("Topic '{0}' already exists.")]
    TopicAlreadyExists(String),
    /// The topic (or one of its partitions) does not exist.
    #[error("This server does not host this topic-partition: {0}")]
    UnknownTopicOrPartition(String),
    /// A request named a topic id that no topic has.
    #[error("Topic id {0} does not exist.")]
    UnknownTopicId(Uuid),
    /// Partition count below 1, or a CreatePartitions that does not increase the count.
    #[error("{0}")]
    InvalidPartitions(String),
    /// Replication factor below 1 or above the number of registered brokers.
    #[error("{0}")]
    InvalidReplicationFactor(String),
    /// An explicit replica assignment that names unknown brokers, repeats a broker, or is uneven.
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    /// A config key that is unknown or a value that does not validate; the message names the key.
    #[error("{0}")]
    InvalidConfig(String),
    /// `delete.topic.enable=false` on this controller.
    #[error("Topic deletion is disabled.")]
    TopicDeletionDisabled,
    /// A request that is malformed in a way the protocol layer could not catch.
    #[error("{0}")]
    InvalidRequest(String),
    /// This node cannot serve controller requests.
    #[error("This is not the correct controller for this cluster.")]
    NotController,
    /// Appending to, or reading from, the `__cluster_metadata` log failed.
    #[error("metadata log I/O failed: {context}")]
    Log {
        context: String,
        #[source]
        source: BoxError,
    },
    /// A record in the metadata log could not be decoded. Replay stops here, because applying a
    /// later record on top of a missing one would build a wrong image.
    #[error("corrupt metadata record at offset {offset}: {reason}")]
    CorruptRecord { offset: i64, reason: String },
    /// A record written by a newer fjord that this binary does not understand.
    #[error("metadata record {record_type} at offset {offset} has version {version}, newer than the supported {supported}")]
    UnsupportedRecordVersion {
        offset: i64,
        record_type: String,
        version: u16,
        supported: u16,
    },
    /// Encoding records into a batch failed (a bug, not an input problem).
    #[error("encoding metadata records failed")]
    Encode(#[source] BoxError),
    /// The metadata log belongs to another cluster than the one configured.
    #[error(
        "the metadata log belongs to cluster {log}, but cluster.id {configured} is configured"
    )]
    InconsistentClusterId { log: String, configured: String },
    /// The producer-id space is exhausted (it is an i64; reaching this means a bug).
    #[error("producer id space exhausted")]
    ProducerIdsExhausted,
}

impl MetadataError {
    /// The Kafka error code for this error; the only mapping from metadata errors to codes.
    pub fn error_code(&self) -> ResponseError {
        match self {
            MetadataError::InvalidTopic(_) => ResponseError::InvalidTopicException,
            MetadataError::TopicAlreadyExists(_) => ResponseError::TopicAlreadyExists,
            MetadataError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
            MetadataError::UnknownTopicId(_) => ResponseError::UnknownTopicId,
            MetadataError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
            MetadataError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
            MetadataError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
            MetadataError::InvalidConfig(_) => ResponseError::InvalidConfig,
            MetadataError::TopicDeletionDisabled => ResponseError::TopicDeletionDisabled,
            MetadataError::InvalidRequest(_) => ResponseError::InvalidRequest,
            MetadataError::NotController => ResponseError::NotController,
            MetadataError::Log { .. } => ResponseError::KafkaStorageError,
            MetadataError::InconsistentClusterId { .. } => ResponseError::InconsistentClusterId,
            MetadataError::CorruptRecord { .. }
            | MetadataError::UnsupportedRecordVersion { .. }
            | MetadataError::Encode(_)
            | MetadataError::ProducerIdsExhausted => ResponseError::UnknownServerError,
        }
    }

    /// The message a client may see: our own validation messages are written for clients;
    /// internal failures are summarised by their code only, so no internal text leaks.
    pub fn client_message(&self) -> Option<String> {
        match self {
            MetadataError::Log { .. }
            | MetadataError::CorruptRecord { .. }
            | MetadataError::UnsupportedRecordVersion { .. }
            | MetadataError::Encode(_)
            | MetadataError::InconsistentClusterId { .. }
            | MetadataError::ProducerIdsExhausted => None,
            other => Some(other.to_string()),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = MetadataError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        assert_eq!(
            MetadataError::InvalidTopic("x".into()).error_code().code(),
            17
        );
        assert_eq!(
            MetadataError::TopicAlreadyExists("t".into())
                .error_code()
                .code(),
            36
        );
        assert_eq!(
            MetadataError::InvalidPartitions("p".into())
                .error_code()
                .code(),
            37
        );
        assert_eq!(
            MetadataError::InvalidReplicationFactor("r".into())
                .error_code()
                .code(),
            38
        );
        assert_eq!(
            MetadataError::InvalidConfig("c".into()).error_code().code(),
            40
        );
        assert_eq!(MetadataError::TopicDeletionDisabled.error_code().code(), 73);
        assert_eq!(
            MetadataError::UnknownTopicId(Uuid::nil())
                .error_code()
                .code(),
            100
        );
    }

    #[test]
    fn internal_errors_hide_their_text() {
        let e = MetadataError::CorruptRecord {
            offset: 3,
            reason: "bad json".into(),
        };
        assert_eq!(e.client_message(), None);
        assert_eq!(e.error_code().code(), -1);
        let e = MetadataError::TopicAlreadyExists("orders".into());
        assert_eq!(
            e.client_message().as_deref(),
            Some("Topic 'orders' already exists.")
        );
    }
}
