//! `ConfigError`: everything that can stop fjord from turning its configuration sources into a
//! [`crate::ServerConfig`], and its single mapping to Kafka error codes.
//!
//! Messages are written for the person starting the server: they name the key, the value and
//! the source, and say what to change.

use std::path::PathBuf;

/// Kafka `INVALID_CONFIG` (40).
pub const INVALID_CONFIG: i16 = 40;
/// Kafka `UNKNOWN_SERVER_ERROR` (-1).
pub const UNKNOWN_SERVER_ERROR: i16 = -1;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse as the key's type or fails the key's validator.
    #[error("invalid value `{value}` for configuration `{key}` ({origin}): {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
        /// Where the value was set, for people: `server.properties:12`,
        /// `environment variable KAFKA_NUM_PARTITIONS`, `--override`.
        origin: String,
    },
    /// Reading the properties file failed.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The properties file is not valid Java properties syntax.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    /// An `--override` argument without `=`.
    #[error("`--override {arg}` must be of the form key=value (e.g. --override num.partitions=3)")]
    MalformedOverride { arg: String },
    /// Keys that are each valid but contradict one another (e.g. a controller listener name
    /// that no listener uses).
    #[error("inconsistent configuration: {reason}")]
    Inconsistent { reason: String },
}

impl ConfigError {
    /// The Kafka error code this error maps to when a client-facing API reports it
    /// (e.g. a future AlterConfigs/IncrementalAlterConfigs): bad values are
    /// `INVALID_CONFIG`, I/O problems are the server's own.
    pub fn error_code(&self) -> i16 {
        match self {
            ConfigError::InvalidValue { .. }
            | ConfigError::Parse { .. }
            | ConfigError::MalformedOverride { .. }
            | ConfigError::Inconsistent { .. } => INVALID_CONFIG,
            ConfigError::Io { .. } => UNKNOWN_SERVER_ERROR,
        }
    }
}
