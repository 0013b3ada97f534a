//! The transaction coordinator runtime: serves the transactional APIs from the pure state
//! machine in `fjord_coordinator::txn`, one [`TxnShard`] per `__transaction_state` partition
//! this node leads.
//!
//! - Creating `__transaction_state` through the controller on first need
//!   (`transaction.state.log.num.partitions`, `.replication.factor`, `.segment.bytes`,
//!   `.min.isr`, `cleanup.policy=compact`), following the metadata image and starting or
//!   closing a shard per led partition is [`crate::coordinator_host`]'s work.
//! - A transactional id lives in partition `abs(hashCode(id)) % partition_count`; a request
//!   for a partition led elsewhere answers NOT_COORDINATOR, one for a partition being replayed
//!   COORDINATOR_LOAD_IN_PROGRESS.
//! - Each shard appends its records with `acks=-1` before answering ([`shard`]), runs a timer
//!   calling `poll` every `transaction.abort.timed.out.transaction.cleanup.interval.ms`
//!   (timed-out transactions are aborted; idle ids past `transactional.id.expiration.ms` are
//!   removed in the same pass, so `transaction.remove.expired.transaction.cleanup.interval.ms`
//!   only bounds how often that may happen from above), and delivers markers ([`markers`]).
//! - The cluster runs classic transactions (`transaction.version` is not finalized, so clients
//!   never send EndTxn v5 as transactions-v2 clients): records are written as
//!   `TransactionLogValue` v0.

pub mod error;
pub mod markers;
pub mod shard;

use std::sync::Arc;
use std::time::Duration;

use fjord_config::ServerConfig;
use fjord_coordinator::txn::{TransactionVersion, TxnConfig, TRANSACTION_STATE_TOPIC};
use fjord_metadata::Controller;

pub use error::TxnRuntimeError;
pub use shard::TxnShard;

use crate::coordinator_host::{CoordinatorHost, InternalTopic};
use crate::group::GroupRuntime;
use crate::replica::ReplicaManager;

/// Settings of the runtime, from the server configuration.
#[derive(Debug, Clone)]
pub struct TxnRuntimeConfig {
    pub node_id: i32,
    pub txn: TxnConfig,
    pub transaction_state_log_replication_factor: i16,
    pub transaction_state_log_segment_bytes: u64,
    pub transaction_state_log_min_isr: i32,
    /// How often timed-out transactions are aborted (and expired ids removed).
    pub abort_timed_out_interval_ms: i64,
}

impl From<&ServerConfig> for TxnRuntimeConfig {
    fn from(config: &ServerConfig) -> Self {
        TxnRuntimeConfig {
            node_id: config.node_id,
            txn: TxnConfig {
                transaction_max_timeout_ms: config.transaction_max_timeout_ms,
                transactional_id_expiration_ms: i64::from(config.transactional_id_expiration_ms),
                transaction_state_log_num_partitions: config.transaction_state_log_num_partitions,
                transaction_version: TransactionVersion::TV_0,
            },
            transaction_state_log_replication_factor: config
                .transaction_state_log_replication_factor,
            transaction_state_log_segment_bytes: config.transaction_state_log_segment_bytes,
            transaction_state_log_min_isr: config.transaction_state_log_min_isr,
            abort_timed_out_interval_ms: config
                .transaction_abort_timed_out_transaction_cleanup_interval_ms
                .min(config.transaction_remove_expired_transaction_cleanup_interval_ms)
                .max(1),
        }
    }
}

/// The transaction shards of this node and the way to them. Shared as `Arc` through the
/// `BrokerContext`.
pub struct TxnRuntime {
    host: Arc<CoordinatorHost<TxnShard>>,
}

impl TxnRuntime {
    /// Starts loading the partitions this node leads and following the metadata image.
    /// `groups` learns of the markers written to `__consumer_offsets` partitions (the
    /// transactional offsets they commit or drop).
    pub fn start(
        config: TxnRuntimeConfig,
        controller: Arc<Controller>,
        replicas: Arc<ReplicaManager>,
        groups: Arc<GroupRuntime>,
    ) -> Arc<TxnRuntime> {
        let topic = InternalTopic {
            name: TRANSACTION_STATE_TOPIC,
            num_partitions: config.txn.transaction_state_log_num_partitions,
            replication_factor: config.transaction_state_log_replication_factor,
            configs: vec![
                ("cleanup.policy".into(), Some("compact".into())),
                (
                    "segment.bytes".into(),
                    Some(config.transaction_state_log_segment_bytes.to_string()),
                ),
                (
                    "min.insync.replicas".into(),
                    Some(config.transaction_state_log_min_isr.to_string()),
                ),
                ("compression.type".into(), Some("uncompressed".into())),
            ],
        };
        let tick = Duration::from_millis(config.abort_timed_out_interval_ms.max(1) as u64);
        let txn_config = config.txn.clone();
        let shard_replicas = Arc::clone(&replicas);
        let host = CoordinatorHost::start(
            topic,
            config.node_id,
            controller,
            replicas,
            move |index, partition| {
                Arc::new(TxnShard::new(
                    index,
                    partition,
                    Arc::clone(&shard_replicas),
                    Arc::clone(&groups),
                    txn_config.clone(),
                    tick,
                ))
            },
        );
        Arc::new(TxnRuntime { host })
    }

    /// Stops the shards (their timers and marker deliveries) and waits for them.
    pub async fn shutdown(&self) {
        self.host.shutdown().await;
    }

    /// The node coordinating `transactional_id` (FindCoordinator key type 1), creating
    /// `__transaction_state` first if needed.
    pub async fn coordinator_node(&self, transactional_id: &str) -> Result<i32, TxnRuntimeError> {
        Ok(self.host.coordinator_node(transactional_id).await?)
    }

    /// The shard serving `transactional_id` on this node.
    pub async fn shard_for(
        &self,
        transactional_id: &str,
    ) -> Result<Arc<TxnShard>, TxnRuntimeError> {
        Ok(self.host.shard_for(transactional_id).await?)
    }

    /// The `__transaction_state` partition of `transactional_id`.
    pub async fn partition_for(&self, transactional_id: &str) -> Result<i32, TxnRuntimeError> {
        Ok(self.host.partition_for(transactional_id).await?)
    }

    /// Every shard of this node (ListTransactions asks all of them).
    pub fn shards(&self) -> Vec<Arc<TxnShard>> {
        self.host.shards()
    }
}
