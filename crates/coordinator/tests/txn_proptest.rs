//! Random transactional traffic against the transaction coordinator: inits (with and without
//! KIP-360 expectations), adds, commits and aborts (v1 and v2, current and stale epochs), marker
//! completions, timers and restarts from the record bytes. Invariants:
//! - nothing panics;
//! - every marker batch covers exactly the partitions the transaction added, and each attempt
//!   (transactional id, producer id, epoch) gets its markers once (again only after a restart,
//!   and then the very ones still pending);
//! - a transaction completes exactly when its last marker is reported;
//! - the epochs recorded or answered for a producer id never go down;
//! - each id's records follow the `TransactionState` transition table;
//! - a restart rebuilds the same state from the records.

mod txn_common;

use std::collections::{BTreeSet, HashMap, HashSet};

use fjord_coordinator::txn::{
    InitProducerIdRequest, ProducerIdAndEpoch, TopicPartition, TransactionCoordinator,
    TransactionResult, TransactionState, TransactionVersion, TxnConfig, TxnOutcome, TxnRecord,
    WriteMarkers,
};
use proptest::prelude::*;
use txn_common::*;

const IDS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
enum Op {
    Init {
        id: usize,
        expect_current: bool,
    },
    Add {
        id: usize,
        partitions: Vec<i32>,
        stale: bool,
    },
    End {
        id: usize,
        commit: bool,
        v2: bool,
        stale: bool,
    },
    Markers {
        pick: usize,
        all: bool,
    },
    Poll {
        advance_ms: i64,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..IDS.len(), any::<bool>())
            .prop_map(|(id, expect_current)| Op::Init { id, expect_current }),
        5 => (0..IDS.len(), prop::collection::vec(0..4i32, 1..3), prop::bool::weighted(0.2))
            .prop_map(|(id, partitions, stale)| Op::Add { id, partitions, stale }),
        4 => (0..IDS.len(), any::<bool>(), any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(id, commit, v2, stale)| Op::End { id, commit, v2, stale }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(pick, all)| Op::Markers { pick, all }),
        1 => (0..150_000i64).prop_map(|advance_ms| Op::Poll { advance_ms }),
        2 => Just(Op::Restart),
    ]
}

fn config() -> TxnConfig {
    TxnConfig {
        transactional_id_expiration_ms: 200_000,
        ..TxnConfig::default()
    }
}

#[derive(Default)]
struct Model {
    now_ms: i64,
    next_producer_id: i64,
    /// The latest producer id and epoch each transactional id's producer was given.
    current: HashMap<String, ProducerIdAndEpoch>,
    /// The one before: a zombie's view.
    stale: HashMap<String, ProducerIdAndEpoch>,
    /// Partitions successfully added to each id's open transaction.
    added: HashMap<String, BTreeSet<TopicPartition>>,
    /// Markers handed out and not yet fully reported.
    pending: Vec<WriteMarkers>,
    /// The full batch of each pending transaction, as its Prepare* record lists it: partial
    /// progress is not logged, so a restart re-sends every one of these.
    prepared: HashMap<String, Vec<TopicPartition>>,
    /// Producers whose transaction the coordinator aborted to fence them.
    fenced: HashSet<(String, ProducerIdAndEpoch)>,
    /// The state of each id's latest record.
    logged_state: HashMap<String, TransactionState>,
    /// Highest epoch seen per producer id.
    max_epoch: HashMap<i64, i16>,
    log: Vec<TxnRecord>,
}

impl Model {
    fn see_epoch(&mut self, producer_id: i64, producer_epoch: i16) {
        let max = self.max_epoch.entry(producer_id).or_insert(producer_epoch);
        assert!(
            producer_epoch >= *max,
            "producer {producer_id}: epoch {producer_epoch} after {max}"
        );
        *max = producer_epoch;
    }

    fn answer(&mut self, id: &str, pe: ProducerIdAndEpoch) {
        self.see_epoch(pe.producer_id, pe.producer_epoch);
        if let Some(previous) = self.current.insert(id.to_string(), pe) {
            if previous != pe {
                self.stale.insert(id.to_string(), previous);
            }
        }
    }

