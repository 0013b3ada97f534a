//! The transaction runtime's error enum and its single mapping to Kafka error codes: the
//! coordinator's own refusals ([`TxnError`]) plus what the runtime adds around them (which
//! node coordinates, loading, and appending to `__transaction_state`).

use fjord_coordinator::txn::{TxnApi, TxnError};
use kafka_protocol::ResponseError;

use crate::coordinator_host::HostError;
use crate::replica::ReplicaError;

/// Why a transactional request could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnRuntimeError {
    /// The state machine refused the request.
    #[error(transparent)]
    Txn(#[from] TxnError),
    /// Not the coordinator, loading, or not available.
    #[error(transparent)]
    Host(#[from] HostError),
    /// Appending to `__transaction_state` failed; `error_code` is the coordinator error a
    /// client gets for it (the storage error itself is logged where it happened).
    #[error("appending to __transaction_state failed with error {error_code}")]
    AppendFailed { error_code: i16 },
}

impl TxnRuntimeError {
    /// Kafka's error code for this error.
    pub fn error_code(&self) -> i16 {
        match self {
            TxnRuntimeError::Txn(e) => e.error_code(),
            TxnRuntimeError::Host(e) => e.error_code(),
            TxnRuntimeError::AppendFailed { error_code } => *error_code,
        }
    }

    /// The code for a response of `api` at `version` (clients before KIP-588 get
    /// INVALID_PRODUCER_EPOCH instead of PRODUCER_FENCED).
    pub fn error_code_for(&self, api: TxnApi, version: i16) -> i16 {
        match self {
            TxnRuntimeError::Txn(e) => e.error_code_for(api, version),
            other => other.error_code(),
        }
    }

    /// The code a client gets when a coordinator write failed with `error`. Kafka's
    /// transaction coordinator (`TransactionStateManager.appendTransactionToLog`) turns
    /// storage errors into the coordinator errors clients retry: a missing partition, too few
    /// replicas or a timeout mean "coordinator not available", a lost leadership or a failed
    /// disk mean "not the coordinator", and anything else is an internal fault.
    pub fn from_append(error: &ReplicaError) -> Self {
        let code = error.error_code();
        let not_available = [
            ResponseError::UnknownTopicOrPartition.code(),
            ResponseError::NotEnoughReplicas.code(),
            ResponseError::NotEnoughReplicasAfterAppend.code(),
            ResponseError::RequestTimedOut.code(),
        ];
        let moved = [
            ResponseError::NotLeaderOrFollower.code(),
            ResponseError::KafkaStorageError.code(),
        ];
        let error_code = if not_available.contains(&code) {
            ResponseError::CoordinatorNotAvailable.code()
        } else if moved.contains(&code) {
            ResponseError::NotCoordinator.code()
        } else {
            ResponseError::UnknownServerError.code()
        };
        TxnRuntimeError::AppendFailed { error_code }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_kafkas_codes() {
        let lost = ReplicaError::NotLeaderOrFollower {
            topic: "__transaction_state".into(),
            partition: 3,
        };
        assert_eq!(TxnRuntimeError::from_append(&lost).error_code(), 16);
        let timed_out = ReplicaError::RequestTimedOut {
            topic: "__transaction_state".into(),
            partition: 3,
        };
        assert_eq!(TxnRuntimeError::from_append(&timed_out).error_code(), 15);
        let task = ReplicaError::TaskFailed("boom".into());
        assert_eq!(TxnRuntimeError::from_append(&task).error_code(), -1);
        let loading = TxnRuntimeError::from(HostError::LoadInProgress { partition: 0 });
        assert_eq!(loading.error_code(), 14);
        let fenced = TxnRuntimeError::from(TxnError::ProducerFenced);
        assert_eq!(fenced.error_code_for(TxnApi::InitProducerId, 3), 47);
        assert_eq!(fenced.error_code_for(TxnApi::InitProducerId, 4), 90);
    }
}
