//! Record batches for tests, built with the codec crate's encoder the way client libraries
//! build them. Every crate's tests use this instead of spelling out `Record` literals, so a
//! change of the codec's record type touches one place. Not used on any production path.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// One record of a test batch.
#[derive(Debug, Clone, Default)]
pub struct TestRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp_ms: i64,
}

impl TestRecord {
    /// A record with a value and no key.
    pub fn value(value: impl Into<Bytes>, timestamp_ms: i64) -> Self {
        TestRecord {
            key: None,
            value: Some(value.into()),
            timestamp_ms,
        }
    }

    /// A record with a key and a value.
    pub fn keyed(key: impl Into<Bytes>, value: impl Into<Bytes>, timestamp_ms: i64) -> Self {
        TestRecord {
            key: Some(key.into()),
            value: Some(value.into()),
            timestamp_ms,
        }
    }
}

/// The producer fields of an idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// Encodes `records` as ONE v2 batch with offsets from 0, as a producer sends it: producer id
/// -1 and base sequence -1 unless `producer` is given.
pub fn encode_batch(
    records: impl IntoIterator<Item = TestRecord>,
    producer: Option<TestProducer>,
    compression: Compression,
) -> Bytes {
    let (producer_id, producer_epoch, base_sequence) = producer.map_or((-1, -1, -1), |p| {
        (p.producer_id, p.producer_epoch, p.base_sequence)
    });
    let records: Vec<Record> = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever offset - sequence changes, so the
            // sequence advances with the offset, from -1 for non-idempotent batches.
            sequence: base_sequence.wrapping_add(i as i32),
            timestamp: r.timestamp_ms,
            key: r.key,
            value: r.value,
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encoding in-memory records cannot fail");
    buf.freeze()
}
