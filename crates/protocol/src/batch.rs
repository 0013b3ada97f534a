//! A view over Kafka v2 record batches ("magic 2"), as producers send them and as the log
//! stores them, byte for byte.
//!
//! Layout of the 61-byte header (all integers big-endian):
//!
//! | offset | size | field                   | covered by CRC |
//! |-------:|-----:|-------------------------|:--------------:|
//! |      0 |    8 | base_offset             | no             |
//! |      8 |    4 | batch_length (= size - 12) | no          |
//! |     12 |    4 | partition_leader_epoch  | no             |
//! |     16 |    1 | magic (2)               | no             |
//! |     17 |    4 | crc (CRC-32C of 21..end)| no             |
//! |     21 |    2 | attributes              | yes            |
//! |     23 |    4 | last_offset_delta       | yes            |
//! |     27 |    8 | base_timestamp          | yes            |
//! |     35 |    8 | max_timestamp           | yes            |
//! |     43 |    8 | producer_id             | yes            |
//! |     51 |    2 | producer_epoch          | yes            |
//! |     53 |    4 | base_sequence           | yes            |
//! |     57 |    4 | record_count            | yes            |
//! |     61 |    … | records (maybe compressed) | yes         |
//!
//! Because neither the base offset nor the partition leader epoch is covered by the CRC, the
//! broker assigns offsets by rewriting those two fields in place and never touches the rest
//! (Kafka `DefaultRecordBatch`). Setting LogAppendTime is the one rewrite that changes covered
//! bytes, so it recomputes the CRC.

use kafka_protocol::ResponseError;

/// Size of the fixed v2 batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batch_length` counts: the base offset and the length itself.
pub const LOG_OVERHEAD: usize = 12;
/// The only record-batch format fjord stores.
pub const MAGIC_V2: i8 = 2;
/// The producer id of a batch sent by a non-idempotent producer.
pub const NO_PRODUCER_ID: i64 = -1;

const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const PARTITION_LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const PRODUCER_EPOCH: usize = 51;
const BASE_SEQUENCE: usize = 53;
const RECORD_COUNT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// Why a batch was refused. Maps to Kafka's error codes in [`BatchError::error_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("record batch truncated: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    #[error("record batch length {batch_length} is invalid")]
    InvalidLength { batch_length: i32 },
    #[error("unsupported record batch magic {magic} (only v2 is accepted)")]
    InvalidMagic { magic: i8 },
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error(
        "record batch declares {record_count} records but last offset delta {last_offset_delta}"
    )]
    RecordCountMismatch {
        record_count: i32,
        last_offset_delta: i32,
    },
    #[error("malformed records in batch: {reason}")]
    MalformedRecords { reason: &'static str },
}

impl BatchError {
    /// The Kafka error code a produce request gets for this batch.
    pub fn error_code(&self) -> i16 {
        match self {
            BatchError::RecordCountMismatch { .. } | BatchError::MalformedRecords { .. } => {
                ResponseError::InvalidRecord.code()
            }
            _ => ResponseError::CorruptMessage.code(),
        }
    }
}

/// Compression codec of a batch (attributes bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
    /// A codec id Kafka does not define (5-7).
    Unknown(u8),
}

impl From<i16> for Compression {
    fn from(attributes: i16) -> Self {
        match (attributes & COMPRESSION_MASK) as u8 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => Compression::Unknown(other),
        }
    }
}

/// Timestamp semantics of a batch (attributes bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The decoded fixed header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8-byte slice"))
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4-byte slice"))
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(b[at..at + 2].try_into().expect("2-byte slice"))
}

impl BatchHeader {
    /// Decodes the header at the start of `buf` without checking the CRC or the magic.
    /// Needs only the first [`HEADER_LEN`] bytes.
    pub fn parse(buf: &[u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        Ok(BatchHeader {
            base_offset: be_i64(buf, BASE_OFFSET),
            batch_length: be_i32(buf, BATCH_LENGTH),
            partition_leader_epoch: be_i32(buf, PARTITION_LEADER_EPOCH),
            magic: buf[MAGIC] as i8,
            crc: u32::from_be_bytes(buf[CRC..CRC + 4].try_into().expect("4-byte slice")),
            attributes: be_i16(buf, ATTRIBUTES),
            last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA),
            base_timestamp: be_i64(buf, BASE_TIMESTAMP),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP),
            producer_id: be_i64(buf, PRODUCER_ID),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH),
            base_sequence: be_i32(buf, BASE_SEQUENCE),
            record_count: be_i32(buf, RECORD_COUNT),
        })
    }

    /// Whole size of the batch on the wire and on disk, header included.
    /// Only meaningful once `batch_length` was checked by [`validate`] or [`frame_size`].
    pub fn total_size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record (or the last offset the batch once held, after compaction).
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// The offset that follows this batch: what the log end offset becomes after it.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    pub fn compression(&self) -> Compression {
        Compression::from(self.attributes)
    }

    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// True when the batch was sent by an idempotent or transactional producer.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id != NO_PRODUCER_ID
    }

    /// Sequence number of the last record, wrapping at `i32::MAX` as Kafka does.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return self.base_sequence;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        (last % (i64::from(i32::MAX) + 1)) as i32
    }
}

