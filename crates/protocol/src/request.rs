//! Turning one request frame (the bytes after the size prefix) into a header and a typed body.
//!
//! Order of checks, each before the next allocation: the 8 fixed header bytes are there; the API
//! key is one Kafka defines; fjord serves that API at that version (else the connection is
//! closed, as Kafka does, except for ApiVersions, see [`Decoded::UnsupportedApiVersions`]);
//! then the rest of the header and the body are decoded with the `kafka-protocol` codecs at the
//! declared version. Trailing bytes after the body are ignored, as Kafka ignores them.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind};
use kafka_protocol::protocol::Decodable;

use crate::api::{supported_version, ApiSupport};
use crate::error::DecodeError;

/// Bytes of `api_key`, `api_version` and `correlation_id` at the start of every request header.
pub const FIXED_HEADER_BYTES: usize = 8;

/// The three fixed fields at the front of every request header, readable before anything else
/// is known about the request (used to log a refused request and to answer KIP-511).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

impl TryFrom<&[u8]> for HeaderPrefix {
    type Error = DecodeError;

    fn try_from(frame: &[u8]) -> Result<Self, DecodeError> {
        let fixed: &[u8; FIXED_HEADER_BYTES] = frame
            .get(..FIXED_HEADER_BYTES)
            .and_then(|b| b.try_into().ok())
            .ok_or(DecodeError::Truncated {
                needed: FIXED_HEADER_BYTES,
                available: frame.len(),
            })?;
        Ok(HeaderPrefix {
            api_key: i16::from_be_bytes([fixed[0], fixed[1]]),
            api_version: i16::from_be_bytes([fixed[2], fixed[3]]),
            correlation_id: i32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        })
    }
}

/// A request fjord serves, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRequest {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: RequestKind,
    /// The table row that admitted the request.
    pub support: &'static ApiSupport,
}

impl DecodedRequest {
    pub fn api_version(&self) -> i16 {
        self.header.request_api_version
    }
    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }
    /// The client id as text, if the client sent one.
    pub fn client_id(&self) -> Option<&str> {
        self.header.client_id.as_ref().map(|s| s.as_str())
    }
}

/// What a well-formed frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A request to hand to its handler (boxed: it is large and moves through a queue).
    Request(Box<DecodedRequest>),
    /// An ApiVersions request at a version fjord does not know (a client newer than us). Kafka
    /// answers it with a v0 body carrying UNSUPPORTED_VERSION and the full list of supported
    /// APIs, so the client can retry with a version both sides know (KIP-511). The body is not
    /// decoded: its layout at an unknown version is unknown.
    UnsupportedApiVersions { header: RequestHeader },
}

