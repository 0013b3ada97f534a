//! `BrokerError`: why the broker could not start or stop cleanly. Request-level failures never
//! become a `BrokerError`; they are answered with Kafka error codes by the handlers or close the
//! one connection they came from.

use kafka_protocol::ResponseError;

/// A start-up or shutdown failure, worded for the person running the broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(
        "cannot listen on {address} for listener {listener}: {source}. \
         Another process (maybe another broker) may be using the port: stop it, or change \
         `listeners` in the configuration"
    )]
    Bind {
        listener: String,
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(#[from] fjord_config::ConfigError),
    #[error("invalid listener configuration: {reason}")]
    Listeners { reason: String },
    #[error("cannot start the metadata controller: {0}")]
    Metadata(#[source] fjord_metadata::MetadataError),
    #[error("cannot open the log dirs: {source}")]
    Storage {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot read the local address of listener {listener}: {source}")]
    LocalAddr {
        listener: String,
        #[source]
        source: std::io::Error,
    },
}

impl BrokerError {
    /// Start-up failures never reach a client; the mapping exists so every layer has one.
    pub fn error_code(&self) -> i16 {
        ResponseError::UnknownServerError.code()
    }
}
