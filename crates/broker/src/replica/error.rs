//! The replica manager's error type and its single mapping to Kafka error codes. Storage and
//! validation errors are wrapped with their own mappings kept.

use fjord_storage::LogError;
use kafka_protocol::ResponseError;

use super::validation::ValidationError;

/// What a partition-level operation of the data path can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("unknown topic or partition {topic}-{partition}")]
    UnknownTopicOrPartition { topic: String, partition: i32 },
    #[error("unknown topic id {topic_id}")]
    UnknownTopicId { topic_id: uuid::Uuid },
    #[error("this broker is not the leader of {topic}-{partition}")]
    NotLeaderOrFollower { topic: String, partition: i32 },
    #[error("request leader epoch {request_epoch} is older than the current {current_epoch}")]
    FencedLeaderEpoch {
        request_epoch: i32,
        current_epoch: i32,
    },
    #[error("request leader epoch {request_epoch} is newer than the current {current_epoch}")]
    UnknownLeaderEpoch {
        request_epoch: i32,
        current_epoch: i32,
    },
    #[error("ISR has {isr} members, min.insync.replicas is {min_insync_replicas}")]
    NotEnoughReplicas { isr: i32, min_insync_replicas: i32 },
    #[error("acks must be -1, 0 or 1, got {acks}")]
    InvalidRequiredAcks { acks: i16 },
    #[error("offset {offset} is beyond the high watermark {high_watermark}")]
    OffsetBeyondHighWatermark { offset: i64, high_watermark: i64 },
    #[error("timed out waiting for replication of {topic}-{partition}")]
    RequestTimedOut { topic: String, partition: i32 },
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error(transparent)]
    Log(#[from] LogError),
    /// A blocking storage task panicked or was cancelled; a bug, logged with context.
    #[error("storage task failed: {0}")]
    TaskFailed(String),
}

impl ReplicaError {
    pub fn error_code(&self) -> i16 {
        match self {
            ReplicaError::UnknownTopicOrPartition { .. } => {
                ResponseError::UnknownTopicOrPartition.code()
            }
            ReplicaError::UnknownTopicId { .. } => ResponseError::UnknownTopicId.code(),
            ReplicaError::NotLeaderOrFollower { .. } => ResponseError::NotLeaderOrFollower.code(),
            ReplicaError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch.code(),
            ReplicaError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch.code(),
            ReplicaError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas.code(),
            ReplicaError::InvalidRequiredAcks { .. } => ResponseError::InvalidRequiredAcks.code(),
            ReplicaError::OffsetBeyondHighWatermark { .. } => {
                ResponseError::OffsetOutOfRange.code()
            }
            ReplicaError::RequestTimedOut { .. } => ResponseError::RequestTimedOut.code(),
            ReplicaError::Validation(e) => e.error_code(),
            ReplicaError::Log(e) => e.error_code(),
            ReplicaError::TaskFailed(_) => ResponseError::UnknownServerError.code(),
        }
    }
}

impl From<tokio::task::JoinError> for ReplicaError {
    fn from(e: tokio::task::JoinError) -> Self {
        ReplicaError::TaskFailed(e.to_string())
    }
}
