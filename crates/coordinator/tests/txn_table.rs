//! One test per transaction-coordinator transition: (state, request, now) -> (state, answer,
//! records, markers).

mod txn_common;

use fjord_coordinator::txn::{
    ProducerIdAndEpoch, TransactionResult, TransactionState, TransactionVersion, TxnApi, TxnConfig,
    TxnError, CONSUMER_OFFSETS_TOPIC,
};
use txn_common::*;

use TransactionResult::{Abort, Commit};

fn state(c: &fjord_coordinator::txn::TransactionCoordinator) -> TransactionState {
    c.transaction(TXN).expect("known id").state
}

fn value_state(out: &fjord_coordinator::txn::TxnOutcome, i: usize) -> TransactionState {
    out.records[i]
        .value
        .as_ref()
        .expect("not a tombstone")
        .state
}

#[test]
fn new_id_init_allocates_producer_id_at_epoch_0() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let (result, out) = c.init_producer_id(init_req(TXN), 5, &mut || ids.next());
    assert_eq!(
        result,
        Ok(ProducerIdAndEpoch {
            producer_id: 1000,
            producer_epoch: 0
        })
    );
    assert_eq!(out.records.len(), 1);
    assert!(out.markers.is_empty());
    let value = out.records[0].value.as_ref().expect("value");
    assert_eq!(value.state, TransactionState::Empty);
    assert_eq!((value.producer_id, value.producer_epoch), (1000, 0));
    assert_eq!(value.txn_timeout_ms, TIMEOUT_MS);
    assert_eq!(
        value.version, 1,
        "transaction.version 2 writes flexible values"
    );
    assert_eq!(state(&c), TransactionState::Empty);
}

#[test]
fn empty_reinit_bumps_epoch_and_keeps_producer_id() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    init(&mut c, &mut ids, TXN, 0);
    let again = init(&mut c, &mut ids, TXN, 1);
    assert_eq!((again.producer_id, again.producer_epoch), (1000, 1));
    assert_eq!(ids.0, 1001, "no new producer id");
    assert_eq!(c.transaction(TXN).expect("id").last_producer_epoch, -1);
}

#[test]
fn timeout_outside_bounds_is_invalid_transaction_timeout() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    for txn_timeout_ms in [0, -1, 900_001] {
        let mut req = init_req(TXN);
        req.txn_timeout_ms = txn_timeout_ms;
        let (result, out) = c.init_producer_id(req, 0, &mut || ids.next());
        assert_eq!(
            result,
            Err(TxnError::InvalidTransactionTimeout { txn_timeout_ms })
        );
        assert!(out.is_empty());
    }
    let mut req = init_req(TXN);
    req.txn_timeout_ms = 900_000;
    assert!(c.init_producer_id(req, 0, &mut || ids.next()).0.is_ok());
}

#[test]
fn empty_transactional_id_is_invalid_request() {
    let mut c = coordinator();
    let (result, _) = c.init_producer_id(init_req(""), 0, &mut || 1);
    assert_eq!(result.map_err(|e| e.error_code()), Err(42));
    let (result, _) = c.add_partitions("", 1, 0, &[tp("t", 0)], 0);
    assert_eq!(result.map_err(|e| e.error_code()), Err(42));
}

#[test]
fn allocator_failure_is_an_error_not_a_panic() {
    let mut c = coordinator();
    let (result, out) = c.init_producer_id(init_req(TXN), 0, &mut || -1);
    assert_eq!(result, Err(TxnError::ProducerIdAllocationFailed));
    assert!(out.is_empty());
    assert!(c.transaction(TXN).is_none());
}

#[test]
fn empty_to_ongoing_on_add_partitions() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    let out = add(&mut c, TXN, pe, &[tp("t", 0), tp("t", 1)], 100);
    assert_eq!(out.records.len(), 1);
    assert_eq!(value_state(&out, 0), TransactionState::Ongoing);
    let m = c.transaction(TXN).expect("id");
    assert_eq!(m.state, TransactionState::Ongoing);
    assert_eq!(m.txn_start_timestamp_ms, 100);
    assert_eq!(m.partitions.len(), 2);
}

#[test]
fn ongoing_add_known_partitions_answers_without_record() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0), tp("t", 1)], 100);
    let out = add(&mut c, TXN, pe, &[tp("t", 1)], 200);
    assert!(out.is_empty());
    let out = add(&mut c, TXN, pe, &[tp("u", 0)], 300);
    assert_eq!(out.records.len(), 1);
    let m = c.transaction(TXN).expect("id");
    assert_eq!(m.txn_start_timestamp_ms, 100, "start time stays");
    assert_eq!(m.partitions.len(), 3);
}

