//! The storage layer's error type and its single mapping to Kafka error codes.

use std::path::PathBuf;

use fjord_protocol::batch::BatchError;
use kafka_protocol::ResponseError;

/// Everything a partition log or the log manager can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("corrupt record batch: {0}")]
    CorruptBatch(#[from] BatchError),
    #[error("record batch of {size} bytes exceeds the segment size {segment_bytes}")]
    RecordTooLarge { size: usize, segment_bytes: u64 },
    /// A follower append whose batches do not continue the log (or go backwards inside it).
    #[error("batch at offset {base_offset} does not follow the log end offset {log_end_offset}")]
    NonMonotonicOffset {
        base_offset: i64,
        log_end_offset: i64,
    },
    #[error(
        "out of order sequence for producer {producer_id}: expected {expected_sequence}, got {sequence}"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        expected_sequence: i32,
        sequence: i32,
    },
    #[error(
        "producer {producer_id} epoch {epoch} is older than the current epoch {current_epoch}"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current_epoch: i16,
    },
    /// A non-transactional batch from a producer with an ongoing transaction on the partition.
    #[error("producer {producer_id} has an ongoing transaction: expected a transactional batch")]
    InvalidTxnState { producer_id: i64 },
    /// A transaction marker from a coordinator older than the one that wrote the last marker.
    #[error("marker for producer {producer_id} has coordinator epoch {coordinator_epoch}, older than {current_coordinator_epoch}")]
    TransactionCoordinatorFenced {
        producer_id: i64,
        coordinator_epoch: i32,
        current_coordinator_epoch: i32,
    },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A write or fsync failed earlier: the log refuses every further write, because what is on
    /// disk after a failed fsync is unknown (the "fsyncgate" lesson).
    #[error("log {path} is poisoned after an earlier I/O failure: {reason}")]
    Poisoned { path: PathBuf, reason: String },
    #[error("data directory {path} is not usable by fjord: {reason}")]
    ForeignDataDir { path: PathBuf, reason: String },
    /// A file fjord wrote itself (checkpoint, snapshot, meta.properties) does not parse.
    #[error("malformed file {path}: {reason}")]
    MalformedFile { path: PathBuf, reason: String },
    #[error("invalid topic partition directory name {0:?}")]
    InvalidTopicPartition(String),
    /// A record without a key sent to a compacted log (Kafka's "Compacted topic cannot accept
    /// message without key"): the cleaner could never keep it.
    #[error("compacted log {partition} cannot accept a record without a key (batch {batch_index}, record {record_index})")]
    KeylessRecordInCompactedLog {
        partition: String,
        batch_index: usize,
        record_index: usize,
    },
}

impl LogError {
    /// The Kafka error code a client receives for this error; the only such mapping in storage.
    pub fn error_code(&self) -> i16 {
        match self {
            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange.code(),
            LogError::CorruptBatch(e) => e.error_code(),
            LogError::RecordTooLarge { .. } => ResponseError::RecordListTooLarge.code(),
            LogError::NonMonotonicOffset { .. } => ResponseError::UnknownServerError.code(),
            LogError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber.code(),
            LogError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch.code(),
            LogError::InvalidTxnState { .. } => ResponseError::InvalidTxnState.code(),
            LogError::TransactionCoordinatorFenced { .. } => {
                ResponseError::TransactionCoordinatorFenced.code()
            }
            LogError::Io { .. }
            | LogError::Poisoned { .. }
            | LogError::ForeignDataDir { .. }
            | LogError::MalformedFile { .. } => ResponseError::KafkaStorageError.code(),
            LogError::InvalidTopicPartition(_) => ResponseError::UnknownServerError.code(),
            LogError::KeylessRecordInCompactedLog { .. } => ResponseError::InvalidRecord.code(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> LogError {
        let source = if source.raw_os_error() == Some(libc::EMFILE) {
            // The OS says only "Too many open files"; say which limit and how to raise it,
            // keeping the OS error as the source.
            std::io::Error::new(source.kind(), TooManyOpenFiles::new(source))
        } else {
            source
        };
        LogError::Io {
            path: path.into(),
            source,
        }
    }
}

/// EMFILE explained: the process reached its open files limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "too many open files: the process limit RLIMIT_NOFILE ({limit}) is reached; each partition \
     keeps about 3 files open (.log, .index, .timeindex): raise the limit before starting fjord \
     (`ulimit -n`, LimitNOFILE= in a systemd unit, nofile in /etc/security/limits.conf)"
)]
pub struct TooManyOpenFiles {
    /// The soft limit when the open failed, or "unknown".
    pub limit: String,
    #[source]
    pub source: std::io::Error,
}

impl TooManyOpenFiles {
    fn new(source: std::io::Error) -> TooManyOpenFiles {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit into the struct we pass and reads nothing else.
        let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        TooManyOpenFiles {
            limit: if known {
                limit.rlim_cur.to_string()
            } else {
                "unknown".to_string()
            },
            source,
        }
    }
}

/// A topic config override that names an unknown key or holds a bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigValueError {
    #[error("unknown topic config {key}")]
    UnknownKey { key: String },
    #[error("invalid value {value:?} for topic config {key}: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
}

impl ConfigValueError {
    /// Kafka answers INVALID_CONFIG (40) for both cases in CreateTopics / AlterConfigs.
    pub fn error_code(&self) -> i16 {
        ResponseError::InvalidConfig.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        let e = LogError::OffsetOutOfRange {
            offset: 5,
            log_start_offset: 0,
            log_end_offset: 1,
        };
        assert_eq!(e.error_code(), 1);
        let e = LogError::Poisoned {
            path: "x".into(),
            reason: "fsync".into(),
        };
        assert_eq!(e.error_code(), 56);
        let e = LogError::OutOfOrderSequence {
            producer_id: 1,
            expected_sequence: 1,
            sequence: 3,
        };
        assert_eq!(e.error_code(), 45);
        let e = LogError::InvalidProducerEpoch {
            producer_id: 1,
            epoch: 0,
            current_epoch: 1,
        };
        assert_eq!(e.error_code(), 47);
        let e = LogError::CorruptBatch(BatchError::InvalidMagic { magic: 1 });
        assert_eq!(e.error_code(), 2);
        let e = LogError::KeylessRecordInCompactedLog {
            partition: "t-0".into(),
            batch_index: 0,
            record_index: 3,
        };
        assert_eq!(e.error_code(), 87);
    }

    #[test]
    fn emfile_names_the_limit_and_how_to_raise_it() {
        let e = LogError::io(
            "/d/t-0/00.index",
            std::io::Error::from_raw_os_error(libc::EMFILE),
        );
        let text = e.to_string();
        assert!(text.contains("/d/t-0/00.index"), "{text}");
        assert!(text.contains("RLIMIT_NOFILE ("), "{text}");
        assert!(text.contains("ulimit -n"), "{text}");
        assert_eq!(e.error_code(), 56);
        // Other errors keep the OS text unchanged.
        let e = LogError::io("/d", std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(!e.to_string().contains("RLIMIT_NOFILE"));
    }
}
