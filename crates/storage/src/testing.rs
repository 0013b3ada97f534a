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

/// One v2 batch of `count` records from a transactional producer: [`batch`] with the
/// transactional attribute (bit 4) set and the CRC recomputed.
pub fn transactional_batch(
    count: usize,
    first_timestamp_ms: i64,
    producer: ProducerFields,
) -> Bytes {
    let plain = batch(count, 8, first_timestamp_ms, Some(producer));
    let mut buf = bytes::BytesMut::from(&plain[..]);
    buf[22] |= 0x10;
    let crc = fjord_protocol::batch::compute_crc(&buf);
    buf[17..21].copy_from_slice(&crc.to_be_bytes());
    buf.freeze()
}
