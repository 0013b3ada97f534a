//! The router: the JSON API under `/api/v1` (this module's children), `/metrics`, the pages
//! and their assets, all behind the [`crate::security::guard`] middleware.
//!
//! Request parsing is done here by hand (query maps, raw JSON bodies) rather than by axum's
//! typed extractors, so that every malformed request gets the console's JSON error shape with
//! a message naming the bad parameter instead of axum's plain-text rejection.

pub mod cluster;
pub mod groups;
pub mod messages;
pub mod openapi;
pub mod topics;

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;

use crate::error::{ConsoleError, Result};
use crate::state::ConsoleState;

/// Request bodies up to this size are read: a produced value may be large (the topic's
/// `max.message.bytes` decides whether the broker takes it).
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// Every route of the console. `/api/v1/openapi.json` must describe each `/api/v1` route
/// listed in [`API_ROUTES`] (a test checks it).
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/api/v1/cluster", get(cluster::overview))
        .route("/api/v1/brokers", get(cluster::brokers))
        .route("/api/v1/brokers/{id}", get(cluster::broker))
        .route("/api/v1/throughput", get(cluster::throughput))
        .route("/api/v1/groups", get(groups::list))
        .route(
            "/api/v1/groups/{group}",
            get(groups::detail).delete(groups::delete),
        )
        .route(
            "/api/v1/groups/{group}/reset-offsets",
            axum::routing::post(groups::reset_offsets),
        )
        .route("/api/v1/topics", get(topics::list).post(topics::create))
        .route(
            "/api/v1/topics/{topic}",
            get(topics::detail).delete(topics::delete),
        )
        .route(
            "/api/v1/topics/{topic}/configs",
            get(topics::configs).patch(topics::alter_configs),
        )
        .route("/api/v1/topics/{topic}/groups", get(groups::of_topic))
        .route(
            "/api/v1/topics/{topic}/messages",
            get(messages::browse).post(messages::produce),
        )
        .route(
            "/api/v1/topics/{topic}/partitions/{partition}/messages/{offset}",
            get(messages::one),
        )
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/metrics", get(crate::metrics::render))
        .merge(crate::pages::routes())
        .route("/assets/console.js", get(crate::pages::assets::script))
        .route("/assets/console.css", get(crate::pages::assets::stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(json_rejections))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::guard,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The API routes as (method, OpenAPI path); the OpenAPI test checks each is documented.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/cluster"),
    ("get", "/api/v1/brokers"),
    ("get", "/api/v1/brokers/{id}"),
    ("get", "/api/v1/throughput"),
    ("get", "/api/v1/groups"),
    ("get", "/api/v1/groups/{group}"),
    ("delete", "/api/v1/groups/{group}"),
    ("post", "/api/v1/groups/{group}/reset-offsets"),
    ("get", "/api/v1/topics"),
    ("post", "/api/v1/topics"),
    ("get", "/api/v1/topics/{topic}"),
    ("delete", "/api/v1/topics/{topic}"),
    ("get", "/api/v1/topics/{topic}/configs"),
    ("patch", "/api/v1/topics/{topic}/configs"),
    ("get", "/api/v1/topics/{topic}/groups"),
    ("get", "/api/v1/topics/{topic}/messages"),
    ("post", "/api/v1/topics/{topic}/messages"),
    (
        "get",
        "/api/v1/topics/{topic}/partitions/{partition}/messages/{offset}",
    ),
    ("get", "/api/v1/openapi.json"),
];

/// The longest rejection text of axum's carried over into the JSON answer.
const MAX_REJECTION_BYTES: usize = 4096;

/// axum answers a few malformed requests itself, before any handler runs: a path segment that
/// is not UTF-8 once percent-decoded (400, plain text) or a method the route does not serve
/// (405, empty body). Under `/api/` those get the console's JSON error shape too, so an API
/// client parses one shape for every refusal; pages keep axum's plain text (never HTML, so
/// nothing in it is interpreted).
async fn json_rejections(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("{method} is not allowed on {path}")
    } else {
        match axum::body::to_bytes(body, MAX_REJECTION_BYTES).await {
            Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
            _ => status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_string(),
        }
    };
    let mut answer = (
        status,
        axum::Json(serde_json::json!({"error": text, "code": -1})),
    )
        .into_response();
    // Keep what else axum said (the 405's `Allow`).
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

async fn not_found(uri: axum::http::Uri) -> ConsoleError {
    ConsoleError::NotFound(format!("no such page or API route: {}", uri.path()))
}

/// Query parameters as a map; use [`param`] to read typed values.
pub type Params = HashMap<String, String>;

/// A typed query parameter: absent or empty is `None`, unparsable is a 400 naming it.
pub fn param<T: FromStr>(params: &Params, name: &str) -> Result<Option<T>> {
    match params.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            ConsoleError::BadRequest(format!("query parameter {name}={raw:?} is not valid"))
        }),
    }
}

/// Decodes a JSON body, answering 400 with serde's description (line, column, what was
/// expected) when it does not match.
pub fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    if body.is_empty() {
        return Err(ConsoleError::BadRequest(
            "the request needs a JSON body".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ConsoleError::BadRequest(format!("malformed JSON body: {e}")))
}

/// Parses a path segment, naming it in the 400.
pub fn path_number<T: FromStr>(name: &str, raw: &str) -> Result<T> {
    raw.parse()
        .map_err(|_| ConsoleError::BadRequest(format!("{name} {raw:?} is not a number")))
}