/// Reads the size of the batch that starts `buf` from its length field, checking only that the
/// length is sane. Returns `Ok(None)` when fewer than 12 bytes are there to read it.
/// Used to walk a run of batches (or a segment file) without trusting anything else yet.
pub fn frame_size(buf: &[u8]) -> Result<Option<usize>, BatchError> {
    if buf.len() < LOG_OVERHEAD {
        return Ok(None);
    }
    let batch_length = be_i32(buf, BATCH_LENGTH);
    if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(BatchError::InvalidLength { batch_length });
    }
    Ok(Some(batch_length as usize + LOG_OVERHEAD))
}

/// CRC-32C of the covered part of a batch (attributes to end).
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES..])
}

/// Fully checks one batch that must fill `batch` exactly: length field, magic, CRC and the
/// header's internal consistency. Returns its header.
pub fn validate(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(batch)?;
    let size = frame_size(batch)?.unwrap_or(0);
    if size != batch.len() {
        if size > batch.len() {
            return Err(BatchError::Truncated {
                needed: size,
                available: batch.len(),
            });
        }
        return Err(BatchError::InvalidLength {
            batch_length: header.batch_length,
        });
    }
    if header.magic != MAGIC_V2 {
        return Err(BatchError::InvalidMagic {
            magic: header.magic,
        });
    }
    let computed = compute_crc(batch);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch {
            stored: header.crc,
            computed,
        });
    }
    if header.last_offset_delta < 0 || header.record_count < 0 {
        return Err(BatchError::RecordCountMismatch {
            record_count: header.record_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    Ok(header)
}

/// Checks a batch as a producer sent it: [`validate`] plus what only holds for fresh batches,
/// namely at least one record and `record_count == last_offset_delta + 1` (compaction may later
/// break that second rule in stored batches, never in produced ones).
pub fn validate_produced(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = validate(batch)?;
    if header.record_count < 1
        || i64::from(header.record_count) != i64::from(header.last_offset_delta) + 1
    {
        return Err(BatchError::RecordCountMismatch {
            record_count: header.record_count,
            last_offset_delta: header.last_offset_delta,
        });
    }
    Ok(header)
}

/// Rewrites the base offset in place (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Rewrites the partition leader epoch in place (not covered by the CRC).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Marks the batch as LogAppendTime with `timestamp_ms` as its max timestamp, as Kafka does for
/// topics with `message.timestamp.type=LogAppendTime`, and recomputes the CRC.
pub fn set_log_append_time(batch: &mut [u8], timestamp_ms: i64) {
    let attributes = be_i16(batch, ATTRIBUTES) | TIMESTAMP_TYPE_BIT;
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp_ms.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Iterates over a run of concatenated batches (a produce payload, or bytes read from a
/// segment), yielding each batch's byte range. Stops with an error at the first batch whose
/// length field is bad or that runs past the end of the buffer; the caller decides whether a
/// short tail is an error (produce) or a partial read (fetch).
pub struct BatchFrames<'a> {
    buf: &'a [u8],
    position: usize,
    failed: bool,
}

impl<'a> BatchFrames<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BatchFrames {
            buf,
            position: 0,
            failed: false,
        }
    }

    /// Bytes consumed by the batches yielded so far.
    pub fn position(&self) -> usize {
        self.position
    }
}

impl Iterator for BatchFrames<'_> {
    type Item = Result<std::ops::Range<usize>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.position..];
        if rest.is_empty() || self.failed {
            return None;
        }
        let result = match frame_size(rest) {
            Ok(Some(size)) if size <= rest.len() => {
                let range = self.position..self.position + size;
                self.position += size;
                return Some(Ok(range));
            }
            Ok(Some(size)) => BatchError::Truncated {
                needed: size,
                available: rest.len(),
            },
            Ok(None) => BatchError::Truncated {
                needed: LOG_OVERHEAD,
                available: rest.len(),
            },
            Err(e) => e,
        };
        // Nothing after a bad frame can be located, so the iteration ends with this error.
        self.failed = true;
        Some(Err(result))
    }
}

