//! Log compaction of transactional data (KIP-98 with the cleaner): what a `read_committed`
//! consumer sees after cleans, that aborted records are removed and never hide a committed
//! value, that ongoing transactions are left alone, that markers go only after the delete
//! horizon once their transaction's data is gone, and that restarts (clean, unclean, in the
//! middle of a swap) rebuild the same aborted-transaction index and producer state.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;

use bytes::Bytes;
use fjord_protocol::batch::{self, BatchFrames, BatchHeader};
use fjord_protocol::testing::{encode_batch, TestProducer, TestRecord};
use fjord_storage::{
    AbortedTxn, CleanerConfig, CleanupPolicy, ControlRecordType, LogConfig, PartitionLog,
    TopicPartition, TxnMarker,
};
use kafka_protocol::records::{Compression as Codec, RecordBatchDecoder};
use proptest::prelude::*;

const T0: i64 = 1_700_000_000_000;
const DELETE_RETENTION_MS: i64 = 1000;

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 600,
        index_interval_bytes: 100,
        retention_ms: -1,
        delete_retention_ms: DELETE_RETENTION_MS,
        cleanup_policy: CleanupPolicy::Compact,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, clean_shutdown: bool) -> PartitionLog {
    PartitionLog::open(dir, TopicPartition::new("c", 0), config(), clean_shutdown).unwrap()
}

fn clean(log: &PartitionLog, now_ms: i64) -> Option<fjord_storage::CleanStats> {
    log.clean(now_ms, i64::MAX, &CleanerConfig::default())
        .unwrap()
}

fn records(pairs: &[(&str, &str)]) -> Vec<TestRecord> {
    pairs
        .iter()
        .map(|(k, v)| TestRecord::keyed(k.to_string(), v.to_string(), T0))
        .collect()
}

/// A plain (non-idempotent) batch.
fn plain(log: &PartitionLog, pairs: &[(&str, &str)]) {
    log.append(encode_batch(records(pairs), None, Codec::None), 0, None)
        .unwrap();
}

/// A transactional batch of producer `producer_id` (epoch 0) starting at `base_sequence`.
fn txn(log: &PartitionLog, producer_id: i64, base_sequence: i32, pairs: &[(&str, &str)]) {
    let producer = TestProducer {
        producer_id,
        producer_epoch: 0,
        base_sequence,
    };
    let mut bytes = encode_batch(records(pairs), Some(producer), Codec::Lz4).to_vec();
    // attributes bit 4: transactional
    bytes[22] |= 0x10;
    let crc = batch::compute_crc(&bytes);
    bytes[17..21].copy_from_slice(&crc.to_be_bytes());
    log.append(Bytes::from(bytes), 0, None).unwrap();
}

fn end_txn(log: &PartitionLog, producer_id: i64, commit: bool) {
    let control_type = if commit {
        ControlRecordType::Commit
    } else {
        ControlRecordType::Abort
    };
    let marker = TxnMarker {
        control_type,
        coordinator_epoch: 0,
    };
    log.append_control_marker(producer_id, 0, marker, 0)
        .unwrap();
}

/// One stored batch: its header, its marker if it is one, its (offset, key, value) records.
struct Stored {
    header: BatchHeader,
    marker: Option<TxnMarker>,
    records: Vec<(i64, String, String)>,
}

fn stored(log: &PartitionLog) -> Vec<Stored> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        if r.records.is_empty() {
            break;
        }
        for range in BatchFrames::new(&r.records) {
            let bytes = r.records.slice(range.unwrap());
            let header = batch::validate(&bytes).expect("every served batch is valid");
            offset = header.next_offset();
            let marker = TxnMarker::from_batch(&header, &bytes);
            let mut records = Vec::new();
            if !header.is_control() && header.record_count > 0 {
                let mut buf = bytes.clone();
                for rec in RecordBatchDecoder::decode(&mut buf).unwrap().records {
                    let text = |b: Option<Bytes>| String::from_utf8(b.unwrap().to_vec()).unwrap();
                    records.push((rec.offset, text(rec.key), text(rec.value)));
                }
            }
            out.push(Stored {
                header,
                marker,
                records,
            });
        }
    }
    out
}

