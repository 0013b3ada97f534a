//! Listeners: turning `listeners`, `advertised.listeners` and `listener.security.protocol.map`
//! into bound sockets and the list of addresses the broker advertises, and the accept loop that
//! spawns one task per connection.
//!
//! The listener rules (unique names and ports, a protocol for each, PLAINTEXT only for now,
//! advertised listeners that exist and are routable) are `ServerConfig::validate`'s, which
//! `Broker::start` runs first. Here advertised listeners get the bound port when the listener
//! asked for port 0, and the machine's host name when the host is empty (as Kafka does).
//!
//! Controller listeners (`controller.listener.names`) are not served here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fjord_config::{Listener, ServerConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info};

use crate::connection::{self, ConnectionSettings};
use crate::error::BrokerError;
use crate::handlers::BrokerContext;

/// A broker listener with its socket bound.
pub(crate) struct BoundListener {
    pub name: String,
    pub listener: TcpListener,
    pub local_addr: SocketAddr,
}

/// Binds every broker listener. All or nothing: the first failure is returned and the sockets
/// bound so far are closed when dropped.
pub(crate) async fn bind(listeners: &[Listener]) -> Result<Vec<BoundListener>, BrokerError> {
    // Before any connection allocates a fetch buffer (see the function's docs).
    fjord_protocol::alloc::tune_system_allocator();
    let mut bound = Vec::with_capacity(listeners.len());
    for listener in listeners {
        let address = listener.bind_address();
        let socket = TcpListener::bind(&address)
            .await
            .map_err(|source| BrokerError::Bind {
                listener: listener.name.clone(),
                address: address.clone(),
                source,
            })?;
        let local_addr = socket
            .local_addr()
            .map_err(|source| BrokerError::LocalAddr {
                listener: listener.name.clone(),
                source,
            })?;
        info!(listener = %listener.name, %local_addr, "listening");
        bound.push(BoundListener {
            name: listener.name.clone(),
            listener: socket,
            local_addr,
        });
    }
    Ok(bound)
}

/// What the broker advertises, with bound ports and host names filled in.
pub(crate) fn advertised_listeners(
    config: &ServerConfig,
    bound: &[BoundListener],
) -> Result<Vec<Listener>, BrokerError> {
    config
        .effective_advertised_listeners()
        .into_iter()
        .map(|mut advertised| {
            let Some(local) = bound.iter().find(|b| b.name == advertised.name) else {
                return Err(BrokerError::Listeners {
                    reason: format!(
                        "`advertised.listeners` names {}, which is not a broker listener in `listeners`",
                        advertised.name
                    ),
                });
            };
            if advertised.host.is_empty() {
                advertised.host = local_host_name();
            }
            if advertised.port == 0 {
                advertised.port = local.local_addr.port();
            }
            Ok(advertised)
        })
        .collect()
}

/// The machine's host name (what Kafka advertises for a listener with an empty host).
fn local_host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into the buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if let Ok(name) = std::str::from_utf8(&buf[..end]) {
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    "localhost".to_string()
}

/// Settings shared by the connections of one listener.
pub(crate) fn connection_settings(
    config: &ServerConfig,
    listener_name: &str,
) -> ConnectionSettings {
    ConnectionSettings {
        listener_name: listener_name.to_string(),
        socket_request_max_bytes: config.socket_request_max_bytes,
        max_idle: u64::try_from(config.connections_max_idle_ms)
            .ok()
            .map(Duration::from_millis),
    }
}

/// Accepts connections until `shutdown` fires, spawning each on `tasks` so that shutdown can
/// wait for them to drain.
pub(crate) async fn accept_loop(
    bound: BoundListener,
    ctx: Arc<BrokerContext>,
    settings: Arc<ConnectionSettings>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    // Backoff for accept errors such as EMFILE: keep serving existing connections instead of
    // spinning, and try again (mini-redis does the same).
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = bound.listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(10);
                // Requests and responses are small and latency-bound; never wait for Nagle.
                let _ = stream.set_nodelay(true);
                tasks.spawn(connection::serve(
                    stream,
                    peer,
                    Arc::clone(&ctx),
                    Arc::clone(&settings),
                    shutdown.clone(),
                ));
            }
            Err(err) => {
                error!(listener = %bound.name, "accept failed: {err}; retrying in {backoff:?}");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    info!(listener = %bound.name, "stopped accepting connections");
}
