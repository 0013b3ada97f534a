//! One client connection: read frames, decode, hand each request to the dispatcher, write the
//! responses back in request order.
//!
//! Two futures share the connection's task:
//! - the *reader* reads frames, checks each declared size against `socket.request.max.bytes`
//!   before growing its buffer, decodes the header and body, and queues the request. Reads go
//!   into the spare capacity of one `BytesMut` (`read_buf`: nothing is zero-filled first); once
//!   a frame's share of the read-ahead budget is granted, the buffer is reserved for the whole
//!   frame at once, so a large produce request is not regrown and moved chunk by chunk (only a
//!   frame larger than the whole budget still grows with the bytes that actually arrive). It
//!   reads ahead of the handler so pipelined requests (librdkafka keeps up to 5 in flight) are
//!   decoded while earlier ones run, within a byte budget per connection
//!   ([`READ_AHEAD_BYTES`]): Kafka holds one request per connection, fjord a few, never several
//!   100 MiB frames.
//! - the *processor* takes queued requests one at a time, runs the handler, and writes the
//!   response. Handling is sequential on purpose: Kafka handles one request per connection at a
//!   time, and clients rely on that (an idempotent producer's pipelined produce requests must be
//!   appended in the order sent), so responses are in request order by construction. Each
//!   response is a [`ResponseFrame`] (a Fetch response's record bytes are pieces of their own,
//!   never copied into the frame) written with `write_all_buf`: small responses coalesce in the
//!   write buffer, large ones go to the socket as one vectored write of their pieces.
//!
//! The connection closes, after answering what was queued before the cause, on: end of stream,
//! a frame that is too large, negative, truncated or undecodable, an API or version fjord does
//! not serve (except ApiVersions, KIP-511), `connections.max.idle.ms` without a request while
//! nothing is in flight, or broker shutdown. Each close for cause is logged with the peer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use fjord_protocol::kafka_protocol::messages::{ApiKey, RequestHeader, ResponseKind};
use fjord_protocol::{check_frame_len, decode_request, encode_response_frame, DecodeError};
use fjord_protocol::{Decoded, DecodedRequest, ResponseFrame, FRAME_LEN_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::dispatcher::{dispatch, Reply};
use crate::handlers::{api_versions, BrokerContext, RequestContext};

/// Decoded requests waiting for the processor. Small: it only has to cover a client's
/// pipelining depth; beyond it the reader stops reading and TCP pushes back.
const QUEUE_DEPTH: usize = 8;
/// Bytes of frames one connection may hold read but not yet handled. A frame is read only once
/// its size fits in what is left (a frame larger than the whole budget waits for an empty
/// queue), so memory per connection stays bounded whatever a client pipelines.
const READ_AHEAD_BYTES: usize = 16 * 1024 * 1024;
/// The budget is a semaphore counted in KiB (permit counts are `u32`).
const BUDGET_UNIT_BYTES: usize = 1024;
const BUDGET_UNITS: usize = READ_AHEAD_BYTES / BUDGET_UNIT_BYTES;
/// Read granularity while a frame's body arrives: memory follows the bytes received, not the
/// size a peer declares.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Smallest read buffer, so that several small pipelined requests arrive in one read.
const MIN_READ_BYTES: usize = 8 * 1024;
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// What every connection of one listener shares.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSettings {
    pub listener_name: String,
    pub socket_request_max_bytes: i32,
    /// `connections.max.idle.ms`; `None` when it is negative (Kafka: never expire).
    pub max_idle: Option<Duration>,
}

/// Why a connection ended; logged once when it closes.
#[derive(Debug)]
enum CloseReason {
    /// The peer closed between frames: the normal end.
    PeerClosed,
    Shutdown,
    Idle(Duration),
    /// The peer closed in the middle of a frame.
    Truncated {
        received: usize,
        expected: usize,
    },
    Decode(DecodeError),
    Io(std::io::Error),
    Handler(String),
}

/// A unit of work for the processor, holding its share of the read-ahead budget until handled.
struct Inbound {
    work: Work,
    _budget: OwnedSemaphorePermit,
}

