//! Shared helpers for the transaction coordinator's integration tests.
#![allow(dead_code)]

use fjord_coordinator::txn::{
    EndTxnRequest, InitProducerIdRequest, ProducerIdAndEpoch, TopicPartition,
    TransactionCoordinator, TransactionLogValue, TransactionResult, TransactionVersion, TxnConfig,
    TxnOutcome, TxnRecord,
};

pub const TXN: &str = "txn-1";
pub const TIMEOUT_MS: i32 = 60_000;

pub fn coordinator() -> TransactionCoordinator {
    TransactionCoordinator::new(TxnConfig::default())
}

/// Hands out producer ids 1000, 1001, …
pub struct Ids(pub i64);

impl Ids {
    pub fn new() -> Self {
        Ids(1000)
    }

    pub fn next(&mut self) -> i64 {
        let id = self.0;
        self.0 += 1;
        id
    }
}

pub fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

pub fn init_req(transactional_id: &str) -> InitProducerIdRequest {
    InitProducerIdRequest {
        transactional_id: transactional_id.into(),
        txn_timeout_ms: TIMEOUT_MS,
        expected: None,
    }
}

/// InitProducerId that must succeed.
pub fn init(
    c: &mut TransactionCoordinator,
    ids: &mut Ids,
    transactional_id: &str,
    now_ms: i64,
) -> ProducerIdAndEpoch {
    let (result, out) = c.init_producer_id(init_req(transactional_id), now_ms, &mut || ids.next());
    assert_eq!(out.records.len(), 1, "one Empty record");
    result.expect("init ok")
}

/// AddPartitionsToTxn that must succeed.
pub fn add(
    c: &mut TransactionCoordinator,
    transactional_id: &str,
    pe: ProducerIdAndEpoch,
    partitions: &[TopicPartition],
    now_ms: i64,
) -> TxnOutcome {
    let (result, out) = c.add_partitions(
        transactional_id,
        pe.producer_id,
        pe.producer_epoch,
        partitions,
        now_ms,
    );
    result.expect("add ok");
    out
}

pub fn end_req(
    transactional_id: &str,
    pe: ProducerIdAndEpoch,
    result: TransactionResult,
    tv: TransactionVersion,
) -> EndTxnRequest {
    EndTxnRequest {
        transactional_id: transactional_id.into(),
        producer_id: pe.producer_id,
        producer_epoch: pe.producer_epoch,
        result,
        client_transaction_version: tv,
    }
}

/// Encodes records to bytes and decodes them back, as a restart reading the log would.
pub fn through_bytes(records: &[TxnRecord]) -> Vec<TxnRecord> {
    records
        .iter()
        .map(|r| {
            let key = r.key_bytes();
            let value = r.value_bytes();
            TxnRecord::decode(&key, value.as_deref()).expect("decodes")
        })
        .collect()
}

/// A fresh coordinator rebuilt from `records`.
pub fn rebuilt(config: TxnConfig, records: &[TxnRecord]) -> TransactionCoordinator {
    let mut c = TransactionCoordinator::new(config);
    for record in through_bytes(records) {
        c.replay(&record);
    }
    c
}

/// The record that would persist `transactional_id`'s current metadata (to edit and replay).
pub fn current_record(c: &TransactionCoordinator, transactional_id: &str) -> TxnRecord {
    let metadata = c.transaction(transactional_id).expect("known id");
    TxnRecord {
        transactional_id: transactional_id.into(),
        value: Some(TransactionLogValue::from_metadata(metadata, 1)),
    }
}
