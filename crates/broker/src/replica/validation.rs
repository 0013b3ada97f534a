//! Checks a produced record batch before it reaches the partition's writer: framing, CRC and
//! magic (via `fjord_protocol::batch`), exactly one batch per partition (Kafka refuses more from
//! v3 on), `max.message.bytes`, control batches, and timestamps against the topic's
//! `message.timestamp.type` and `message.timestamp.{before,after}.max.ms`. For LogAppendTime
//! topics the timestamps are not checked: the log stamps the append time.
//!
//! Compressed batches are never decompressed here: the upper timestamp bound is checked against
//! the batch's `max_timestamp` (exact, it is the maximum over all records), the lower bound
//! against the smallest record timestamp for uncompressed batches (walked cheaply) and against
//! `base_timestamp` for compressed ones, which is the first record's time and, for every client
//! that stamps records in order, the smallest.
//!
//! Uncompressed batches are walked with `fjord_protocol::batch::RecordTimings`, which reads
//! only each record's length, attributes and deltas.

use bytes::Bytes;
use fjord_protocol::batch::{
    self, BatchError, BatchHeader, Compression, RecordTimings, HEADER_LEN,
};
use kafka_protocol::ResponseError;

/// Timestamp semantics configured on a topic (`message.timestamp.type`).
pub use fjord_config::TimestampType as TopicTimestampType;

/// The topic settings produce validation reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceLimits {
    pub max_message_bytes: i64,
    pub segment_bytes: i64,
    pub timestamp_type: TopicTimestampType,
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
}

/// Why a partition's records were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error("produce data for a partition must hold exactly one record batch, found {count}")]
    NotOneBatch { count: usize },
    #[error("record batch of {size} bytes exceeds max.message.bytes {max_message_bytes}")]
    MessageTooLarge { size: usize, max_message_bytes: i64 },
    #[error("record batch of {size} bytes exceeds segment.bytes {segment_bytes}")]
    RecordListTooLarge { size: usize, segment_bytes: i64 },
    #[error("timestamp {timestamp_ms} is out of range at broker time {now_ms}")]
    InvalidTimestamp { timestamp_ms: i64, now_ms: i64 },
    #[error("clients may not produce control batches")]
    ControlBatch,
    #[error("record walk failed: {reason}")]
    MalformedRecords { reason: &'static str },
}

impl ValidationError {
    pub fn error_code(&self) -> i16 {
        match self {
            ValidationError::Batch(e) => e.error_code(),
            ValidationError::NotOneBatch { .. }
            | ValidationError::ControlBatch
            | ValidationError::MalformedRecords { .. } => ResponseError::InvalidRecord.code(),
            ValidationError::MessageTooLarge { .. } => ResponseError::MessageTooLarge.code(),
            ValidationError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge.code(),
            ValidationError::InvalidTimestamp { .. } => ResponseError::InvalidTimestamp.code(),
        }
    }
}

/// Validates one partition's `records` field of a produce request at broker time `now_ms` and
/// returns the batch header. The bytes are not copied or changed: the log assigns offsets and,
/// for LogAppendTime topics, stamps the append time.
pub fn validate_produce_records(
    records: Option<&Bytes>,
    limits: &ProduceLimits,
    now_ms: i64,
) -> Result<BatchHeader, ValidationError> {
    let records = match records {
        Some(r) if !r.is_empty() => r,
        _ => return Err(ValidationError::NotOneBatch { count: 0 }),
    };
    let mut frames = batch::BatchFrames::new(records);
    let first = match frames.next() {
        Some(frame) => frame?,
        None => return Err(ValidationError::NotOneBatch { count: 0 }),
    };
    if first.len() != records.len() {
        let extra = frames.filter(|f| f.is_ok()).count();
        return Err(ValidationError::NotOneBatch { count: 1 + extra });
    }
    let header = batch::validate_produced(records)?;
    let size = header.total_size();
    // Kafka compares against the whole batch including the 12-byte log overhead.
    if size as i64 > limits.max_message_bytes {
        return Err(ValidationError::MessageTooLarge {
            size,
            max_message_bytes: limits.max_message_bytes,
        });
    }
    if size as i64 > limits.segment_bytes {
        return Err(ValidationError::RecordListTooLarge {
            size,
            segment_bytes: limits.segment_bytes,
        });
    }
    if header.is_control() {
        return Err(ValidationError::ControlBatch);
    }
    if limits.timestamp_type == TopicTimestampType::CreateTime {
        let max_ts = header.max_timestamp;
        let min_ts = if header.compression() == Compression::None {
            min_record_timestamp(records, &header)?
        } else {
            header.base_timestamp.min(max_ts)
        };
        check_timestamp(min_ts, limits, now_ms)?;
        check_timestamp(max_ts, limits, now_ms)?;
    }
    Ok(header)
}

