//! Fuzz target: arbitrary bytes as one request frame off the socket (size prefix included),
//! through the frame-size check, header and body decoding, and record-batch validation of Produce payloads. The same entry point runs on stable in
//! `crates/protocol/tests/fuzz_corpus.rs` over the corpus in `corpus/request_decode/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

/// The broker's allocator: declared element counts reserve address space, not memory.
#[global_allocator]
static ALLOCATOR: fjord_protocol::alloc::SparseLargeAlloc = fjord_protocol::alloc::SparseLargeAlloc;

fuzz_target!(|data: &[u8]| {
    let _ = fjord_protocol::fuzz::fuzz_request_frame(data);
});
