//! Filtering one stored v2 record batch for the cleaner: which records stay, and the bytes of
//! the batch that replaces it (Kafka's `MemoryRecords.filterTo` with the cleaner's filter).
//!
//! Kept records are copied byte for byte; a rewritten batch keeps the original header (base
//! offset, `last_offset_delta`, producer id/epoch, base sequence, leader epoch, max timestamp,
//! timestamp type, codec) and changes only `batch_length`, `record_count`, the CRC and, the first
//! time it is cleaned with a tombstone in it, the delete horizon (KIP-534): attribute bit 6 set
//! and `base_timestamp` = cleaning time + `delete.retention.ms`; records' timestamp deltas are
//! then re-encoded against the new base so every record keeps its timestamp. Keeping
//! `last_offset_delta` keeps the batch's last offset and last sequence, which producer state
//! and a retrying idempotent producer rely on. Compressed batches are decompressed, filtered
//! and recompressed with the same codec.
//!
//! Record layout inside the (decompressed) records section: `length: varint` (bytes after
//! itself), `attributes: i8`, `timestamp_delta: varlong`, `offset_delta: varint`,
//! `key_length: varint` (-1 = null), key, `value_length: varint` (-1 = null, a tombstone),
//! value, headers.

use bytes::{BufMut, Bytes, BytesMut};
use fjord_protocol::batch::{compute_crc, BatchHeader, Compression, HEADER_LEN, LOG_OVERHEAD};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

use super::offset_map::OffsetMap;

/// Attributes bit 6: `base_timestamp` holds the delete horizon (KIP-534).
pub(crate) const DELETE_HORIZON_BIT: i16 = 0x40;
const COMPRESSION_MASK: i16 = 0x07;

// Header field positions (see `fjord_protocol::batch`'s layout table).
const BATCH_LENGTH: usize = 8;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const RECORD_COUNT: usize = 57;

/// The delete horizon a batch carries, if the cleaner set one.
pub(crate) fn delete_horizon_ms(header: &BatchHeader) -> Option<i64> {
    (header.attributes & DELETE_HORIZON_BIT != 0).then_some(header.base_timestamp)
}

/// One record of a batch, as the cleaner needs it.
struct RecordView<'a> {
    /// The whole record, length prefix included.
    raw: &'a [u8],
    attributes: u8,
    timestamp_ms: i64,
    /// From the offset delta to the end of the record.
    after_timestamp: &'a [u8],
    offset: i64,
    key: Option<&'a [u8]>,
    tombstone: bool,
}

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

fn put_varlong(out: &mut Vec<u8>, value: i64) {
    let mut raw = ((value << 1) ^ (value >> 63)) as u64;
    while raw >= 0x80 {
        out.push((raw as u8) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

/// Splits a records section into records; `None` when it is malformed.
fn parse_records<'a>(section: &'a [u8], header: &BatchHeader) -> Option<Vec<RecordView<'a>>> {
    let mut records = Vec::new();
    let mut position = 0;
    for _ in 0..header.record_count.max(0) {
        let rest = &section[position..];
        let (length, used) = read_varlong(rest)?;
        let length = usize::try_from(length).ok()?;
        if length < 1 || length > rest.len() - used {
            return None;
        }
        let raw = &rest[..used + length];
        let body = &rest[used..used + length];
        let attributes = body[0];
        let mut at = 1;
        let (timestamp_delta, n) = read_varlong(&body[at..])?;
        at += n;
        let after_timestamp = &body[at..];
        let (offset_delta, n) = read_varlong(&body[at..])?;
        at += n;
        let (key_length, n) = read_varlong(&body[at..])?;
        at += n;
        let key = if key_length < 0 {
            None
        } else {
            let len = usize::try_from(key_length).ok()?;
            let key = body.get(at..at.checked_add(len)?)?;
            at += len;
            Some(key)
        };
        let (value_length, _) = read_varlong(&body[at..])?;
        records.push(RecordView {
            raw,
            attributes,
            timestamp_ms: header.base_timestamp.wrapping_add(timestamp_delta),
            after_timestamp,
            offset: header.base_offset.wrapping_add(offset_delta),
            key,
            tombstone: value_length < 0,
        });
        position += used + length;
    }
    Some(records)
}

/// Calls `f(offset, key)` for every record of a data batch (the offset map's input). `Err` when
/// the records cannot be read; the caller then leaves the batch's keys out of the map, which
/// only keeps more records.
pub(crate) fn for_each_key(
    batch: &Bytes,
    header: &BatchHeader,
    mut f: impl FnMut(i64, Option<&[u8]>),
) -> Result<(), FilterError> {
    let section =
        crate::segment::records_section(batch, header).map_err(FilterError::Decompress)?;
    let records = parse_records(&section, header).ok_or(FilterError::Malformed)?;
    for record in records {
        f(record.offset, record.key);
    }
    Ok(())
}

/// What the cleaner knows when it filters one batch.
pub(crate) struct FilterContext<'a> {
    pub map: &'a OffsetMap,
    pub now_ms: i64,
    pub delete_retention_ms: i64,
    /// The batch is its producer's last in the log: it must survive, empty if need be, so the
    /// producer's last sequence and epoch are still found after a restart.
    pub last_batch_of_producer: bool,
    /// The batch belongs to an aborted transaction: none of its records stay.
    pub aborted: bool,
    /// The batch is a transaction marker whose transaction has no data left in the log
    /// ([`super::txn`]): it gets a delete horizon, then goes once the horizon has passed.
    pub marker_discardable: bool,
}

