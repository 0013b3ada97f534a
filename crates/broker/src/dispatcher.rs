//! The dispatcher: the one `match` from a decoded request to its handler.
//!
//! The protocol crate's table decides which APIs and versions are decoded at all; this match
//! decides which handler runs. The two must agree: an API enters the table in the same change
//! that adds its arm here (the `every_supported_api_has_a_handler` test checks it). Each handler
//! returns its typed response; the connection encodes it at the request's version.

use fjord_protocol::kafka_protocol::messages::{RequestKind, ResponseKind};
use tracing::error;

use crate::handlers::{self, BrokerContext, RequestContext};

/// What the connection does after a request was handled.
// Made once per request and consumed at once: boxing the response would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Reply {
    /// Send this response, encoded at the request's version.
    Send(ResponseKind),
    /// Send nothing and carry on (Produce with `acks=0`).
    NoResponse,
    /// Close the connection without answering: a failed `acks=0` produce, where closing is the
    /// only way to make the client refresh its metadata (Kafka does the same).
    Close { reason: String },
    /// The protocol table admitted an API that has no arm in [`dispatch`]: a bug, caught by the
    /// `every_supported_api_reaches_a_handler` test. The connection is closed.
    NoHandler,
}

/// Routes one decoded request to its handler.
pub async fn dispatch(ctx: &BrokerContext, req: &RequestContext, body: RequestKind) -> Reply {
    match body {
        RequestKind::Produce(request) => handlers::produce::dispatch(ctx, req, request).await,
        RequestKind::Fetch(request) => Reply::Send(ResponseKind::Fetch(
            handlers::fetch::handle(ctx, req, request).await,
        )),
        RequestKind::ListOffsets(request) => Reply::Send(ResponseKind::ListOffsets(
            handlers::list_offsets::handle(ctx, req, request).await,
        )),
        RequestKind::DeleteRecords(request) => Reply::Send(ResponseKind::DeleteRecords(
            handlers::delete_records::handle(ctx, req, request).await,
        )),
        RequestKind::InitProducerId(request) => Reply::Send(ResponseKind::InitProducerId(
            handlers::init_producer_id::handle(ctx, req, request).await,
        )),
        RequestKind::AddPartitionsToTxn(request) => Reply::Send(ResponseKind::AddPartitionsToTxn(
            handlers::add_partitions_to_txn::handle(ctx, req, request).await,
        )),
        RequestKind::AddOffsetsToTxn(request) => Reply::Send(ResponseKind::AddOffsetsToTxn(
            handlers::add_offsets_to_txn::handle(ctx, req, request).await,
        )),
        RequestKind::EndTxn(request) => Reply::Send(ResponseKind::EndTxn(
            handlers::end_txn::handle(ctx, req, request).await,
        )),
        RequestKind::DescribeProducers(request) => Reply::Send(ResponseKind::DescribeProducers(
            handlers::describe_producers::handle(ctx, req, request).await,
        )),
        RequestKind::DescribeTransactions(request) => {
            Reply::Send(ResponseKind::DescribeTransactions(
                handlers::describe_transactions::handle(ctx, req, request).await,
            ))
        }
        RequestKind::ListTransactions(request) => Reply::Send(ResponseKind::ListTransactions(
            handlers::list_transactions::handle(ctx, req, request).await,
        )),
        RequestKind::WriteTxnMarkers(request) => Reply::Send(ResponseKind::WriteTxnMarkers(
            handlers::write_txn_markers::handle(ctx, req, request).await,
        )),
        RequestKind::OffsetForLeaderEpoch(request) => {
            Reply::Send(ResponseKind::OffsetForLeaderEpoch(
                handlers::offset_for_leader_epoch::handle(ctx, req, request).await,
            ))
        }
        RequestKind::DescribeLogDirs(request) => Reply::Send(ResponseKind::DescribeLogDirs(
            handlers::describe_log_dirs::handle(ctx, req, request).await,
        )),
        RequestKind::ApiVersions(request) => Reply::Send(ResponseKind::ApiVersions(
            handlers::api_versions::handle(ctx, req, request).await,
        )),
        RequestKind::Metadata(request) => Reply::Send(ResponseKind::Metadata(
            handlers::metadata::handle(ctx, req, request).await,
        )),
        RequestKind::CreateTopics(request) => Reply::Send(ResponseKind::CreateTopics(
            handlers::create_topics::handle(ctx, req, request).await,
        )),
        RequestKind::DeleteTopics(request) => Reply::Send(ResponseKind::DeleteTopics(
            handlers::delete_topics::handle(ctx, req, request).await,
        )),
        RequestKind::DescribeConfigs(request) => Reply::Send(ResponseKind::DescribeConfigs(
            handlers::describe_configs::handle(ctx, req, request).await,
        )),
        RequestKind::AlterConfigs(request) => Reply::Send(ResponseKind::AlterConfigs(
            handlers::alter_configs::handle(ctx, req, request).await,
        )),
        RequestKind::CreatePartitions(request) => Reply::Send(ResponseKind::CreatePartitions(
            handlers::create_partitions::handle(ctx, req, request).await,
        )),
        RequestKind::IncrementalAlterConfigs(request) => {
            Reply::Send(ResponseKind::IncrementalAlterConfigs(
                handlers::incremental_alter_configs::handle(ctx, req, request).await,
            ))
        }
        RequestKind::DescribeCluster(request) => Reply::Send(ResponseKind::DescribeCluster(
            handlers::describe_cluster::handle(ctx, req, request).await,
        )),
        RequestKind::DescribeTopicPartitions(request) => {
            Reply::Send(ResponseKind::DescribeTopicPartitions(
                handlers::describe_topic_partitions::handle(ctx, req, request).await,
            ))
        }
        RequestKind::OffsetCommit(request) => Reply::Send(ResponseKind::OffsetCommit(
            handlers::offset_commit::handle(ctx, req, request).await,
        )),
        RequestKind::OffsetFetch(request) => Reply::Send(ResponseKind::OffsetFetch(
            handlers::offset_fetch::handle(ctx, req, request).await,
        )),
        RequestKind::TxnOffsetCommit(request) => Reply::Send(ResponseKind::TxnOffsetCommit(
            handlers::txn_offset_commit::handle(ctx, req, request).await,
        )),
        RequestKind::FindCoordinator(request) => Reply::Send(ResponseKind::FindCoordinator(
            handlers::find_coordinator::handle(ctx, req, request).await,
        )),
        RequestKind::JoinGroup(request) => Reply::Send(ResponseKind::JoinGroup(
            handlers::join_group::handle(ctx, req, request).await,
        )),
        RequestKind::Heartbeat(request) => Reply::Send(ResponseKind::Heartbeat(
            handlers::heartbeat::handle(ctx, req, request).await,
        )),
        RequestKind::LeaveGroup(request) => Reply::Send(ResponseKind::LeaveGroup(
            handlers::leave_group::handle(ctx, req, request).await,
        )),
        RequestKind::SyncGroup(request) => Reply::Send(ResponseKind::SyncGroup(
            handlers::sync_group::handle(ctx, req, request).await,
        )),
        RequestKind::DescribeGroups(request) => Reply::Send(ResponseKind::DescribeGroups(
            handlers::describe_groups::handle(ctx, req, request).await,
        )),
        RequestKind::ListGroups(request) => Reply::Send(ResponseKind::ListGroups(
            handlers::list_groups::handle(ctx, req, request).await,
        )),
        RequestKind::DeleteGroups(request) => Reply::Send(ResponseKind::DeleteGroups(
            handlers::delete_groups::handle(ctx, req, request).await,
        )),
        RequestKind::OffsetDelete(request) => Reply::Send(ResponseKind::OffsetDelete(
            handlers::offset_delete::handle(ctx, req, request).await,
        )),
        RequestKind::ConsumerGroupHeartbeat(request) => {
            Reply::Send(ResponseKind::ConsumerGroupHeartbeat(
                handlers::consumer_group_heartbeat::handle(ctx, req, request).await,
            ))
        }
        RequestKind::ConsumerGroupDescribe(request) => {
            Reply::Send(ResponseKind::ConsumerGroupDescribe(
                handlers::consumer_group_describe::handle(ctx, req, request).await,
            ))
        }
        _ => {
            // Reaching this means SUPPORTED_APIS lists an API with no arm above.
            error!(
                peer = %req.peer,
                correlation_id = req.correlation_id,
                "no handler registered for {:?}",
                req.api_key
            );
            Reply::NoHandler
        }
    }
}
