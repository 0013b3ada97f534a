//! Helpers that build record batches the way a client library does, for this crate's tests,
//! its benchmark and the tests of crates built on it.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// Producer fields of a batch: (producer_id, producer_epoch, base_sequence).
#[derive(Debug, Clone, Copy)]
pub struct ProducerFields {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

/// One v2 batch of `count` records with values `value_len` bytes long, record i stamped
/// `first_timestamp_ms + i`, optionally from an idempotent producer.
pub fn batch(
    count: usize,
    value_len: usize,
    first_timestamp_ms: i64,
    producer: Option<ProducerFields>,
) -> Bytes {
    batch_with_timestamps(
        &(0..count)
            .map(|i| first_timestamp_ms + i as i64)
            .collect::<Vec<_>>(),
        value_len,
        producer,
    )
}

/// One v2 batch with one record per timestamp.
pub fn batch_with_timestamps(
    timestamps: &[i64],
    value_len: usize,
    producer: Option<ProducerFields>,
) -> Bytes {
    let (producer_id, producer_epoch, base_sequence) = producer.map_or((-1, -1, -1), |p| {
        (p.producer_id, p.producer_epoch, p.base_sequence)
    });
    let records: Vec<Record> = timestamps
        .iter()
        .enumerate()
        .map(|(i, &timestamp)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch when offset - sequence changes, so the sequence
            // must advance with the offset even for non-idempotent batches (base -1).
            sequence: base_sequence.wrapping_add(i as i32),
            timestamp,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(vec![b'a' + (i % 26) as u8; value_len])),
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
            compression: Compression::None,
        },
    )
    .expect("encoding in-memory records cannot fail");
    buf.freeze()
}