#[test]
fn add_partitions_errors() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let (unknown, _) = c.add_partitions(TXN, 1, 0, &[tp("t", 0)], 0);
    assert_eq!(unknown, Err(TxnError::InvalidProducerIdMapping));
    let pe = init(&mut c, &mut ids, TXN, 0);
    let (wrong_id, _) = c.add_partitions(TXN, pe.producer_id + 1, 0, &[tp("t", 0)], 0);
    assert_eq!(wrong_id, Err(TxnError::InvalidProducerIdMapping));
    let (stale, out) = c.add_partitions(TXN, pe.producer_id, 7, &[tp("t", 0)], 0);
    assert_eq!(stale, Err(TxnError::ProducerFenced));
    assert!(out.is_empty());
    assert_eq!(
        TxnError::ProducerFenced.error_code_for(TxnApi::AddPartitionsToTxn, 1),
        47
    );
}

#[test]
fn add_offsets_adds_the_groups_offsets_partition() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    let (result, out) = c.add_offsets(
        TXN,
        pe.producer_id,
        pe.producer_epoch,
        "group-a",
        |group| if group == "group-a" { 17 } else { 0 },
        10,
    );
    assert_eq!(result, Ok(()));
    assert_eq!(out.records.len(), 1);
    let m = c.transaction(TXN).expect("id");
    assert!(m.partitions.contains(&tp(CONSUMER_OFFSETS_TOPIC, 17)));
    assert_eq!(m.state, TransactionState::Ongoing);
}

#[test]
fn ongoing_commit_prepares_then_markers_complete() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0), tp("u", 2)], 10);
    let req = end_req(TXN, pe, Commit, TransactionVersion::TV_0);
    let (result, out) = c.end_txn(req, 20, &mut || ids.next());
    assert_eq!(result, Ok(pe), "v1 transactions keep the epoch");
    assert_eq!(out.records.len(), 1);
    assert_eq!(value_state(&out, 0), TransactionState::PrepareCommit);
    assert_eq!(
        out.records[0].value.as_ref().expect("v").partitions.len(),
        2
    );
    assert_eq!(out.markers.len(), 1);
    let markers = &out.markers[0];
    assert_eq!(markers.result, Commit);
    assert_eq!(
        (markers.producer_id, markers.producer_epoch),
        (pe.producer_id, 0)
    );
    assert_eq!(markers.partitions, vec![tp("t", 0), tp("u", 2)]);
    assert_eq!(state(&c), TransactionState::PrepareCommit);

    let out = c.markers_written(TXN, pe.producer_id, 0, &[tp("u", 2)], 30);
    assert!(out.is_empty(), "one partition still waits");
    assert_eq!(state(&c), TransactionState::PrepareCommit);
    let out = c.markers_written(TXN, pe.producer_id, 0, &[tp("t", 0)], 40);
    assert_eq!(out.records.len(), 1);
    assert_eq!(value_state(&out, 0), TransactionState::CompleteCommit);
    assert!(out.records[0]
        .value
        .as_ref()
        .expect("v")
        .partitions
        .is_empty());
    assert!(out.markers.is_empty());
    assert_eq!(state(&c), TransactionState::CompleteCommit);
    let again = c.markers_written(TXN, pe.producer_id, 0, &[tp("t", 0)], 50);
    assert!(again.is_empty(), "a late duplicate report is ignored");
}

#[test]
fn ongoing_abort_prepares_then_completes_abort() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    let (result, out) = c.end_txn(
        end_req(TXN, pe, Abort, TransactionVersion::TV_0),
        20,
        &mut || ids.next(),
    );
    assert!(result.is_ok());
    assert_eq!(value_state(&out, 0), TransactionState::PrepareAbort);
    assert_eq!(out.markers[0].result, Abort);
    let out = c.markers_written(TXN, pe.producer_id, pe.producer_epoch, &[tp("t", 0)], 30);
    assert_eq!(value_state(&out, 0), TransactionState::CompleteAbort);
}

