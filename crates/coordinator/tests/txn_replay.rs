//! Rebuilding the transaction coordinator from its `__transaction_state` records (through
//! their bytes): the state comes back, a restart mid-commit finishes the commit, an Ongoing
//! transaction keeps its timeout, and expired ids stay gone.

mod txn_common;

use fjord_coordinator::txn::{
    TransactionCoordinator, TransactionResult, TransactionState, TransactionVersion, TxnConfig,
    TxnRecord,
};
use txn_common::*;

use TransactionResult::Commit;

/// Every field but `last_producer_epoch`, which Kafka does not persist either.
fn assert_same(a: &TransactionCoordinator, b: &TransactionCoordinator) {
    let ids_a: Vec<_> = a.transactional_ids().collect();
    let ids_b: Vec<_> = b.transactional_ids().collect();
    assert_eq!(ids_a, ids_b);
    for id in ids_a {
        let mut ma = a.transaction(id).expect("a").clone();
        let mb = b.transaction(id).expect("b");
        ma.last_producer_epoch = mb.last_producer_epoch;
        assert_eq!(&ma, mb, "{id}");
    }
}

#[test]
fn replay_rebuilds_every_state_through_the_bytes() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let mut log: Vec<TxnRecord> = Vec::new();
    let pe = init(&mut c, &mut ids, "committed", 0);
    log.extend(add(&mut c, "committed", pe, &[tp("t", 0), tp("u", 1)], 10).records);
    let (result, out) = c.end_txn(
        end_req("committed", pe, Commit, TransactionVersion::TV_2),
        20,
        &mut || ids.next(),
    );
    result.expect("commit");
    log.extend(out.records);
    log.extend(
        c.markers_written(
            "committed",
            pe.producer_id,
            1,
            &[tp("t", 0), tp("u", 1)],
            30,
        )
        .records,
    );
    let ongoing = init(&mut c, &mut ids, "ongoing", 40);
    log.extend(add(&mut c, "ongoing", ongoing, &[tp("t", 2)], 50).records);
    init(&mut c, &mut ids, "empty", 60);
    // Rebuild the log from scratch: the test's init helper swallowed the Empty records, so
    // take every id's current record instead, appended after the ones above.
    for id in ["committed", "ongoing", "empty"] {
        log.push(current_record(&c, id));
    }
    let rebuilt = rebuilt(TxnConfig::default(), &log);
    assert_same(&c, &rebuilt);
    assert_eq!(
        rebuilt
            .transaction("committed")
            .expect("id")
            .client_transaction_version,
        TransactionVersion::TV_2
    );
}

#[test]
fn restart_mid_commit_writes_the_markers_again_and_completes() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let mut log: Vec<TxnRecord> = Vec::new();
    let (result, out) = c.init_producer_id(init_req(TXN), 0, &mut || ids.next());
    let pe = result.expect("init");
    log.extend(out.records);
    log.extend(add(&mut c, TXN, pe, &[tp("t", 0), tp("t", 1)], 10).records);
    let (result, out) = c.end_txn(
        end_req(TXN, pe, Commit, TransactionVersion::TV_0),
        20,
        &mut || ids.next(),
    );
    result.expect("commit");
    let first_markers = out.markers.clone();
    log.extend(out.records);
    // The broker dies before any marker is written.
    let mut restarted = rebuilt(TxnConfig::default(), &log);
    assert_eq!(
        restarted.transaction(TXN).expect("id").state,
        TransactionState::PrepareCommit
    );
    let loaded = restarted.load_complete(100);
    assert!(loaded.records.is_empty());
    assert_eq!(loaded.markers, first_markers, "the same markers, again");
    assert_eq!(restarted.pending_markers(), first_markers);
    restarted.markers_written(TXN, pe.producer_id, pe.producer_epoch, &[tp("t", 1)], 105);
    assert_eq!(restarted.pending_markers()[0].partitions, vec![tp("t", 0)]);
    let done = restarted.markers_written(
        TXN,
        pe.producer_id,
        pe.producer_epoch,
        &[tp("t", 0), tp("t", 1)],
        110,
    );
    assert_eq!(done.records.len(), 1);
    assert_eq!(
        done.records[0].value.as_ref().expect("v").state,
        TransactionState::CompleteCommit
    );
    // Nothing pending any more: a second load has nothing to do.
    assert!(restarted.load_complete(120).is_empty());
}

#[test]
fn prepare_with_every_marker_written_but_no_complete_record_completes_on_load() {
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
    let mut record = current_record(&c, TXN);
    record.value.as_mut().expect("v").partitions.clear();
    let mut restarted = rebuilt(TxnConfig::default(), &[record]);
    let loaded = restarted.load_complete(30);
    assert!(loaded.markers.is_empty());
    assert_eq!(loaded.records.len(), 1);
    assert_eq!(
        restarted.transaction(TXN).expect("id").state,
        TransactionState::CompleteCommit
    );
}

#[test]
fn ongoing_transaction_keeps_its_timeout_across_a_restart() {
    let mut c = coordinator();
    let mut ids = Ids::new();
    let pe = init(&mut c, &mut ids, TXN, 0);
    let log = add(&mut c, TXN, pe, &[tp("t", 0)], 1_000).records;
    let mut restarted = rebuilt(TxnConfig::default(), &log);
    assert!(
        restarted.load_complete(2_000).is_empty(),
        "Ongoing needs no markers"
    );
    let deadline = 1_000 + i64::from(TIMEOUT_MS);
    assert!(restarted.poll(deadline).is_empty());
    let out = restarted.poll(deadline + 1);
    assert_eq!(out.markers.len(), 1);
    assert_eq!(out.markers[0].result, TransactionResult::Abort);
    assert_eq!(out.markers[0].partitions, vec![tp("t", 0)]);
}

#[test]
fn tombstones_remove_and_v0_configs_write_v0_values() {
    let config = TxnConfig {
        transaction_version: TransactionVersion::TV_0,
        transactional_id_expiration_ms: 100,
        ..TxnConfig::default()
    };
    let mut c = TransactionCoordinator::new(config.clone());
    let mut ids = Ids::new();
    let (result, out) = c.init_producer_id(init_req(TXN), 0, &mut || ids.next());
    result.expect("init");
    let mut log = out.records;
    let value = log[0].value_bytes().expect("value");
    assert_eq!(&value[..2], &[0, 0], "value v0");
    assert_eq!(rebuilt(config.clone(), &log).transactional_ids().count(), 1);
    let expired = c.poll(100);
    assert_eq!(expired.records.len(), 1);
    log.extend(expired.records);
    let rebuilt = rebuilt(config, &log);
    assert_eq!(rebuilt.transactional_ids().count(), 0);
}