    /// The coordinator aborted `id`'s transaction on its own: its producer is a zombie now.
    fn fence(&mut self, id: &str) {
        if let Some(zombie) = self.current.remove(id) {
            self.stale.insert(id.to_string(), zombie);
            self.fenced.insert((id.to_string(), zombie));
        }
    }

    fn assert_not_fenced(&self, id: &str, pe: ProducerIdAndEpoch, what: &str) {
        assert!(
            !self.fenced.contains(&(id.to_string(), pe)),
            "{what} accepted from fenced {id} {pe:?}"
        );
    }

    fn absorb(&mut self, out: TxnOutcome) {
        for record in &out.records {
            let id = record.transactional_id.clone();
            let Some(value) = &record.value else {
                self.logged_state.remove(&id);
                continue;
            };
            self.see_epoch(value.producer_id, value.producer_epoch);
            let from = self.logged_state.insert(id, value.state);
            match from {
                None => assert_eq!(
                    value.state,
                    TransactionState::Empty,
                    "a new id starts Empty"
                ),
                Some(from) => assert!(
                    from.can_transition_to(value.state),
                    "logged {from} -> {}",
                    value.state
                ),
            }
        }
        self.log.extend(out.records);
        for markers in out.markers {
            let id = markers.transactional_id.clone();
            // `added` is taken here, so a second batch for the same transaction (an attempt)
            // would find it empty and fail the comparison: markers come once per attempt.
            let added = self.added.remove(&id).unwrap_or_default();
            let covered: BTreeSet<_> = markers.partitions.iter().cloned().collect();
            assert_eq!(covered, added, "markers cover exactly the transaction");
            assert!(self.pending.iter().all(|p| p.transactional_id != id));
            self.prepared.insert(id, markers.partitions.clone());
            self.pending.push(markers);
        }
    }
}

fn state(c: &TransactionCoordinator, id: &str) -> Option<TransactionState> {
    c.transaction(id).map(|m| m.state)
}

