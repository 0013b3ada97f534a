//! fjord-broker: the Kafka-facing half of a fjord node.
//!
//! [`Broker::start`] validates and binds the listeners, builds the [`BrokerContext`] every
//! handler shares, and spawns one accept loop per listener; each connection is one task
//! (`connection.rs`) that decodes requests with the protocol crate and hands them to the
//! dispatcher (`dispatcher.rs`), which routes them to one handler per API (`handlers/`).
//! [`Broker::shutdown`] stops accepting, lets in-flight requests finish and answers them, then
//! closes the connections.

mod connection;
pub mod dispatcher;
mod error;
pub mod handlers;
pub mod replica;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;

use fjord_config::ServerConfig;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

pub use error::BrokerError;
pub use handlers::{BrokerContext, RequestContext};

/// A running broker. Dropping it without [`Broker::shutdown`] stops nothing: call shutdown.
pub struct Broker {
    ctx: Arc<BrokerContext>,
    listener_addrs: Vec<(String, SocketAddr)>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Broker {
    /// Validates the listener configuration, binds every broker listener and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Broker, BrokerError> {
        let listeners = server::validate_listeners(&config)?;
        let bound = server::bind(&listeners).await?;
        let advertised = server::advertised_listeners(&config, &bound)?;
        let listener_addrs = bound
            .iter()
            .map(|b| (b.name.clone(), b.local_addr))
            .collect();
        let ctx = Arc::new(BrokerContext { config, advertised });
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        for listener in bound {
            let settings = Arc::new(server::connection_settings(&ctx.config, &listener.name));
            tasks.spawn(server::accept_loop(
                listener,
                Arc::clone(&ctx),
                settings,
                shutdown.clone(),
                tasks.clone(),
            ));
        }
        Ok(Broker {
            ctx,
            listener_addrs,
            shutdown,
            tasks,
        })
    }

    /// Every broker listener's name and the address it is bound to (with the real port when
    /// the configuration asked for port 0).
    pub fn listener_addrs(&self) -> Vec<(String, SocketAddr)> {
        self.listener_addrs.clone()
    }

    /// The context handlers share (tests and the console read it).
    pub fn context(&self) -> &Arc<BrokerContext> {
        &self.ctx
    }

    /// Stops accepting, lets every connection finish and answer the requests it already read,
    /// closes the connections, then returns.
    pub async fn shutdown(self) -> Result<(), BrokerError> {
        info!("broker shutting down");
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        info!("broker stopped");
        Ok(())
    }
}
