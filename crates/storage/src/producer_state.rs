//! Idempotent-producer state of one partition: for each producer id, its epoch and the
//! metadata of its last 5 batches, used to drop retried duplicates and to refuse gaps in
//! sequence numbers, following Kafka's `ProducerStateManager` / `ProducerAppendInfo` rules:
//!
//! * same epoch, and a batch with the same first/last sequence among the last 5 → duplicate,
//!   answered with the original offsets, nothing written;
//! * epoch lower than the known one → INVALID_PRODUCER_EPOCH;
//! * a new, higher epoch must start at sequence 0, unless the producer had no epoch yet;
//! * same epoch: the first sequence must be last_sequence + 1 (wrapping at `i32::MAX`);
//! * an unknown producer id starts being tracked at whatever sequence it sends (its earlier
//!   batches may have been removed by retention or DeleteRecords), as Kafka 2.x+ does.
//!
//! Transactions (KIP-98): a transactional data batch opens an ongoing transaction at its first
//! offset unless one is open; an end-transaction marker (see [`crate::transaction::marker`])
//! closes it and records the coordinator epoch. A non-transactional batch from a producer
//! whose transaction is open is refused (INVALID_TXN_STATE), as in Kafka. A marker from an older producer epoch is
//! refused (INVALID_PRODUCER_EPOCH), one from an older coordinator epoch too
//! (TRANSACTION_COORDINATOR_FENCED). A repeated marker for a closed transaction is applied
//! again harmlessly, as in Kafka: it closes nothing.
//!
//! Snapshot file `<next_offset:020>.snapshot` (fjord's own format; big-endian):
//! ```text
//! magic "FJPS" | version: i16 (2) | crc32c of everything after this field: u32 | count: i32
//! count × ( producer_id: i64 | producer_epoch: i16
//!           coordinator_epoch: i32 | current_txn_first_offset: i64 (-1: none)   [version 2 only]
//!           batch_count: u8
//!           batch_count × ( first_sequence: i32 | last_sequence: i32
//!                           first_offset: i64 | last_offset: i64 | max_timestamp: i64 ) )
//! ```
//! Version 1 files (no transaction fields) are still read.
//! The offset in the name is the log end offset the state corresponds to: replaying batch
//! headers from that offset on reproduces the current state.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use fjord_protocol::batch::BatchHeader;

use crate::crashsafe::write_atomically;
use crate::error::LogError;
use crate::segment::file_name;
use crate::transaction::{AbortedTxn, CompletedTxn, TxnMarker};

/// Kafka keeps the metadata of this many batches per producer for duplicate detection.
pub const NUM_BATCHES_TO_RETAIN: usize = 5;
const NO_PRODUCER_EPOCH: i16 = -1;
const SNAPSHOT_MAGIC: &[u8; 4] = b"FJPS";
const SNAPSHOT_VERSION: i16 = 2;
const NO_COORDINATOR_EPOCH: i32 = -1;

/// What is remembered of one appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
}

/// State of one producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    pub producer_epoch: i16,
    pub batches: VecDeque<BatchMetadata>,
    /// Coordinator epoch of the last marker written for this producer (-1: none yet).
    pub coordinator_epoch: i32,
    /// First offset of the producer's ongoing transaction on this partition.
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn last_sequence(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_sequence)
    }

    fn last_offset(&self) -> Option<i64> {
        self.batches.back().map(|b| b.last_offset)
    }

    fn empty() -> ProducerEntry {
        ProducerEntry {
            producer_epoch: NO_PRODUCER_EPOCH,
            batches: VecDeque::new(),
            coordinator_epoch: NO_COORDINATOR_EPOCH,
            current_txn_first_offset: None,
        }
    }
}

/// Result of checking a batch against the producer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Accept,
    /// Already appended: these were its offsets.
    Duplicate(BatchMetadata),
}

