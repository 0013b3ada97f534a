//! The one function every fuzzer and the corpus test drive: take arbitrary bytes as if they
//! had arrived on a socket and push them through everything the broker does to a request before
//! a handler runs: the frame-size check, header and body decoding, and record-batch validation
//! of Produce payloads. It must never panic or abort on any input. Binaries that run it install
//! [`crate::alloc::SparseLargeAlloc`], as the broker does.
//!
//! Requests are not re-encoded here: the broker never re-encodes what it decodes. (The codec
//! crate drops unknown tagged fields above 2^31 on re-encode; that matters only to a client that
//! would forward requests, which fjord does not.)
//!
//! Input layout: the bytes of one frame, size prefix included, exactly as on the wire.

use bytes::Bytes;
use kafka_protocol::messages::{ProduceRequest, RequestKind};

use crate::batch::{self, BatchFrames};
use crate::frame::{check_frame_len, DEFAULT_SOCKET_REQUEST_MAX_BYTES, FRAME_LEN_BYTES};
use crate::request::{decode_request, Decoded};

/// What one input reached; lets tests check that a corpus exercises the deep paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FuzzOutcome {
    /// Refused by the size prefix check (or too short to hold one).
    BadFrame,
    /// Refused while decoding header or body.
    Refused,
    /// The KIP-511 path: ApiVersions at an unknown version.
    ApiVersionsFallback,
    /// Decoded into a typed request (and, for Produce, its batches were checked).
    Decoded,
}

/// Runs `data` through framing, decoding and batch validation. Panics only on a bug.
pub fn fuzz_request_frame(data: &[u8]) -> FuzzOutcome {
    // Batch parsing must also hold up against raw bytes, independent of any request.
    let _ = batch::validate_produced(data);
    let _ = BatchFrames::new(data).count();

    let Some(prefix) = data.get(..FRAME_LEN_BYTES) else {
        return FuzzOutcome::BadFrame;
    };
    let declared = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let Ok(len) = check_frame_len(declared, DEFAULT_SOCKET_REQUEST_MAX_BYTES) else {
        return FuzzOutcome::BadFrame;
    };
    let Some(frame) = data.get(FRAME_LEN_BYTES..FRAME_LEN_BYTES + len) else {
        // The connection would wait for more bytes; nothing to decode yet.
        return FuzzOutcome::BadFrame;
    };
    match decode_request(Bytes::copy_from_slice(frame)) {
        Err(_) => FuzzOutcome::Refused,
        Ok(Decoded::UnsupportedApiVersions { .. }) => FuzzOutcome::ApiVersionsFallback,
        Ok(Decoded::Request(request)) => {
            if let RequestKind::Produce(produce) = &request.body {
                validate_produce_batches(produce);
            }
            FuzzOutcome::Decoded
        }
    }
}

/// What the produce path does to each partition's records before appending: walk the batches
/// and validate each one.
fn validate_produce_batches(produce: &ProduceRequest) {
    for topic in &produce.topic_data {
        for partition in &topic.partition_data {
            let Some(records) = &partition.records else {
                continue;
            };
            for range in BatchFrames::new(records) {
                let Ok(range) = range else { break };
                if let Ok(header) = batch::validate_produced(&records[range.clone()]) {
                    assert_eq!(header.total_size(), range.len());
                    let _ = (header.last_offset(), header.last_sequence());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, RequestHeader};
    use kafka_protocol::protocol::{Encodable, StrBytes};

    /// Unknown tagged fields (a newer client's) decode and are ignored.
    #[test]
    fn unknown_tagged_fields_decode() {
        let mut payload = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(ApiKey::ApiVersions as i16)
            .with_request_api_version(3)
            .with_correlation_id(1)
            .encode(&mut payload, 2)
            .unwrap();
        ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("x"))
            .with_client_software_version(StrBytes::from_static_str("1"))
            .with_unknown_tagged_field(5, Bytes::from_static(b"a"))
            .encode(&mut payload, 3)
            .unwrap();
        let mut frame = (payload.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&payload);
        assert_eq!(fuzz_request_frame(&frame), FuzzOutcome::Decoded);
    }

    #[test]
    fn short_and_oversized_inputs_stop_at_the_frame_check() {
        assert_eq!(fuzz_request_frame(&[]), FuzzOutcome::BadFrame);
        assert_eq!(
            fuzz_request_frame(&[0x7f, 0xff, 0xff, 0xff, 0]),
            FuzzOutcome::BadFrame
        );
        assert_eq!(
            fuzz_request_frame(&[0xff, 0xff, 0xff, 0xff]),
            FuzzOutcome::BadFrame
        );
        assert_eq!(fuzz_request_frame(&[0, 0, 0, 0]), FuzzOutcome::Refused);
    }
}