enum Work {
    Request(Box<DecodedRequest>),
    /// ApiVersions at a version fjord does not know: answer v0 with UNSUPPORTED_VERSION.
    UnsupportedApiVersions(RequestHeader),
}

/// Serves one accepted connection until it closes. Never panics on input.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<BrokerContext>,
    settings: Arc<ConnectionSettings>,
    shutdown: CancellationToken,
) {
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    let in_flight = AtomicUsize::new(0);
    let reader = read_requests(read_half, tx, &settings, &in_flight, &shutdown);
    let processor = process_requests(write_half, rx, peer, &ctx, &settings, &in_flight);
    let (read_end, process_end) = tokio::join!(reader, processor);
    // The processor's reason wins: if it failed, that is why the reader stopped.
    let reason = process_end.err().unwrap_or(read_end);
    let listener = settings.listener_name.as_str();
    match &reason {
        CloseReason::PeerClosed | CloseReason::Shutdown => {
            debug!(%peer, listener, "connection closed: {reason:?}")
        }
        CloseReason::Idle(idle) => info!(
            %peer, listener,
            "closing connection idle for more than {} ms (connections.max.idle.ms)",
            idle.as_millis()
        ),
        CloseReason::Truncated { received, expected } => info!(
            %peer, listener,
            "peer closed the connection in the middle of a frame ({received} of {expected} bytes)"
        ),
        CloseReason::Decode(err) => warn!(
            %peer, listener, error_code = err.error_code(),
            "closing connection after a bad request: {}", error_chain(err)
        ),
        CloseReason::Io(err) => info!(%peer, listener, "connection I/O error: {err}"),
        CloseReason::Handler(text) => warn!(%peer, listener, "closing connection: {text}"),
    }
}

/// The reader: frames in, decoded requests out, until the connection must close. Returns why.
async fn read_requests(
    mut socket: OwnedReadHalf,
    tx: mpsc::Sender<Inbound>,
    settings: &ConnectionSettings,
    in_flight: &AtomicUsize,
    shutdown: &CancellationToken,
) -> CloseReason {
    let mut buf = BytesMut::new();
    let budget = Arc::new(Semaphore::new(BUDGET_UNITS));
    loop {
        let frame = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return CloseReason::Shutdown,
            // The processor is gone (write failure or handler-requested close).
            _ = tx.closed() => return CloseReason::PeerClosed,
            frame = read_frame_with_idle(&mut socket, &mut buf, settings, in_flight, &budget) => frame,
        };
        let (frame, permit) = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => return CloseReason::PeerClosed,
            Err(reason) => return reason,
        };
        let work = match decode_request(frame) {
            Ok(Decoded::Request(request)) => Work::Request(request),
            Ok(Decoded::UnsupportedApiVersions { header }) => Work::UnsupportedApiVersions(header),
            Err(err) => return CloseReason::Decode(err),
        };
        in_flight.fetch_add(1, Ordering::SeqCst);
        let inbound = Inbound {
            work,
            _budget: permit,
        };
        if tx.send(inbound).await.is_err() {
            return CloseReason::PeerClosed;
        }
    }
}

/// Reads one frame, closing the connection after `connections.max.idle.ms` without a request
/// while no request is being handled (a long-polling fetch keeps its connection alive).
async fn read_frame_with_idle(
    socket: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    settings: &ConnectionSettings,
    in_flight: &AtomicUsize,
    budget: &Arc<Semaphore>,
) -> Result<Option<(Bytes, OwnedSemaphorePermit)>, CloseReason> {
    let max_bytes = settings.socket_request_max_bytes;
    let Some(max_idle) = settings.max_idle else {
        return read_frame(socket, buf, max_bytes, budget).await;
    };
    // Only the wait for the *start* of a frame counts as idle; a frame that has started arriving
    // is read to its end or to EOF (a stalled sender mid-frame is still bounded by TCP
    // keep-alive and by the memory check, since nothing is allocated ahead of the bytes).
    loop {
        if !buf.is_empty() {
            return read_frame(socket, buf, max_bytes, budget).await;
        }
        match tokio::time::timeout(max_idle, read_more(socket, buf, MIN_READ_BYTES)).await {
            Ok(Ok(0)) => return Ok(None),
            Ok(Ok(_)) => continue,
            Ok(Err(err)) => return Err(CloseReason::Io(err)),
            Err(_elapsed) if in_flight.load(Ordering::SeqCst) == 0 => {
                return Err(CloseReason::Idle(max_idle))
            }
            Err(_elapsed) => continue,
        }
    }
}