/// The outcome for one batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Filtered {
    /// Write the batch as it is.
    Keep,
    /// Leave the batch out of the cleaned segment.
    Drop,
    /// Write these bytes instead (a complete batch, CRC set).
    Rewrite(Vec<u8>),
}

/// Counts for the cleaner's log line and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FilterCounts {
    pub records_read: u64,
    pub records_removed: u64,
    /// Records without a key (invalid in a compacted topic), removed.
    pub records_without_key: u64,
    /// The earliest delete horizon of a batch that still holds tombstones.
    pub earliest_delete_horizon_ms: Option<i64>,
}

impl FilterCounts {
    fn note_horizon(&mut self, h: i64) {
        self.earliest_delete_horizon_ms =
            Some(self.earliest_delete_horizon_ms.map_or(h, |e| e.min(h)));
    }
}

/// Why a batch could not be filtered; the cleaner then keeps it unchanged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FilterError {
    #[error("cannot decompress records: {0}")]
    Decompress(String),
    #[error("cannot compress records: {0}")]
    Compress(String),
    #[error("malformed records")]
    Malformed,
}

/// Decides the fate of one whole stored batch (`batch` is exactly its bytes, already
/// validated when it was appended or recovered).
pub(crate) fn filter_batch(
    batch: &Bytes,
    header: &BatchHeader,
    ctx: &FilterContext<'_>,
    counts: &mut FilterCounts,
) -> Result<Filtered, FilterError> {
    let record_count = u64::try_from(header.record_count).unwrap_or(0);
    if header.is_control() {
        return filter_control_batch(batch, header, ctx, counts);
    }
    if header.record_count == 0 {
        // An empty batch the cleaner kept for its producer's last sequence: once the producer
        // has written again it has no purpose left (Kafka's DELETE_EMPTY).
        return Ok(if ctx.last_batch_of_producer {
            Filtered::Keep
        } else {
            Filtered::Drop
        });
    }
    if ctx.aborted {
        // No consumer may ever see these records, and they never were anyone's latest value.
        counts.records_read += record_count;
        counts.records_removed += record_count;
        if ctx.last_batch_of_producer && header.has_producer_id() {
            return Ok(Filtered::Rewrite(empty_batch(batch, header)));
        }
        return Ok(Filtered::Drop);
    }
    let section =
        crate::segment::records_section(batch, header).map_err(FilterError::Decompress)?;
    let records = parse_records(&section, header).ok_or(FilterError::Malformed)?;
    let horizon = delete_horizon_ms(header);
    let latest_in_map = ctx.map.latest_offset();
    let mut kept = Vec::with_capacity(records.len());
    for record in &records {
        counts.records_read += 1;
        let keep = if record.offset > latest_in_map {
            // Past what the map saw: this round cannot know whether a later value exists.
            true
        } else if let Some(key) = record.key {
            let newest = record.offset >= ctx.map.get(key);
            let readable = !record.tombstone || horizon.is_none_or(|h| ctx.now_ms < h);
            newest && readable
        } else {
            counts.records_without_key += 1;
            false
        };
        if keep {
            kept.push(record);
        } else {
            counts.records_removed += 1;
        }
    }
    let has_tombstones = kept.iter().any(|r| r.tombstone);
    let set_horizon = has_tombstones && horizon.is_none();
    if has_tombstones {
        counts.note_horizon(horizon.unwrap_or(ctx.now_ms.saturating_add(ctx.delete_retention_ms)));
    }
    if kept.len() == records.len() && !set_horizon {
        return Ok(Filtered::Keep);
    }
    if kept.is_empty() {
        if ctx.last_batch_of_producer && header.has_producer_id() {
            return Ok(Filtered::Rewrite(empty_batch(batch, header)));
        }
        return Ok(Filtered::Drop);
    }
    let base_timestamp = if set_horizon {
        ctx.now_ms.saturating_add(ctx.delete_retention_ms)
    } else {
        header.base_timestamp
    };
    rewrite_batch(batch, header, &section, &kept, base_timestamp, set_horizon)
}

