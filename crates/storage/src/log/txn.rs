//! Transactions on a partition log: writing end-transaction markers, the first unstable
//! offset that bounds the last stable offset, the aborted-transaction index Fetch reads, and
//! replaying markers when producer state is rebuilt (open, truncation).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use fjord_protocol::batch;

use super::{AppendInfo, PartitionLog};
use crate::config::LogConfig;
use crate::error::LogError;
use crate::producer_state::ProducerStateManager;
use crate::scan::Located;
use crate::segment::{now_ms, Segment};
use crate::transaction::index::TxnIndex;
use crate::transaction::{AbortedTxn, CompletedTxn, TxnMarker};

/// `first_unstable_offset` value when no transaction is ongoing.
pub(super) const NO_UNSTABLE_OFFSET: i64 = i64::MAX;

impl PartitionLog {
    /// Appends the end-transaction marker `marker` for (`producer_id`, `producer_epoch`) as a
    /// control batch written by the leader at `leader_epoch` (Kafka `appendAsLeader` with
    /// origin COORDINATOR). The producer's ongoing transaction closes; an abort is added to
    /// the aborted-transaction index. Refused with INVALID_PRODUCER_EPOCH for an older producer
    /// epoch and TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch. A marker for a
    /// producer with no ongoing transaction (the coordinator resends markers after a restart)
    /// is written again and closes nothing, as in Kafka.
    pub fn append_control_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        marker: TxnMarker,
        leader_epoch: i32,
    ) -> Result<AppendInfo, LogError> {
        let config = self.config();
        let mut writer = self.writer.lock();
        self.check_writable()?;
        writer
            .producers
            .check_marker(producer_id, producer_epoch, &marker)?;
        let offset = self.log_end_offset();
        let encoded = marker.encode_batch(producer_id, producer_epoch, now_ms(), offset);
        let mut buf = BytesMut::from(&encoded[..]);
        batch::set_partition_leader_epoch(&mut buf, leader_epoch);
        let header = batch::validate(&buf)?;
        let located = [Located {
            position: 0,
            header,
        }];
        let info = self.write_batches(&mut writer, &config, &[&buf[..]], &located)?;
        let completed = writer.producers.apply(&header, Some(&marker));
        self.record_completed(&writer.producers, completed)?;
        self.publish_first_unstable(&writer.producers);
        self.assign_epoch(leader_epoch, info.first_offset)?;
        self.after_append(&mut writer, &config, 1)?;
        Ok(info)
    }

    /// The first offset of the oldest ongoing transaction, `None` when there is none. The
    /// broker's last stable offset is `min(this, high watermark)`.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        match self.first_unstable_offset.load(Ordering::Acquire) {
            NO_UNSTABLE_OFFSET => None,
            offset => Some(offset),
        }
    }

    /// Aborted transactions with records in `[start_offset, upper_bound_offset)`, for a
    /// `read_committed` Fetch (the consumer drops their records).
    pub fn aborted_transactions(
        &self,
        start_offset: i64,
        upper_bound_offset: i64,
    ) -> Vec<AbortedTxn> {
        self.aborted_txns
            .read()
            .collect(start_offset, upper_bound_offset)
    }

    /// Publishes the first unstable offset of `producers` for readers.
    pub(super) fn publish_first_unstable(&self, producers: &ProducerStateManager) {
        self.first_unstable_offset.store(
            producers
                .first_unstable_offset()
                .unwrap_or(NO_UNSTABLE_OFFSET),
            Ordering::Release,
        );
    }

    /// Indexes a completed transaction when it was aborted (producer state already applied).
    pub(super) fn record_completed(
        &self,
        producers: &ProducerStateManager,
        completed: Option<CompletedTxn>,
    ) -> Result<(), LogError> {
        let Some(txn) = completed.filter(|t| t.is_aborted) else {
            return Ok(());
        };
        let entry = producers.aborted_entry(&txn);
        let segments = self.segments.load();
        let holder = segments
            .partition_point(|s| s.base_offset <= txn.last_offset)
            .saturating_sub(1);
        let base = segments[holder].base_offset;
        self.aborted_txns
            .write()
            .append(base, entry)
            .map_err(|e| self.poison(e))
    }
}

/// Replays the batches from offset `from` on into `producers`, indexing aborted transactions
/// that `index` does not hold yet (their entries may not have reached the file before a crash).
pub(super) fn replay(
    segments: &[Arc<Segment>],
    from: i64,
    config: &LogConfig,
    producers: &mut ProducerStateManager,
    index: &mut TxnIndex,
) -> Result<(), LogError> {
    for (i, segment) in segments.iter().enumerate() {
        if segments
            .get(i + 1)
            .is_some_and(|next| next.base_offset <= from)
        {
            continue;
        }
        let mut aborted = Vec::new();
        segment.for_each_header_with_control(from, config, |h, bytes| {
            let marker = bytes.and_then(|b| TxnMarker::from_batch(h, b));
            if let Some(txn) = producers.apply(h, marker.as_ref()) {
                if txn.is_aborted {
                    aborted.push(producers.aborted_entry(&txn));
                }
            }
        })?;
        for entry in aborted {
            index.append(segment.base_offset, entry)?;
        }
    }
    Ok(())
}