fn run(ops: Vec<Op>) {
    let mut c = TransactionCoordinator::new(config());
    let mut m = Model {
        next_producer_id: 100,
        ..Model::default()
    };
    for op in ops {
        m.now_ms += 1;
        let now_ms = m.now_ms;
        match op {
            Op::Init { id, expect_current } => {
                let id = IDS[id];
                let expected = expect_current.then(|| m.current.get(id).copied()).flatten();
                let req = InitProducerIdRequest {
                    transactional_id: id.into(),
                    txn_timeout_ms: TIMEOUT_MS,
                    expected,
                };
                let before = state(&c, id);
                let mut next = m.next_producer_id;
                let (result, out) = c.init_producer_id(req, now_ms, &mut || {
                    next += 1;
                    next
                });
                m.next_producer_id = next;
                if matches!(
                    before,
                    None | Some(TransactionState::Empty)
                        | Some(TransactionState::CompleteCommit)
                        | Some(TransactionState::CompleteAbort)
                ) && expected.is_none()
                {
                    assert!(result.is_ok(), "{before:?}: {result:?}");
                }
                if let Ok(pe) = result {
                    m.answer(id, pe);
                } else if !out.markers.is_empty() {
                    m.fence(id);
                }
                m.absorb(out);
            }
            Op::Add {
                id,
                partitions,
                stale,
            } => {
                let id = IDS[id];
                let Some(pe) = pick(&m, id, stale) else {
                    continue;
                };
                let partitions: Vec<_> = partitions.into_iter().map(|p| tp("t", p)).collect();
                let (result, out) =
                    c.add_partitions(id, pe.producer_id, pe.producer_epoch, &partitions, now_ms);
                if result.is_ok() {
                    m.assert_not_fenced(id, pe, "AddPartitions");
                    m.added.entry(id.into()).or_default().extend(partitions);
                }
                m.absorb(out);
            }
            Op::End {
                id,
                commit,
                v2,
                stale,
            } => {
                let id = IDS[id];
                let Some(pe) = pick(&m, id, stale) else {
                    continue;
                };
                let result = if commit {
                    TransactionResult::Commit
                } else {
                    TransactionResult::Abort
                };
                let tv = if v2 {
                    TransactionVersion::TV_2
                } else {
                    TransactionVersion::TV_0
                };
                let was_ongoing = state(&c, id) == Some(TransactionState::Ongoing);
                let req = end_req(id, pe, result, tv);
                let mut next = m.next_producer_id;
                let (answer, out) = c.end_txn(req, now_ms, &mut || {
                    next += 1;
                    next
                });
                m.next_producer_id = next;
                if let Ok(answer) = answer {
                    m.assert_not_fenced(id, pe, "EndTxn");
                    if was_ongoing {
                        assert_eq!(out.markers.len(), 1, "an ended transaction gets markers");
                        assert_eq!(out.markers[0].result, result);
                    }
                    m.answer(id, answer);
                }
                m.absorb(out);
            }
            Op::Markers { pick, all } => {
                if m.pending.is_empty() {
                    continue;
                }
                let index = pick % m.pending.len();
                let markers = m.pending[index].clone();
                let reported: Vec<_> = if all {
                    markers.partitions.clone()
                } else {
                    markers.partitions[..1].to_vec()
                };
                let out = c.markers_written(
                    &markers.transactional_id,
                    markers.producer_id,
                    markers.producer_epoch,
                    &reported,
                    now_ms,
                );
                let left: Vec<_> = markers
                    .partitions
                    .iter()
                    .filter(|p| !reported.contains(p))
                    .cloned()
                    .collect();
                if left.is_empty() {
                    m.pending.remove(index);
                    m.prepared.remove(&markers.transactional_id);
                    assert_eq!(out.records.len(), 1, "completes exactly once");
                    let done = out.records[0].value.as_ref().expect("value").state;
                    let expected = match markers.result {
                        TransactionResult::Commit => TransactionState::CompleteCommit,
                        TransactionResult::Abort => TransactionState::CompleteAbort,
                    };
                    assert_eq!(done, expected);
                } else {
                    assert!(out.is_empty());
                    m.pending[index].partitions = left;
                }
                assert!(out.markers.is_empty());
                m.absorb(out);
            }
            Op::Poll { advance_ms } => {
                m.now_ms += advance_ms;
                let out = c.poll(m.now_ms);
                for markers in &out.markers {
                    m.fence(&markers.transactional_id);
                }
                m.absorb(out);
            }
            Op::Restart => {
                let restarted = rebuilt(config(), &m.log);
                for id in IDS {
                    let before = c.transaction(id).cloned().map(|mut meta| {
                        meta.last_producer_epoch = -1;
                        // Marker progress is in memory only: the log has the whole batch.
                        if let Some(full) = m.prepared.get(id) {
                            meta.partitions = full.iter().cloned().collect();
                        }
                        meta
                    });
                    let after = restarted.transaction(id).cloned().map(|mut meta| {
                        meta.last_producer_epoch = -1;
                        meta
                    });
                    assert_eq!(before, after, "{id} survives the restart");
                }
                c = restarted;
                let out = c.load_complete(now_ms);
                assert!(out.records.is_empty());
                let mut again = out.markers.clone();
                let mut pending = m.pending.clone();
                for markers in &mut pending {
                    markers.partitions = m.prepared[&markers.transactional_id].clone();
                }
                again.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
                pending.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
                assert_eq!(
                    again, pending,
                    "a restart re-sends the pending transactions' markers"
                );
                m.pending = pending;
            }
        }
        // Prepare* exactly when markers are outstanding.
        for id in IDS {
            let preparing = c
                .transaction(id)
                .is_some_and(|meta| meta.state.is_preparing());
            let pending = m.pending.iter().any(|p| p.transactional_id == id);
            assert_eq!(preparing, pending, "{id}");
        }
    }
}

fn pick(m: &Model, id: &str, stale: bool) -> Option<ProducerIdAndEpoch> {
    if stale {
        m.stale.get(id).or_else(|| m.current.get(id)).copied()
    } else {
        m.current.get(id).copied()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_transactional_traffic_keeps_the_invariants(ops in prop::collection::vec(op(), 1..120)) {
        run(ops);
    }
}