#[test]
fn preparing_refuses_with_concurrent_transactions_or_invalid_txn_state() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        20,
        &mut || ids.next(),
    )
    .0
    .expect("end ok");
    let retry = c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        21,
        &mut || 0,
    );
    assert_eq!(retry.0, Err(TxnError::ConcurrentTransactions));
    let flip = c.end_txn(
        end_req(TXN, pe, Abort, TransactionVersion::TV_0),
        21,
        &mut || 0,
    );
    assert_eq!(flip.0, Err(TxnError::InvalidTxnState));
    let (added, _) = c.add_partitions(TXN, pe.producer_id, pe.producer_epoch, &[tp("x", 0)], 22);
    assert_eq!(added, Err(TxnError::ConcurrentTransactions));
    let (reinit, out) = c.init_producer_id(init_req(TXN), 23, &mut || ids.next());
    assert_eq!(reinit, Err(TxnError::ConcurrentTransactions));
    assert!(out.is_empty());
    let verify = c.verify_partitions(TXN, pe.producer_id, pe.producer_epoch, &[tp("t", 0)]);
    assert_eq!(verify[0].1, Err(TxnError::ConcurrentTransactions));
}

#[test]
fn complete_answers_retries_and_refuses_the_other_result() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        20,
        &mut || ids.next(),
    )
    .0
    .expect("end ok");
    c.markers_written(TXN, pe.producer_id, pe.producer_epoch, &[tp("t", 0)], 30);
    let (retry, out) = c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        40,
        &mut || 0,
    );
    assert_eq!(retry, Ok(pe));
    assert!(out.is_empty());
    let (flip, _) = c.end_txn(
        end_req(TXN, pe, Abort, TransactionVersion::TV_0),
        40,
        &mut || 0,
    );
    assert_eq!(flip, Err(TxnError::InvalidTxnState));
}

#[test]
fn empty_end_txn_is_invalid_txn_state() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    let (result, out) = c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        1,
        &mut || 0,
    );
    assert_eq!(result, Err(TxnError::InvalidTxnState));
    assert!(out.is_empty());
    let unknown = c.end_txn(
        end_req("other", pe, Commit, TransactionVersion::TV_0),
        1,
        &mut || 0,
    );
    assert_eq!(unknown.0, Err(TxnError::InvalidProducerIdMapping));
}

#[test]
fn complete_to_ongoing_starts_a_new_transaction() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    c.end_txn(
        end_req(TXN, pe, Abort, TransactionVersion::TV_0),
        20,
        &mut || ids.next(),
    )
    .0
    .expect("end ok");
    c.markers_written(TXN, pe.producer_id, pe.producer_epoch, &[tp("t", 0)], 30);
    let out = add(&mut c, TXN, pe, &[tp("t", 0)], 500);
    assert_eq!(value_state(&out, 0), TransactionState::Ongoing);
    assert_eq!(c.transaction(TXN).expect("id").txn_start_timestamp_ms, 500);
}

#[test]
fn complete_to_empty_on_init_bumps_epoch() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        20,
        &mut || ids.next(),
    )
    .0
    .expect("end ok");
    c.markers_written(TXN, pe.producer_id, pe.producer_epoch, &[tp("t", 0)], 30);
    let next = init(&mut c, &mut ids, TXN, 40);
    assert_eq!(next.producer_epoch, 1);
    assert_eq!(state(&c), TransactionState::Empty);
}

#[test]
fn second_init_fences_the_first_producer_and_aborts_its_transaction() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let zombie = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, zombie, &[tp("t", 0), tp("t", 1)], 10);

    // The new incarnation: the open transaction is aborted first, the answer says retry.
    let (result, out) = c.init_producer_id(init_req(TXN), 20, &mut || ids.next());
    assert_eq!(result, Err(TxnError::ConcurrentTransactions));
    assert_eq!(out.records.len(), 1);
    let value = out.records[0].value.as_ref().expect("v");
    assert_eq!(value.state, TransactionState::PrepareAbort);
    assert_eq!(value.producer_epoch, 1, "the fence bumps the epoch");
    assert_eq!(out.markers.len(), 1);
    assert_eq!(out.markers[0].result, Abort);
    assert_eq!(out.markers[0].producer_epoch, 1);
    assert_eq!(out.markers[0].partitions, vec![tp("t", 0), tp("t", 1)]);

    // The zombie cannot commit: PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for EndTxn v0-1.
    for tv in [TransactionVersion::TV_0, TransactionVersion::TV_2] {
        let (commit, out) = c.end_txn(end_req(TXN, zombie, Commit, tv), 21, &mut || ids.next());
        let error = commit.expect_err("fenced");
        assert_eq!(error, TxnError::ProducerFenced);
        assert_eq!(error.error_code_for(TxnApi::EndTxn, 1), 47);
        assert_eq!(error.error_code_for(TxnApi::EndTxn, 4), 90);
        assert!(out.is_empty());
    }
    let (retry, _) = c.init_producer_id(init_req(TXN), 22, &mut || ids.next());
    assert_eq!(
        retry,
        Err(TxnError::ConcurrentTransactions),
        "markers not written yet"
    );

    let out = c.markers_written(TXN, zombie.producer_id, 1, &[tp("t", 0), tp("t", 1)], 30);
    assert_eq!(value_state(&out, 0), TransactionState::CompleteAbort);
    let fresh = init(&mut c, &mut ids, TXN, 40);
    assert_eq!(
        (fresh.producer_id, fresh.producer_epoch),
        (zombie.producer_id, 2)
    );
    for tv in [TransactionVersion::TV_0, TransactionVersion::TV_2] {
        let (abort, _) = c.end_txn(end_req(TXN, zombie, Abort, tv), 41, &mut || ids.next());
        assert_eq!(abort, Err(TxnError::ProducerFenced));
    }
    let (added, _) = c.add_partitions(TXN, zombie.producer_id, 0, &[tp("t", 0)], 42);
    assert_eq!(added, Err(TxnError::ProducerFenced));
    add(&mut c, TXN, fresh, &[tp("t", 0)], 43);
}