/// Reads one whole frame into `buf` and splits it off, without its size prefix, with the share
/// of the read-ahead budget it holds. `Ok(None)`: the peer closed cleanly between frames.
async fn read_frame(
    socket: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    max_bytes: i32,
    budget: &Arc<Semaphore>,
) -> Result<Option<(Bytes, OwnedSemaphorePermit)>, CloseReason> {
    while buf.len() < FRAME_LEN_BYTES {
        if read_more(socket, buf, MIN_READ_BYTES)
            .await
            .map_err(CloseReason::Io)?
            == 0
        {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(CloseReason::Truncated {
                    received: buf.len(),
                    expected: FRAME_LEN_BYTES,
                })
            };
        }
    }
    let declared = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    // Checked before a single byte is reserved for the body.
    let len = check_frame_len(declared, max_bytes).map_err(CloseReason::Decode)?;
    // Wait for the requests already queued to leave room before reading this body.
    let units = (len / BUDGET_UNIT_BYTES + 1).min(BUDGET_UNITS) as u32;
    let permit = Arc::clone(budget)
        .acquire_many_owned(units)
        .await
        .map_err(|_closed| CloseReason::Shutdown)?;
    let total = FRAME_LEN_BYTES + len;
    let reserved_whole = len <= READ_AHEAD_BYTES;
    if reserved_whole {
        // The budget now covers the whole frame: reserve it in one go (Kafka allocates the
        // declared size too), so the reads below land in place.
        buf.reserve(total.saturating_sub(buf.len()));
    }
    while buf.len() < total {
        let chunk = if reserved_whole {
            // Already reserved: asking for more would reallocate and move the frame.
            total - buf.len()
        } else {
            (total - buf.len()).clamp(MIN_READ_BYTES, READ_CHUNK_BYTES)
        };
        if read_more(socket, buf, chunk)
            .await
            .map_err(CloseReason::Io)?
            == 0
        {
            return Err(CloseReason::Truncated {
                received: buf.len(),
                expected: total,
            });
        }
    }
    buf.advance(FRAME_LEN_BYTES);
    Ok(Some((buf.split_to(len).freeze(), permit)))
}

/// One `read` into `buf`, with at least `want` bytes of spare capacity.
async fn read_more(
    socket: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    want: usize,
) -> std::io::Result<usize> {
    buf.reserve(want);
    socket.read_buf(buf).await
}

/// The processor: runs queued requests in order and writes their responses. Returns `Ok` when
/// the queue ended (the reader stopped), `Err` when it must close the connection itself.
async fn process_requests(
    socket: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Inbound>,
    peer: SocketAddr,
    ctx: &BrokerContext,
    settings: &ConnectionSettings,
    in_flight: &AtomicUsize,
) -> Result<(), CloseReason> {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, socket);
    while let Some(inbound) = rx.recv().await {
        let frame = match inbound.work {
            Work::Request(request) => handle_request(*request, peer, ctx, settings).await?,
            Work::UnsupportedApiVersions(header) => {
                let body =
                    ResponseKind::ApiVersions(api_versions::unsupported_version_response(ctx));
                // KIP-511: the fallback body is v0, whatever version was asked for.
                Some(
                    encode_response_frame(ApiKey::ApiVersions, 0, header.correlation_id, &body)
                        .map_err(|err| CloseReason::Handler(error_chain(&err)))?,
                )
            }
        };
        if let Some(frame) = frame {
            let mut frame = frame.into_buf();
            out.write_all_buf(&mut frame)
                .await
                .map_err(CloseReason::Io)?;
        }
        in_flight.fetch_sub(1, Ordering::SeqCst);
        // Coalesce the responses to pipelined requests into one write.
        if rx.is_empty() {
            out.flush().await.map_err(CloseReason::Io)?;
        }
    }
    out.flush().await.map_err(CloseReason::Io)?;
    Ok(())
}