/// A transaction marker stays while its transaction may still have data in the log, and while
/// it is its producer's last batch (it carries the producer's latest epoch). Otherwise the
/// first clean sets its delete horizon (KIP-534's mechanism, as Kafka does for markers) and a
/// clean after the horizon removes it.
fn filter_control_batch(
    batch: &Bytes,
    header: &BatchHeader,
    ctx: &FilterContext<'_>,
    counts: &mut FilterCounts,
) -> Result<Filtered, FilterError> {
    let record_count = u64::try_from(header.record_count).unwrap_or(0);
    counts.records_read += record_count;
    if !ctx.marker_discardable || ctx.last_batch_of_producer {
        return Ok(Filtered::Keep);
    }
    if let Some(h) = delete_horizon_ms(header) {
        if ctx.now_ms >= h {
            counts.records_removed += record_count;
            return Ok(Filtered::Drop);
        }
        counts.note_horizon(h);
        return Ok(Filtered::Keep);
    }
    let section =
        crate::segment::records_section(batch, header).map_err(FilterError::Decompress)?;
    let records = parse_records(&section, header).ok_or(FilterError::Malformed)?;
    let kept: Vec<&RecordView<'_>> = records.iter().collect();
    let h = ctx.now_ms.saturating_add(ctx.delete_retention_ms);
    counts.note_horizon(h);
    rewrite_batch(batch, header, &section, &kept, h, true)
}