#[test]
fn kip360_expected_epoch_bumps_retries_and_fences() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    let mut req = init_req(TXN);
    req.expected = Some(pe);
    let (bumped, _) = c.init_producer_id(req.clone(), 1, &mut || ids.next());
    let bumped = bumped.expect("owner may bump");
    assert_eq!(bumped.producer_epoch, 1);
    // The same request again (its answer was lost): same answer, no second bump.
    let (retried, _) = c.init_producer_id(req.clone(), 2, &mut || ids.next());
    assert_eq!(retried, Ok(bumped));
    // A stale epoch that is neither current nor last.
    let mut stale = init_req(TXN);
    stale.expected = Some(ProducerIdAndEpoch {
        producer_id: pe.producer_id,
        producer_epoch: 7,
    });
    let (fenced, out) = c.init_producer_id(stale, 3, &mut || ids.next());
    assert_eq!(fenced, Err(TxnError::ProducerFenced));
    assert!(out.is_empty());
    assert_eq!(
        TxnError::ProducerFenced.error_code_for(TxnApi::InitProducerId, 3),
        47
    );
    // Another producer id altogether.
    let mut other = init_req(TXN);
    other.expected = Some(ProducerIdAndEpoch {
        producer_id: 5,
        producer_epoch: 1,
    });
    let (fenced, _) = c.init_producer_id(other, 4, &mut || ids.next());
    assert_eq!(fenced, Err(TxnError::ProducerFenced));
}

#[test]
fn exhausted_epoch_rotates_producer_id_on_init() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    // Walk the epoch to the last one a client may hold.
    let mut record = current_record(&c, TXN);
    record.value.as_mut().expect("v").producer_epoch = i16::MAX - 1;
    c.replay(&record);
    let rotated = init(&mut c, &mut ids, TXN, 1);
    assert_eq!(rotated.producer_epoch, 0);
    assert_ne!(rotated.producer_id, pe.producer_id);
    let m = c.transaction(TXN).expect("id");
    assert_eq!(m.previous_producer_id, pe.producer_id);
}

#[test]
fn v2_end_txn_bumps_epoch_every_time_and_recognises_retries() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    let req = end_req(TXN, pe, Commit, TransactionVersion::TV_2);
    let (result, out) = c.end_txn(req.clone(), 20, &mut || ids.next());
    let next = result.expect("commit");
    assert_eq!((next.producer_id, next.producer_epoch), (pe.producer_id, 1));
    assert_eq!(
        out.markers[0].producer_epoch, 1,
        "markers carry the bumped epoch"
    );
    assert_eq!(out.markers[0].transaction_version, TransactionVersion::TV_2);
    let value = out.records[0].value.as_ref().expect("v");
    assert_eq!(value.client_transaction_version, TransactionVersion::TV_2);
    // A retry while markers are written.
    assert_eq!(
        c.end_txn(req.clone(), 21, &mut || 0).0,
        Err(TxnError::ConcurrentTransactions)
    );
    c.markers_written(TXN, pe.producer_id, 1, &[tp("t", 0)], 30);
    // A retry after completion gets the new epoch back.
    assert_eq!(c.end_txn(req, 31, &mut || 0).0, Ok(next));
    // Under v2, ending with the current epoch in Complete* is a fenced producer's request.
    let current = end_req(TXN, next, Commit, TransactionVersion::TV_2);
    assert_eq!(
        c.end_txn(current, 32, &mut || 0).0,
        Err(TxnError::ProducerFenced)
    );
    // The next transaction runs at the new epoch.
    add(&mut c, TXN, next, &[tp("t", 1)], 40);
    let (result, _) = c.end_txn(
        end_req(TXN, next, Abort, TransactionVersion::TV_2),
        50,
        &mut || ids.next(),
    );
    assert_eq!(result.expect("abort").producer_epoch, 2);
}

