//! v2 record batches (magic 2), written by the producer and read by the consumer.
//!
//! The client encodes and decodes batches itself instead of through kafka-protocol's
//! `RecordBatchEncoder`/`RecordBatchDecoder`: that codec's `Record.headers` is a map, so two
//! headers with the same key collapse into one, while Kafka keeps every header in order,
//! duplicates included (`RecordHeaders` is a list). Writing the bytes directly also spares the
//! producer one owned `Record` (and an `IndexMap`) per record on its hot path. Only the
//! compression codecs are kafka-protocol's.
//!
//! Batch layout (big-endian), 61 bytes of header, then the records, compressed as a whole
//! when the attributes say so:
//!
//! ```text
//! base_offset:i64 | batch_length:i32 | partition_leader_epoch:i32 | magic:i8 (2) | crc:u32
//! | attributes:i16 | last_offset_delta:i32 | base_timestamp:i64 | max_timestamp:i64
//! | producer_id:i64 | producer_epoch:i16 | base_sequence:i32 | record_count:i32 | records...
//! ```
//!
//! `batch_length` counts from `partition_leader_epoch` to the end; the CRC-32C covers
//! `attributes` to the end. Attributes: bits 0-2 compression codec, bit 3 timestamp type
//! (log-append time), bit 4 transactional, bit 5 control.
//!
//! One record (varints are zig-zag encoded, as in protobuf):
//!
//! ```text
//! length:varint | attributes:i8 (0) | timestamp_delta:varlong | offset_delta:varint
//! | key_length:varint (-1 = null) | key | value_length:varint (-1 = null) | value
//! | header_count:varint | (header_key_length:varint | header_key
//! |                       | header_value_length:varint (-1 = null) | header_value)*
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{self as codec, Compressor, Decompressor};
use kafka_protocol::records::{Compression, TimestampType};

/// Size of the v2 batch header.
pub(crate) const BATCH_HEADER_BYTES: usize = 61;
/// base_offset + batch_length: what precedes the part `batch_length` counts.
pub(crate) const LOG_OVERHEAD_BYTES: usize = 12;
/// Offset of the first byte the CRC covers (attributes).
const CRC_START: usize = 21;
const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_LOG_APPEND_TIME: i16 = 1 << 3;
const ATTR_TRANSACTIONAL: i16 = 1 << 4;

/// Why a batch could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("batch of {len} bytes is shorter than its {BATCH_HEADER_BYTES}-byte header")]
    ShortBatch { len: usize },
    #[error("magic {0} (only v2 batches are supported)")]
    Magic(i8),
    #[error("CRC mismatch: batch says {stored:#010x}, content gives {computed:#010x}")]
    Crc { stored: u32, computed: u32 },
    #[error("unknown compression codec {0}")]
    Codec(i16),
    #[error("record {index} of the batch is truncated or malformed ({what})")]
    Malformed { index: usize, what: &'static str },
    #[error("compression codec failed: {0}")]
    Compression(String),
}

/// What a whole batch shares: the producer's identity and the first sequence number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchMeta {
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    /// -1 without idempotence.
    pub(crate) base_sequence: i32,
    pub(crate) transactional: bool,
    pub(crate) compression: Compression,
}

/// One record to write; borrowed from the producer's pending record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef<'a> {
    pub(crate) timestamp: i64,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: &'a [(String, Option<Bytes>)],
}

/// One record read back from a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodedRecord {
    pub(crate) offset: i64,
    pub(crate) timestamp: i64,
    pub(crate) timestamp_type: TimestampType,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<(String, Option<Bytes>)>,
}

