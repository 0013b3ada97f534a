//! The transaction coordinator's error enum and its single mapping to Kafka error codes.

use kafka_protocol::ResponseError;

/// The transactional APIs whose old versions cannot carry PRODUCER_FENCED (KIP-588).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnApi {
    /// InitProducerId: PRODUCER_FENCED from v4.
    InitProducerId,
    /// AddPartitionsToTxn: from v2.
    AddPartitionsToTxn,
    /// AddOffsetsToTxn: from v2.
    AddOffsetsToTxn,
    /// EndTxn: from v2.
    EndTxn,
}

impl TxnApi {
    /// The first version of this API whose clients understand PRODUCER_FENCED.
    fn first_version_with_producer_fenced(self) -> i16 {
        match self {
            TxnApi::InitProducerId => 4,
            TxnApi::AddPartitionsToTxn | TxnApi::AddOffsetsToTxn | TxnApi::EndTxn => 2,
        }
    }
}

/// Everything the transaction coordinator can refuse. Each variant maps to exactly one Kafka
/// error code in [`TxnError::error_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    /// An empty transactional id, or a request that makes no sense.
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What was wrong, for the log.
        reason: &'static str,
    },
    /// The timeout is not in `1..=transaction.max.timeout.ms`.
    #[error("invalid transaction timeout {txn_timeout_ms} ms")]
    InvalidTransactionTimeout {
        /// What the producer asked for.
        txn_timeout_ms: i32,
    },
    /// A newer incarnation of the producer owns the transactional id (or the epoch is stale).
    #[error("producer fenced")]
    ProducerFenced,
    /// The producer id is not the one assigned to this transactional id (or none is).
    #[error("invalid producer id mapping")]
    InvalidProducerIdMapping,
    /// The request does not fit the transaction's state (e.g. commit after abort began).
    #[error("invalid transaction state")]
    InvalidTxnState,
    /// Another transition (markers being written, a fence) is in progress; retry later.
    #[error("concurrent transactions")]
    ConcurrentTransactions,
    /// DescribeTransactions for an id this coordinator does not know.
    #[error("transactional id not found")]
    TransactionalIdNotFound,
    /// KIP-890: a verified partition is not part of the transaction; the producer must abort.
    #[error("transaction abortable")]
    TransactionAbortable,
    /// The allocator could not hand out a producer id.
    #[error("producer id allocation failed")]
    ProducerIdAllocationFailed,
    /// A `__transaction_state` record that cannot be decoded.
    #[error("corrupt transaction log record: {reason}")]
    CorruptRecord {
        /// What was wrong, for the log.
        reason: &'static str,
    },
    /// A `__transaction_state` key or value version this coordinator does not read.
    #[error("unsupported transaction log record version {version}")]
    UnsupportedRecordVersion {
        /// The version found.
        version: i16,
    },
}

impl TxnError {
    /// The Kafka error code sent to clients for this error.
    pub fn error_code(&self) -> i16 {
        match self {
            TxnError::InvalidRequest { .. } => ResponseError::InvalidRequest.code(),
            TxnError::InvalidTransactionTimeout { .. } => {
                ResponseError::InvalidTransactionTimeout.code()
            }
            TxnError::ProducerFenced => ResponseError::ProducerFenced.code(),
            TxnError::InvalidProducerIdMapping => ResponseError::InvalidProducerIdMapping.code(),
            TxnError::InvalidTxnState => ResponseError::InvalidTxnState.code(),
            TxnError::ConcurrentTransactions => ResponseError::ConcurrentTransactions.code(),
            TxnError::TransactionalIdNotFound => ResponseError::TransactionalIdNotFound.code(),
            TxnError::TransactionAbortable => ResponseError::TransactionAbortable.code(),
            // Kafka answers a failed id block allocation with a retriable "not available".
            TxnError::ProducerIdAllocationFailed => ResponseError::CoordinatorNotAvailable.code(),
            // Records come from our own log: a bad one is an internal fault, never a client's.
            TxnError::CorruptRecord { .. } | TxnError::UnsupportedRecordVersion { .. } => {
                ResponseError::UnknownServerError.code()
            }
        }
    }

    /// The code for a response of `api` at `version`: clients older than KIP-588 do not know
    /// PRODUCER_FENCED and get INVALID_PRODUCER_EPOCH instead, as Kafka answers them.
    pub fn error_code_for(&self, api: TxnApi, version: i16) -> i16 {
        if *self == TxnError::ProducerFenced && version < api.first_version_with_producer_fenced() {
            ResponseError::InvalidProducerEpoch.code()
        } else {
            self.error_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kafkas() {
        assert_eq!(TxnError::ProducerFenced.error_code(), 90);
        assert_eq!(TxnError::InvalidProducerIdMapping.error_code(), 49);
        assert_eq!(TxnError::InvalidTxnState.error_code(), 48);
        assert_eq!(TxnError::ConcurrentTransactions.error_code(), 51);
        assert_eq!(TxnError::TransactionalIdNotFound.error_code(), 105);
        assert_eq!(TxnError::TransactionAbortable.error_code(), 120);
        let timeout = TxnError::InvalidTransactionTimeout { txn_timeout_ms: 0 };
        assert_eq!(timeout.error_code(), 50);
        let invalid = TxnError::InvalidRequest { reason: "x" };
        assert_eq!(invalid.error_code(), 42);
        assert_eq!(TxnError::CorruptRecord { reason: "x" }.error_code(), -1);
    }

    #[test]
    fn old_versions_get_invalid_producer_epoch() {
        let fenced = TxnError::ProducerFenced;
        assert_eq!(fenced.error_code_for(TxnApi::InitProducerId, 3), 47);
        assert_eq!(fenced.error_code_for(TxnApi::InitProducerId, 4), 90);
        assert_eq!(fenced.error_code_for(TxnApi::EndTxn, 1), 47);
        assert_eq!(fenced.error_code_for(TxnApi::EndTxn, 2), 90);
        assert_eq!(fenced.error_code_for(TxnApi::AddPartitionsToTxn, 0), 47);
        assert_eq!(fenced.error_code_for(TxnApi::AddOffsetsToTxn, 5), 90);
        let other = TxnError::InvalidTxnState;
        assert_eq!(other.error_code_for(TxnApi::EndTxn, 0), 48);
    }
}