#[test]
fn v2_end_txn_at_exhausted_epoch_moves_to_next_producer_id() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    let mut record = current_record(&c, TXN);
    record.value.as_mut().expect("v").producer_epoch = i16::MAX - 1;
    c.replay(&record);
    let old = ProducerIdAndEpoch {
        producer_id: pe.producer_id,
        producer_epoch: i16::MAX - 1,
    };
    let req = end_req(TXN, old, Commit, TransactionVersion::TV_2);
    let (result, out) = c.end_txn(req.clone(), 20, &mut || ids.next());
    let next = result.expect("commit");
    assert_eq!(
        next,
        ProducerIdAndEpoch {
            producer_id: 1001,
            producer_epoch: 0
        }
    );
    assert_eq!(
        out.records[0].value.as_ref().expect("v").next_producer_id,
        1001
    );
    let markers = &out.markers[0];
    assert_eq!(
        (markers.producer_id, markers.producer_epoch),
        (pe.producer_id, i16::MAX)
    );
    let out = c.markers_written(TXN, pe.producer_id, i16::MAX, &[tp("t", 0)], 30);
    let value = out.records[0].value.as_ref().expect("v");
    assert_eq!(value.state, TransactionState::CompleteCommit);
    assert_eq!((value.producer_id, value.producer_epoch), (1001, 0));
    assert_eq!(value.previous_producer_id, pe.producer_id);
    // A retry with the old id and epoch is recognised.
    assert_eq!(c.end_txn(req, 31, &mut || 0).0, Ok(next));
}

#[test]
fn verify_only_checks_membership_without_records() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 10);
    let result = c.verify_partitions(
        TXN,
        pe.producer_id,
        pe.producer_epoch,
        &[tp("t", 0), tp("t", 1)],
    );
    assert_eq!(result[0], (tp("t", 0), Ok(())));
    assert_eq!(result[1], (tp("t", 1), Err(TxnError::TransactionAbortable)));
    let stale = c.verify_partitions(TXN, pe.producer_id, 9, &[tp("t", 0)]);
    assert_eq!(stale[0].1, Err(TxnError::ProducerFenced));
    let unknown = c.verify_partitions("nope", 1, 0, &[tp("t", 0)]);
    assert_eq!(unknown[0].1, Err(TxnError::InvalidProducerIdMapping));
    assert_eq!(c.transaction(TXN).expect("id").partitions.len(), 1);
}

#[test]
fn batched_add_partitions_mixes_adds_and_verifications() {
    use fjord_coordinator::txn::AddPartitionsTxn;
    let mut c = coordinator();
    let mut ids = Ids::new();
    let a = init(&mut c, &mut ids, "a", 0);
    let b = init(&mut c, &mut ids, "b", 0);
    add(&mut c, "b", b, &[tp("t", 3)], 1);
    let batch = vec![
        AddPartitionsTxn {
            transactional_id: "a".into(),
            producer_id: a.producer_id,
            producer_epoch: a.producer_epoch,
            verify_only: false,
            partitions: vec![tp("t", 0), tp("t", 1)],
        },
        AddPartitionsTxn {
            transactional_id: "b".into(),
            producer_id: b.producer_id,
            producer_epoch: b.producer_epoch,
            verify_only: true,
            partitions: vec![tp("t", 3), tp("t", 4)],
        },
        AddPartitionsTxn {
            transactional_id: "c".into(),
            producer_id: 1,
            producer_epoch: 0,
            verify_only: false,
            partitions: vec![tp("t", 0)],
        },
    ];
    let (results, out) = c.add_partitions_batch(batch, 2);
    assert_eq!(results.len(), 3);
    assert!(results[0].partitions.iter().all(|(_, r)| r.is_ok()));
    assert_eq!(results[1].partitions[0].1, Ok(()));
    assert_eq!(
        results[1].partitions[1].1,
        Err(TxnError::TransactionAbortable)
    );
    assert_eq!(
        results[2].partitions[0].1,
        Err(TxnError::InvalidProducerIdMapping)
    );
    assert_eq!(out.records.len(), 1, "only the add of 'a' writes");
    assert_eq!(out.records[0].transactional_id, "a");
}

