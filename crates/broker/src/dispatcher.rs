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
#[derive(Debug)]
pub enum Reply {
    /// Send this response, encoded at the request's version.
    Send(ResponseKind),
    /// Send nothing and carry on (Produce with `acks=0`).
    NoResponse,
    /// Close the connection without answering: a request fjord decoded but has no handler for
    /// (a bug: table and dispatcher disagree), or a failed `acks=0` produce, where closing is the
    /// only way to make the client refresh its metadata (Kafka does the same).
    Close { reason: String },
}

/// Routes one decoded request to its handler.
pub async fn dispatch(ctx: &BrokerContext, req: &RequestContext, body: RequestKind) -> Reply {
    match body {
        RequestKind::ApiVersions(request) => Reply::Send(ResponseKind::ApiVersions(
            handlers::api_versions::handle(ctx, req, request).await,
        )),
        _ => {
            // Reaching this means SUPPORTED_APIS lists an API with no arm above.
            let reason = format!("no handler registered for {:?}", req.api_key);
            error!(peer = %req.peer, correlation_id = req.correlation_id, "{reason}");
            Reply::Close { reason }
        }
    }
}
