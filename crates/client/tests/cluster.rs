//! Connection and cluster behaviour against an in-process broker: version negotiation,
//! pipelining, metadata, and the friendly error for an unreachable bootstrap address.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::start_broker;
use fjord_client::kafka_protocol::messages::{ApiKey, MetadataRequest};
use fjord_client::{ClientConfig, ClientError, Cluster, Connection};

#[tokio::test]
async fn negotiates_versions_and_pipelines_requests() {
    let broker = start_broker(|_| {}).await;
    let conn = Arc::new(
        Connection::connect(&broker.addr.to_string(), &broker.client_config())
            .await
            .expect("connects"),
    );
    let (min, max) = conn
        .broker_versions(ApiKey::Metadata)
        .expect("Metadata advertised");
    assert!(min <= 12 && max >= 12);
    assert_eq!(conn.negotiate(ApiKey::Produce, 3, 12).unwrap(), 12);
    assert!(matches!(
        conn.negotiate(ApiKey::Produce, 100, 101),
        Err(ClientError::UnsupportedVersion { .. })
    ));
    // Fifty requests in flight on one connection, answered in order.
    let mut calls = Vec::new();
    for _ in 0..50 {
        let conn = conn.clone();
        calls.push(tokio::spawn(async move {
            conn.call(&MetadataRequest::default().with_topics(Some(vec![])))
                .await
        }));
    }
    for call in calls {
        let response = call.await.unwrap().expect("metadata response");
        assert_eq!(response.brokers.len(), 1);
    }
}

#[tokio::test]
async fn bootstrap_reads_brokers() {
    let broker = start_broker(|_| {}).await;
    let cluster = Cluster::connect(broker.client_config())
        .await
        .expect("connects");
    let metadata = cluster.metadata();
    assert_eq!(metadata.brokers.len(), 1);
    let node = metadata.brokers.values().next().unwrap();
    assert_eq!(node.port, broker.addr.port() as i32);
    assert!(metadata.cluster_id.is_some());
}

#[tokio::test]
async fn unreachable_bootstrap_names_the_address_within_the_timeout() {
    // Bind then drop, so nothing listens on the port.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut config = ClientConfig::new(&addr);
    config.connection_setup_timeout_ms = 2_000;
    let started = Instant::now();
    let err = Cluster::connect(config).await.expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        matches!(err, ClientError::BootstrapUnreachable { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&addr), "message names the address: {text}");
    assert!(err.is_retriable() || err.error_code().code() == 13);
}