/// What a `read_committed` consumer reading the whole log gets, as a Kafka client filters
/// it: below the last stable offset, aborted transactions' batches dropped (a producer is in
/// an aborted transaction from the entry's first offset to its ABORT marker), markers hidden.
fn read_committed(log: &PartitionLog) -> BTreeMap<String, String> {
    let lso = log.first_unstable_offset().unwrap_or(log.log_end_offset());
    let mut aborted = log.aborted_transactions(log.log_start_offset(), lso);
    aborted.sort_by_key(|t| t.first_offset);
    let mut next = 0;
    let mut aborting = HashSet::new();
    let mut view = BTreeMap::new();
    for b in stored(log) {
        if b.header.base_offset >= lso {
            break;
        }
        while next < aborted.len() && aborted[next].first_offset <= b.header.last_offset() {
            aborting.insert(aborted[next].producer_id);
            next += 1;
        }
        if b.header.is_control() {
            if b.marker
                .is_some_and(|m| m.control_type == ControlRecordType::Abort)
            {
                aborting.remove(&b.header.producer_id);
            }
            continue;
        }
        if b.header.is_transactional() && aborting.contains(&b.header.producer_id) {
            continue;
        }
        for (_, key, value) in b.records {
            view.insert(key, value);
        }
    }
    view
}

fn view(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn all_values(log: &PartitionLog) -> Vec<String> {
    stored(log)
        .into_iter()
        .flat_map(|b| b.records.into_iter().map(|(_, _, v)| v))
        .collect()
}

fn marker_offsets(log: &PartitionLog) -> Vec<i64> {
    stored(log)
        .iter()
        .filter(|b| b.header.is_control())
        .map(|b| b.header.base_offset)
        .collect()
}

fn producer_summary(log: &PartitionLog, producer_id: i64) -> (i16, Option<i32>, Option<i64>) {
    let entry = log
        .producer_entry(producer_id)
        .expect("producer remembered");
    let last = entry.batches.back();
    (
        entry.producer_epoch,
        last.map(|b| b.last_sequence),
        last.map(|b| b.last_offset),
    )
}

#[test]
fn an_aborted_newest_value_never_hides_the_committed_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    txn(&log, 1, 0, &[("a", "v1")]); // 0
    end_txn(&log, 1, true); // 1
    txn(&log, 2, 0, &[("a", "v2"), ("z", "aborted")]); // 2-3
    end_txn(&log, 2, false); // 4
    plain(&log, &[("b", "x")]); // 5
    log.roll().unwrap();
    assert_eq!(read_committed(&log), view(&[("a", "v1"), ("b", "x")]));

    let stats = clean(&log, T0 + 10).expect("dirty");
    assert_eq!(stats.cleaned_up_to, 6);
    assert_eq!(read_committed(&log), view(&[("a", "v1"), ("b", "x")]));
    let values = all_values(&log);
    assert!(values.contains(&"v1".to_string()), "{values:?}");
    assert!(!values.iter().any(|v| v == "v2" || v == "aborted"));
    // Producer 2's only batch is its last: it stays, empty, for its sequence; so do its
    // marker and its index entry (Kafka keeps them while a batch of the transaction is left).
    let kept_empty: Vec<_> = stored(&log)
        .into_iter()
        .filter(|b| b.header.producer_id == 2 && !b.header.is_control())
        .map(|b| {
            (
                b.header.base_offset,
                b.header.last_offset(),
                b.header.record_count,
            )
        })
        .collect();
    assert_eq!(kept_empty, vec![(2, 3, 0)]);
    let entry = AbortedTxn {
        producer_id: 2,
        first_offset: 2,
        last_offset: 4,
        last_stable_offset: 5,
    };
    assert_eq!(log.aborted_transactions(0, 100), vec![entry]);
    let producers = [producer_summary(&log, 1), producer_summary(&log, 2)];
    assert_eq!(producers[1], (0, Some(1), Some(3)));
    log.close().unwrap();

    let mut expected = view(&[("a", "v1"), ("b", "x")]);
    for clean_shutdown in [true, false] {
        let log = open(dir.path(), clean_shutdown);
        assert_eq!(read_committed(&log), expected);
        assert_eq!(log.aborted_transactions(0, 100), vec![entry]);
        assert_eq!(
            [producer_summary(&log, 1), producer_summary(&log, 2)],
            producers
        );
        // Cleaning again changes nothing a consumer sees.
        plain(&log, &[("c", "y")]);
        log.roll().unwrap();
        clean(&log, T0 + 20);
        expected.insert("c".into(), "y".into());
        assert_eq!(read_committed(&log), expected);
        log.close().unwrap();
    }
}