/// `batch` with only the `kept` records, its base timestamp `base_timestamp` (records'
/// timestamp deltas re-encoded when it changes) and the delete-horizon flag when `set_horizon`.
fn rewrite_batch(
    batch: &Bytes,
    header: &BatchHeader,
    section: &[u8],
    kept: &[&RecordView<'_>],
    base_timestamp: i64,
    set_horizon: bool,
) -> Result<Filtered, FilterError> {
    let mut plain = Vec::with_capacity(section.len());
    for record in kept {
        if base_timestamp == header.base_timestamp {
            plain.extend_from_slice(record.raw);
        } else {
            let mut body = Vec::with_capacity(record.raw.len() + 8);
            body.push(record.attributes);
            put_varlong(&mut body, record.timestamp_ms.wrapping_sub(base_timestamp));
            body.extend_from_slice(record.after_timestamp);
            put_varlong(&mut plain, body.len() as i64);
            plain.extend_from_slice(&body);
        }
    }
    let records_bytes = compress(header.compression(), plain)?;
    let mut out = Vec::with_capacity(HEADER_LEN + records_bytes.len());
    out.extend_from_slice(&batch[..HEADER_LEN]);
    out.extend_from_slice(&records_bytes);
    let mut attributes = header.attributes;
    if set_horizon {
        attributes |= DELETE_HORIZON_BIT;
    }
    finish_header(&mut out, attributes, base_timestamp, kept.len() as i32);
    Ok(Filtered::Rewrite(out))
}

/// An empty batch standing in for `batch` (Kafka's `writeEmptyHeader`): same base offset,
/// last offset delta, producer fields and leader epoch; no records, no compression, both
/// timestamps the original max timestamp.
fn empty_batch(batch: &[u8], header: &BatchHeader) -> Vec<u8> {
    let mut out = batch[..HEADER_LEN].to_vec();
    out[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&header.max_timestamp.to_be_bytes());
    let attributes = header.attributes & !COMPRESSION_MASK & !DELETE_HORIZON_BIT;
    finish_header(&mut out, attributes, header.max_timestamp, 0);
    out
}

fn finish_header(out: &mut [u8], attributes: i16, base_timestamp: i64, record_count: i32) {
    let batch_length = (out.len() - LOG_OVERHEAD) as i32;
    out[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
    out[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    out[BASE_TIMESTAMP..BASE_TIMESTAMP + 8].copy_from_slice(&base_timestamp.to_be_bytes());
    out[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&record_count.to_be_bytes());
    let crc = compute_crc(out);
    out[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

fn compress(codec: Compression, plain: Vec<u8>) -> Result<Vec<u8>, FilterError> {
    let mut out = BytesMut::new();
    let fill = |tmp: &mut BytesMut| {
        tmp.put_slice(&plain);
        Ok(())
    };
    let result = match codec {
        Compression::None => return Ok(plain),
        Compression::Gzip => <Gzip as Compressor<BytesMut>>::compress(&mut out, fill),
        Compression::Snappy => <Snappy as Compressor<BytesMut>>::compress(&mut out, fill),
        Compression::Lz4 => <Lz4 as Compressor<BytesMut>>::compress(&mut out, fill),
        Compression::Zstd => <Zstd as Compressor<BytesMut>>::compress(&mut out, fill),
        Compression::Unknown(id) => {
            return Err(FilterError::Compress(format!("unknown codec {id}")))
        }
    };
    result.map_err(|e| FilterError::Compress(format!("{e:#}")))?;
    Ok(out.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_protocol::batch::validate;
    use fjord_protocol::testing::{encode_batch, TestProducer, TestRecord};
    use kafka_protocol::records::{Compression as Codec, RecordBatchDecoder};

    fn decode(bytes: &[u8]) -> Vec<kafka_protocol::records::Record> {
        let mut buf = Bytes::copy_from_slice(bytes);
        RecordBatchDecoder::decode(&mut buf).unwrap().records
    }

    fn batch_at(base: i64, records: Vec<TestRecord>, codec: Codec) -> (Bytes, BatchHeader) {
        let bytes = encode_batch(records, None, codec);
        let mut bytes = bytes.to_vec();
        fjord_protocol::batch::set_base_offset(&mut bytes, base);
        let header = validate(&bytes).unwrap();
        (Bytes::from(bytes), header)
    }

    fn ctx(map: &OffsetMap, now_ms: i64) -> FilterContext<'_> {
        FilterContext {
            map,
            now_ms,
            delete_retention_ms: 100,
            last_batch_of_producer: false,
            aborted: false,
            marker_discardable: false,
        }
    }

    #[test]
    fn superseded_records_go_and_kept_ones_keep_offsets_and_timestamps() {
        for codec in [
            Codec::None,
            Codec::Gzip,
            Codec::Snappy,
            Codec::Lz4,
            Codec::Zstd,
        ] {
            let (bytes, header) = batch_at(
                10,
                vec![
                    TestRecord::keyed("a", "1", 1000),
                    TestRecord::keyed("b", "2", 1001),
                    TestRecord::keyed("a", "3", 1002),
                    TestRecord::value("no key", 1003),
                ],
                codec,
            );
            let mut map = OffsetMap::new(1 << 20, 10);
            map.put(b"a", 12);
            map.put(b"b", 11);
            map.put(b"zz", 13);
            let mut counts = FilterCounts::default();
            let Filtered::Rewrite(out) =
                filter_batch(&bytes, &header, &ctx(&map, 0), &mut counts).unwrap()
            else {
                panic!("{codec:?}: expected a rewrite");
            };
            let new = validate(&out).unwrap();
            assert_eq!(new.base_offset, 10);
            assert_eq!(new.last_offset_delta, 3, "last offset kept");
            assert_eq!(new.record_count, 2);
            assert_eq!(new.compression(), header.compression());
            let records = decode(&out);
            let got: Vec<_> = records.iter().map(|r| (r.offset, r.timestamp)).collect();
            assert_eq!(got, vec![(11, 1001), (12, 1002)], "{codec:?}");
            assert_eq!(counts.records_removed, 2);
            assert_eq!(counts.records_without_key, 1);
        }
    }

    #[test]
    fn tombstones_get_a_horizon_then_go_after_it() {
        let (bytes, header) = batch_at(
            0,
            vec![
                TestRecord::keyed("a", "1", 500),
                TestRecord {
                    key: Some(Bytes::from_static(b"t")),
                    value: None,
                    timestamp_ms: 501,
                },
            ],
            Codec::Lz4,
        );
        let mut map = OffsetMap::new(1 << 20, 10);
        map.put(b"a", 0);
        map.put(b"t", 1);
        let mut counts = FilterCounts::default();
        let Filtered::Rewrite(first) =
            filter_batch(&bytes, &header, &ctx(&map, 5000), &mut counts).unwrap()
        else {
            panic!("the first clean sets the delete horizon");
        };
        let h1 = validate(&first).unwrap();
        assert_eq!(delete_horizon_ms(&h1), Some(5100));
        assert_eq!(counts.earliest_delete_horizon_ms, Some(5100));
        let records = decode(&first);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].timestamp, 500, "timestamps survive the rebase");
        assert_eq!(records[1].timestamp, 501);
        assert!(records[1].value.is_none());

        let first = Bytes::from(first);
        let before = filter_batch(&first, &h1, &ctx(&map, 5099), &mut FilterCounts::default());
        assert_eq!(before.unwrap(), Filtered::Keep);
        let Filtered::Rewrite(second) =
            filter_batch(&first, &h1, &ctx(&map, 5100), &mut FilterCounts::default()).unwrap()
        else {
            panic!("the tombstone goes at the horizon");
        };
        let records = decode(&second);
        assert_eq!(records.len(), 1);
        assert_eq!((records[0].offset, records[0].timestamp), (0, 500));
    }

    #[test]
    fn a_producers_last_batch_stays_empty() {
        let producer = TestProducer {
            producer_id: 7,
            producer_epoch: 2,
            base_sequence: 40,
        };
        let mut bytes = encode_batch(
            vec![
                TestRecord::keyed("a", "1", 10),
                TestRecord::keyed("a", "2", 11),
            ],
            Some(producer),
            Codec::Gzip,
        )
        .to_vec();
        fjord_protocol::batch::set_base_offset(&mut bytes, 100);
        let header = validate(&bytes).unwrap();
        let bytes = Bytes::from(bytes);
        let mut map = OffsetMap::new(1 << 20, 10);
        map.put(b"a", 200);
        let mut c = ctx(&map, 0);
        assert_eq!(
            filter_batch(&bytes, &header, &c, &mut FilterCounts::default()).unwrap(),
            Filtered::Drop
        );
        c.last_batch_of_producer = true;
        let Filtered::Rewrite(empty) =
            filter_batch(&bytes, &header, &c, &mut FilterCounts::default()).unwrap()
        else {
            panic!("kept empty");
        };
        let h = validate(&empty).unwrap();
        assert_eq!(empty.len(), HEADER_LEN);
        assert_eq!(
            (h.base_offset, h.last_offset(), h.record_count),
            (100, 101, 0)
        );
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (7, 2, 40)
        );
        assert_eq!(h.last_sequence(), 41);
        assert_eq!(h.compression(), Compression::None);
    }
}
