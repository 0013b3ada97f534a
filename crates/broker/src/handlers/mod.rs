//! Request handlers, one file per API named after it (`api_versions.rs`, `produce.rs`, ...),
//! and the two contexts every handler receives.
//!
//! Every handler has the same shape:
//! `pub async fn handle(ctx: &BrokerContext, req: &RequestContext, request: XRequest) -> XResponse`.
//! It answers every failure with Kafka's error code inside the response (per partition where
//! the API has partitions); it never panics on input and never returns internal error text to
//! the client.

use std::net::SocketAddr;
use std::sync::Arc;

use fjord_config::{Listener, ServerConfig};
use kafka_protocol::messages::ApiKey;

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod alter_configs;
pub mod api_versions;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod describe_producers;
pub mod describe_topic_partitions;
pub mod describe_transactions;
pub mod end_txn;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_transactions;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sync_group;
pub mod txn_offset_commit;
pub mod write_txn_markers;

/// Everything a handler may need; built once in [`crate::Broker::start`] and shared as `Arc`.
pub struct BrokerContext {
    pub config: ServerConfig,
    /// What Metadata and FindCoordinator advertise: `advertised.listeners` (or the broker
    /// listeners) with ports the OS picked for `:0` filled in and empty hosts resolved.
    pub advertised: Vec<Listener>,
    /// The metadata controller: the image handlers read, and the admin operations.
    pub controller: Arc<fjord_metadata::Controller>,
    /// The data path: hosted partitions, produce, fetch, offsets, fetch sessions.
    pub replica_manager: Arc<crate::replica::ReplicaManager>,
    /// The group coordinator runtime: one shard per `__consumer_offsets` partition led here.
    pub groups: Arc<crate::group::GroupRuntime>,
    /// The transaction coordinator runtime: one shard per `__transaction_state` partition.
    pub txns: Arc<crate::txn::TxnRuntime>,
}

/// Per-request facts, taken from the request header and the connection.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
    /// Name of the listener the connection came in on (`PLAINTEXT`, `INTERNAL`, ...); Metadata
    /// answers with the advertised address of the same listener.
    pub listener_name: String,
}

/// Pairs each resource of an alter-configs request with its outcome: the error it got while
/// being converted, else the controller's answer, which covers the converted resources in
/// request order.
pub(crate) fn merge_outcomes(
    checked: Vec<Result<(), fjord_metadata::MetadataError>>,
    answered: Vec<Result<(), fjord_metadata::MetadataError>>,
) -> Vec<Result<(), fjord_metadata::MetadataError>> {
    let mut answered = answered.into_iter();
    checked
        .into_iter()
        .map(|checked| {
            checked.and_then(|()| {
                answered
                    .next()
                    .unwrap_or(Err(fjord_metadata::MetadataError::NotController))
            })
        })
        .collect()
}