#[test]
fn an_ongoing_transaction_is_neither_mapped_nor_removed() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), true);
    plain(&log, &[("a", "v1")]); // 0
    txn(&log, 3, 0, &[("a", "open")]); // 1
    plain(&log, &[("c", "z")]); // 2
    plain(&log, &[("c", "z2")]); // 3
    log.roll().unwrap();
    assert_eq!(log.first_unstable_offset(), Some(1));

    let stats = clean(&log, T0 + 10).expect("offset 0 is cleanable");
    assert!(stats.cleaned_up_to <= 1, "{stats:?}");
    let values = all_values(&log);
    assert_eq!(
        values,
        ["v1", "open", "z", "z2"],
        "nothing past the LSO removed"
    );

    end_txn(&log, 3, false); // 4
    log.roll().unwrap();
    clean(&log, T0 + 20).expect("dirty again");
    assert_eq!(read_committed(&log), view(&[("a", "v1"), ("c", "z2")]));
    assert_eq!(all_values(&log), ["v1", "z2"]);
}

/// Producers 1 and 2 each end two transactions; the first ones' data is superseded or aborted
/// and cleaned away by the first clean, so their markers become removable.
fn write_two_rounds(log: &PartitionLog) {
    txn(log, 1, 0, &[("a", "1")]); // 0
    end_txn(log, 1, true); // 1
    txn(log, 2, 0, &[("b", "aborted")]); // 2
    end_txn(log, 2, false); // 3
    plain(log, &[("a", "2"), ("b", "2")]); // 4-5
    txn(log, 1, 1, &[("c", "1")]); // 6
    end_txn(log, 1, true); // 7
    txn(log, 2, 1, &[("c", "2")]); // 8
    end_txn(log, 2, true); // 9
    log.roll().unwrap();
}

fn aborted_entry() -> AbortedTxn {
    AbortedTxn {
        producer_id: 2,
        first_offset: 2,
        last_offset: 3,
        last_stable_offset: 4,
    }
}

/// The log of [`write_two_rounds`] after its first clean and one more plain record.
fn after_first_clean(dir: &Path) -> PartitionLog {
    let log = open(dir, true);
    write_two_rounds(&log);
    let expected = view(&[("a", "2"), ("b", "2"), ("c", "2")]);
    assert_eq!(read_committed(&log), expected);
    clean(&log, T0).expect("dirty");
    assert_eq!(read_committed(&log), expected);
    assert!(!all_values(&log).contains(&"aborted".to_string()));
    // Every marker stays: the walk met a batch of each transaction.
    assert_eq!(marker_offsets(&log), [1, 3, 7, 9]);
    assert_eq!(log.aborted_transactions(0, 100), vec![aborted_entry()]);
    plain(&log, &[("d", "1")]); // 10
    log.roll().unwrap();
    log
}

