//! Per-partition batches waiting to be sent.
//!
//! Each partition has at most one open batch (accepting records), a queue of sealed batches,
//! and a count of its batches in flight (up to `max.in.flight.requests.per.connection`). A
//! batch is sealed when it reaches `batch.size`, when it has waited `linger.ms`, or when a
//! flush or close wants everything out. Sequence numbers are assigned when a batch is first
//! sent (not when sealed), so a batch that fails for good while nothing later was sent can
//! hand its numbers to the next one: the broker never saw them.
//!
//! Ordering with several batches in flight: every batch gets a per-partition send order when
//! first sent; a batch coming back for a retry is put back among the ready batches by that
//! order, and a retried batch goes out again only when nothing of its partition is in flight,
//! so retries go out in their original order (the broker, checking sequences, rejects later
//! batches with OUT_OF_ORDER_SEQUENCE_NUMBER while an earlier one is missing; those come back
//! and are retried behind it).
//!
//! Epoch bump (KIP-360): when the broker has lost or refused our sequence state
//! (UNKNOWN_PRODUCER_ID, or an OUT_OF_ORDER_SEQUENCE_NUMBER no earlier retry explains), or
//! when a sent batch fails for good while later ones hold later sequence numbers, sending
//! stops until nothing is in flight; the sender then bumps the epoch and
//! [`Accumulator::reset_sequences`] renumbers every waiting batch from 0.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::sync::OwnedSemaphorePermit;

use super::{ProducerRecord, RecordMetadata};
use crate::cluster::TopicPartition;
use crate::error::ClientError;
use crate::partitioner;

/// Per-record overhead in a v2 batch beyond key, value and headers (length, attributes,
/// varint deltas), as a generous estimate for `batch.size` accounting.
const RECORD_OVERHEAD_BYTES: usize = 21;

/// Bytes a record takes in a batch before compression, roughly.
pub fn estimated_size(record: &ProducerRecord) -> usize {
    RECORD_OVERHEAD_BYTES
        + record.key.as_ref().map_or(0, |k| k.len())
        + record.value.as_ref().map_or(0, |v| v.len())
        + record
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()) + 4)
            .sum::<usize>()
}

/// A record accepted by `send`, waiting for its batch's answer.
pub(crate) struct PendingRecord {
    pub(crate) record: ProducerRecord,
    pub(crate) timestamp: i64,
    pub(crate) size: usize,
    pub(crate) tx: oneshot::Sender<Result<RecordMetadata, ClientError>>,
    /// Its share of `buffer.memory`, released when the record is resolved.
    #[allow(dead_code)]
    pub(crate) permit: OwnedSemaphorePermit,
}

/// Sequence number not yet assigned.
pub(crate) const UNASSIGNED: i32 = i32::MIN;

/// Records of one partition sent together.
pub(crate) struct ProducerBatch {
    pub(crate) tp: TopicPartition,
    pub(crate) records: Vec<PendingRecord>,
    pub(crate) size: usize,
    pub(crate) created: Instant,
    /// First record's sequence number (-1 without idempotence, [`UNASSIGNED`] before the
    /// first send).
    pub(crate) base_sequence: i32,
    pub(crate) attempts: u32,
    pub(crate) retry_after: Option<Instant>,
    /// Position in its partition's send order, from 1, given at the first send (0 before).
    pub(crate) send_order: u64,
}

impl ProducerBatch {
    /// Resolves every record with `result(index)`.
    pub(crate) fn resolve(
        self,
        mut result: impl FnMut(usize, &PendingRecord) -> Result<RecordMetadata, ClientError>,
    ) {
        for (i, record) in self.records.into_iter().enumerate() {
            let outcome = result(i, &record);
            let _ = record.tx.send(outcome);
        }
    }

    pub(crate) fn fail(self, err: ClientError) {
        self.resolve(|_, _| Err(err.clone()));
    }
}

#[derive(Default)]
struct PartitionQueue {
    open: Option<ProducerBatch>,
    ready: VecDeque<ProducerBatch>,
    in_flight: usize,
    next_sequence: i32,
    /// The send order the next first-time batch gets.
    next_send_order: u64,
}

/// All partitions' batches.
#[derive(Default)]
pub(crate) struct Accumulator {
    partitions: HashMap<TopicPartition, PartitionQueue>,
    /// topic -> the partition unkeyed records currently go to (KIP-480).
    sticky: HashMap<String, i32>,
    /// topic -> partition count seen at the last `append`, for choosing sticky partitions.
    topic_partitions: HashMap<String, usize>,
    pub(crate) closed: bool,
    /// Number of `flush` calls waiting; while positive, open batches are sealed at once.
    pub(crate) flushing: usize,
    producer: Option<(i64, i16)>,
    /// Set when the producer epoch must be bumped before anything more is sent.
    pub(crate) epoch_bump_needed: bool,
}