/// Offset and timestamp of one record, as [`RecordTimings`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordTiming {
    pub offset: i64,
    pub timestamp_ms: i64,
}

/// Walks the records section of a v2 batch (uncompressed, or already decompressed) and yields
/// each record's offset and timestamp, reading only its length, attributes, timestamp delta and
/// offset delta. Keys, values and headers are skipped by length, never decoded, so a forged
/// header count cannot make anyone allocate for it.
///
/// Record layout: `length: varint` (bytes after itself), `attributes: i8`,
/// `timestamp_delta: varlong`, `offset_delta: varint`, then key, value and headers.
pub struct RecordTimings<'a> {
    records: &'a [u8],
    position: usize,
    remaining: i32,
    base_offset: i64,
    base_timestamp: i64,
}

impl<'a> RecordTimings<'a> {
    /// `records` is the section after the 61-byte header; `header` gives the count and bases.
    pub fn new(records: &'a [u8], header: &BatchHeader) -> Self {
        RecordTimings {
            records,
            position: 0,
            remaining: header.record_count,
            base_offset: header.base_offset,
            base_timestamp: header.base_timestamp,
        }
    }

    /// Bytes walked so far; equals the section's length after the last record of a sound batch.
    pub fn position(&self) -> usize {
        self.position
    }

    fn malformed(&mut self, reason: &'static str) -> Option<Result<RecordTiming, BatchError>> {
        self.remaining = 0;
        Some(Err(BatchError::MalformedRecords { reason }))
    }
}

impl Iterator for RecordTimings<'_> {
    type Item = Result<RecordTiming, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining <= 0 {
            return None;
        }
        self.remaining -= 1;
        let rest = &self.records[self.position..];
        let Some((length, used)) = read_varlong(rest) else {
            return self.malformed("truncated record length");
        };
        if length < 1 || length as u64 > (rest.len() - used) as u64 {
            return self.malformed("record length out of bounds");
        }
        let record = &rest[used..used + length as usize];
        // record[0] is the attributes byte; the timestamp and offset deltas follow.
        let Some((timestamp_delta, ts_used)) = read_varlong(&record[1..]) else {
            return self.malformed("truncated timestamp delta");
        };
        let Some((offset_delta, _)) = read_varlong(&record[1 + ts_used..]) else {
            return self.malformed("truncated offset delta");
        };
        self.position += used + length as usize;
        Some(Ok(RecordTiming {
            offset: self.base_offset.saturating_add(offset_delta),
            timestamp_ms: self.base_timestamp.saturating_add(timestamp_delta),
        }))
    }
}

