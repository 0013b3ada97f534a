//! The bytes between a shard and its `__consumer_offsets` partition.
//!
//! Writing: the records one state-machine call produced become ONE uncompressed v2 record
//! batch (magic 2, CreateTime, no producer id), keys and values in Kafka's
//! `__consumer_offsets` layout (`fjord_coordinator::record`), a tombstone being a record with
//! a null value. One batch per call keeps a call's records atomic: a torn tail loses the whole
//! call, never half of it.
//!
//! A TxnOffsetCommit's records become one TRANSACTIONAL batch instead, carrying the
//! transaction's producer id and epoch (base sequence -1), so the log's producer state opens
//! the transaction there (and holds the last stable offset) until its marker.
//!
//! Reading (replay): whole batches from the log start to the high watermark, decoded record by
//! record in offset order. Records of a transactional batch are staged as pending offsets of
//! its producer; a control batch (transaction marker) commits or drops that producer's
//! pending offsets; a record whose key or value this coordinator cannot read is logged and
//! skipped, as Kafka's loader skips unknown record types, so one bad record never keeps a
//! whole partition of groups offline.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use fjord_coordinator::{CoordinatorRecord, GroupCoordinator};
use fjord_protocol::batch::BatchHeader;
use fjord_storage::{ControlRecordType, TxnMarker};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tracing::warn;

use crate::replica::{Partition, ReplicaError};

/// How many bytes one replay read asks for.
const REPLAY_READ_BYTES: usize = 1 << 20;

/// The producer of a transactional coordinator batch (TxnOffsetCommit): its transaction's
/// producer id and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// Encodes `records` as one v2 batch with offsets from 0 (the log assigns the real ones).
pub fn encode_batch(records: &[CoordinatorRecord], now_ms: i64) -> Bytes {
    encode_batch_for(records, now_ms, None)
}

/// Encodes `records` as one v2 batch; with `txn`, a transactional batch of that producer with
/// base sequence -1 (no sequence: the coordinator's batches are not idempotent-producer
/// batches, so the log's sequence checks skip them, as Kafka's coordinator appends do).
pub fn encode_batch_for(
    records: &[CoordinatorRecord],
    now_ms: i64,
    txn: Option<TxnProducer>,
) -> Bytes {
    let (producer_id, producer_epoch) = txn.map_or((-1, -1), |t| (t.producer_id, t.producer_epoch));
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, record)| Record {
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
            key: Some(record.key_bytes()),
            value: record.value_bytes(),
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

/// Rebuilds the state of one `__consumer_offsets` partition: every record from the log start
/// to the high watermark, applied in order to a fresh coordinator. Blocking (reads the log):
/// run on the blocking pool.
pub fn replay_partition(
    partition: &Arc<Partition>,
    coordinator: &mut GroupCoordinator,
    now_ms: i64,
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
            let mut batch = buf.split_to(size);
            offset = offset.max(header.next_offset());
            if header.is_control() {
                // The end of a transaction: its staged offsets become visible or vanish.
                if let Some(marker) = TxnMarker::from_batch(&header, &batch) {
                    let commit = marker.control_type == ControlRecordType::Commit;
                    coordinator.complete_transaction(header.producer_id, commit, now_ms);
                }
                continue;
            }
            let txn_producer = header.is_transactional().then_some(header.producer_id);
            let set = match RecordBatchDecoder::decode(&mut batch) {
                Ok(set) => set,
                Err(e) => {
                    warn!(partition = %partition.topic_partition(), base_offset = header.base_offset,
                        error = %e, "skipping an undecodable __consumer_offsets batch");
                    continue;
                }
            };
            for record in &set.records {
                let Some(key) = &record.key else {
                    continue;
                };
                match CoordinatorRecord::decode(key, record.value.as_deref()) {
                    Ok(decoded) => {
                        match txn_producer {
                            Some(producer_id) => {
                                coordinator.replay_txn(producer_id, &decoded, now_ms)
                            }
                            None => coordinator.replay(&decoded, now_ms),
                        }
                        applied += 1;
                    }
                    Err(e) => {
                        warn!(partition = %partition.topic_partition(), offset = record.offset,
                            error = %e, "skipping an unreadable __consumer_offsets record");
                    }
                }
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
    use fjord_coordinator::OffsetCommitValue;

    #[test]
    fn a_call_becomes_one_batch_with_tombstones() {
        let records = vec![
            CoordinatorRecord::OffsetCommit {
                group_id: "g".into(),
                topic: "t".into(),
                partition: 0,
                value: Some(OffsetCommitValue {
                    offset: 42,
                    leader_epoch: -1,
                    metadata: "m".into(),
                    commit_timestamp_ms: 7,
                    expire_timestamp_ms: None,
                }),
            },
            CoordinatorRecord::OffsetCommit {
                group_id: "g".into(),
                topic: "t".into(),
                partition: 1,
                value: None,
            },
        ];
        let mut bytes = encode_batch(&records, 7);
        let header = BatchHeader::parse(&bytes).expect("a batch header");
        assert_eq!(header.magic, 2);
        assert_eq!(header.record_count, 2);
        assert_eq!(header.total_size(), bytes.len());
        let set = RecordBatchDecoder::decode(&mut bytes).expect("decodes");
        let decoded: Vec<CoordinatorRecord> = set
            .records
            .iter()
            .map(|r| {
                CoordinatorRecord::decode(r.key.as_deref().expect("key"), r.value.as_deref())
                    .expect("record decodes")
            })
            .collect();
        assert_eq!(decoded, records);
        assert!(bytes.is_empty(), "exactly one batch");
    }

    #[test]
    fn a_txn_offset_commit_is_one_transactional_batch_without_sequence() {
        let records = vec![CoordinatorRecord::OffsetCommit {
            group_id: "g".into(),
            topic: "t".into(),
            partition: 0,
            value: Some(OffsetCommitValue {
                offset: 42,
                leader_epoch: -1,
                metadata: String::new(),
                commit_timestamp_ms: 7,
                expire_timestamp_ms: None,
            }),
        }];
        let txn = TxnProducer {
            producer_id: 4_000,
            producer_epoch: 3,
        };
        let bytes = encode_batch_for(&records, 7, Some(txn));
        let header = BatchHeader::parse(&bytes).expect("a batch header");
        assert!(header.is_transactional());
        assert!(!header.is_control());
        assert_eq!(header.producer_id, 4_000);
        assert_eq!(header.producer_epoch, 3);
        assert_eq!(
            header.base_sequence, -1,
            "the log's sequence checks skip it"
        );
        let plain = BatchHeader::parse(&encode_batch(&records, 7)).expect("a batch header");
        assert!(!plain.is_transactional());
        assert!(!plain.has_producer_id());
    }
}
