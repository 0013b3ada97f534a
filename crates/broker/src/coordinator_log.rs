//! The bytes between a coordinator shard and its internal-topic partition, shared by the group
//! coordinator (`__consumer_offsets`) and the transaction coordinator (`__transaction_state`).
//!
//! Writing: the records of one state-machine call (key, value or `None` for a tombstone)
//! become ONE uncompressed v2 record batch (magic 2, CreateTime, no producer id), appended as
//! leader with `acks=-1` semantics: the call returns once the high watermark passed it. One
//! batch per call keeps a call's records atomic: a torn tail loses the whole call, never half
//! of it. A TxnOffsetCommit's records become one TRANSACTIONAL batch instead ([`TxnProducer`]),
//! so the log's producer state opens the transaction there until its marker.
//!
//! Reading (replay): whole batches from the log start to the high watermark, in offset order,
//! as [`Replayed`] events: each keyed record (with its batch's producer when the batch is
//! transactional) and each transaction marker. Undecodable batches and records without a key
//! are skipped: the caller logs what it cannot read, as Kafka's loaders skip unknown record
//! types, so one bad record never keeps a whole partition offline.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fjord_protocol::batch::BatchHeader;
use fjord_storage::{ControlRecordType, TxnMarker};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tracing::warn;

use crate::replica::{Partition, ReplicaError};

/// How many bytes one replay read asks for.
const REPLAY_READ_BYTES: usize = 1 << 20;

/// How long an append waits for the high watermark (Kafka's `offsets.commit.timeout.ms` and
/// the transaction coordinator's request timeout, both 5 s by default).
pub const APPEND_TIMEOUT: Duration = Duration::from_millis(5_000);

/// The producer of a transactional coordinator batch (TxnOffsetCommit): its transaction's
/// producer id and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// What a replay hands the shard, in offset order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed<'a> {
    /// A keyed record; `txn_producer` is its batch's producer id when the batch is
    /// transactional (its effect waits for that producer's marker).
    Record {
        offset: i64,
        key: &'a [u8],
        value: Option<&'a [u8]>,
        txn_producer: Option<i64>,
    },
    /// A transaction marker: `producer_id`'s transaction committed or aborted here.
    Marker { producer_id: i64, commit: bool },
}

/// Encodes `records` (key, value or `None` for a tombstone) as one v2 batch with offsets from
/// 0 (the log assigns the real ones); with `txn`, a transactional batch of that producer with
/// base sequence -1 (no sequence: the coordinator's batches are not idempotent-producer
/// batches, so the log's sequence checks skip them, as Kafka's coordinator appends do).
pub fn encode_batch(
    records: &[(Bytes, Option<Bytes>)],
    now_ms: i64,
    txn: Option<TxnProducer>,
) -> Bytes {
    let (producer_id, producer_epoch) = txn.map_or((-1, -1), |t| (t.producer_id, t.producer_epoch));
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: txn.is_some(),
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch when offset - sequence changes: keep it constant.
            sequence: (i as i32).wrapping_sub(1),
            timestamp: now_ms,
            key: Some(key.clone()),
            value: value.clone(),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = BytesMut::new();
    // Encoding in-memory records into a growable buffer has no failure mode but the
    // compressor's, and the batch is uncompressed.
    if let Err(e) = RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    ) {
        warn!(error = %e, "encoding a coordinator batch failed");
        return Bytes::new();
    }
    buf.freeze()
}

/// Appends `batch` as leader and waits until it is replicated (`acks=-1`), at most
/// [`APPEND_TIMEOUT`].
pub async fn append_replicated(
    partition: &Arc<Partition>,
    batch: Bytes,
    now_ms: i64,
) -> Result<(), ReplicaError> {
    let deadline = tokio::time::Instant::now() + APPEND_TIMEOUT;
    let appended = partition.append_as_leader(Some(batch), -1, now_ms).await?;
    partition
        .wait_for_high_watermark(appended.last_offset + 1, deadline)
        .await
}

/// Calls `apply` for every keyed record and every transaction marker from the log start to the
/// high watermark, in offset order, and returns how many records it saw. Blocking (reads the
/// log): run on the blocking pool.
pub fn replay_partition(
    partition: &Arc<Partition>,
    mut apply: impl FnMut(Replayed<'_>),
) -> Result<u64, ReplicaError> {
    let end_offset = partition.high_watermark();
    let mut offset = partition.log().log_start_offset();
    let mut applied = 0u64;
    while offset < end_offset {
        let read = partition.read(offset, REPLAY_READ_BYTES, false)?;
        if read.records.is_empty() {
            break;
        }
        let mut buf = read.records;
        let before = offset;
        while !buf.is_empty() {
            let Ok(header) = BatchHeader::parse(&buf) else {
                break;
            };
            let size = header.total_size();
            if size > buf.len() {
                break;
            }
            if header.next_offset() > end_offset {
                // Not yet replicated (only when followers lag): it may still be truncated.
                offset = end_offset;
                break;
            }
            let mut batch = buf.split_to(size);
            offset = offset.max(header.next_offset());
            if header.is_control() {
                if let Some(marker) = TxnMarker::from_batch(&header, &batch) {
                    apply(Replayed::Marker {
                        producer_id: header.producer_id,
                        commit: marker.control_type == ControlRecordType::Commit,
                    });
                }
                continue;
            }
            let txn_producer = header.is_transactional().then_some(header.producer_id);
            let set = match RecordBatchDecoder::decode(&mut batch) {
                Ok(set) => set,
                Err(e) => {
                    warn!(partition = %partition.topic_partition(), base_offset = header.base_offset,
                        error = %e, "skipping an undecodable coordinator batch");
                    continue;
                }
            };
            for record in &set.records {
                let Some(key) = &record.key else {
                    continue;
                };
                apply(Replayed::Record {
                    offset: record.offset,
                    key,
                    value: record.value.as_deref(),
                    txn_producer,
                });
                applied += 1;
            }
        }
        if offset == before {
            // A read that made no progress (a batch larger than the read size is still
            // returned whole, so this is a log that ends early): stop rather than spin.
            break;
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_becomes_one_batch_with_tombstones() {
        let records = vec![
            (Bytes::from_static(b"k1"), Some(Bytes::from_static(b"v1"))),
            (Bytes::from_static(b"k2"), None),
        ];
        let mut bytes = encode_batch(&records, 7, None);
        let header = BatchHeader::parse(&bytes).expect("a batch header");
        assert_eq!(header.magic, 2);
        assert_eq!(header.record_count, 2);
        assert_eq!(header.total_size(), bytes.len());
        let set = RecordBatchDecoder::decode(&mut bytes).expect("decodes");
        let decoded: Vec<(Bytes, Option<Bytes>)> = set
            .records
            .iter()
            .map(|r| (r.key.clone().expect("key"), r.value.clone()))
            .collect();
        assert_eq!(decoded, records);
        assert!(bytes.is_empty(), "exactly one batch");
    }
}
