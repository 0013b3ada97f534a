//! `DecodeError`: everything that can be wrong with the bytes of a request before a handler sees
//! it, and the one mapping of those faults to Kafka error codes.

use kafka_protocol::ResponseError;

/// Why a request frame could not be turned into a header and a typed body.
///
/// Every variant except [`DecodeError::UnsupportedVersion`] for ApiVersions makes the broker close
/// the connection, as Kafka does: after a bad frame the byte stream cannot be trusted any more.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The 4-byte size prefix is negative.
    #[error("frame length {len} is negative")]
    NegativeFrameLength { len: i32 },
    /// The 4-byte size prefix exceeds `socket.request.max.bytes`.
    #[error("frame length {len} exceeds socket.request.max.bytes ({max})")]
    FrameTooLarge { len: i32, max: i32 },
    /// The frame ended before a fixed-size part of the request header.
    #[error("request truncated: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    /// The API key is not one Kafka defines.
    #[error("unknown API key {api_key}")]
    UnknownApiKey { api_key: i16 },
    /// The API is not served by fjord at all, or not at this version.
    #[error("unsupported version {version} of API key {api_key}")]
    UnsupportedVersion { api_key: i16, version: i16 },
    /// The request header (correlation id, client id, tagged fields) did not parse.
    #[error("malformed request header for API key {api_key} v{version}")]
    MalformedHeader {
        api_key: i16,
        version: i16,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The request body did not parse at the version the header declared.
    #[error("malformed body for API key {api_key} v{version} (correlation id {correlation_id})")]
    MalformedBody {
        api_key: i16,
        version: i16,
        correlation_id: i32,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl DecodeError {
    /// The Kafka error code for this fault. Only [`DecodeError::UnsupportedVersion`] is ever sent
    /// to a client (in the ApiVersions fallback); the others are logged when the connection is
    /// closed, with the code Kafka's exception for the same fault carries.
    pub fn error_code(&self) -> i16 {
        match self {
            DecodeError::UnsupportedVersion { .. } => ResponseError::UnsupportedVersion.code(),
            DecodeError::NegativeFrameLength { .. }
            | DecodeError::FrameTooLarge { .. }
            | DecodeError::Truncated { .. }
            | DecodeError::UnknownApiKey { .. }
            | DecodeError::MalformedHeader { .. }
            | DecodeError::MalformedBody { .. } => ResponseError::InvalidRequest.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unsupported_version_maps_to_code_35() {
        assert_eq!(
            DecodeError::UnsupportedVersion {
                api_key: 18,
                version: 99
            }
            .error_code(),
            35
        );
        assert_eq!(
            DecodeError::FrameTooLarge { len: 1, max: 0 }.error_code(),
            42
        );
        assert_eq!(
            DecodeError::UnknownApiKey { api_key: 9999 }.error_code(),
            42
        );
    }
}
