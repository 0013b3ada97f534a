//! One TCP connection to one broker: framing, request headers, correlation ids, pipelining,
//! ApiVersions negotiation and request timeouts.
//!
//! ```text
//! request  frame: size:i32 | api_key:i16 | api_version:i16 | correlation_id:i32
//!                 | client_id:nullable string | [tagged fields: header v2] | body
//! response frame: size:i32 | correlation_id:i32 | [tagged fields: header v1] | body
//! ```
//!
//! Several requests may be in flight on one connection. Kafka answers them in request order, so
//! a FIFO of pending requests is matched against arriving responses; a response whose
//! correlation id is not the oldest pending one is a protocol violation and closes the
//! connection. Frames are written by a writer task, not by the caller, so that a caller
//! dropping its future half-way cannot leave half a frame on the socket.
//!
//! On connect the client sends ApiVersions v3 (header v2) and, when the broker refuses that
//! version (UNSUPPORTED_VERSION in a v0 body, KIP-511), retries at the newest version the broker
//! listed. Each later request goes at the highest version both sides support
//! ([`Connection::negotiate`]). A request without a response in `request.timeout.ms` fails with
//! [`ClientError::RequestTimeout`] and closes the connection, as the Java client does, because
//! the broker is evidently not answering in order any more.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::ClientConfig;
use crate::error::{codec_source, ClientError};

/// ApiVersions version sent first; v3 is the first flexible one and what Java 2.4+ sends.
const API_VERSIONS_FIRST: i16 = 3;

/// The newest version this client speaks for APIs whose newer versions change the meaning of
/// fields the client fills in (topic ids instead of names, batched coordinator keys, ...).
/// APIs not listed are spoken up to the codec's newest version.
fn client_max_version(api_key: ApiKey) -> Option<i16> {
    match api_key {
        // v13 addresses topics by id only.
        ApiKey::Produce | ApiKey::Fetch => Some(12),
        // v10 addresses topics by id.
        ApiKey::OffsetCommit | ApiKey::OffsetFetch => Some(9),
        _ => None,
    }
}

/// The range of versions this client can speak for `R`.
pub fn client_versions<R: Request>() -> (i16, i16) {
    let api_key = api_key_of::<R>();
    let codec = R::VERSIONS;
    let max = client_max_version(api_key).map_or(codec.max, |cap| cap.min(codec.max));
    (codec.min, max)
}

pub(crate) fn api_key_of<R: Request>() -> ApiKey {
    // Every `Request` impl in the codec crate carries a valid key.
    ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions)
}

/// A request waiting for its response.
struct Pending {
    correlation_id: i32,
    tx: oneshot::Sender<Result<Bytes, ClientError>>,
}

/// State shared between callers, the writer task and the reader task.
struct Shared {
    addr: String,
    pending: Mutex<PendingQueue>,
}

struct PendingQueue {
    queue: VecDeque<Pending>,
    /// Why the connection is unusable, once it is.
    closed: Option<String>,
    frames: Option<mpsc::UnboundedSender<Bytes>>,
}

impl Shared {
    /// Marks the connection dead and fails every pending request.
    fn close(&self, reason: &str) {
        let drained = {
            let mut state = self.pending.lock();
            if state.closed.is_none() {
                state.closed = Some(reason.to_string());
            }
            state.frames = None;
            std::mem::take(&mut state.queue)
        };
        for pending in drained {
            let _ = pending.tx.send(Err(self.lost(reason)));
        }
    }

    fn lost(&self, reason: &str) -> ClientError {
        ClientError::ConnectionLost {
            addr: self.addr.clone(),
            reason: reason.to_string(),
        }
    }
}

/// An open connection to one broker, safe to share between tasks (`Arc<Connection>`).
pub struct Connection {
    shared: Arc<Shared>,
    client_id: StrBytes,
    next_correlation_id: AtomicI32,
    request_timeout: Duration,
    /// api_key -> (min, max) as the broker advertised them.
    versions: OnceLock<HashMap<i16, (i16, i16)>>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Connection {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens a connection to `addr` (`host:port`) and negotiates API versions.
    pub async fn connect(addr: &str, config: &ClientConfig) -> Result<Connection, ClientError> {
        let timeout_ms = config.connection_setup_timeout_ms;
        let stream =
            match tokio::time::timeout(Duration::from_millis(timeout_ms), TcpStream::connect(addr))
                .await
            {
                Err(_) => {
                    return Err(ClientError::ConnectTimeout {
                        addr: addr.to_string(),
                        timeout_ms,
                    })
                }
                Ok(Err(source)) => {
                    return Err(ClientError::Connect {
                        addr: addr.to_string(),
                        source: Arc::new(source),
                    })
                }
                Ok(Ok(stream)) => stream,
            };
        // Requests are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        let (read_half, write_half) = stream.into_split();
        let (frames_tx, frames_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            addr: addr.to_string(),
            pending: Mutex::new(PendingQueue {
                queue: VecDeque::new(),
                closed: None,
                frames: Some(frames_tx),
            }),
        });
        let writer = tokio::spawn(write_loop(shared.clone(), write_half, frames_rx));
        let reader = tokio::spawn(read_loop(
            shared.clone(),
            read_half,
            config.max_response_bytes,
        ));
        let connection = Connection {
            shared,
            client_id: StrBytes::from_string(config.client_id.clone()),
            next_correlation_id: AtomicI32::new(0),
            request_timeout: config.request_timeout(),
            versions: OnceLock::new(),
            tasks: [writer, reader],
        };
        connection.negotiate_versions().await?;
        Ok(connection)
    }