/// Runs one request through the dispatcher and encodes its reply.
async fn handle_request(
    request: DecodedRequest,
    peer: SocketAddr,
    ctx: &BrokerContext,
    settings: &ConnectionSettings,
) -> Result<Option<ResponseFrame>, CloseReason> {
    let req = RequestContext {
        api_key: request.api_key,
        api_version: request.api_version(),
        correlation_id: request.correlation_id(),
        client_id: request.client_id().map(str::to_owned),
        peer,
        listener_name: settings.listener_name.clone(),
    };
    match dispatch(ctx, &req, request.body).await {
        Reply::Send(body) => {
            encode_response_frame(req.api_key, req.api_version, req.correlation_id, &body)
                .map(Some)
                .map_err(|err| CloseReason::Handler(error_chain(&err)))
        }
        Reply::NoResponse => Ok(None),
        Reply::Close { reason } => Err(CloseReason::Handler(reason)),
        Reply::NoHandler => Err(CloseReason::Handler(format!(
            "no handler registered for {:?}",
            req.api_key
        ))),
    }
}

/// An error and its sources on one line, for logs.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn socket_pair() -> (TcpStream, OwnedReadHalf) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server.into_split().0)
    }

    #[tokio::test]
    async fn a_frame_waits_for_the_read_ahead_budget() {
        let (mut client, mut server) = socket_pair().await;
        let mut frame = 8i32.to_be_bytes().to_vec();
        frame.extend_from_slice(&[0, 18, 0, 0, 0, 0, 0, 1]);
        client.write_all(&frame).await.unwrap();
        let budget = Arc::new(Semaphore::new(BUDGET_UNITS));
        // Earlier requests hold the whole budget: the next frame is not read.
        let queued = Arc::clone(&budget)
            .acquire_many_owned(BUDGET_UNITS as u32)
            .await
            .unwrap();
        let mut buf = BytesMut::new();
        let read = read_frame(&mut server, &mut buf, 1 << 20, &budget);
        tokio::pin!(read);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut read)
                .await
                .is_err(),
            "the frame was read although the budget was used up"
        );
        drop(queued);
        let (body, permit) = read.await.unwrap().unwrap();
        assert_eq!(body.len(), 8);
        assert_eq!(permit.num_permits(), 1);
        assert_eq!(budget.available_permits(), BUDGET_UNITS - 1);
    }

    #[tokio::test]
    async fn a_frame_larger_than_the_budget_takes_all_of_it() {
        let (mut client, mut server) = socket_pair().await;
        let len = READ_AHEAD_BYTES + 10;
        let mut frame = (len as i32).to_be_bytes().to_vec();
        frame.resize(4 + len, 7);
        let writer = tokio::spawn(async move { client.write_all(&frame).await });
        let budget = Arc::new(Semaphore::new(BUDGET_UNITS));
        let mut buf = BytesMut::new();
        let (body, permit) = read_frame(&mut server, &mut buf, i32::MAX, &budget)
            .await
            .unwrap()
            .unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(body.len(), len);
        assert_eq!(permit.num_permits(), BUDGET_UNITS);
    }

    #[tokio::test]
    async fn oversized_and_negative_sizes_are_refused_before_reading_on() {
        for declared in [i32::MAX, -5] {
            let (mut client, mut server) = socket_pair().await;
            client.write_all(&declared.to_be_bytes()).await.unwrap();
            let budget = Arc::new(Semaphore::new(BUDGET_UNITS));
            let mut buf = BytesMut::new();
            let result = read_frame(&mut server, &mut buf, 1 << 20, &budget).await;
            assert!(matches!(result, Err(CloseReason::Decode(_))));
            assert!(buf.capacity() < 64 * 1024, "nothing reserved for the body");
            assert_eq!(budget.available_permits(), BUDGET_UNITS);
        }
    }
}
