//! The bytes between a shard and its `__consumer_offsets` partition: Kafka's
//! `__consumer_offsets` key and value layout (`fjord_coordinator::record`) on top of
//! [`crate::coordinator_log`], which owns the batch format (one batch per call; a
//! TxnOffsetCommit's records in one transactional batch of its producer) and the replay walk.
//!
//! Replay applies records in offset order: records of a transactional batch are staged as
//! pending offsets of its producer; a transaction marker commits or drops that producer's
//! pending offsets; a record whose key or value this coordinator cannot read is logged and
//! skipped, as Kafka's loader skips unknown record types, so one bad record never keeps a
//! whole partition of groups offline.

use std::sync::Arc;

use bytes::Bytes;
use fjord_coordinator::{CoordinatorRecord, GroupCoordinator};
use tracing::warn;

use crate::coordinator_log::{self, Replayed, TxnProducer};
use crate::replica::{Partition, ReplicaError};

/// Encodes `records` as one v2 batch, transactional for `txn` (see
/// [`coordinator_log::encode_batch`]).
pub fn encode_batch(records: &[CoordinatorRecord], now_ms: i64, txn: Option<TxnProducer>) -> Bytes {
    let pairs: Vec<(Bytes, Option<Bytes>)> = records
        .iter()
        .map(|record| (record.key_bytes(), record.value_bytes()))
        .collect();
    coordinator_log::encode_batch(&pairs, now_ms, txn)
}

/// Rebuilds the state of one `__consumer_offsets` partition: every record from the log start
/// to the high watermark, applied in order to a fresh coordinator. Blocking (reads the log):
/// run on the blocking pool.
pub fn replay_partition(
    partition: &Arc<Partition>,
    coordinator: &mut GroupCoordinator,
    now_ms: i64,
) -> Result<u64, ReplicaError> {
    coordinator_log::replay_partition(partition, |event| match event {
        Replayed::Marker {
            producer_id,
            commit,
        } => {
            coordinator.complete_transaction(producer_id, commit, now_ms);
        }
        Replayed::Record {
            offset,
            key,
            value,
            txn_producer,
        } => match CoordinatorRecord::decode(key, value) {
            Ok(decoded) => match txn_producer {
                Some(producer_id) => coordinator.replay_txn(producer_id, &decoded, now_ms),
                None => coordinator.replay(&decoded, now_ms),
            },
            Err(e) => warn!(partition = %partition.topic_partition(), offset, error = %e,
                "skipping an unreadable __consumer_offsets record"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_coordinator::OffsetCommitValue;
    use fjord_protocol::batch::BatchHeader;
    use kafka_protocol::records::RecordBatchDecoder;

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
        let mut bytes = encode_batch(&records, 7, None);
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
        let bytes = encode_batch(&records, 7, Some(txn));
        let header = BatchHeader::parse(&bytes).expect("a batch header");
        assert!(header.is_transactional());
        assert!(!header.is_control());
        assert_eq!(header.producer_id, 4_000);
        assert_eq!(header.producer_epoch, 3);
        assert_eq!(
            header.base_sequence, -1,
            "the log's sequence checks skip it"
        );
        let plain = BatchHeader::parse(&encode_batch(&records, 7, None)).expect("a batch header");
        assert!(!plain.is_transactional());
        assert!(!plain.has_producer_id());
    }
}
