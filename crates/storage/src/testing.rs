//! Helpers that build record batches the way a client library does, for this crate's tests,
//! its benchmark and the tests of crates built on it.

use bytes::Bytes;
use fjord_protocol::testing::{encode_batch, TestRecord};
use kafka_protocol::records::Compression;

/// Producer fields of a batch: (producer_id, producer_epoch, base_sequence).
pub use fjord_protocol::testing::TestProducer as ProducerFields;

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
    let records = timestamps.iter().enumerate().map(|(i, &timestamp)| {
        TestRecord::keyed(
            format!("key-{i}"),
            vec![b'a' + (i % 26) as u8; value_len],
            timestamp,
        )
    });
    encode_batch(records, producer, Compression::None)
}
