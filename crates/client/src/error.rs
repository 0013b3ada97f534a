//! The client's one error type, [`ClientError`], and its mapping to Kafka error codes.
//!
//! Broker answers carry Kafka error codes; they become [`ClientError::Kafka`] with the codec
//! crate's [`ResponseError`] (whose table also says which codes are retriable). Failures on the
//! client side (connections, timeouts, bad frames, bad configuration) have their own variants,
//! and [`ClientError::error_code`] maps each one to the Kafka code a Java client would report for
//! it, so tools can print the same names.
//!
//! `ClientError` is `Clone` because one failed produce batch resolves many delivery futures;
//! sources are kept behind an `Arc` for that reason.

use std::sync::Arc;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

/// A shareable error source (I/O errors, codec errors).
pub type ErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The broker answered with a Kafka error code.
    #[error("{error} (error code {code}){}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(), code = .error.code())]
    Kafka {
        error: ResponseError,
        message: Option<String>,
    },

    /// No bootstrap server could be reached.
    #[error("cannot connect to any bootstrap server (tried {}): {last}", .tried.join(", "))]
    BootstrapUnreachable {
        tried: Vec<String>,
        #[source]
        last: Box<ClientError>,
    },

    /// A TCP connection could not be opened.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: ErrorSource,
    },

    /// Connecting took longer than `socket.connection.setup.timeout.ms`.
    #[error("connecting to {addr} timed out after {timeout_ms} ms")]
    ConnectTimeout { addr: String, timeout_ms: u64 },

    /// An established connection failed or was closed by the broker.
    #[error("connection to {addr} lost: {reason}")]
    ConnectionLost { addr: String, reason: String },

    /// No response within `request.timeout.ms`.
    #[error("{api_key:?} request to {addr} timed out after {timeout_ms} ms")]
    RequestTimeout {
        api_key: ApiKey,
        addr: String,
        timeout_ms: u64,
    },

    /// The operation's overall deadline (`default.api.timeout.ms`, `delivery.timeout.ms`,
    /// ...) passed while retrying; `last` is the last retriable error seen.
    #[error("timed out after {timeout_ms} ms: {last}")]
    DeadlineExceeded {
        timeout_ms: u64,
        #[source]
        last: Box<ClientError>,
    },

    /// The broker serves no version of the API that this client can speak.
    #[error("{addr} supports no version of {api_key:?} this client speaks (client {client_min}..={client_max}, broker {broker})")]
    UnsupportedVersion {
        api_key: ApiKey,
        addr: String,
        client_min: i16,
        client_max: i16,
        broker: String,
    },

    /// A request could not be encoded (a field set that the chosen version lacks).
    #[error("cannot encode {api_key:?} v{version}: {source}")]
    Encode {
        api_key: ApiKey,
        version: i16,
        #[source]
        source: ErrorSource,
    },

    /// A response (or record batch) could not be decoded.
    #[error("cannot decode {what}: {source}")]
    Decode {
        what: String,
        #[source]
        source: ErrorSource,
    },

    /// The broker broke the protocol (wrong correlation id, implausible frame size, ...).
    #[error("protocol violation by {addr}: {reason}")]
    Protocol { addr: String, reason: String },

    /// A configuration value is invalid.
    #[error("invalid value for {key}: {message}")]
    InvalidConfig { key: String, message: String },

    /// The caller asked for something that cannot be done (unknown partition, empty topic list).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The producer or consumer was closed.
    #[error("the client is closed")]
    Closed,
}

impl ClientError {
    /// A [`ClientError::Kafka`] from a response's error code and optional message; `None` for 0.
    pub fn from_code(code: i16, message: Option<&str>) -> Option<ClientError> {
        ResponseError::try_from_code(code).map(|error| ClientError::Kafka {
            error,
            message: message.filter(|m| !m.is_empty()).map(str::to_string),
        })
    }

    /// `Ok(())` for error code 0, the error otherwise.
    pub fn check(code: i16, message: Option<&str>) -> Result<(), ClientError> {
        match ClientError::from_code(code, message) {
            None => Ok(()),
            Some(err) => Err(err),
        }
    }

