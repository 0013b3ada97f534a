//! fjord's layer over the `kafka-protocol` crate: request framing, the table of supported APIs
//! and the record-batch header view. No tokio and no files here, so that it can be fuzzed and
//! reused by the client.

pub mod batch;