impl Accumulator {
    pub(crate) fn producer_id_and_epoch(&self) -> Option<(i64, i16)> {
        self.producer
    }

    pub(crate) fn set_producer(&mut self, producer_id: i64, producer_epoch: i16) {
        self.producer = Some((producer_id, producer_epoch));
    }

    /// The sticky partition for unkeyed records of `topic`.
    pub(crate) fn sticky_partition(&mut self, topic: &str, num_partitions: usize) -> i32 {
        match self.sticky.get(topic) {
            Some(p) if (*p as usize) < num_partitions => *p,
            _ => {
                let p = partitioner::next_sticky_partition(num_partitions, None);
                self.sticky.insert(topic.to_string(), p);
                p
            }
        }
    }

    /// Adds a record to `tp`'s open batch; returns whether that sealed the batch (so the
    /// sender should wake).
    pub(crate) fn append(
        &mut self,
        tp: TopicPartition,
        record: PendingRecord,
        batch_size: usize,
        num_partitions: usize,
    ) -> bool {
        self.topic_partitions
            .insert(tp.topic.clone(), num_partitions);
        let queue = self.partitions.entry(tp.clone()).or_default();
        let batch = queue.open.get_or_insert_with(|| ProducerBatch {
            tp: tp.clone(),
            records: Vec::new(),
            size: 0,
            created: Instant::now(),
            base_sequence: UNASSIGNED,
            attempts: 0,
            retry_after: None,
            send_order: 0,
        });
        batch.size += record.size;
        batch.records.push(record);
        if batch.size >= batch_size {
            self.seal(&tp, num_partitions);
            return true;
        }
        false
    }

    /// Moves `tp`'s open batch to its ready queue; moves the topic's sticky partition on if it
    /// pointed here.
    fn seal(&mut self, tp: &TopicPartition, num_partitions: usize) {
        let Some(queue) = self.partitions.get_mut(tp) else {
            return;
        };
        if let Some(batch) = queue.open.take() {
            queue.ready.push_back(batch);
        }
        if self.sticky.get(&tp.topic) == Some(&tp.partition) {
            let next = partitioner::next_sticky_partition(num_partitions, Some(tp.partition));
            self.sticky.insert(tp.topic.clone(), next);
        }
    }

    /// Seals what is due and takes the batches that can be sent now: the front batch of each
    /// partition with fewer than `max_in_flight` batches in flight (a retried batch only when
    /// none is) whose retry backoff has passed. Returns them and when the next batch becomes
    /// due. Nothing is taken while an epoch bump is pending.
    pub(crate) fn drain(
        &mut self,
        now: Instant,
        linger: Duration,
        idempotent: bool,
        max_in_flight: usize,
    ) -> (Vec<ProducerBatch>, Option<Instant>) {
        let everything = self.flushing > 0 || self.closed;
        let mut next_due: Option<Instant> = None;
        let mut to_seal = Vec::new();
        for (tp, queue) in &self.partitions {
            if let Some(open) = &queue.open {
                let due = open.created + linger;
                if everything || due <= now {
                    to_seal.push(tp.clone());
                } else {
                    next_due = Some(next_due.map_or(due, |d| d.min(due)));
                }
            }
        }
        for tp in to_seal {
            let partitions = self.topic_partitions.get(&tp.topic).copied().unwrap_or(1);
            self.seal(&tp, partitions);
        }
        let mut out = Vec::new();
        if self.epoch_bump_needed {
            return (out, next_due);
        }
        for queue in self.partitions.values_mut() {
            if queue.in_flight >= max_in_flight {
                continue;
            }
            let Some(front) = queue.ready.front() else {
                continue;
            };
            if front.send_order != 0 && queue.in_flight > 0 {
                // A retry waits for the partition's other batches to come back.
                continue;
            }
            if let Some(at) = front.retry_after.filter(|at| *at > now) {
                next_due = Some(next_due.map_or(at, |d| d.min(at)));
                continue;
            }
            let Some(mut batch) = queue.ready.pop_front() else {
                continue;
            };
            if batch.base_sequence == UNASSIGNED {
                batch.base_sequence = if idempotent {
                    let base = queue.next_sequence;
                    // Sequence numbers wrap to 0 after i32::MAX, as in Java.
                    queue.next_sequence = wrap_add(base, batch.records.len());
                    base
                } else {
                    -1
                };
            }
            if batch.send_order == 0 {
                queue.next_send_order += 1;
                batch.send_order = queue.next_send_order;
            }
            queue.in_flight += 1;
            out.push(batch);
        }
        (out, next_due)
    }

