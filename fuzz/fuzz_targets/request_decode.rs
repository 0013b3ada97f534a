//! Fuzz target: arbitrary bytes as one request frame off the socket (size prefix included),
//! through the frame-size check, header and body decoding, a re-encode round trip, and
//! record-batch validation of Produce payloads. The same entry point runs on stable in
//! `crates/protocol/tests/fuzz_corpus.rs` over the corpus in `corpus/request_decode/`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fjord_protocol::fuzz::fuzz_request_frame(data);
});
