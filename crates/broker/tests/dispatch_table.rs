//! The supported-API table (protocol crate) and the dispatcher's match (broker crate) must
//! agree: every API that ApiVersions advertises reaches a handler. This test needs no list of
//! APIs of its own, so a new table row without a handler fails it at once.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::start_broker;
use fjord_broker::dispatcher::{dispatch, Reply};
use fjord_broker::RequestContext;
use fjord_protocol::SUPPORTED_APIS;
use kafka_protocol::messages::RequestKind;

/// An "empty" request body for any API: all-zero bytes decode to empty arrays and strings in
/// non-flexible versions, all-one bytes to empty compact arrays and strings in flexible ones.
fn empty_body(api: &fjord_protocol::ApiSupport) -> Option<(i16, RequestKind)> {
    (api.min_version..=api.max_version)
        .rev()
        .find_map(|version| {
            [0u8, 1u8].into_iter().find_map(|fill| {
                let mut bytes = Bytes::from(vec![fill; 4096]);
                RequestKind::decode(api.api_key, &mut bytes, version)
                    .ok()
                    .map(|body| (version, body))
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_supported_api_reaches_a_handler() {
    let test = start_broker(|_| {}).await;
    let ctx = test.broker.context().clone();
    for api in SUPPORTED_APIS {
        let (version, body) = empty_body(api)
            .unwrap_or_else(|| panic!("no empty {:?} body decodes at any version", api.api_key));
        let req = RequestContext {
            api_key: api.api_key,
            api_version: version,
            correlation_id: 1,
            client_id: Some("dispatch-table-test".to_string()),
            peer: test.addr,
            listener_name: "PLAINTEXT".to_string(),
        };
        // A handler may legitimately park the request (a fetch waiting for data); only the
        // no-handler arm answers synchronously with `NoHandler`.
        let reply = tokio::time::timeout(Duration::from_secs(1), dispatch(&ctx, &req, body)).await;
        assert!(
            !matches!(reply, Ok(Reply::NoHandler)),
            "{:?} is in SUPPORTED_APIS but the dispatcher has no handler for it",
            api.api_key
        );
    }
    test.broker.shutdown().await.unwrap();
}