#[test]
fn markers_go_after_the_delete_horizon_once_their_data_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let log = after_first_clean(dir.path());
    let expected = view(&[("a", "2"), ("b", "2"), ("c", "2"), ("d", "1")]);
    let producers = [producer_summary(&log, 1), producer_summary(&log, 2)];

    // Second clean: the first transactions have no data left. Their markers get a delete
    // horizon and stay; the aborted one's index entry goes (no data is left to filter).
    let now = T0 + 5000;
    clean(&log, now).expect("dirty");
    assert_eq!(read_committed(&log), expected);
    assert_eq!(marker_offsets(&log), [1, 3, 7, 9]);
    assert!(log.aborted_transactions(0, 100).is_empty());
    let horizons: Vec<_> = stored(&log)
        .iter()
        .filter(|b| b.header.is_control())
        .map(|b| (b.header.base_offset, b.header.attributes & 0x40 != 0))
        .collect();
    assert_eq!(
        horizons,
        [(1, true), (3, true), (7, false), (9, false)],
        "markers still covering data carry no horizon"
    );

    // Before the horizon nothing changes; at it the empty transactions' markers go.
    assert!(clean(&log, now + DELETE_RETENTION_MS - 1).is_none());
    assert_eq!(marker_offsets(&log), [1, 3, 7, 9]);
    clean(&log, now + DELETE_RETENTION_MS).expect("the horizon passed");
    assert_eq!(marker_offsets(&log), [7, 9]);
    assert_eq!(read_committed(&log), expected);
    assert_eq!(
        [producer_summary(&log, 1), producer_summary(&log, 2)],
        producers
    );
    log.close().unwrap();

    for clean_shutdown in [false, true] {
        let log = open(dir.path(), clean_shutdown);
        assert_eq!(read_committed(&log), expected);
        assert_eq!(marker_offsets(&log), [7, 9]);
        assert!(log.aborted_transactions(0, 100).is_empty());
        assert_eq!(
            [producer_summary(&log, 1), producer_summary(&log, 2)],
            producers
        );
        log.close().unwrap();
    }
    // Producers continue where they were: the next sequences are accepted.
    let log = open(dir.path(), true);
    txn(&log, 1, 2, &[("e", "1")]);
    end_txn(&log, 1, true);
    txn(&log, 2, 2, &[("e", "2")]);
    end_txn(&log, 2, false);
    assert_eq!(read_committed(&log)["e"], "1");
}

fn txnindex_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".txnindex"))
        .collect();
    names.sort();
    names
}

