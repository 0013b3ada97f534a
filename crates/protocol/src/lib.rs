//! fjord's layer over the `kafka-protocol` crate: request framing, the table of supported APIs
//! and the record-batch header view. No tokio and no files here, so that it can be fuzzed and
//! reused by the client.
//!
//! - [`frame`]: the 4-byte size prefix, its bound, response encoding and header versions.
//! - [`response_frame`]: a response as a chain of pieces, Fetch records spliced in uncopied.
//! - [`request`]: request header and body decoding, refusing what fjord does not serve.
//! - [`api`]: the supported-API table that ApiVersions advertises.
//! - [`batch`]: the v2 record-batch header view and CRC check.
//! - [`fuzz`]: the decode entry point shared by the cargo-fuzz target and the corpus test.
//! - [`testing`]: record batches for the tests of every crate.
//! - [`alloc`]: the process allocator that keeps peer-declared counts from aborting the process.

pub mod alloc;
pub mod api;
pub mod batch;
pub mod error;
pub mod frame;
pub mod fuzz;
pub mod request;
pub mod response_frame;
#[doc(hidden)]
pub mod testing;

pub use api::{supported_api, supported_version, ApiSupport, SUPPORTED_APIS};
pub use error::DecodeError;
pub use frame::{
    check_frame_len, encode_response, response_header_version, EncodeError,
    DEFAULT_SOCKET_REQUEST_MAX_BYTES, FRAME_LEN_BYTES,
};
pub use request::{decode_request, Decoded, DecodedRequest, HeaderPrefix};
pub use response_frame::{encode_response_frame, FrameBuf, ResponseFrame};

/// The codec crate, re-exported so every fjord crate uses the same version of it.
pub use kafka_protocol;

// The unit tests decode hostile bytes too, so they run under the same allocator as the broker.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: alloc::SparseLargeAlloc = alloc::SparseLargeAlloc;