#[test]
fn timed_out_transaction_is_aborted_with_an_epoch_bump() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    add(&mut c, TXN, pe, &[tp("t", 0)], 1_000);
    assert!(c.poll(1_000 + i64::from(TIMEOUT_MS)).is_empty(), "not yet");
    let out = c.poll(1_001 + i64::from(TIMEOUT_MS));
    assert_eq!(out.records.len(), 1);
    assert_eq!(value_state(&out, 0), TransactionState::PrepareAbort);
    assert_eq!(out.markers.len(), 1);
    assert_eq!(out.markers[0].result, Abort);
    assert_eq!(out.markers[0].producer_epoch, pe.producer_epoch + 1);
    assert!(
        c.poll(2_000 + i64::from(TIMEOUT_MS)).is_empty(),
        "aborted once"
    );
    let (commit, _) = c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_2),
        70_000,
        &mut || 0,
    );
    assert_eq!(commit, Err(TxnError::ProducerFenced));
}

#[test]
fn idle_transactional_ids_expire_with_a_tombstone() {
    let config = TxnConfig {
        transactional_id_expiration_ms: 10_000,
        ..TxnConfig::default()
    };
    let mut c = fjord_coordinator::txn::TransactionCoordinator::new(config);
    let mut ids = Ids::new();
    init(&mut c, &mut ids, "idle", 0);
    let busy = init(&mut c, &mut ids, "busy", 0);
    add(&mut c, "busy", busy, &[tp("t", 0)], 0);
    assert!(c.poll(9_999).records.is_empty());
    let out = c.poll(10_000);
    let tombstones: Vec<_> = out.records.iter().filter(|r| r.value.is_none()).collect();
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].transactional_id, "idle");
    assert!(c.transaction("idle").is_none());
    assert!(
        c.transaction("busy").is_some(),
        "an open transaction never expires"
    );
}

#[test]
fn describe_and_list_report_kafkas_fields_and_filters() {
    use fjord_coordinator::txn::ListTransactionsFilter;
    let mut c = coordinator();
    let mut ids = Ids::new();
    let a = init(&mut c, &mut ids, "a", 0);
    init(&mut c, &mut ids, "b", 0);
    add(&mut c, "a", a, &[tp("t", 0)], 100);
    let described = c.describe(&["a".into(), "zzz".into(), String::new()]);
    let a_desc = described[0].1.as_ref().expect("a");
    assert_eq!(a_desc.transaction_state, "Ongoing");
    assert_eq!(a_desc.transaction_start_time_ms, 100);
    assert_eq!(a_desc.partitions, vec![tp("t", 0)]);
    assert_eq!(a_desc.transaction_timeout_ms, TIMEOUT_MS);
    assert_eq!(described[1].1, Err(TxnError::TransactionalIdNotFound));
    assert_eq!(described[2].1.as_ref().map_err(|e| e.error_code()), Err(42));

    let all = c.list(&ListTransactionsFilter::default(), 200);
    assert_eq!(all.transaction_states.len(), 2);
    let ongoing = c.list(
        &ListTransactionsFilter {
            state_filters: vec!["Ongoing".into(), "Bogus".into()],
            producer_id_filters: vec![],
            duration_filter_ms: -1,
        },
        200,
    );
    assert_eq!(ongoing.unknown_state_filters, vec!["Bogus".to_string()]);
    assert_eq!(ongoing.transaction_states.len(), 1);
    assert_eq!(ongoing.transaction_states[0].transactional_id, "a");
    let by_id = c.list(
        &ListTransactionsFilter {
            producer_id_filters: vec![a.producer_id],
            ..ListTransactionsFilter::default()
        },
        200,
    );
    assert_eq!(by_id.transaction_states.len(), 1);
    let long_running = ListTransactionsFilter {
        state_filters: vec!["Ongoing".into()],
        producer_id_filters: vec![],
        duration_filter_ms: 100,
    };
    assert!(c.list(&long_running, 200).transaction_states.is_empty());
    assert_eq!(c.list(&long_running, 201).transaction_states.len(), 1);
}
