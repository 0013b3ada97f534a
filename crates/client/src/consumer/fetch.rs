//! Fetch requests and the records in their answers.
//!
//! A partition's `records` in a Fetch answer are whole v2 record batches, possibly followed by
//! a truncated one (the broker cuts at `max_bytes`); the truncated tail is ignored and fetched
//! again next time. Each batch starts with a fixed 61-byte header:
//!
//! ```text
//! base_offset:i64 | batch_length:i32 | partition_leader_epoch:i32 | magic:i8 (2) | crc:u32
//! | attributes:i16 | last_offset_delta:i32 | base_timestamp:i64 | max_timestamp:i64
//! | producer_id:i64 | producer_epoch:i16 | base_sequence:i32 | record_count:i32 | records...
//! ```
//!
//! Attributes bits 0-2 are the compression codec (the codec crate decompresses), bit 3 the
//! timestamp type, bit 4 transactional, bit 5 control. Control batches (transaction markers)
//! take offsets but are never delivered. Under `read_committed`, batches of a producer inside
//! an aborted transaction (from the answer's aborted-transaction list, which says where each
//! aborted transaction starts; its abort marker says where it ends) are skipped too.

use std::collections::{BTreeMap, HashSet};

use bytes::{Buf, Bytes};
use kafka_protocol::messages::fetch_response::AbortedTransaction;
use kafka_protocol::records::TimestampType;

use crate::cluster::TopicPartition;
use crate::error::{codec_source, ClientError};
use crate::records::{self, BATCH_HEADER_BYTES, LOG_OVERHEAD_BYTES};

const ATTR_TRANSACTIONAL: i16 = 1 << 4;
const ATTR_CONTROL: i16 = 1 << 5;

/// One record handed to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub leader_epoch: i32,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Headers in batch order, a key given twice kept twice (as Kafka's `RecordHeaders`).
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// The records of one partition's answer at or after `fetch_offset`, and the offset to fetch
/// next (after the last complete batch, delivered or skipped).
pub(crate) fn parse_records(
    tp: &TopicPartition,
    mut data: Bytes,
    fetch_offset: i64,
    read_committed: bool,
    aborted: &[AbortedTransaction],
) -> Result<(Vec<ConsumerRecord>, i64), ClientError> {
    let mut records = Vec::new();
    let mut next_offset = fetch_offset;
    // Aborted transactions not yet started, by first offset; and producers inside one.
    let mut pending_aborts: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for a in aborted {
        pending_aborts
            .entry(a.first_offset)
            .or_default()
            .push(a.producer_id.0);
    }
    let mut aborting: HashSet<i64> = HashSet::new();
    while data.len() >= LOG_OVERHEAD_BYTES {
        let batch_length = (&data[8..12]).get_i32();
        if batch_length < (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i32 {
            return Err(ClientError::decode(
                format!("record batch of {tp}"),
                codec_source(format!("batch length {batch_length} below the header size")),
            ));
        }
        let total = LOG_OVERHEAD_BYTES + batch_length as usize;
        if data.len() < total {
            // A batch cut at max_bytes: fetched again from its start next time.
            break;
        }
        let batch = data.split_to(total);
        let header = &batch[..BATCH_HEADER_BYTES];
        let base_offset = (&header[0..8]).get_i64();
        let leader_epoch = (&header[12..16]).get_i32();
        let magic = header[16] as i8;
        if magic != 2 {
            return Err(ClientError::decode(
                format!("record batch of {tp} at offset {base_offset}"),
                codec_source(format!("magic {magic} (only v2 batches are supported)")),
            ));
        }
        let attributes = (&header[21..23]).get_i16();
        let last_offset = base_offset + i64::from((&header[23..27]).get_i32());
        let producer_id = (&header[43..51]).get_i64();
        next_offset = next_offset.max(last_offset + 1);
        if last_offset < fetch_offset {
            continue;
        }
        if read_committed {
            let started: Vec<i64> = pending_aborts
                .range(..=last_offset)
                .map(|(k, _)| *k)
                .collect();
            for first in started {
                if let Some(pids) = pending_aborts.remove(&first) {
                    aborting.extend(pids);
                }
            }
        }
        if attributes & ATTR_CONTROL != 0 {
            // The marker ends the producer's transaction.
            aborting.remove(&producer_id);
            continue;
        }
        if read_committed && attributes & ATTR_TRANSACTIONAL != 0 && aborting.contains(&producer_id)
        {
            continue;
        }
        let decoded = records::decode_batch(batch).map_err(|e| {
            ClientError::decode(
                format!("record batch of {tp} at offset {base_offset}"),
                codec_source(e),
            )
        })?;
        for record in decoded {
            if record.offset < fetch_offset {
                continue;
            }
            records.push(ConsumerRecord {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset: record.offset,
                timestamp: record.timestamp,
                timestamp_type: record.timestamp_type,
                leader_epoch,
                key: record.key,
                value: record.value,
                headers: record.headers,
            });
        }
    }
    Ok((records, next_offset))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use indexmap::IndexMap;
    use kafka_protocol::messages::ProducerId;
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};

    fn batch(
        base: i64,
        n: usize,
        pid: i64,
        transactional: bool,
        control: bool,
        c: Compression,
    ) -> Bytes {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional,
                control,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: pid,
                producer_epoch: 0,
                timestamp_type: TimestampType::Creation,
                offset: base + i as i64,
                sequence: i as i32,
                timestamp: 1000 + i as i64,
                key: Some(Bytes::from(format!("k{}", base + i as i64))),
                value: Some(Bytes::from(format!("v{}", base + i as i64))),
                headers: IndexMap::new(),
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
        buf.freeze()
    }

    fn tp() -> TopicPartition {
        TopicPartition::new("t", 0)
    }

    #[test]
    fn skips_records_before_the_fetch_offset_and_a_truncated_tail() {
        let mut data = BytesMut::new();
        data.extend_from_slice(&batch(0, 5, -1, false, false, Compression::Lz4));
        let second = batch(5, 5, -1, false, false, Compression::None);
        data.extend_from_slice(&second[..second.len() - 3]);
        let (records, next) = parse_records(&tp(), data.freeze(), 2, false, &[]).unwrap();
        assert_eq!(
            records.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
        assert_eq!(next, 5);
        assert_eq!(records[0].key.as_deref(), Some(&b"k2"[..]));
    }

    #[test]
    fn control_batches_and_aborted_transactions_are_skipped_under_read_committed() {
        let mut data = BytesMut::new();
        data.extend_from_slice(&batch(0, 2, 7, true, false, Compression::None));
        data.extend_from_slice(&batch(2, 1, 7, true, true, Compression::None));
        data.extend_from_slice(&batch(3, 2, 8, true, false, Compression::Gzip));
        data.extend_from_slice(&batch(5, 1, 8, true, true, Compression::None));
        let data = data.freeze();
        let aborted = vec![AbortedTransaction::default()
            .with_producer_id(ProducerId(7))
            .with_first_offset(0)];
        let (committed, next) = parse_records(&tp(), data.clone(), 0, true, &aborted).unwrap();
        assert_eq!(
            committed.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert_eq!(next, 6);
        let (all, _) = parse_records(&tp(), data, 0, false, &aborted).unwrap();
        assert_eq!(
            all.iter().map(|r| r.offset).collect::<Vec<_>>(),
            vec![0, 1, 3, 4]
        );
    }
}
