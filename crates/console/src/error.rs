//! `ConsoleError`: every way a console request or the console server can fail, and the one
//! mapping from an error to an HTTP status and a JSON body `{"error": "...", "code": N}`.
//!
//! `code` is Kafka's error code when the failure came from the broker or the controller
//! (INVALID_TOPIC_EXCEPTION = 17, TOPIC_ALREADY_EXISTS = 36, ...) and -1 otherwise. The text
//! is written for the person using the console; internal failures are logged with their
//! source and answered with a generic message, so no internal detail leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fjord_broker::group::GroupRuntimeError;
use fjord_broker::replica::ReplicaError;
use fjord_coordinator::GroupError;
use fjord_metadata::MetadataError;
use kafka_protocol::ResponseError;

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The request itself is wrong: a bad parameter or a malformed body.
    #[error("{0}")]
    BadRequest(String),
    /// The named topic, partition or record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (a group with active members).
    #[error("{0}")]
    Conflict(String),
    /// What the request needs is not served by this broker now.
    #[error("{0}")]
    Unavailable(String),
    /// The group coordinator refused or failed a group operation.
    #[error(transparent)]
    Group(#[from] GroupRuntimeError),
    /// Missing or wrong credentials (`console.auth.*`).
    #[error("authentication required")]
    Unauthorized,
    /// A mutating request without the CSRF header or token.
    #[error("{0}")]
    Forbidden(String),
    /// The controller refused or failed a metadata operation.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The replica manager refused or failed a data-path operation.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// A stored record batch did not decode.
    #[error("record batch at offset {offset} does not decode")]
    Decode {
        offset: i64,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Binding the console's listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// A blocking task panicked or was cancelled.
    #[error("internal task failed")]
    Task(#[from] tokio::task::JoinError),
}

impl ConsoleError {
    /// Kafka's error code for this failure, -1 when it is not a Kafka error.
    pub fn error_code(&self) -> i16 {
        match self {
            ConsoleError::Metadata(e) => e.error_code().code(),
            ConsoleError::Replica(e) => e.error_code(),
            ConsoleError::Group(e) => e.error_code(),
            ConsoleError::Conflict(_) => ResponseError::NonEmptyGroup.code(),
            ConsoleError::Unavailable(_) => ResponseError::NotLeaderOrFollower.code(),
            ConsoleError::NotFound(_) => ResponseError::UnknownTopicOrPartition.code(),
            ConsoleError::Decode { .. } => ResponseError::CorruptMessage.code(),
            ConsoleError::BadRequest(_)
            | ConsoleError::Unauthorized
            | ConsoleError::Forbidden(_)
            | ConsoleError::Bind { .. }
            | ConsoleError::Task(_) => -1,
        }
    }

    /// The HTTP status answering this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Group(e) => match e {
                GroupRuntimeError::Group(GroupError::GroupIdNotFound) => StatusCode::NOT_FOUND,
                GroupRuntimeError::Group(GroupError::NonEmptyGroup) => StatusCode::CONFLICT,
                GroupRuntimeError::Group(_) => StatusCode::BAD_REQUEST,
                GroupRuntimeError::AppendFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                GroupRuntimeError::NotCoordinator { .. }
                | GroupRuntimeError::LoadInProgress { .. }
                | GroupRuntimeError::CoordinatorNotAvailable => StatusCode::SERVICE_UNAVAILABLE,
            },
            ConsoleError::Unauthorized => StatusCode::UNAUTHORIZED,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::Metadata(e) => match e {
                MetadataError::TopicAlreadyExists(_) => StatusCode::CONFLICT,
                MetadataError::UnknownTopicOrPartition(_) | MetadataError::UnknownTopicId(_) => {
                    StatusCode::NOT_FOUND
                }
                MetadataError::NotController => StatusCode::SERVICE_UNAVAILABLE,
                _ if e.client_message().is_none() => StatusCode::INTERNAL_SERVER_ERROR,
                MetadataError::TopicDeletionDisabled => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            },
            ConsoleError::Replica(e) => {
                let code = e.error_code();
                if code == ResponseError::UnknownTopicOrPartition.code() {
                    StatusCode::NOT_FOUND
                } else if code == ResponseError::NotLeaderOrFollower.code()
                    || code == ResponseError::RequestTimedOut.code()
                    || code == ResponseError::NotEnoughReplicas.code()
                {
                    StatusCode::SERVICE_UNAVAILABLE
                } else if code == ResponseError::UnknownServerError.code()
                    || code == ResponseError::KafkaStorageError.code()
                {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    // Validation of the produced batch: too large, bad timestamp, ...
                    StatusCode::BAD_REQUEST
                }
            }
            ConsoleError::Decode { .. } | ConsoleError::Bind { .. } | ConsoleError::Task(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The text the person sees; internal failures are summarised.
    pub fn client_message(&self) -> String {
        match self {
            ConsoleError::Metadata(e) => e
                .client_message()
                .unwrap_or_else(|| "the controller failed; see the broker log".to_string()),
            ConsoleError::Replica(ReplicaError::Validation(e)) => e.to_string(),
            ConsoleError::Replica(_) if self.status() == StatusCode::INTERNAL_SERVER_ERROR => {
                "the broker failed to serve this partition; see the broker log".to_string()
            }
            ConsoleError::Group(GroupRuntimeError::Group(GroupError::GroupIdNotFound)) => {
                "no such group".to_string()
            }
            ConsoleError::Group(GroupRuntimeError::AppendFailed { .. }) => {
                "writing to __consumer_offsets failed; see the broker log".to_string()
            }
            ConsoleError::Task(_) | ConsoleError::Bind { .. } => {
                "internal error; see the broker log".to_string()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(error = %self, source = ?std::error::Error::source(&self), "console request failed");
        }
        let body = serde_json::json!({
            "error": self.client_message(),
            "code": self.error_code(),
        });
        let mut response = (status, axum::Json(body)).into_response();
        if matches!(self, ConsoleError::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"fjord console\""),
            );
        }
        response
    }
}

/// Results of console operations.
pub type Result<T, E = ConsoleError> = std::result::Result<T, E>;