fn in_sequence(last_sequence: i32, next_sequence: i32) -> bool {
    i64::from(next_sequence) == i64::from(last_sequence) + 1
        || (next_sequence == 0 && last_sequence == i32::MAX)
}

/// All producers of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStateManager {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.producers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    pub fn entry(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> {
        self.producers.iter().map(|(id, entry)| (*id, entry))
    }

    /// Validates a batch a producer sent. `pending` holds the state updates of earlier batches
    /// of the same append call, so that a multi-batch append is checked as a whole.
    pub(crate) fn check(
        &self,
        header: &BatchHeader,
        pending: &HashMap<i64, ProducerEntry>,
    ) -> Result<SequenceCheck, LogError> {
        if !header.has_producer_id() {
            return Ok(SequenceCheck::Accept);
        }
        let producer_id = header.producer_id;
        let Some(current) = pending
            .get(&producer_id)
            .or_else(|| self.producers.get(&producer_id))
        else {
            return Ok(SequenceCheck::Accept);
        };
        if header.producer_epoch < current.producer_epoch {
            return Err(LogError::InvalidProducerEpoch {
                producer_id,
                epoch: header.producer_epoch,
                current_epoch: current.producer_epoch,
            });
        }
        if header.is_control() || header.base_sequence < 0 {
            return Ok(SequenceCheck::Accept);
        }
        // Kafka refuses a plain batch while the producer's transaction is open here.
        if !header.is_transactional()
            && header.producer_epoch == current.producer_epoch
            && current.current_txn_first_offset.is_some()
        {
            return Err(LogError::InvalidTxnState { producer_id });
        }
        if header.producer_epoch == current.producer_epoch {
            if let Some(dup) = current.batches.iter().find(|b| {
                b.first_sequence == header.base_sequence
                    && b.last_sequence == header.last_sequence()
            }) {
                return Ok(SequenceCheck::Duplicate(*dup));
            }
            match current.last_sequence() {
                // Known epoch but no batches (only markers so far): any sequence starts it.
                None => Ok(SequenceCheck::Accept),
                Some(last) if in_sequence(last, header.base_sequence) => Ok(SequenceCheck::Accept),
                Some(last) => Err(LogError::OutOfOrderSequence {
                    producer_id,
                    expected_sequence: last.wrapping_add(1).max(0),
                    sequence: header.base_sequence,
                }),
            }
        } else if header.base_sequence != 0 && current.producer_epoch != NO_PRODUCER_EPOCH {
            Err(LogError::OutOfOrderSequence {
                producer_id,
                expected_sequence: 0,
                sequence: header.base_sequence,
            })
        } else {
            Ok(SequenceCheck::Accept)
        }
    }

    /// The entry `header` (appended at its final offsets) leads to, given the state in
    /// `pending` or the manager. Never fails: replay and followers apply what the log holds.
    pub(crate) fn updated_entry(
        &self,
        header: &BatchHeader,
        pending: &HashMap<i64, ProducerEntry>,
    ) -> Option<ProducerEntry> {
        if !header.has_producer_id() {
            return None;
        }
        let mut entry = pending
            .get(&header.producer_id)
            .or_else(|| self.producers.get(&header.producer_id))
            .cloned()
            .unwrap_or_else(ProducerEntry::empty);
        if header.producer_epoch != entry.producer_epoch {
            entry.producer_epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if header.is_transactional()
            && !header.is_control()
            && entry.current_txn_first_offset.is_none()
        {
            entry.current_txn_first_offset = Some(header.base_offset);
        }
        if !header.is_control() && header.base_sequence >= 0 {
            entry.batches.push_back(BatchMetadata {
                first_sequence: header.base_sequence,
                last_sequence: header.last_sequence(),
                first_offset: header.base_offset,
                last_offset: header.last_offset(),
                max_timestamp: header.max_timestamp,
            });
            while entry.batches.len() > NUM_BATCHES_TO_RETAIN {
                entry.batches.pop_front();
            }
        }
        Some(entry)
    }

    /// Applies a batch as stored in the log (replay, followers); `marker` is the batch's
    /// end-transaction marker when it is one. Returns the transaction a marker closed.
    pub(crate) fn apply(
        &mut self,
        header: &BatchHeader,
        marker: Option<&TxnMarker>,
    ) -> Option<CompletedTxn> {
        if let (true, Some(marker)) = (header.is_control(), marker) {
            return self.complete_txn(header, marker);
        }
        let none = HashMap::new();
        if let Some(entry) = self.updated_entry(header, &none) {
            self.producers.insert(header.producer_id, entry);
        }
        None
    }

    /// Checks a marker the coordinator asks to write (Kafka `appendEndTxnMarker`'s checks).
    pub(crate) fn check_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        marker: &TxnMarker,
    ) -> Result<(), LogError> {
        let Some(current) = self.producers.get(&producer_id) else {
            return Ok(());
        };
        if producer_epoch < current.producer_epoch {
            return Err(LogError::InvalidProducerEpoch {
                producer_id,
                epoch: producer_epoch,
                current_epoch: current.producer_epoch,
            });
        }
        if marker.coordinator_epoch < current.coordinator_epoch {
            return Err(LogError::TransactionCoordinatorFenced {
                producer_id,
                coordinator_epoch: marker.coordinator_epoch,
                current_coordinator_epoch: current.coordinator_epoch,
            });
        }
        Ok(())
    }

    /// Applies a marker batch stored at `header.base_offset`: the producer's ongoing
    /// transaction, if any, is closed and returned.
    fn complete_txn(&mut self, header: &BatchHeader, marker: &TxnMarker) -> Option<CompletedTxn> {
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(ProducerEntry::empty);
        if header.producer_epoch != entry.producer_epoch {
            entry.producer_epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.coordinator_epoch = marker.coordinator_epoch;
        let first_offset = entry.current_txn_first_offset.take()?;
        Some(CompletedTxn {
            producer_id: header.producer_id,
            first_offset,
            last_offset: header.base_offset,
            is_aborted: marker.control_type == crate::transaction::ControlRecordType::Abort,
        })
    }

    /// The first offset of the oldest ongoing transaction: the last stable offset can not pass
    /// it.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.producers
            .values()
            .filter_map(|e| e.current_txn_first_offset)
            .min()
    }

    /// The index entry of an aborted transaction just completed (applied already): its last
    /// stable offset is where the LSO stands after it (Kafka `lastStableOffset(completedTxn)`).
    pub(crate) fn aborted_entry(&self, txn: &CompletedTxn) -> AbortedTxn {
        AbortedTxn {
            producer_id: txn.producer_id,
            first_offset: txn.first_offset,
            last_offset: txn.last_offset,
            last_stable_offset: self.first_unstable_offset().unwrap_or(txn.last_offset + 1),
        }
    }

    pub(crate) fn commit(&mut self, pending: HashMap<i64, ProducerEntry>) {
        self.producers.extend(pending);
    }

    /// Forgets producers whose last batch is below the new log start offset (Kafka
    /// `truncateHead`): their batches are gone, so their next batch is accepted as from a new
    /// producer.
    pub(crate) fn truncate_head(&mut self, log_start_offset: i64) {
        self.producers
            .retain(|_, e| e.last_offset().is_none_or(|last| last >= log_start_offset));
    }

    pub(crate) fn clear(&mut self) {
        self.producers.clear();
    }

    /// Each producer's last batch's last offset: the batches the cleaner must not remove.
    /// Per producer: the last offset of its last data batch (if any) and its epoch — what
    /// the cleaner must keep so producer state survives compaction (Kafka's
    /// `lastRecordsOfActiveProducers`).
    pub(crate) fn last_records(&self) -> HashMap<i64, (Option<i64>, i16)> {
        self.producers
            .iter()
            .map(|(&id, e)| (id, (e.last_offset(), e.producer_epoch)))
            .collect()
    }

    fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut ids: Vec<_> = self.producers.keys().copied().collect();
        ids.sort_unstable();
        body.extend_from_slice(&(ids.len() as i32).to_be_bytes());
        for id in ids {
            let e = &self.producers[&id];
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&e.producer_epoch.to_be_bytes());
            body.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            body.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
            body.push(e.batches.len() as u8);
            for b in &e.batches {
                body.extend_from_slice(&b.first_sequence.to_be_bytes());
                body.extend_from_slice(&b.last_sequence.to_be_bytes());
                body.extend_from_slice(&b.first_offset.to_be_bytes());
                body.extend_from_slice(&b.last_offset.to_be_bytes());
                body.extend_from_slice(&b.max_timestamp.to_be_bytes());
            }
        }
        let mut out = Vec::with_capacity(body.len() + 10);
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn decode(raw: &[u8]) -> Result<Self, String> {
        struct Reader<'a>(&'a [u8]);
        impl Reader<'_> {
            fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
                if self.0.len() < N {
                    return Err("truncated".to_string());
                }
                let (head, rest) = self.0.split_at(N);
                self.0 = rest;
                Ok(head.try_into().expect("length checked"))
            }
        }
        let mut r = Reader(raw);
        if &r.take::<4>()? != SNAPSHOT_MAGIC {
            return Err("bad magic".to_string());
        }
        let version = i16::from_be_bytes(r.take()?);
        if !(1..=SNAPSHOT_VERSION).contains(&version) {
            return Err(format!("unsupported version {version}"));
        }
        let crc = u32::from_be_bytes(r.take()?);
        if crc32c::crc32c(r.0) != crc {
            return Err("crc mismatch".to_string());
        }
        let count = i32::from_be_bytes(r.take()?);
        let mut producers = HashMap::new();
        for _ in 0..count.max(0) {
            let producer_id = i64::from_be_bytes(r.take()?);
            let producer_epoch = i16::from_be_bytes(r.take()?);
            let (coordinator_epoch, current_txn_first_offset) = if version >= 2 {
                let coordinator_epoch = i32::from_be_bytes(r.take()?);
                let first = i64::from_be_bytes(r.take()?);
                (coordinator_epoch, (first >= 0).then_some(first))
            } else {
                (NO_COORDINATOR_EPOCH, None)
            };
            let [n] = r.take::<1>()?;
            let mut batches = VecDeque::new();
            for _ in 0..n {
                batches.push_back(BatchMetadata {
                    first_sequence: i32::from_be_bytes(r.take()?),
                    last_sequence: i32::from_be_bytes(r.take()?),
                    first_offset: i64::from_be_bytes(r.take()?),
                    last_offset: i64::from_be_bytes(r.take()?),
                    max_timestamp: i64::from_be_bytes(r.take()?),
                });
            }
            producers.insert(
                producer_id,
                ProducerEntry {
                    producer_epoch,
                    batches,
                    coordinator_epoch,
                    current_txn_first_offset,
                },
            );
        }
        Ok(ProducerStateManager { producers })
    }

    /// Writes `<offset>.snapshot` and removes older snapshots except the previous one.
    pub(crate) fn write_snapshot(&self, dir: &Path, offset: i64) -> Result<(), LogError> {
        write_atomically(&dir.join(file_name(offset, "snapshot")), &self.encode())?;
        let snapshots = list_snapshots(dir)?;
        let keep_from = snapshots.len().saturating_sub(2);
        for (_, path) in snapshots.into_iter().take(keep_from) {
            remove_if_exists(&path)?;
        }
        Ok(())
    }

    /// True when a snapshot for `offset` is already on disk: a log reopened and closed without
    /// an append in between has nothing new to write.
    pub(crate) fn has_snapshot_at(&self, dir: &Path, offset: i64) -> bool {
        dir.join(file_name(offset, "snapshot")).exists()
    }

    /// Loads the newest readable snapshot at or below `max_offset`, returning it with its offset.
    /// Snapshots above `max_offset` (left by a truncation) and unreadable ones are deleted.
    pub(crate) fn load_latest(
        dir: &Path,
        max_offset: i64,
    ) -> Result<Option<(i64, Self)>, LogError> {
        let mut snapshots = list_snapshots(dir)?;
        while let Some((offset, path)) = snapshots.pop() {
            if offset > max_offset {
                remove_if_exists(&path)?;
                continue;
            }
            let raw = fs::read(&path).map_err(|e| LogError::io(&path, e))?;
            match Self::decode(&raw) {
                Ok(state) => return Ok(Some((offset, state))),
                Err(reason) => {
                    tracing::warn!(path = %path.display(), %reason, "ignoring unreadable producer snapshot");
                    remove_if_exists(&path)?;
                }
            }
        }
        Ok(None)
    }

    /// Deletes snapshots above `offset` (after a truncation).
    pub(crate) fn delete_snapshots_after(dir: &Path, offset: i64) -> Result<(), LogError> {
        for (o, path) in list_snapshots(dir)? {
            if o > offset {
                remove_if_exists(&path)?;
            }
        }
        Ok(())
    }
}

fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}

/// Snapshot files of a partition directory, sorted by offset.
fn list_snapshots(dir: &Path) -> Result<Vec<(i64, PathBuf)>, LogError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".snapshot") {
            if let Ok(offset) = stem.parse::<i64>() {
                out.push((offset, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(
        producer_id: i64,
        epoch: i16,
        base_sequence: i32,
        records: i32,
        base_offset: i64,
    ) -> BatchHeader {
        BatchHeader {
            base_offset,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 0,
            max_timestamp: 10,
            producer_id,
            producer_epoch: epoch,
            base_sequence,
            record_count: records,
        }
    }

    fn append(m: &mut ProducerStateManager, h: &BatchHeader) -> Result<SequenceCheck, LogError> {
        let none = HashMap::new();
        let check = m.check(h, &none)?;
        if check == SequenceCheck::Accept {
            m.apply(h, None);
        }
        Ok(check)
    }

    #[test]
    fn kafka_sequence_rules() {
        let mut m = ProducerStateManager::new();
        // Unknown producer: any sequence is accepted.
        assert_eq!(
            append(&mut m, &header(7, 0, 5, 2, 0)).unwrap(),
            SequenceCheck::Accept
        );
        assert_eq!(
            append(&mut m, &header(7, 0, 7, 3, 2)).unwrap(),
            SequenceCheck::Accept
        );
        // A retry of either batch is a duplicate with its original offsets.
        match append(&mut m, &header(7, 0, 5, 2, 99)).unwrap() {
            SequenceCheck::Duplicate(b) => assert_eq!((b.first_offset, b.last_offset), (0, 1)),
            other => panic!("{other:?}"),
        }
        // A gap is out of order.
        let err = append(&mut m, &header(7, 0, 11, 1, 5)).unwrap_err();
        assert_eq!(err.error_code(), 45);
        // Older epoch is fenced.
        let mut older = header(7, 0, 10, 1, 5);
        older.producer_epoch = -1;
        // -1 is "no epoch" only for unknown producers; an older epoch is refused.
        assert!(append(&mut m, &older).is_err());
        // New epoch must start at 0.
        assert_eq!(
            append(&mut m, &header(7, 1, 3, 1, 5))
                .unwrap_err()
                .error_code(),
            45
        );
        assert_eq!(
            append(&mut m, &header(7, 1, 0, 1, 5)).unwrap(),
            SequenceCheck::Accept
        );
        assert_eq!(
            append(&mut m, &header(7, 0, 10, 1, 6))
                .unwrap_err()
                .error_code(),
            47
        );
    }

    #[test]
    fn keeps_five_batches_and_wraps_sequences() {
        let mut m = ProducerStateManager::new();
        for i in 0..7 {
            append(&mut m, &header(1, 0, i, 1, i64::from(i))).unwrap();
        }
        assert_eq!(m.entry(1).unwrap().batches.len(), NUM_BATCHES_TO_RETAIN);
        // Batch 0 fell out of the window: it is now out of order rather than a duplicate.
        assert!(append(&mut m, &header(1, 0, 0, 1, 9)).is_err());
        assert!(matches!(
            append(&mut m, &header(1, 0, 3, 1, 9)),
            Ok(SequenceCheck::Duplicate(_))
        ));
        let mut m = ProducerStateManager::new();
        append(&mut m, &header(2, 0, i32::MAX, 1, 0)).unwrap();
        assert_eq!(
            append(&mut m, &header(2, 0, 0, 1, 1)).unwrap(),
            SequenceCheck::Accept
        );
    }

    #[test]
    fn snapshots_keep_ongoing_transactions_and_read_version_1() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = ProducerStateManager::new();
        let mut txn = header(5, 2, 0, 3, 10);
        txn.attributes = 0x10;
        append(&mut m, &txn).unwrap();
        append(&mut m, &header(6, 0, 0, 1, 13)).unwrap();
        assert_eq!(m.first_unstable_offset(), Some(10));
        m.producers.get_mut(&5).unwrap().coordinator_epoch = 4;
        m.write_snapshot(dir.path(), 14).unwrap();
        let (_, loaded) = ProducerStateManager::load_latest(dir.path(), 14)
            .unwrap()
            .unwrap();
        assert_eq!(loaded, m);
        assert_eq!(loaded.entry(5).unwrap().current_txn_first_offset, Some(10));
        assert_eq!(loaded.entry(5).unwrap().coordinator_epoch, 4);

        // A version 1 body: one producer, epoch 1, one batch; no transaction fields.
        let mut body = Vec::new();
        body.extend_from_slice(&1i32.to_be_bytes());
        body.extend_from_slice(&9i64.to_be_bytes());
        body.extend_from_slice(&1i16.to_be_bytes());
        body.push(1);
        for v in [0i32, 0] {
            body.extend_from_slice(&v.to_be_bytes());
        }
        for v in [0i64, 0, 5] {
            body.extend_from_slice(&v.to_be_bytes());
        }
        let mut raw = b"FJPS".to_vec();
        raw.extend_from_slice(&1i16.to_be_bytes());
        raw.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        raw.extend_from_slice(&body);
        let v1 = ProducerStateManager::decode(&raw).unwrap();
        let entry = v1.entry(9).unwrap();
        assert_eq!((entry.producer_epoch, entry.batches.len()), (1, 1));
        assert_eq!(entry.current_txn_first_offset, None);
        assert_eq!(entry.coordinator_epoch, NO_COORDINATOR_EPOCH);
    }

    #[test]
    fn snapshot_round_trip_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = ProducerStateManager::new();
        append(&mut m, &header(1, 3, 0, 4, 0)).unwrap();
        append(&mut m, &header(2, 0, 0, 1, 4)).unwrap();
        m.write_snapshot(dir.path(), 5).unwrap();
        m.write_snapshot(dir.path(), 9).unwrap();
        m.write_snapshot(dir.path(), 12).unwrap();
        assert!(!dir.path().join(file_name(5, "snapshot")).exists());
        let (offset, loaded) = ProducerStateManager::load_latest(dir.path(), 10)
            .unwrap()
            .unwrap();
        assert_eq!(offset, 9);
        assert_eq!(loaded, m);
        assert!(
            !dir.path().join(file_name(12, "snapshot")).exists(),
            "snapshot past the log end removed"
        );
        fs::write(
            dir.path().join(file_name(9, "snapshot")),
            b"FJPS\0\x01garbage",
        )
        .unwrap();
        assert!(ProducerStateManager::load_latest(dir.path(), 10)
            .unwrap()
            .is_none());
        m.truncate_head(4);
        assert!(m.entry(1).is_none());
        assert!(m.entry(2).is_some());
    }
}
