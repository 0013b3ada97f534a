//! The server's contract, through raw sockets: listener configuration (several listeners,
//! advertised addresses, refused protocols and addresses), responses in request order on a
//! pipelined connection, `connections.max.idle.ms`, and shutdown with open connections.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use fjord_broker::{Broker, BrokerError};
use fjord_config::{Listener, SecurityProtocol, ServerConfig};
use kafka_protocol::messages::ApiKey;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn two_listeners(config: &mut ServerConfig) {
    config.listeners = vec![
        Listener::new("PLAINTEXT", "127.0.0.1", 0),
        Listener::new("INTERNAL", "127.0.0.1", 0),
        Listener::new("CONTROLLER", "127.0.0.1", 0),
    ];
    config
        .listener_security_protocol_map
        .insert("INTERNAL".to_string(), SecurityProtocol::Plaintext);
}

#[tokio::test]
async fn every_broker_listener_serves_and_advertises_its_bound_port() {
    let test = start_broker(two_listeners).await;
    let addrs: BTreeMap<String, _> = test.broker.listener_addrs().into_iter().collect();
    assert_eq!(
        addrs.keys().collect::<Vec<_>>(),
        ["INTERNAL", "PLAINTEXT"],
        "controller listeners are not served by the broker"
    );
    for addr in addrs.values() {
        well_behaved_client(*addr).await;
    }
    let advertised = &test.broker.context().advertised;
    assert_eq!(advertised.len(), 2);
    for listener in advertised {
        assert_eq!(listener.host, "127.0.0.1");
        assert_eq!(listener.port, addrs[&listener.name].port(), "{listener}");
    }
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn advertised_listeners_are_kept_as_configured() {
    // The Docker set-up: clients on the host use localhost:9092, containers use kafka:29092.
    let test = start_broker(|config| {
        two_listeners(config);
        config.advertised_listeners = vec![
            Listener::new("PLAINTEXT", "localhost", 9092),
            Listener::new("INTERNAL", "kafka", 29092),
        ];
    })
    .await;
    let advertised: Vec<String> = test
        .broker
        .context()
        .advertised
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        advertised,
        ["PLAINTEXT://localhost:9092", "INTERNAL://kafka:29092"]
    );
    test.broker.shutdown().await.unwrap();
}

async fn start_error(tweak: impl FnOnce(&mut ServerConfig)) -> BrokerError {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::for_tests(dir.path());
    tweak(&mut config);
    match Broker::start(config).await {
        Ok(broker) => {
            broker.shutdown().await.unwrap();
            panic!("start-up should have failed")
        }
        Err(err) => err,
    }
}

#[tokio::test]
async fn ssl_and_sasl_listeners_fail_start_up_instead_of_serving_plaintext() {
    for protocol in [
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ] {
        let err = start_error(|config| {
            config
                .listener_security_protocol_map
                .insert("PLAINTEXT".to_string(), protocol);
        })
        .await;
        assert!(matches!(err, BrokerError::Config(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("not support") && text.contains(protocol.as_str()),
            "{text}"
        );
    }
}

#[tokio::test]
async fn listener_mistakes_are_refused_with_the_key_named() {
    let err = start_error(|config| {
        config.listeners[0] = Listener::new("EXTERNAL", "127.0.0.1", 0);
    })
    .await;
    assert!(
        err.to_string().contains("listener.security.protocol.map"),
        "{err}"
    );

    let err = start_error(|config| {
        config.listeners[0] = Listener::new("PLAINTEXT", "0.0.0.0", 0);
    })
    .await;
    assert!(err.to_string().contains("non-routable"), "{err}");

    let err = start_error(|config| {
        config.advertised_listeners = vec![Listener::new("OTHER", "localhost", 9092)];
    })
    .await;
    assert!(err.to_string().contains("advertised.listeners"), "{err}");

    let err = start_error(|config| {
        config
            .listeners
            .push(Listener::new("PLAINTEXT", "127.0.0.1", 0));
    })
    .await;
    assert!(err.to_string().contains("appears twice"), "{err}");
}

#[tokio::test]
async fn a_port_in_use_fails_start_up_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = start_error(|config| {
        config.listeners[0] = Listener::new("PLAINTEXT", "127.0.0.1", port);
    })
    .await;
    assert!(matches!(err, BrokerError::Bind { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("listeners"), "{text}");
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_request_order() {
    let test = start_broker(|_| {}).await;
    let mut stream = TcpStream::connect(test.addr).await.unwrap();
    // Eight requests in one write, at different versions (so different response shapes).
    let versions = [4i16, 0, 3, 1, 2, 4, 0, 3];
    let mut batch = Vec::new();
    for (i, version) in versions.iter().enumerate() {
        batch.extend(api_versions_frame(*version, 100 + i as i32));
    }
    stream.write_all(&batch).await.unwrap();
    for (i, version) in versions.iter().enumerate() {
        let (correlation_id, body) = split_v0_header(read_frame(&mut stream).await.unwrap());
        assert_eq!(correlation_id, 100 + i as i32);
        let response = decode_api_versions(body, *version);
        assert_eq!(response.error_code, 0);
        assert!(response
            .api_keys
            .iter()
            .any(|k| k.api_key == ApiKey::ApiVersions as i16));
    }
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn idle_connections_are_closed_after_connections_max_idle_ms() {
    let test = start_broker(|config| config.connections_max_idle_ms = 300).await;
    let mut idle = TcpStream::connect(test.addr).await.unwrap();
    // A connection that keeps talking stays open past the idle limit...
    let mut busy = TcpStream::connect(test.addr).await.unwrap();
    for i in 0..4 {
        assert_eq!(api_versions_on(&mut busy, 3, i).await.error_code, 0);
        // Client pacing: four requests 150 ms apart span more than the 300 ms idle limit.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // ...while the silent one has been closed by then.
    expect_closed_without_reply(&mut idle).await;
    assert_eq!(api_versions_on(&mut busy, 3, 99).await.error_code, 0);
    test.broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_open_connections_promptly() {
    let test = start_broker(|_| {}).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(test.addr).await.unwrap();
        assert_eq!(api_versions_on(&mut stream, 3, 1).await.error_code, 0);
        open.push(stream);
    }
    tokio::time::timeout(PROMPT, test.broker.shutdown())
        .await
        .expect("shutdown does not wait for idle clients")
        .unwrap();
    for stream in &mut open {
        expect_closed_without_reply(stream).await;
    }
}
