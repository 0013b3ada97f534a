//! fjord-console: the web console of a fjord node, served in-process from the broker's
//! [`BrokerContext`] on `console.listener` (default `127.0.0.1:8080`).
//!
//! * `/` and the other pages (`pages/`): server-rendered HTML, one navigation bar, a small
//!   hand-written script and stylesheet embedded with `include_str!` (`assets/`); the browser
//!   fetches nothing from elsewhere.
//! * `/api/v1/...` (`api/`): the JSON REST API behind every page, described by the
//!   hand-written OpenAPI document at `/api/v1/openapi.json`.
//! * `/metrics`: Prometheus text exposition (`metrics.rs`).
//!
//! Safety (`security.rs`): loopback bind by default, optional HTTP basic auth
//! (`console.auth.username` / `console.auth.password`), and CSRF protection on every mutating
//! request: API calls must carry the `X-Fjord-Console` header (a cross-site form cannot set
//! it), form posts from the pages must carry the per-process token.

pub mod api;
pub mod error;
pub mod group_admin;
pub mod groups;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod pages;
pub mod security;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use fjord_broker::BrokerContext;
use fjord_config::ServerConfig;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use error::ConsoleError;
pub use security::BasicAuth;
pub use state::ConsoleState;

/// How the console is served.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub listener: SocketAddr,
    pub auth: Option<BasicAuth>,
}

impl From<&ServerConfig> for ConsoleOptions {
    fn from(config: &ServerConfig) -> Self {
        ConsoleOptions {
            listener: config.console_listener,
            auth: match (&config.console_auth_username, &config.console_auth_password) {
                (Some(username), Some(password)) => Some(BasicAuth {
                    username: username.clone(),
                    password: password.clone(),
                }),
                _ => None,
            },
        }
    }
}

/// A running console. Call [`Console::shutdown`] before shutting the broker down.
pub struct Console {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Console {
    /// Binds `options.listener` and starts serving. Fails only when the address cannot be
    /// bound; the caller decides whether that is fatal (`fjord server` keeps the broker).
    pub async fn start(
        ctx: Arc<BrokerContext>,
        options: ConsoleOptions,
    ) -> Result<Console, ConsoleError> {
        let listener = tokio::net::TcpListener::bind(options.listener)
            .await
            .map_err(|source| ConsoleError::Bind {
                addr: options.listener,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ConsoleError::Bind {
            addr: options.listener,
            source,
        })?;
        let state = ConsoleState::new(ctx, options.auth);
        let router = api::router(state);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "console server failed");
            }
        });
        info!("console listening on http://{local_addr}");
        Ok(Console {
            local_addr,
            shutdown,
            task,
        })
    }

    /// The bound address (the real port when the listener said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and waits for in-flight requests (a live-tail poll is short).
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "console task failed");
        }
        info!("console stopped");
    }
}