fn check_timestamp(
    timestamp_ms: i64,
    limits: &ProduceLimits,
    now_ms: i64,
) -> Result<(), ValidationError> {
    // -1 is "no timestamp" (Kafka's NO_TIMESTAMP) and passes, as in Kafka.
    if timestamp_ms < 0 {
        return Ok(());
    }
    let too_old = now_ms.saturating_sub(timestamp_ms) > limits.timestamp_before_max_ms;
    let too_new = timestamp_ms.saturating_sub(now_ms) > limits.timestamp_after_max_ms;
    if too_old || too_new {
        return Err(ValidationError::InvalidTimestamp {
            timestamp_ms,
            now_ms,
        });
    }
    Ok(())
}

/// Smallest record timestamp of an uncompressed batch, walking the record headers.
fn min_record_timestamp(batch: &[u8], header: &BatchHeader) -> Result<i64, ValidationError> {
    let mut records = RecordTimings::new(&batch[HEADER_LEN..], header);
    let mut min = i64::MAX;
    for timing in records.by_ref() {
        min = min.min(timing?.timestamp_ms);
    }
    if records.position() != batch.len() - HEADER_LEN {
        return Err(ValidationError::MalformedRecords {
            reason: "bytes after the last record",
        });
    }
    Ok(if min == i64::MAX {
        header.base_timestamp
    } else {
        min
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use fjord_protocol::testing::{encode_batch, TestRecord};
    use kafka_protocol::records::Compression as Codec;

    const NOW: i64 = 1_700_000_000_000;

    fn batch_with_timestamps(timestamps: &[i64], codec: Codec) -> Bytes {
        let records = timestamps
            .iter()
            .map(|&ts| TestRecord::value(vec![b'x'; 100], ts));
        encode_batch(records, None, codec)
    }

    fn limits() -> ProduceLimits {
        ProduceLimits {
            max_message_bytes: 1_048_588,
            segment_bytes: 1 << 30,
            timestamp_type: TopicTimestampType::CreateTime,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
        }
    }

    #[test]
    fn a_good_batch_passes_untouched() {
        let batch = batch_with_timestamps(&[NOW, NOW + 1], Codec::None);
        let header = validate_produce_records(Some(&batch), &limits(), NOW).unwrap();
        assert_eq!(header.record_count, 2);
    }

    #[test]
    fn compressed_batches_pass_untouched() {
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let batch = batch_with_timestamps(&[NOW; 20], codec);
            let header = validate_produce_records(Some(&batch), &limits(), NOW).unwrap();
            assert_eq!(header.record_count, 20);
        }
    }

    #[test]
    fn too_large_is_message_too_large() {
        let batch = batch_with_timestamps(&[NOW; 20], Codec::None);
        let mut l = limits();
        l.max_message_bytes = 500;
        let err = validate_produce_records(Some(&batch), &l, NOW).unwrap_err();
        assert_eq!(err.error_code(), 10);
    }

    #[test]
    fn timestamps_outside_the_bounds_are_invalid() {
        let mut l = limits();
        l.timestamp_before_max_ms = 60_000;
        let future = batch_with_timestamps(&[NOW, NOW + 3_600_001], Codec::None);
        let err = validate_produce_records(Some(&future), &l, NOW).unwrap_err();
        assert_eq!(err.error_code(), 32);
        // The old record is in the middle of an uncompressed batch: the walk finds it.
        let old = batch_with_timestamps(&[NOW, NOW - 60_001, NOW], Codec::None);
        let err = validate_produce_records(Some(&old), &l, NOW).unwrap_err();
        assert_eq!(err.error_code(), 32);
        let ok = batch_with_timestamps(&[NOW - 59_000, NOW + 1000], Codec::Lz4);
        assert!(validate_produce_records(Some(&ok), &l, NOW).is_ok());
    }

    #[test]
    fn log_append_time_topics_skip_timestamp_checks() {
        let batch = batch_with_timestamps(&[1, 2], Codec::None);
        let mut l = limits();
        l.timestamp_before_max_ms = 1000;
        assert_eq!(
            validate_produce_records(Some(&batch), &l, NOW)
                .unwrap_err()
                .error_code(),
            32
        );
        l.timestamp_type = TopicTimestampType::LogAppendTime;
        assert!(validate_produce_records(Some(&batch), &l, NOW).is_ok());
    }

    #[test]
    fn two_batches_or_none_are_invalid_record() {
        let one = batch_with_timestamps(&[NOW], Codec::None);
        let mut two = BytesMut::from(&one[..]);
        two.extend_from_slice(&one);
        let err = validate_produce_records(Some(&two.freeze()), &limits(), NOW).unwrap_err();
        assert_eq!(err, ValidationError::NotOneBatch { count: 2 });
        assert_eq!(err.error_code(), 87);
        let err = validate_produce_records(None, &limits(), NOW).unwrap_err();
        assert_eq!(err.error_code(), 87);
    }

    #[test]
    fn corrupt_batches_are_corrupt_message() {
        let batch = batch_with_timestamps(&[NOW], Codec::None);
        let mut bad = BytesMut::from(&batch[..]);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let err = validate_produce_records(Some(&bad.freeze()), &limits(), NOW).unwrap_err();
        assert_eq!(err.error_code(), 2);
    }
}
