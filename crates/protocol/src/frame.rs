//! Kafka's framing: every request and response travels as a 4-byte big-endian size followed by
//! that many bytes.
//!
//! ```text
//! request  frame: size:i32 | api_key:i16 | api_version:i16 | correlation_id:i32
//!                 | client_id:nullable string (i16 length) | [tagged fields, header v2] | body
//! response frame: size:i32 | correlation_id:i32 | [tagged fields, header v1] | body
//! ```
//!
//! The size is checked against `socket.request.max.bytes` before anything is allocated for the
//! frame ([`check_frame_len`]). Which header version goes with which request or response comes
//! from the API's schema (flexible versions use header v2 / v1), with one deliberate exception:
//! the ApiVersions response header is always v0 ([`response_header_version`]).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::error::DecodeError;

/// Size of the length prefix in front of every frame.
pub const FRAME_LEN_BYTES: usize = 4;

/// Kafka's default for `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_SOCKET_REQUEST_MAX_BYTES: i32 = 100 * 1024 * 1024;

/// Checks a request's declared size before anything is read or allocated for it.
///
/// Returns the size as `usize` when `0 <= len <= max`. A negative size or one above
/// `socket.request.max.bytes` is refused; the caller closes the connection without reading the
/// body (Kafka's `InvalidReceiveException`). A zero size is let through: it fails header
/// decoding like any other too-short frame.
pub fn check_frame_len(len: i32, max: i32) -> Result<usize, DecodeError> {
    if len < 0 {
        return Err(DecodeError::NegativeFrameLength { len });
    }
    if len > max {
        return Err(DecodeError::FrameTooLarge { len, max });
    }
    Ok(len as usize)
}

/// The response header version for a response to `api_key` at `api_version`.
///
/// ApiVersions answers with header v0 even at v3+ where the body is flexible: a client cannot
/// know before the response whether the broker understood its version, so the header must be
/// parseable either way (KIP-511), and librdkafka fails to parse anything else.
pub fn response_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    match api_key {
        ApiKey::ApiVersions => 0,
        _ => api_key.response_header_version(api_version),
    }
}

/// Why a response could not be encoded: always a bug on our side (a handler set a field that
/// does not exist at the request's version, or returned the wrong response type).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {api_key:?} response v{api_version}")]
pub struct EncodeError {
    pub api_key: ApiKey,
    pub api_version: i16,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl EncodeError {
    /// A response that cannot be encoded is an internal error.
    pub fn error_code(&self) -> i16 {
        kafka_protocol::ResponseError::UnknownServerError.code()
    }
}

/// Encodes a whole response frame: size prefix, response header and `body` at `api_version`.
///
/// `api_key` must be the request's key (it picks the header version); `body` must be that
/// API's response.
pub fn encode_response(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &ResponseKind,
) -> Result<Bytes, EncodeError> {
    let wrap = |source: anyhow::Error| EncodeError {
        api_key,
        api_version,
        source: source.into(),
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = response_header_version(api_key, api_version);
    let mut buf = BytesMut::with_capacity(
        FRAME_LEN_BYTES + encoded_len_hint(&header, header_version, body, api_version),
    );
    buf.put_i32(0);
    header.encode(&mut buf, header_version).map_err(wrap)?;
    body.encode(&mut buf, api_version).map_err(wrap)?;
    let len = i32::try_from(buf.len() - FRAME_LEN_BYTES).map_err(|e| wrap(e.into()))?;
    buf[..FRAME_LEN_BYTES].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// What to reserve for a response's header and body: the exact size for the responses of the
/// hot path (Produce, Fetch), computed by the encoder's own `compute_size`, so their frame
/// buffer is allocated once and never grows and moves; a small guess for the rest, which are
/// rare and small (`ResponseKind` has no `compute_size` of its own).
fn encoded_len_hint(
    header: &ResponseHeader,
    header_version: i16,
    body: &ResponseKind,
    api_version: i16,
) -> usize {
    const GUESS: usize = 256;
    let body_len = match body {
        ResponseKind::Produce(produce) => produce.compute_size(api_version).ok(),
        ResponseKind::Fetch(fetch) => fetch.compute_size(api_version).ok(),
        _ => None,
    };
    match (header.compute_size(header_version).ok(), body_len) {
        (Some(header_len), Some(body_len)) => header_len + body_len,
        _ => GUESS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsResponse, MetadataResponse};

    #[test]
    fn frame_len_bounds() {
        assert_eq!(check_frame_len(0, 10).unwrap(), 0);
        assert_eq!(check_frame_len(10, 10).unwrap(), 10);
        assert!(matches!(
            check_frame_len(11, 10),
            Err(DecodeError::FrameTooLarge { len: 11, max: 10 })
        ));
        assert!(matches!(
            check_frame_len(-1, 10),
            Err(DecodeError::NegativeFrameLength { len: -1 })
        ));
        assert!(check_frame_len(i32::MAX, DEFAULT_SOCKET_REQUEST_MAX_BYTES).is_err());
    }

    #[test]
    fn api_versions_header_stays_v0_even_when_flexible() {
        assert_eq!(response_header_version(ApiKey::ApiVersions, 3), 0);
        assert_eq!(response_header_version(ApiKey::ApiVersions, 4), 0);
        assert_eq!(response_header_version(ApiKey::Metadata, 9), 1);
        assert_eq!(response_header_version(ApiKey::Metadata, 8), 0);
    }

    #[test]
    fn api_versions_v3_frame_bytes() {
        let body = ApiVersionsResponse::default().with_api_keys(vec![]);
        let frame =
            encode_response(ApiKey::ApiVersions, 3, 7, &ResponseKind::ApiVersions(body)).unwrap();
        // size 12 | correlation id 7 | NO header tagged fields (v0 header) |
        // error 0 | compact array len 0+1 | throttle 0 | 0 tagged fields: the default
        // FinalizedFeaturesEpoch (-1) is not written.
        assert_eq!(
            &frame[..],
            &[0, 0, 0, 12, 0, 0, 0, 7, 0, 0, 1, 0, 0, 0, 0, 0][..]
        );
    }

    #[test]
    fn flexible_response_gets_header_tagged_fields() {
        let frame = encode_response(
            ApiKey::Metadata,
            12,
            1,
            &ResponseKind::Metadata(MetadataResponse::default()),
        )
        .unwrap();
        // correlation id then an empty tagged-field section (one 0 byte).
        assert_eq!(&frame[4..9], &[0, 0, 0, 1, 0]);
        let declared = i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(declared, frame.len() - 4);
    }
}