    /// A batch's answer arrived (or it failed for good): the partition may send again.
    /// `release_sequence` hands a failed batch's sequence numbers back; when later batches of
    /// the partition already hold later numbers that is impossible, and the epoch is bumped
    /// instead (the broker would otherwise wait for the missing numbers forever).
    pub(crate) fn complete(&mut self, tp: &TopicPartition, release_sequence: Option<i32>) {
        if let Some(queue) = self.partitions.get_mut(tp) {
            queue.in_flight = queue.in_flight.saturating_sub(1);
            if let Some(base) = release_sequence {
                let later_numbered =
                    queue.in_flight > 0 || queue.ready.iter().any(|b| b.base_sequence >= 0);
                if later_numbered {
                    self.epoch_bump_needed = true;
                } else {
                    queue.next_sequence = base;
                }
            }
            // The queue stays even when empty: it holds the partition's next sequence number,
            // and starting again at 0 would make the broker take new records for duplicates.
        }
    }

    /// Puts a batch that failed with a retriable error back among its partition's ready
    /// batches, before every batch sent after it and every batch not sent yet.
    pub(crate) fn requeue(&mut self, batch: ProducerBatch) {
        let queue = self.partitions.entry(batch.tp.clone()).or_default();
        queue.in_flight = queue.in_flight.saturating_sub(1);
        let at = queue
            .ready
            .iter()
            .position(|b| b.send_order == 0 || b.send_order > batch.send_order)
            .unwrap_or(queue.ready.len());
        queue.ready.insert(at, batch);
    }

    /// Whether a batch of `tp` sent before `send_order` is waiting to be retried: then an
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for the later batch is expected, not a lost state.
    pub(crate) fn earlier_retry_pending(&self, tp: &TopicPartition, send_order: u64) -> bool {
        self.partitions.get(tp).is_some_and(|q| {
            q.ready
                .iter()
                .any(|b| b.send_order != 0 && b.send_order < send_order)
        })
    }

    /// Batches in flight over all partitions.
    pub(crate) fn in_flight(&self) -> usize {
        self.partitions.values().map(|q| q.in_flight).sum()
    }

    /// After an epoch bump: every partition counts sequences from 0 again and every waiting
    /// batch gets new numbers when next sent (in its send order, which is kept).
    pub(crate) fn reset_sequences(&mut self) {
        for queue in self.partitions.values_mut() {
            queue.next_sequence = 0;
            for batch in &mut queue.ready {
                batch.base_sequence = UNASSIGNED;
            }
            if let Some(open) = &mut queue.open {
                open.base_sequence = UNASSIGNED;
            }
        }
        self.epoch_bump_needed = false;
    }

    /// Whether nothing is buffered or in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.partitions
            .values()
            .all(|q| q.open.is_none() && q.ready.is_empty() && q.in_flight == 0)
    }
}

