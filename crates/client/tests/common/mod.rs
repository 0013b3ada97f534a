//! An in-process fjord broker on `127.0.0.1:0` with a temporary data dir, for the client's
//! integration tests.

#![allow(dead_code)]

use std::net::SocketAddr;

use fjord_broker::Broker;
use fjord_client::ClientConfig;
use fjord_config::ServerConfig;
use tempfile::TempDir;

pub struct TestBroker {
    pub broker: Broker,
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl TestBroker {
    /// A client config bootstrapping from this broker.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new(&self.addr.to_string());
        config.default_api_timeout_ms = 15_000;
        config
    }
}

/// Starts a broker with `ServerConfig::for_tests`, adjusted by `tweak`.
pub async fn start_broker(tweak: impl FnOnce(&mut ServerConfig)) -> TestBroker {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::for_tests(dir.path());
    tweak(&mut config);
    let broker = Broker::start(config).await.expect("broker starts");
    let addr = broker
        .listener_addrs()
        .into_iter()
        .find(|(name, _)| name == "PLAINTEXT")
        .map(|(_, addr)| addr)
        .expect("a PLAINTEXT listener");
    TestBroker {
        broker,
        addr,
        _dir: dir,
    }
}
