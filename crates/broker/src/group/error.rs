//! The group runtime's error enum and its single mapping to Kafka error codes: the
//! coordinator's own refusals ([`GroupError`]) plus what the runtime adds around them (which
//! node coordinates, loading, and appending to `__consumer_offsets`).

use fjord_coordinator::GroupError;
use kafka_protocol::ResponseError;

use crate::replica::ReplicaError;

/// Why a group request could not be served. `Clone` because one failed append answers every
/// request parked on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupRuntimeError {
    /// The state machine refused the request.
    #[error(transparent)]
    Group(#[from] GroupError),
    /// This node does not lead the group's `__consumer_offsets` partition.
    #[error("not the coordinator of __consumer_offsets-{partition}")]
    NotCoordinator { partition: i32 },
    /// The partition is being replayed into a fresh shard.
    #[error("__consumer_offsets-{partition} is loading")]
    LoadInProgress { partition: i32 },
    /// `__consumer_offsets` does not exist yet (or could not be created), or the broker is
    /// shutting down.
    #[error("the group coordinator is not available")]
    CoordinatorNotAvailable,
    /// Appending the shard's records failed; `error_code` is Kafka's mapping of the storage
    /// error (the storage error itself is logged where it happened).
    #[error("appending to __consumer_offsets failed with error {error_code}")]
    AppendFailed { error_code: i16 },
}

impl GroupRuntimeError {
    /// Kafka's error code for this error.
    pub fn error_code(&self) -> i16 {
        match self {
            GroupRuntimeError::Group(e) => e.error_code(),
            GroupRuntimeError::NotCoordinator { .. } => ResponseError::NotCoordinator.code(),
            GroupRuntimeError::LoadInProgress { .. } => {
                ResponseError::CoordinatorLoadInProgress.code()
            }
            GroupRuntimeError::CoordinatorNotAvailable => {
                ResponseError::CoordinatorNotAvailable.code()
            }
            GroupRuntimeError::AppendFailed { error_code } => *error_code,
        }
    }

    /// The code a client gets when a coordinator write failed with `error`. Kafka's group
    /// coordinator (`GroupCoordinatorService.normalizeException`) hides storage errors behind
    /// the coordinator errors clients know how to retry: a missing partition or too few
    /// replicas means "find the coordinator again later", a lost leadership or a failed disk
    /// means "another node may be the coordinator", and an oversized write is an internal
    /// fault.
    pub fn from_append(error: &ReplicaError) -> Self {
        let code = error.error_code();
        let retriable_elsewhere = [
            ResponseError::UnknownTopicOrPartition.code(),
            ResponseError::NotEnoughReplicas.code(),
            ResponseError::NotEnoughReplicasAfterAppend.code(),
            ResponseError::RequestTimedOut.code(),
        ];
        let moved = [
            ResponseError::NotLeaderOrFollower.code(),
            ResponseError::KafkaStorageError.code(),
        ];
        // A transactional append (TxnOffsetCommit) refused by the log's producer state: the
        // producer is fenced or its transaction state is wrong, which it must learn as is.
        let producer = [
            ResponseError::InvalidProducerEpoch.code(),
            ResponseError::ProducerFenced.code(),
            ResponseError::InvalidTxnState.code(),
        ];
        let error_code = if producer.contains(&code) {
            code
        } else if retriable_elsewhere.contains(&code) {
            ResponseError::CoordinatorNotAvailable.code()
        } else if moved.contains(&code) {
            ResponseError::NotCoordinator.code()
        } else {
            // MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE and anything else.
            ResponseError::UnknownServerError.code()
        };
        GroupRuntimeError::AppendFailed { error_code }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_errors_become_coordinator_errors() {
        let lost = ReplicaError::NotLeaderOrFollower {
            topic: "__consumer_offsets".into(),
            partition: 3,
        };
        assert_eq!(GroupRuntimeError::from_append(&lost).error_code(), 16);
        let timed_out = ReplicaError::RequestTimedOut {
            topic: "__consumer_offsets".into(),
            partition: 3,
        };
        assert_eq!(GroupRuntimeError::from_append(&timed_out).error_code(), 15);
        let task = ReplicaError::TaskFailed("boom".into());
        assert_eq!(GroupRuntimeError::from_append(&task).error_code(), -1);
        let loading = GroupRuntimeError::LoadInProgress { partition: 0 };
        assert_eq!(loading.error_code(), 14);
        let refused = GroupRuntimeError::from(GroupError::UnknownMemberId);
        assert_eq!(refused.error_code(), 25);
    }
}