    /// The `host:port` this connection goes to.
    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// Whether the connection has failed or been closed.
    pub fn is_closed(&self) -> bool {
        self.shared.pending.lock().closed.is_some()
    }

    /// Closes the connection; pending requests fail with [`ClientError::ConnectionLost`].
    pub fn close(&self) {
        self.shared.close("closed by the client");
    }

    /// The version range the broker advertised for `api_key`, if any.
    pub fn broker_versions(&self, api_key: ApiKey) -> Option<(i16, i16)> {
        self.versions.get()?.get(&(api_key as i16)).copied()
    }

    /// The highest version in `client_min..=client_max` the broker also supports.
    pub fn negotiate(
        &self,
        api_key: ApiKey,
        client_min: i16,
        client_max: i16,
    ) -> Result<i16, ClientError> {
        let unsupported = |broker: String| ClientError::UnsupportedVersion {
            api_key,
            addr: self.shared.addr.clone(),
            client_min,
            client_max,
            broker,
        };
        let (broker_min, broker_max) = self
            .broker_versions(api_key)
            .ok_or_else(|| unsupported("none".to_string()))?;
        let version = client_max.min(broker_max);
        if version < client_min.max(broker_min) {
            return Err(unsupported(format!("{broker_min}..={broker_max}")));
        }
        Ok(version)
    }

    /// Sends `request` at the highest version both sides speak and waits for its response.
    pub async fn call<R: Request>(&self, request: &R) -> Result<R::Response, ClientError> {
        let (min, max) = client_versions::<R>();
        let version = self.negotiate(api_key_of::<R>(), min, max)?;
        self.call_at(request, version).await
    }

    /// Sends `request` at `version` and waits for its response.
    pub async fn call_at<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<R::Response, ClientError> {
        self.call_with_timeout(request, version, self.request_timeout)
            .await
    }

    /// [`Connection::call_at`] with its own timeout, for requests the broker deliberately
    /// holds longer than `request.timeout.ms` (JoinGroup waits for the whole rebalance).
    pub async fn call_with_timeout<R: Request>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, ClientError> {
        let api_key = api_key_of::<R>();
        let frame = self.encode(api_key, version, request)?;
        let rx = self.enqueue(frame, true)?;
        let rx = rx.ok_or_else(|| self.shared.lost("no response slot"))?;
        let payload = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result?,
            Ok(Err(_)) => return Err(self.shared.lost("reader stopped")),
            Err(_) => {
                self.shared.close("request timed out");
                return Err(ClientError::RequestTimeout {
                    api_key,
                    addr: self.shared.addr.clone(),
                    timeout_ms: timeout.as_millis() as u64,
                });
            }
        };
        decode_response::<R::Response>(api_key, version, payload)
    }

    /// Queues `request` at `version` now (so requests started one after another are written
    /// in that order) and returns a future for its response, bounded by `request.timeout.ms`.
    /// The producer uses it to pipeline several Produce requests on one connection.
    pub(crate) fn start_call<R: Request>(
        self: &Arc<Self>,
        request: &R,
        version: i16,
    ) -> Result<impl Future<Output = Result<R::Response, ClientError>> + Send + 'static, ClientError>
    {
        let api_key = api_key_of::<R>();
        let frame = self.encode(api_key, version, request)?;
        let rx = self.enqueue(frame, true)?;
        let rx = rx.ok_or_else(|| self.shared.lost("no response slot"))?;
        let conn = self.clone();
        Ok(async move {
            let timeout = conn.request_timeout;
            let payload = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(result)) => result?,
                Ok(Err(_)) => return Err(conn.shared.lost("reader stopped")),
                Err(_) => {
                    conn.shared.close("request timed out");
                    return Err(ClientError::RequestTimeout {
                        api_key,
                        addr: conn.shared.addr.clone(),
                        timeout_ms: timeout.as_millis() as u64,
                    });
                }
            };
            decode_response::<R::Response>(api_key, version, payload)
        })
    }

    /// Sends `request` at `version` without waiting for a response: for Produce with
    /// `acks=0`, to which the broker sends none. Returns once the frame is queued.
    pub fn send_without_response<R: Request>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<(), ClientError> {
        let frame = self.encode(api_key_of::<R>(), version, request)?;
        self.enqueue(frame, false)?;
        Ok(())
    }

    fn encode<R: Encodable>(
        &self,
        api_key: ApiKey,
        version: i16,
        request: &R,
    ) -> Result<(i32, Bytes), ClientError> {
        let correlation_id = self
            .next_correlation_id
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
            & i32::MAX;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let encode_err = |source| ClientError::Encode {
            api_key,
            version,
            source,
        };
        let mut buf = BytesMut::with_capacity(128);
        buf.put_i32(0);
        header
            .encode(&mut buf, api_key.request_header_version(version))
            .map_err(|e| encode_err(codec_source(e)))?;
        request
            .encode(&mut buf, version)
            .map_err(|e| encode_err(codec_source(e)))?;
        let len = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        Ok((correlation_id, buf.freeze()))
    }

    /// Queues a frame for the writer; with `expect_response`, registers the pending slot in
    /// the same critical section so the FIFO order matches the write order.
    #[allow(clippy::type_complexity)]
    fn enqueue(
        &self,
        (correlation_id, frame): (i32, Bytes),
        expect_response: bool,
    ) -> Result<Option<oneshot::Receiver<Result<Bytes, ClientError>>>, ClientError> {
        let mut state = self.shared.pending.lock();
        if let Some(reason) = &state.closed {
            return Err(self.shared.lost(reason));
        }
        let Some(frames) = state.frames.clone() else {
            return Err(self.shared.lost("writer stopped"));
        };
        let rx = if expect_response {
            let (tx, rx) = oneshot::channel();
            state.queue.push_back(Pending { correlation_id, tx });
            Some(rx)
        } else {
            None
        };
        if frames.send(frame).is_err() {
            drop(state);
            self.shared.close("writer stopped");
            return Err(self.shared.lost("writer stopped"));
        }
        Ok(rx)
    }

    async fn negotiate_versions(&self) -> Result<(), ClientError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("fjord-client"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut version = API_VERSIONS_FIRST;
        for _ in 0..2 {
            let response: ApiVersionsResponse = self.call_at(&request, version).await?;
            let unsupported = kafka_protocol::ResponseError::UnsupportedVersion.code();
            if response.error_code == unsupported {
                // The broker listed what it speaks; retry at its newest ApiVersions.
                let broker_max = response
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map_or(0, |k| k.max_version);
                version = broker_max.min(API_VERSIONS_FIRST);
                continue;
            }
            ClientError::check(response.error_code, None)?;
            let table = response
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            let _ = self.versions.set(table);
            return Ok(());
        }
        Err(ClientError::Protocol {
            addr: self.shared.addr.clone(),
            reason: "ApiVersions refused twice".to_string(),
        })
    }
}

