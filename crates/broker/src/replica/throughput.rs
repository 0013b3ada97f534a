//! Cumulative data-path counters: bytes and messages produced by clients (in) and fetched by
//! consumers (out; follower fetches are replication, not traffic). Relaxed atomics, bumped once
//! per partition per request, read by the console's `/metrics` and its live charts, which turn
//! two readings into rates.
//!
//! Messages out are counted from the fetched batches' headers (`fjord_protocol::batch`).

use std::sync::atomic::{AtomicU64, Ordering};

use fjord_protocol::batch::{BatchFrames, BatchHeader};

/// The counters; one per broker, in the [`super::ReplicaManager`].
#[derive(Debug, Default)]
pub struct Throughput {
    bytes_in: AtomicU64,
    messages_in: AtomicU64,
    bytes_out: AtomicU64,
    messages_out: AtomicU64,
}

/// One reading of the counters (totals since start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThroughputTotals {
    pub bytes_in: u64,
    pub messages_in: u64,
    pub bytes_out: u64,
    pub messages_out: u64,
}

impl Throughput {
    /// A produce appended `messages` records in `bytes` bytes of batches.
    pub fn record_in(&self, bytes: u64, messages: u64) {
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
        self.messages_in.fetch_add(messages, Ordering::Relaxed);
    }

    /// A consumer fetch returned these whole batches.
    pub fn record_out(&self, records: &[u8]) {
        if records.is_empty() {
            return;
        }
        self.bytes_out
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        self.messages_out
            .fetch_add(count_records(records), Ordering::Relaxed);
    }

    pub fn totals(&self) -> ThroughputTotals {
        ThroughputTotals {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            messages_in: self.messages_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
        }
    }
}

/// Sums the record counts of the whole batches in `records`; a partial batch at the end (a
/// fetch may cut the last one) counts nothing.
fn count_records(records: &[u8]) -> u64 {
    BatchFrames::new(records)
        .map_while(Result::ok)
        .filter_map(|frame| BatchHeader::parse(&records[frame]).ok())
        .map(|header| header.record_count.max(0) as u64)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fjord_protocol::testing::{encode_batch, TestRecord};
    use kafka_protocol::records::Compression;

    #[test]
    fn counts_records_of_whole_batches_only() {
        let one = encode_batch(
            (0..3).map(|i| TestRecord::value(vec![i as u8; 10], 0)),
            None,
            Compression::None,
        );
        let two = encode_batch([TestRecord::value("x", 0)], None, Compression::None);
        let mut both = one.to_vec();
        both.extend_from_slice(&two);
        assert_eq!(count_records(&both), 4);
        assert_eq!(count_records(&both[..both.len() - 1]), 3);
        let t = Throughput::default();
        t.record_out(&both);
        t.record_in(100, 7);
        let totals = t.totals();
        assert_eq!(totals.messages_out, 4);
        assert_eq!(totals.bytes_out, both.len() as u64);
        assert_eq!((totals.bytes_in, totals.messages_in), (100, 7));
    }
}