/// Decodes a zig-zag varlong (varints decode the same way); the value and the bytes used.
fn read_varlong(buf: &[u8]) -> Option<(i64, usize)> {
    let mut raw: u64 = 0;
    for (i, byte) in buf.iter().take(10).enumerate() {
        raw |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((((raw >> 1) as i64) ^ -((raw & 1) as i64), i + 1));
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testing::{encode_batch, TestRecord};
    use kafka_protocol::records::Compression as Codec;

    /// Encodes `n` small records into one v2 batch with the crate's encoder (the same bytes a
    /// client library produces).
    pub(crate) fn sample_batch(n: usize, codec: Codec) -> Vec<u8> {
        let records = (0..n).map(|i| {
            TestRecord::keyed(
                format!("k{i}"),
                format!("value-{i}"),
                1_700_000_000_000 + i as i64,
            )
        });
        encode_batch(records, None, codec).to_vec()
    }

    #[test]
    fn parses_and_validates_a_client_batch() {
        let batch = sample_batch(3, Codec::None);
        let header = validate_produced(&batch).unwrap();
        assert_eq!(header.record_count, 3);
        assert_eq!(header.last_offset_delta, 2);
        assert_eq!(header.magic, 2);
        assert_eq!(header.total_size(), batch.len());
        assert_eq!(header.compression(), Compression::None);
        assert_eq!(header.timestamp_type(), TimestampType::CreateTime);
        assert_eq!(header.max_timestamp, 1_700_000_000_002);
    }

    #[test]
    fn compressed_batches_validate_untouched() {
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            let batch = sample_batch(10, codec);
            let header = validate_produced(&batch).unwrap();
            assert_ne!(header.compression(), Compression::None);
        }
    }

    #[test]
    fn offset_and_epoch_rewrites_keep_the_crc_valid() {
        let mut batch = sample_batch(2, Codec::None);
        set_base_offset(&mut batch, 4242);
        set_partition_leader_epoch(&mut batch, 7);
        let header = validate(&batch).unwrap();
        assert_eq!(header.base_offset, 4242);
        assert_eq!(header.partition_leader_epoch, 7);
        assert_eq!(header.next_offset(), 4244);
    }

    #[test]
    fn log_append_time_recomputes_the_crc() {
        let mut batch = sample_batch(2, Codec::None);
        set_log_append_time(&mut batch, 99);
        let header = validate(&batch).unwrap();
        assert_eq!(header.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!(header.max_timestamp, 99);
    }

    #[test]
    fn flipped_byte_fails_the_crc() {
        let mut batch = sample_batch(2, Codec::None);
        let last = batch.len() - 1;
        batch[last] ^= 0x40;
        assert!(matches!(
            validate(&batch),
            Err(BatchError::CrcMismatch { .. })
        ));
        assert_eq!(
            validate(&batch).unwrap_err().error_code(),
            ResponseError::CorruptMessage.code()
        );
    }

    #[test]
    fn bad_magic_and_lengths_are_refused() {
        let mut batch = sample_batch(1, Codec::None);
        batch[16] = 1;
        assert_eq!(validate(&batch), Err(BatchError::InvalidMagic { magic: 1 }));
        let batch = sample_batch(1, Codec::None);
        assert!(matches!(
            validate(&batch[..batch.len() - 1]),
            Err(BatchError::Truncated { .. })
        ));
        let mut longer = batch.clone();
        longer.push(0);
        assert!(matches!(
            validate(&longer),
            Err(BatchError::InvalidLength { .. })
        ));
        assert!(matches!(
            validate(&batch[..10]),
            Err(BatchError::Truncated { .. })
        ));
    }

    #[test]
    fn record_count_mismatch_is_invalid_record() {
        let mut batch = sample_batch(3, Codec::None);
        batch[57..61].copy_from_slice(&5i32.to_be_bytes());
        let crc = compute_crc(&batch);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        let err = validate_produced(&batch).unwrap_err();
        assert_eq!(err.error_code(), ResponseError::InvalidRecord.code());
    }

    #[test]
    fn frames_walk_a_run_of_batches_and_report_a_torn_tail() {
        let mut run = sample_batch(2, Codec::None);
        let second = sample_batch(5, Codec::Lz4);
        run.extend_from_slice(&second);
        let ranges: Vec<_> = BatchFrames::new(&run).collect::<Result<_, _>>().unwrap();
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[1].len(), second.len());
        let torn = &run[..run.len() - 3];
        let mut frames = BatchFrames::new(torn);
        assert!(frames.next().unwrap().is_ok());
        assert!(matches!(
            frames.next(),
            Some(Err(BatchError::Truncated { .. }))
        ));
        assert!(frames.next().is_none(), "iteration ends after an error");
    }

    #[test]
    fn record_timings_read_offsets_and_timestamps_without_decoding_records() {
        let mut batch = sample_batch(4, Codec::None);
        set_base_offset(&mut batch, 100);
        let header = validate(&batch).unwrap();
        let mut walk = RecordTimings::new(&batch[HEADER_LEN..], &header);
        let timings: Vec<_> = walk.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(walk.position(), batch.len() - HEADER_LEN);
        let expected: Vec<_> = (0..4)
            .map(|i| RecordTiming {
                offset: 100 + i,
                timestamp_ms: 1_700_000_000_000 + i,
            })
            .collect();
        assert_eq!(timings, expected);
        // A record length past the end is refused, and the walk stops.
        let mut cut = RecordTimings::new(&batch[HEADER_LEN..batch.len() - 3], &header);
        assert!(cut.by_ref().any(|t| t.is_err()));
        assert!(cut.next().is_none());
    }

    #[test]
    fn varlong_decodes_zigzag() {
        assert_eq!(read_varlong(&[0x00]), Some((0, 1)));
        assert_eq!(read_varlong(&[0x01]), Some((-1, 1)));
        assert_eq!(read_varlong(&[0x02]), Some((1, 1)));
        assert_eq!(read_varlong(&[0xac, 0x02]), Some((150, 2)));
        assert_eq!(read_varlong(&[0x80]), None);
    }

    #[test]
    fn last_sequence_wraps() {
        let mut h = BatchHeader::parse(&sample_batch(3, Codec::None)).unwrap();
        h.base_sequence = i32::MAX - 1;
        assert_eq!(h.last_sequence(), 0);
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = validate(&bytes);
            let _ = BatchFrames::new(&bytes).count();
        }
    }
}