/// Bytes of a zig-zag varint (varlong) holding `v`.
fn varlong_len(v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

fn put_varlong<B: BufMut>(buf: &mut B, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

fn nullable_len(b: Option<&[u8]>) -> usize {
    match b {
        Some(b) => varlong_len(b.len() as i64) + b.len(),
        None => 1,
    }
}

fn put_nullable<B: BufMut>(buf: &mut B, b: Option<&[u8]>) {
    match b {
        Some(b) => {
            put_varlong(buf, b.len() as i64);
            buf.put_slice(b);
        }
        None => put_varlong(buf, -1),
    }
}

/// The record's bytes after its length prefix.
fn record_body_len(r: &RecordRef<'_>, timestamp_delta: i64, offset_delta: i64) -> usize {
    1 + varlong_len(timestamp_delta)
        + varlong_len(offset_delta)
        + nullable_len(r.key)
        + nullable_len(r.value)
        + varlong_len(r.headers.len() as i64)
        + r.headers
            .iter()
            .map(|(k, v)| nullable_len(Some(k.as_bytes())) + nullable_len(v.as_deref()))
            .sum::<usize>()
}

fn put_records<B: BufMut>(buf: &mut B, records: &[RecordRef<'_>], base_timestamp: i64) {
    for (i, r) in records.iter().enumerate() {
        let timestamp_delta = r.timestamp.wrapping_sub(base_timestamp);
        let offset_delta = i as i64;
        put_varlong(
            buf,
            record_body_len(r, timestamp_delta, offset_delta) as i64,
        );
        buf.put_i8(0);
        put_varlong(buf, timestamp_delta);
        put_varlong(buf, offset_delta);
        put_nullable(buf, r.key);
        put_nullable(buf, r.value);
        put_varlong(buf, r.headers.len() as i64);
        for (k, v) in r.headers {
            put_nullable(buf, Some(k.as_bytes()));
            put_nullable(buf, v.as_deref());
        }
    }
}

/// Writes `records` as one batch at base offset 0 (the broker assigns offsets) onto `out`.
pub(crate) fn encode_batch(
    out: &mut BytesMut,
    meta: &BatchMeta,
    records: &[RecordRef<'_>],
) -> Result<(), RecordsError> {
    let start = out.len();
    // Kafka's producer takes the first record's timestamp as the base; deltas may be negative.
    let base_timestamp = records.first().map_or(0, |r| r.timestamp);
    let max_timestamp = records
        .iter()
        .map(|r| r.timestamp)
        .max()
        .unwrap_or(base_timestamp);
    let mut attributes = meta.compression as i16;
    if meta.transactional {
        attributes |= ATTR_TRANSACTIONAL;
    }
    out.reserve(BATCH_HEADER_BYTES);
    out.put_i64(0);
    out.put_i32(0); // batch_length, filled in below
    out.put_i32(-1); // partition_leader_epoch: the broker sets it
    out.put_i8(2);
    out.put_u32(0); // crc, filled in below
    out.put_i16(attributes);
    out.put_i32(records.len().saturating_sub(1) as i32);
    out.put_i64(base_timestamp);
    out.put_i64(max_timestamp);
    out.put_i64(meta.producer_id);
    out.put_i16(meta.producer_epoch);
    out.put_i32(meta.base_sequence);
    out.put_i32(records.len() as i32);
    let compressed = match meta.compression {
        Compression::None => {
            put_records(out, records, base_timestamp);
            Ok(())
        }
        Compression::Gzip => codec::Gzip::compress(out, |b| {
            put_records(b, records, base_timestamp);
            Ok(())
        }),
        Compression::Snappy => codec::Snappy::compress(out, |b| {
            put_records(b, records, base_timestamp);
            Ok(())
        }),
        Compression::Lz4 => codec::Lz4::compress(out, |b| {
            put_records(b, records, base_timestamp);
            Ok(())
        }),
        Compression::Zstd => codec::Zstd::compress(out, |b| {
            put_records(b, records, base_timestamp);
            Ok(())
        }),
    };
    compressed.map_err(|e| RecordsError::Compression(format!("{e:#}")))?;
    let batch_length = (out.len() - start - LOG_OVERHEAD_BYTES) as i32;
    out[start + 8..start + 12].copy_from_slice(&batch_length.to_be_bytes());
    let crc = crc32c::crc32c(&out[start + CRC_START..]);
    out[start + 17..start + 21].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Reads a zig-zag varlong, or None when the buffer ends inside it or it runs past 10 bytes.
fn get_varlong<B: Buf>(buf: &mut B) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..70).step_by(7) {
        if !buf.has_remaining() {
            return None;
        }
        let byte = buf.get_u8();
        z |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    None
}

fn get_nullable<B: Buf>(
    buf: &mut B,
    index: usize,
    what: &'static str,
) -> Result<Option<Bytes>, RecordsError> {
    let malformed = || RecordsError::Malformed { index, what };
    let len = get_varlong(buf).ok_or_else(malformed)?;
    if len < 0 {
        return Ok(None);
    }
    // A declared length is checked against what is there before anything is copied.
    let len = usize::try_from(len).map_err(|_| malformed())?;
    if len > buf.remaining() {
        return Err(malformed());
    }
    Ok(Some(buf.copy_to_bytes(len)))
}

fn get_records<B: Buf>(
    buf: &mut B,
    count: usize,
    base_offset: i64,
    base_timestamp: i64,
    log_append_time: Option<i64>,
) -> Result<Vec<DecodedRecord>, RecordsError> {
    // The count is what the peer declares: allocate by what the bytes can hold at most.
    let mut records = Vec::with_capacity(count.min(buf.remaining() / 7 + 1));
    for index in 0..count {
        let malformed = |what| RecordsError::Malformed { index, what };
        let len = get_varlong(buf).ok_or(malformed("length"))?;
        let len = usize::try_from(len).map_err(|_| malformed("length"))?;
        if len == 0 || len > buf.remaining() {
            return Err(malformed("length"));
        }
        let mut body = buf.copy_to_bytes(len);
        body.get_i8(); // attributes: unused in v2
        let timestamp_delta = get_varlong(&mut body).ok_or(malformed("timestamp delta"))?;
        let offset_delta = get_varlong(&mut body).ok_or(malformed("offset delta"))?;
        let key = get_nullable(&mut body, index, "key")?;
        let value = get_nullable(&mut body, index, "value")?;
        let header_count = get_varlong(&mut body).ok_or(malformed("header count"))?;
        let header_count = usize::try_from(header_count).map_err(|_| malformed("header count"))?;
        let mut headers = Vec::with_capacity(header_count.min(body.remaining() / 2 + 1));
        for _ in 0..header_count {
            let k = get_nullable(&mut body, index, "header key")?
                .ok_or(malformed("null header key"))?;
            let k = String::from_utf8(k.to_vec()).map_err(|_| malformed("header key utf-8"))?;
            let v = get_nullable(&mut body, index, "header value")?;
            headers.push((k, v));
        }
        let (timestamp, timestamp_type) = match log_append_time {
            Some(t) => (t, TimestampType::LogAppend),
            None => (
                base_timestamp.wrapping_add(timestamp_delta),
                TimestampType::Creation,
            ),
        };
        records.push(DecodedRecord {
            offset: base_offset.wrapping_add(offset_delta),
            timestamp,
            timestamp_type,
            key,
            value,
            headers,
        });
    }
    Ok(records)
}

/// Reads every record of one whole batch (header included), checking its CRC.
pub(crate) fn decode_batch(batch: Bytes) -> Result<Vec<DecodedRecord>, RecordsError> {
    if batch.len() < BATCH_HEADER_BYTES {
        return Err(RecordsError::ShortBatch { len: batch.len() });
    }
    let mut header = &batch[..BATCH_HEADER_BYTES];
    let base_offset = header.get_i64();
    let batch_length = header.get_i32();
    let total = usize::try_from(batch_length)
        .ok()
        .map(|l| l + LOG_OVERHEAD_BYTES)
        .filter(|&t| (BATCH_HEADER_BYTES..=batch.len()).contains(&t))
        .ok_or(RecordsError::ShortBatch { len: batch.len() })?;
    // Only this batch, even when more bytes follow.
    let batch = batch.slice(..total);
    header.advance(4); // partition_leader_epoch
    let magic = header.get_i8();
    if magic != 2 {
        return Err(RecordsError::Magic(magic));
    }
    let stored = header.get_u32();
    let computed = crc32c::crc32c(&batch[CRC_START..]);
    if stored != computed {
        return Err(RecordsError::Crc { stored, computed });
    }
    let attributes = header.get_i16();
    header.advance(4); // last_offset_delta
    let base_timestamp = header.get_i64();
    let max_timestamp = header.get_i64();
    header.advance(14); // producer_id, producer_epoch, base_sequence
    let count = usize::try_from(header.get_i32()).unwrap_or(0);
    let log_append_time = (attributes & ATTR_LOG_APPEND_TIME != 0).then_some(max_timestamp);
    let mut body = batch.slice(BATCH_HEADER_BYTES..);
    let read = |b: &mut Bytes| get_records(b, count, base_offset, base_timestamp, log_append_time);
    let decompressed = match attributes & ATTR_COMPRESSION_MASK {
        0 => return read(&mut body),
        1 => codec::Gzip::decompress(&mut body, |b| Ok(read(b))),
        2 => codec::Snappy::decompress(&mut body, |b| Ok(read(b))),
        3 => codec::Lz4::decompress(&mut body, |b| Ok(read(b))),
        4 => codec::Zstd::decompress(&mut body, |b| Ok(read(b))),
        other => return Err(RecordsError::Codec(other)),
    };
    // The codecs' errors are `anyhow::Error`; their text (with its causes) is kept.
    decompressed.map_err(|e| RecordsError::Compression(format!("{e:#}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use kafka_protocol::protocol::StrBytes;
    use kafka_protocol::records::{
        Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    };

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn meta(compression: Compression) -> BatchMeta {
        BatchMeta {
            producer_id: 42,
            producer_epoch: 3,
            base_sequence: 7,
            transactional: false,
            compression,
        }
    }

    #[test]
    fn duplicate_header_keys_keep_their_order_and_values() {
        let headers = vec![
            ("h".to_string(), Some(Bytes::from_static(b"1"))),
            ("other".to_string(), None),
            ("h".to_string(), Some(Bytes::from_static(b"2"))),
        ];
        for c in ALL {
            let recs = [RecordRef {
                timestamp: 1_000,
                key: Some(b"k"),
                value: Some(b"v"),
                headers: &headers,
            }];
            let mut out = BytesMut::new();
            encode_batch(&mut out, &meta(c), &recs).unwrap();
            let back = decode_batch(out.freeze()).unwrap();
            assert_eq!(back.len(), 1);
            assert_eq!(back[0].headers, headers, "codec {c:?}");
        }
    }

    #[test]
    fn kafka_protocol_reads_what_we_write() {
        // An independent decoder agrees on every field, so the broker and other clients will.
        for c in ALL {
            let headers = vec![("a".to_string(), Some(Bytes::from_static(b"x")))];
            let recs: Vec<RecordRef<'_>> = (0..20)
                .map(|i| RecordRef {
                    timestamp: 5_000 - i,
                    key: (i % 3 != 0).then_some(&b"key"[..]),
                    value: (i % 5 != 0).then_some(&b"value bytes"[..]),
                    headers: if i % 2 == 0 { &headers } else { &[] },
                })
                .collect();
            let mut out = BytesMut::new();
            encode_batch(&mut out, &meta(c), &recs).unwrap();
            let mut buf = out.freeze();
            let set = RecordBatchDecoder::decode(&mut buf).unwrap();
            assert_eq!(set.records.len(), 20);
            for (i, r) in set.records.iter().enumerate() {
                assert_eq!(r.offset, i as i64);
                assert_eq!(r.timestamp, 5_000 - i as i64);
                assert_eq!(r.producer_id, 42);
                assert_eq!(r.producer_epoch, 3);
                assert_eq!(r.sequence, 7 + i as i32);
                assert_eq!(r.key.as_deref(), recs[i].key);
                assert_eq!(r.value.as_deref(), recs[i].value);
                assert_eq!(r.headers.len(), recs[i].headers.len());
            }
        }
    }

    #[test]
    fn reads_what_kafka_protocol_writes() {
        for c in ALL {
            let records: Vec<Record> = (0..10)
                .map(|i| Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 0,
                    producer_id: -1,
                    producer_epoch: -1,
                    timestamp_type: TimestampType::Creation,
                    offset: 100 + i,
                    sequence: i as i32,
                    timestamp: 1_000 + i,
                    key: Some(Bytes::from(format!("k{i}"))),
                    value: None,
                    headers: IndexMap::from([(StrBytes::from_static_str("h"), None)]),
                })
                .collect();
            let mut buf = BytesMut::new();
            RecordBatchEncoder::encode(
                &mut buf,
                records.iter(),
                &RecordEncodeOptions {
                    version: 2,
                    compression: c,
                },
            )
            .unwrap();
            let back = decode_batch(buf.freeze()).unwrap();
            assert_eq!(back.len(), 10);
            assert_eq!(back[3].offset, 103);
            assert_eq!(back[3].timestamp, 1_003);
            assert_eq!(back[3].key.as_deref(), Some(&b"k3"[..]));
            assert_eq!(back[3].value, None);
            assert_eq!(back[3].headers, vec![("h".to_string(), None)]);
        }
    }

    #[test]
    fn corrupt_and_truncated_batches_are_errors_not_panics() {
        let headers = vec![];
        let recs = [RecordRef {
            timestamp: 1,
            key: None,
            value: Some(b"hello"),
            headers: &headers,
        }];
        let mut out = BytesMut::new();
        encode_batch(&mut out, &meta(Compression::None), &recs).unwrap();
        let good = out.freeze();
        let mut flipped = good.to_vec();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(matches!(
            decode_batch(Bytes::from(flipped)),
            Err(RecordsError::Crc { .. })
        ));
        assert!(decode_batch(good.slice(..40)).is_err());
        // A record that declares more bytes than the batch holds, with a valid CRC.
        let mut lying = good.to_vec();
        lying[BATCH_HEADER_BYTES] = 0x7e; // length varint 63
        let crc = crc32c::crc32c(&lying[CRC_START..]);
        lying[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            decode_batch(Bytes::from(lying)),
            Err(RecordsError::Malformed { .. })
        ));
    }

    #[test]
    fn varints_round_trip_at_their_edges() {
        for v in [
            0i64,
            -1,
            1,
            63,
            -64,
            64,
            8191,
            -8192,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ] {
            let mut b = BytesMut::new();
            put_varlong(&mut b, v);
            assert_eq!(b.len(), varlong_len(v), "{v}");
            assert_eq!(get_varlong(&mut b.freeze()), Some(v));
        }
    }
}