#[test]
fn a_swap_interrupted_by_a_crash_installs_the_cleaned_txn_index_with_it() {
    // Twin logs in the same state; the second clean runs in `cleaned` only, and its result is
    // laid into `crashed` as a crash after the swap's commit point would leave it.
    let cleaned = tempfile::tempdir().unwrap();
    let crashed = tempfile::tempdir().unwrap();
    let log = after_first_clean(cleaned.path());
    clean(&log, T0 + 5000).expect("dirty");
    // The segment at 0 (all the transactions) was cleaned into a group of its own.
    let new_bases = log.segment_base_offsets();
    assert_eq!(new_bases, [0, 10, 11]);
    let expected_view = read_committed(&log);
    log.close().unwrap();
    after_first_clean(crashed.path()).close().unwrap();
    assert!(
        !txnindex_files(crashed.path()).is_empty(),
        "the old entry is on disk"
    );
    let cleaned_log = fs::read(cleaned.path().join(format!("{:020}.log", 0))).unwrap();

    for index_renamed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        for entry in fs::read_dir(crashed.path()).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        fs::write(dir.path().join(format!("{:020}.log.swap", 0)), &cleaned_log).unwrap();
        if index_renamed {
            // The crash came after the old index files were deleted and the new (empty)
            // one installed.
            fs::remove_file(dir.path().join(format!("{:020}.txnindex", 0))).unwrap();
        } else {
            fs::write(dir.path().join(format!("{:020}.txnindex.cleaned", 0)), b"").unwrap();
        }
        let log = open(dir.path(), false);
        assert!(
            log.aborted_transactions(0, 100).is_empty(),
            "renamed {index_renamed}: no entry outlives its marker"
        );
        assert_eq!(read_committed(&log), expected_view);
        assert_eq!(log.segment_base_offsets(), new_bases);
        assert!(txnindex_files(dir.path()).is_empty());
        log.close().unwrap();
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A plain batch of (key, value) records.
    Plain(Vec<(u8, u8)>),
    /// A transactional batch of producer 1 or 2 (opening its transaction if none is open).
    Txn(i64, Vec<(u8, u8)>),
    /// Producer 1 or 2 ends its open transaction (commit when true); a no-op when none is.
    End(i64, bool),
    Roll,
    Clean,
    Reopen(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let pairs = || prop::collection::vec((0u8..6, any::<u8>()), 1..4);
    prop_oneof![
        3 => pairs().prop_map(Op::Plain),
        4 => (1i64..3, pairs()).prop_map(|(p, r)| Op::Txn(p, r)),
        3 => (1i64..3, any::<bool>()).prop_map(|(p, c)| Op::End(p, c)),
        2 => Just(Op::Roll),
        2 => Just(Op::Clean),
        1 => any::<bool>().prop_map(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Random plain and transactional appends, commits, aborts, rolls, cleans and restarts:
    /// what a `read_committed` consumer sees is always the last committed (or plain) value of
    /// every key below the last stable offset, exactly as before any clean.
    #[test]
    fn read_committed_sees_the_last_committed_value_of_every_key(
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), true);
        // (offset, key, value, producer): the model's log; producer 0 = plain.
        let mut written: Vec<(i64, String, String, i64)> = Vec::new();
        let mut aborted_offsets: HashSet<i64> = HashSet::new();
        let mut open_txn: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        let mut next_sequence: BTreeMap<i64, i32> = BTreeMap::new();
        let mut now = T0;
        for op in ops {
            now += 10;
            match op {
                Op::Plain(pairs) => {
                    let first = log.log_end_offset();
                    let pairs: Vec<(String, String)> =
                        pairs.iter().map(|(k, v)| (format!("k{k}"), format!("p{v}"))).collect();
                    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    plain(&log, &refs);
                    for (i, (k, v)) in pairs.into_iter().enumerate() {
                        written.push((first + i as i64, k, v, 0));
                    }
                }
                Op::Txn(producer, pairs) => {
                    let first = log.log_end_offset();
                    let sequence = next_sequence.entry(producer).or_insert(0);
                    let pairs: Vec<(String, String)> = pairs
                        .iter()
                        .map(|(k, v)| (format!("k{k}"), format!("t{producer}-{v}")))
                        .collect();
                    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    txn(&log, producer, *sequence, &refs);
                    *sequence += pairs.len() as i32;
                    let offsets = open_txn.entry(producer).or_default();
                    for (i, (k, v)) in pairs.into_iter().enumerate() {
                        offsets.push(first + i as i64);
                        written.push((first + i as i64, k, v, producer));
                    }
                }
                Op::End(producer, commit) => {
                    if let Some(offsets) = open_txn.remove(&producer) {
                        end_txn(&log, producer, commit);
                        if !commit {
                            aborted_offsets.extend(offsets);
                        }
                    }
                }
                Op::Roll => log.roll().unwrap(),
                Op::Clean => {
                    clean(&log, now);
                }
                Op::Reopen(clean_shutdown) => {
                    if clean_shutdown {
                        log.close().unwrap();
                    }
                    drop(log);
                    log = open(dir.path(), clean_shutdown);
                }
            }
            let lso = open_txn.values().filter_map(|o| o.first().copied()).min();
            prop_assert_eq!(log.first_unstable_offset(), lso);
            let lso = lso.unwrap_or(i64::MAX);
            let mut expected = BTreeMap::new();
            for (offset, key, value, _) in &written {
                if *offset < lso && !aborted_offsets.contains(offset) {
                    expected.insert(key.clone(), value.clone());
                }
            }
            prop_assert_eq!(read_committed(&log), expected);
            // Every stored record is one written at that offset.
            for b in stored(&log) {
                for (offset, key, value) in b.records {
                    let w = written.iter().find(|w| w.0 == offset);
                    prop_assert_eq!(w.map(|w| (&w.1, &w.2)), Some((&key, &value)));
                }
            }
        }
    }
}