/// Decodes a response payload (correlation id onwards) at `version`.
fn decode_response<T: Decodable>(
    api_key: ApiKey,
    version: i16,
    mut payload: Bytes,
) -> Result<T, ClientError> {
    let what = || format!("{api_key:?} v{version} response");
    let mut body_version = version;
    if api_key == ApiKey::ApiVersions {
        // An ApiVersions answer to a version the broker does not know is a v0 body (KIP-511).
        // The error code comes first in every version.
        if payload.len() >= 6 && i16::from_be_bytes([payload[4], payload[5]]) == 35 {
            body_version = 0;
        }
    }
    ResponseHeader::decode(
        &mut payload,
        fjord_protocol::response_header_version(api_key, version),
    )
    .map_err(|e| ClientError::decode(what(), codec_source(e)))?;
    T::decode(&mut payload, body_version).map_err(|e| ClientError::decode(what(), codec_source(e)))
}

async fn write_loop(
    shared: Arc<Shared>,
    mut stream: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Bytes>,
) {
    while let Some(frame) = frames.recv().await {
        if let Err(err) = stream.write_all(&frame).await {
            shared.close(&format!("write failed: {err}"));
            return;
        }
    }
    let _ = stream.shutdown().await;
}

async fn read_loop(shared: Arc<Shared>, mut stream: OwnedReadHalf, max_response_bytes: usize) {
    let reason = loop {
        let mut len = [0u8; 4];
        if let Err(err) = stream.read_exact(&mut len).await {
            break if err.kind() == std::io::ErrorKind::UnexpectedEof {
                "closed by the broker".to_string()
            } else {
                format!("read failed: {err}")
            };
        }
        let len = i32::from_be_bytes(len);
        // Check the declared size before allocating for it.
        if len < 4 || len as usize > max_response_bytes {
            break format!("implausible response size {len}");
        }
        let mut payload = BytesMut::zeroed(len as usize);
        if let Err(err) = stream.read_exact(&mut payload).await {
            break format!("read failed: {err}");
        }
        let payload = payload.freeze();
        let correlation_id = (&payload[..4]).get_i32();
        let pending = shared.pending.lock().queue.pop_front();
        match pending {
            Some(p) if p.correlation_id == correlation_id => {
                // The caller may have given up (timeout, dropped future); that is fine.
                let _ = p.tx.send(Ok(payload));
            }
            Some(p) => {
                let _ = p.tx.send(Err(ClientError::Protocol {
                    addr: shared.addr.clone(),
                    reason: format!(
                        "response for correlation id {correlation_id}, expected {}",
                        p.correlation_id
                    ),
                }));
                break "responses out of order".to_string();
            }
            None => break format!("unsolicited response (correlation id {correlation_id})"),
        }
    };
    tracing::debug!(addr = %shared.addr, %reason, "connection closed");
    shared.close(&reason);
}