/// Decodes one request frame (without its size prefix).
pub fn decode_request(mut frame: Bytes) -> Result<Decoded, DecodeError> {
    let prefix = HeaderPrefix::try_from(&frame[..])?;
    let api_key = ApiKey::try_from(prefix.api_key).map_err(|()| DecodeError::UnknownApiKey {
        api_key: prefix.api_key,
    })?;
    let support = supported_version(api_key, prefix.api_version);
    if support.is_none() && api_key != ApiKey::ApiVersions {
        return Err(DecodeError::UnsupportedVersion {
            api_key: prefix.api_key,
            version: prefix.api_version,
        });
    }
    // For an unknown ApiVersions version this picks header v2 (flexible), which is what a
    // client sending v3+ uses; Kafka parses it the same way.
    let header_version = api_key.request_header_version(prefix.api_version);
    let header = RequestHeader::decode(&mut frame, header_version).map_err(|source| {
        DecodeError::MalformedHeader {
            api_key: prefix.api_key,
            version: prefix.api_version,
            source: source.into(),
        }
    })?;
    let Some(support) = support else {
        return Ok(Decoded::UnsupportedApiVersions { header });
    };
    let body = RequestKind::decode(api_key, &mut frame, prefix.api_version).map_err(|source| {
        DecodeError::MalformedBody {
            api_key: prefix.api_key,
            version: prefix.api_version,
            correlation_id: prefix.correlation_id,
            source: source.into(),
        }
    })?;
    Ok(Decoded::Request(Box::new(DecodedRequest {
        api_key,
        header,
        body,
        support,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::messages::ApiVersionsRequest;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    pub(crate) fn api_versions_frame(version: i16, correlation_id: i32) -> Bytes {
        let mut buf = BytesMut::new();
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::ApiVersions as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("test")));
        header
            .encode(
                &mut buf,
                ApiKey::ApiVersions.request_header_version(version),
            )
            .unwrap();
        let mut body = ApiVersionsRequest::default();
        if version >= 3 {
            body = body
                .with_client_software_name(StrBytes::from_static_str("fjord-test"))
                .with_client_software_version(StrBytes::from_static_str("1.0"));
        }
        body.encode(&mut buf, version.min(4)).unwrap();
        buf.freeze()
    }

    #[test]
    fn decodes_api_versions_at_every_version() {
        for version in 0..=4 {
            let Decoded::Request(req) = decode_request(api_versions_frame(version, 42)).unwrap()
            else {
                panic!("v{version} should be served");
            };
            assert_eq!(req.api_key, ApiKey::ApiVersions);
            assert_eq!(req.api_version(), version);
            assert_eq!(req.correlation_id(), 42);
            assert_eq!(req.client_id(), Some("test"));
            assert!(matches!(req.body, RequestKind::ApiVersions(_)));
        }
    }

    #[test]
    fn unknown_api_versions_version_is_kept_for_kip_511() {
        // A v127 request: header v2 then a body we cannot know; here the v4 body stands in.
        let mut frame = BytesMut::from(&api_versions_frame(4, 9)[..]);
        frame[2..4].copy_from_slice(&127i16.to_be_bytes());
        let decoded = decode_request(frame.freeze()).unwrap();
        let Decoded::UnsupportedApiVersions { header } = decoded else {
            panic!("expected the KIP-511 fallback, got {decoded:?}");
        };
        assert_eq!(header.correlation_id, 9);
        assert_eq!(header.request_api_version, 127);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            decode_request(Bytes::from_static(&[0, 18, 0])),
            Err(DecodeError::Truncated {
                needed: 8,
                available: 3
            })
        ));
        assert!(matches!(
            decode_request(Bytes::from_static(&[
                0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff
            ])),
            Err(DecodeError::UnknownApiKey { api_key: 0x7f00 })
        ));
        // Fetch at a version no Kafka has.
        let mut frame = BytesMut::new();
        frame.put_i16(ApiKey::Fetch as i16);
        frame.put_i16(200);
        frame.put_i32(5);
        frame.put_i16(-1);
        let err = decode_request(frame.freeze()).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::UnsupportedVersion {
                api_key: 1,
                version: 200
            }
        ));
        assert_eq!(err.error_code(), 35);
        // A client id length running past the end of the frame.
        let mut frame = BytesMut::new();
        frame.put_i16(ApiKey::ApiVersions as i16);
        frame.put_i16(1);
        frame.put_i32(5);
        frame.put_i16(300);
        frame.put_slice(b"short");
        assert!(matches!(
            decode_request(frame.freeze()),
            Err(DecodeError::MalformedHeader { .. })
        ));
    }

    /// The codec reserves the declared element count before decoding anything; under the
    /// system allocator each of these aborts the process (exit 134). Under
    /// [`crate::alloc::SparseLargeAlloc`] the reservation costs address space only and the
    /// decoder refuses the missing bytes.
    #[test]
    fn declared_array_counts_are_refused_before_allocating() {
        // Metadata v0 topics: Array with an i32 count of 2^31-1 (154 GB of structs).
        let mut body = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(RequestKind::decode(ApiKey::Metadata, &mut body, 0).is_err());
        // Metadata v12 topics: CompactArray, unsigned varint count of 2^32-1.
        let mut body = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(RequestKind::decode(ApiKey::Metadata, &mut body, 12).is_err());
        // Produce v9: a compact array of topics declaring 2^28 entries, then little else.
        let mut body = Bytes::from_static(&[
            0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00,
        ]);
        assert!(RequestKind::decode(ApiKey::Produce, &mut body, 9).is_err());
        // A legitimate count still decodes.
        let mut body = Bytes::from_static(&[0, 0, 0, 1, 0, 1, b't']);
        let RequestKind::Metadata(metadata) =
            RequestKind::decode(ApiKey::Metadata, &mut body, 0).unwrap()
        else {
            panic!("not a metadata request");
        };
        assert_eq!(metadata.topics.unwrap().len(), 1);
    }

    #[test]
    fn malformed_body_keeps_the_correlation_id() {
        // ApiVersions v3 needs two compact strings; give it a varint that runs off the end.
        let mut frame = BytesMut::from(&api_versions_frame(3, 77)[..]);
        let header_len = frame.len() - ("fjord-test".len() + 1 + "1.0".len() + 1 + 1);
        frame.truncate(header_len);
        frame.put_u8(0x80);
        let err = decode_request(frame.freeze()).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::MalformedBody {
                    correlation_id: 77,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
