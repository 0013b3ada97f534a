//! Request handlers, one file per API named after it (`api_versions.rs`, `produce.rs`, ...),
//! and the two contexts every handler receives.
//!
//! Every handler has the same shape:
//! `pub async fn handle(ctx: &BrokerContext, req: &RequestContext, request: XRequest) -> XResponse`.
//! It answers every failure with Kafka's error code inside the response (per partition where
//! the API has partitions); it never panics on input and never returns internal error text to
//! the client.

use std::net::SocketAddr;

use fjord_config::{Listener, ServerConfig};
use kafka_protocol::messages::ApiKey;

pub mod api_versions;

/// Everything a handler may need; built once in [`crate::Broker::start`] and shared as `Arc`.
pub struct BrokerContext {
    pub config: ServerConfig,
    /// What Metadata and FindCoordinator advertise: `advertised.listeners` (or the broker
    /// listeners) with ports the OS picked for `:0` filled in and empty hosts resolved.
    pub advertised: Vec<Listener>,
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