    /// The Kafka error this is, for both broker answers and client-side failures: a lost
    /// connection is `NETWORK_EXCEPTION`, a timeout `REQUEST_TIMED_OUT`, as in the Java client.
    pub fn error_code(&self) -> ResponseError {
        match self {
            ClientError::Kafka { error, .. } => *error,
            ClientError::BootstrapUnreachable { .. }
            | ClientError::Connect { .. }
            | ClientError::ConnectTimeout { .. }
            | ClientError::ConnectionLost { .. } => ResponseError::NetworkException,
            ClientError::RequestTimeout { .. } | ClientError::DeadlineExceeded { .. } => {
                ResponseError::RequestTimedOut
            }
            ClientError::UnsupportedVersion { .. } => ResponseError::UnsupportedVersion,
            ClientError::Decode { .. } => ResponseError::CorruptMessage,
            ClientError::InvalidConfig { .. } => ResponseError::InvalidConfig,
            ClientError::InvalidArgument(_) => ResponseError::InvalidRequest,
            ClientError::Encode { .. } | ClientError::Protocol { .. } | ClientError::Closed => {
                ResponseError::UnknownServerError
            }
        }
    }

    /// Whether trying again (after a metadata refresh and a backoff) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ClientError::Kafka { error, .. } => error.is_retriable(),
            ClientError::Connect { .. }
            | ClientError::ConnectTimeout { .. }
            | ClientError::ConnectionLost { .. }
            | ClientError::RequestTimeout { .. } => true,
            _ => false,
        }
    }

    /// Whether the error means our view of the cluster is stale (leader moved, topic created
    /// or deleted, broker gone), so metadata should be refreshed before retrying.
    pub fn needs_metadata_refresh(&self) -> bool {
        match self {
            ClientError::Kafka { error, .. } => matches!(
                error,
                ResponseError::NotLeaderOrFollower
                    | ResponseError::UnknownTopicOrPartition
                    | ResponseError::LeaderNotAvailable
                    | ResponseError::FencedLeaderEpoch
                    | ResponseError::UnknownLeaderEpoch
                    | ResponseError::NotCoordinator
                    | ResponseError::CoordinatorNotAvailable
                    | ResponseError::UnknownTopicId
                    | ResponseError::NotController
                    | ResponseError::KafkaStorageError
            ),
            ClientError::Connect { .. }
            | ClientError::ConnectTimeout { .. }
            | ClientError::ConnectionLost { .. }
            | ClientError::RequestTimeout { .. } => true,
            _ => false,
        }
    }

    /// The broker's Kafka error, if this is one.
    pub fn kafka_error(&self) -> Option<ResponseError> {
        match self {
            ClientError::Kafka { error, .. } => Some(*error),
            _ => None,
        }
    }

    pub(crate) fn decode(what: impl Into<String>, source: impl Into<ErrorSource>) -> ClientError {
        ClientError::Decode {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Turns the codec crate's `anyhow::Error` into a shareable source without adding `anyhow` to
/// the public API.
pub(crate) fn codec_source(err: impl std::fmt::Display) -> ErrorSource {
    Arc::new(CodecError(err.to_string()))
}

/// The text of an error reported by the codec crate.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct CodecError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_codes_map_and_classify() {
        let err = ClientError::from_code(6, Some("moved")).expect("an error");
        assert_eq!(err.error_code(), ResponseError::NotLeaderOrFollower);
        assert!(err.is_retriable());
        assert!(err.needs_metadata_refresh());
        assert_eq!(
            err.to_string(),
            format!(
                "{} (error code 6): moved",
                ResponseError::NotLeaderOrFollower
            )
        );
        assert!(ClientError::from_code(0, None).is_none());
        let fatal = ClientError::from_code(36, None).expect("TOPIC_ALREADY_EXISTS");
        assert!(!fatal.is_retriable());
        assert_eq!(fatal.error_code().code(), 36);
    }

    #[test]
    fn client_side_errors_have_kafka_codes() {
        let lost = ClientError::ConnectionLost {
            addr: "h:1".into(),
            reason: "eof".into(),
        };
        assert_eq!(lost.error_code(), ResponseError::NetworkException);
        assert!(lost.is_retriable());
        let cfg = ClientError::InvalidConfig {
            key: "acks".into(),
            message: "bad".into(),
        };
        assert!(!cfg.is_retriable());
        assert_eq!(cfg.error_code().code(), 40);
    }
}