/// `base + n` in Kafka's sequence space (wrapping to 0 after `i32::MAX`).
pub(crate) fn wrap_add(base: i32, n: usize) -> i32 {
    ((i64::from(base) + n as i64) % (i64::from(i32::MAX) + 1)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn pending(
        size: usize,
    ) -> (
        PendingRecord,
        oneshot::Receiver<Result<RecordMetadata, ClientError>>,
    ) {
        let (tx, rx) = oneshot::channel();
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        (
            PendingRecord {
                record: ProducerRecord::new("t", "v"),
                timestamp: 0,
                size,
                tx,
                permit,
            },
            rx,
        )
    }

    #[test]
    fn full_batches_seal_and_one_batch_per_partition_is_in_flight() {
        let mut acc = Accumulator::default();
        let tp = TopicPartition::new("t", 0);
        assert!(!acc.append(tp.clone(), pending(10).0, 25, 1));
        assert!(!acc.append(tp.clone(), pending(10).0, 25, 1));
        assert!(acc.append(tp.clone(), pending(10).0, 25, 1));
        acc.append(tp.clone(), pending(30).0, 25, 1);
        let now = Instant::now();
        let (batches, _) = acc.drain(now, Duration::from_secs(60), true, 1);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].records.len(), 3);
        assert_eq!(batches[0].base_sequence, 0);
        // The second batch waits for the first.
        assert!(acc
            .drain(now, Duration::from_secs(60), true, 1)
            .0
            .is_empty());
        acc.complete(&tp, None);
        let (batches, _) = acc.drain(now, Duration::from_secs(60), true, 1);
        assert_eq!(batches[0].base_sequence, 3);
        // A batch failing for good gives its sequence numbers back.
        acc.complete(&tp, Some(batches[0].base_sequence));
        assert!(acc.is_empty());
        // An idle partition keeps counting where it left off.
        acc.append(tp.clone(), pending(30).0, 25, 1);
        let (batches, _) = acc.drain(now, Duration::from_secs(60), true, 1);
        assert_eq!(batches[0].base_sequence, 3);
    }

    #[test]
    fn linger_and_flush_seal_open_batches() {
        let mut acc = Accumulator::default();
        let tp = TopicPartition::new("t", 0);
        acc.append(tp.clone(), pending(1).0, 1000, 1);
        let now = Instant::now();
        let (batches, due) = acc.drain(now, Duration::from_secs(60), false, 1);
        assert!(batches.is_empty());
        assert!(due.is_some());
        acc.flushing = 1;
        let (batches, _) = acc.drain(now, Duration::from_secs(60), false, 1);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].base_sequence, -1);
    }

    #[test]
    fn retries_go_to_the_front_and_wait_their_backoff() {
        let mut acc = Accumulator::default();
        let tp = TopicPartition::new("t", 0);
        acc.append(tp.clone(), pending(5).0, 5, 1);
        acc.append(tp.clone(), pending(5).0, 5, 1);
        let now = Instant::now();
        let (mut first, _) = acc.drain(now, Duration::ZERO, true, 1);
        let mut batch = first.pop().unwrap();
        assert_eq!(batch.base_sequence, 0);
        batch.retry_after = Some(now + Duration::from_millis(100));
        acc.requeue(batch);
        let (none, due) = acc.drain(now, Duration::ZERO, true, 1);
        assert!(none.is_empty());
        assert_eq!(due, Some(now + Duration::from_millis(100)));
        let (again, _) = acc.drain(now + Duration::from_millis(100), Duration::ZERO, true, 1);
        assert_eq!(again[0].base_sequence, 0, "the retry keeps its sequence");
    }

    #[test]
    fn up_to_max_in_flight_batches_per_partition_and_retries_keep_their_order() {
        let mut acc = Accumulator::default();
        let tp = TopicPartition::new("t", 0);
        for _ in 0..7 {
            acc.append(tp.clone(), pending(5).0, 5, 1);
        }
        let now = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..7 {
            sent.extend(acc.drain(now, Duration::ZERO, true, 5).0);
        }
        assert_eq!(sent.len(), 5, "five in flight, two waiting");
        let seqs: Vec<i32> = sent.iter().map(|b| b.base_sequence).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3, 4]);
        // The first two fail retriably, answered in order: they go back in send order,
        // ahead of the never-sent batches.
        let mut sent = sent.into_iter();
        let (first, second) = (sent.next().unwrap(), sent.next().unwrap());
        acc.requeue(first);
        assert!(acc.earlier_retry_pending(&tp, second.send_order));
        acc.requeue(second);
        // A retry waits while later batches are still in flight.
        assert!(acc.drain(now, Duration::ZERO, true, 5).0.is_empty());
        for later in sent {
            acc.requeue(later);
        }
        let mut order = Vec::new();
        loop {
            let (batches, _) = acc.drain(now, Duration::ZERO, true, 5);
            let Some(batch) = batches.into_iter().next() else {
                break;
            };
            order.push(batch.base_sequence);
            acc.complete(&tp, None);
        }
        assert_eq!(order, vec![0, 1, 2, 3, 4, 5, 6]);
        assert!(acc.is_empty());
    }

    #[test]
    fn a_failed_batch_with_later_numbers_in_flight_asks_for_an_epoch_bump() {
        let mut acc = Accumulator::default();
        let tp = TopicPartition::new("t", 0);
        for _ in 0..3 {
            acc.append(tp.clone(), pending(5).0, 5, 1);
        }
        let now = Instant::now();
        let (first, _) = acc.drain(now, Duration::ZERO, true, 5);
        let (second, _) = acc.drain(now, Duration::ZERO, true, 5);
        acc.complete(&tp, Some(first[0].base_sequence));
        assert!(acc.epoch_bump_needed);
        assert!(acc.drain(now, Duration::ZERO, true, 5).0.is_empty());
        acc.requeue(second.into_iter().next().unwrap());
        assert_eq!(acc.in_flight(), 0);
        acc.reset_sequences();
        let (again, _) = acc.drain(now, Duration::ZERO, true, 5);
        assert_eq!(
            again[0].base_sequence, 0,
            "renumbered from 0 under the new epoch"
        );
        assert_eq!(again[0].send_order, 2, "and it keeps its place");
    }

    #[test]
    fn sequences_wrap_like_java() {
        assert_eq!(wrap_add(i32::MAX, 1), 0);
        assert_eq!(wrap_add(i32::MAX - 1, 3), 1);
        assert_eq!(wrap_add(5, 2), 7);
    }
}
