//! Shared helpers for the broker's integration tests: an in-process broker on `127.0.0.1:0`
//! and a raw-bytes Kafka client (frames built and parsed by hand or with the codec crate), so
//! tests see exactly what goes over the wire.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use fjord_broker::Broker;
use fjord_config::ServerConfig;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for something that should happen at once.
pub const PROMPT: Duration = Duration::from_secs(5);

pub struct TestBroker {
    pub broker: Broker,
    pub addr: SocketAddr,
    _dir: TempDir,
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

/// A request frame (size prefix included) for ApiVersions at `version`; for versions above 4
/// the v4 body stands in for the unknown layout, as a newer client would send something.
pub fn api_versions_frame(version: i16, correlation_id: i32) -> Vec<u8> {
    let mut body = BytesMut::new();
    let header = RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("hostile-test")));
    header
        .encode(
            &mut body,
            ApiKey::ApiVersions.request_header_version(version),
        )
        .expect("header encodes");
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("fjord-tests"))
        .with_client_software_version(StrBytes::from_static_str("0.1"))
        .encode(&mut body, version.clamp(0, 4))
        .expect("body encodes");
    sized(&body)
}

/// Prefixes `payload` with its 4-byte size.
pub fn sized(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 4);
    frame.put_i32(payload.len() as i32);
    frame.extend_from_slice(payload);
    frame
}

/// Reads one response frame (without its size prefix); `None` when the broker closed the
/// connection first.
pub async fn read_frame(stream: &mut TcpStream) -> Option<Bytes> {
    let mut len = [0u8; 4];
    tokio::time::timeout(PROMPT, stream.read_exact(&mut len))
        .await
        .expect("response or close within the deadline")
        .ok()?;
    let len = i32::from_be_bytes(len);
    assert!(
        (0..16 << 20).contains(&len),
        "implausible response size {len}"
    );
    let mut frame = vec![0u8; len as usize];
    tokio::time::timeout(PROMPT, stream.read_exact(&mut frame))
        .await
        .expect("whole response within the deadline")
        .ok()?;
    Some(Bytes::from(frame))
}

/// Splits a v0-header response into (correlation id, body).
pub fn split_v0_header(mut frame: Bytes) -> (i32, Bytes) {
    let header = frame.split_to(4);
    (i32::from_be_bytes(header[..].try_into().unwrap()), frame)
}

/// Decodes an ApiVersions response body at `version`.
pub fn decode_api_versions(mut body: Bytes, version: i16) -> ApiVersionsResponse {
    ApiVersionsResponse::decode(&mut body, version).expect("ApiVersions response decodes")
}

/// One raw ApiVersions round trip on an open connection; checks the correlation id.
pub async fn api_versions_on(
    stream: &mut TcpStream,
    version: i16,
    correlation_id: i32,
) -> ApiVersionsResponse {
    stream
        .write_all(&api_versions_frame(version, correlation_id))
        .await
        .expect("request written");
    let frame = read_frame(stream).await.expect("a response, not a close");
    let (got, body) = split_v0_header(frame);
    assert_eq!(got, correlation_id);
    decode_api_versions(body, version.min(4))
}

/// A fresh connection doing one ApiVersions v3 round trip: the "well-behaved client".
pub async fn well_behaved_client(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let response = api_versions_on(&mut stream, 3, 4242).await;
    assert_eq!(response.error_code, 0);
    assert!(response
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16));
}

/// Waits until the broker closes `stream`, failing if it sends anything first or takes longer
/// than [`PROMPT`].
pub async fn expect_closed_without_reply(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(PROMPT, stream.read(&mut buf))
        .await
        .expect("the broker closes the connection promptly");
    match read {
        Ok(0) => {}
        // A reset is a close too (the broker may close with unread bytes in its buffer).
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("expected a close, got {n} bytes: {:?}", &buf[..n]),
        Err(err) => panic!("expected a close, got {err}"),
    }
}

/// Resident set size of this process (the broker runs in it), in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

/// Starts a broker on an existing data directory (a restart on the same data), with
/// `ServerConfig::for_tests` adjusted by `tweak`.
pub async fn start_broker_in(dir: TempDir, tweak: impl FnOnce(&mut ServerConfig)) -> TestBroker {
    let mut config = ServerConfig::for_tests(dir.path());
    tweak(&mut config);
    let broker = Broker::start(config).await.expect("broker restarts");
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

impl TestBroker {
    /// Shuts the broker down cleanly and hands back its data directory for a restart.
    pub async fn stop(self) -> TempDir {
        self.broker.shutdown().await.expect("clean shutdown");
        self._dir
    }
}
