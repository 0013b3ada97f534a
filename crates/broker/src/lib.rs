//! fjord-broker: the Kafka-facing half of a fjord node.
//!
//! [`Broker::start`] validates and binds the listeners, builds the [`BrokerContext`] every
//! handler shares, and spawns one accept loop per listener; each connection is one task
//! (`connection.rs`) that decodes requests with the protocol crate and hands them to the
//! dispatcher (`dispatcher.rs`), which routes them to one handler per API (`handlers/`).
//! [`Broker::shutdown`] stops accepting, lets in-flight requests finish and answers them, then
//! closes the connections.

mod connection;
pub mod coordinator_host;
pub mod coordinator_log;
pub mod dispatcher;
mod error;
pub mod group;
pub mod handlers;
pub mod replica;
mod server;
pub mod txn;
pub mod txn_markers;

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
    /// Every partition log of this node, the metadata log included; holds the log-dir locks.
    logs: Arc<fjord_storage::LogManager>,
    listener_addrs: Vec<(String, SocketAddr)>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Broker {
    /// Validates the configuration, binds every broker listener and starts serving.
    pub async fn start(config: ServerConfig) -> Result<Broker, BrokerError> {
        config.validate()?;
        let listeners: Vec<_> = config.broker_listeners().cloned().collect();
        let bound = server::bind(&listeners).await?;
        let advertised = server::advertised_listeners(&config, &bound)?;
        let listener_addrs = bound
            .iter()
            .map(|b| (b.name.clone(), b.local_addr))
            .collect();
        let logs = open_log_dirs(&config).await?;
        let controller = fjord_metadata::Controller::start(Arc::clone(&logs), &config, &advertised)
            .await
            .map_err(BrokerError::Metadata)?;
        let replica_manager = replica::ReplicaManager::start(
            replica::ReplicaConfig::from(&config),
            Arc::clone(&logs),
            controller.subscribe(),
            Arc::clone(&controller) as Arc<dyn replica::ProducerIdAllocator>,
        )
        .await;
        let groups = group::GroupRuntime::start(
            group::GroupRuntimeConfig::from(&config),
            Arc::clone(&controller),
            Arc::clone(&replica_manager),
        );
        let txns = txn::TxnRuntime::start(
            txn::TxnRuntimeConfig::from(&config),
            Arc::clone(&controller),
            Arc::clone(&replica_manager),
            Arc::clone(&groups),
        );
        let ctx = Arc::new(BrokerContext {
            config,
            advertised,
            controller,
            replica_manager,
            groups,
            txns,
        });
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
            logs,
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
        // Transaction timers and marker deliveries stop first (deliveries tell the group
        // runtime about markers on __consumer_offsets); a restart re-drives the markers.
        self.ctx.txns.shutdown().await;
        // Parked JoinGroup/SyncGroup requests answer COORDINATOR_NOT_AVAILABLE now.
        self.ctx.groups.shutdown().await;
        // Parked fetches and acks=all produces answer now instead of at their timeout.
        self.ctx.replica_manager.shutdown().await;
        self.tasks.close();
        self.tasks.wait().await;
        let logs = Arc::clone(&self.logs);
        match tokio::task::spawn_blocking(move || logs.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "closing the logs failed"),
            Err(e) => tracing::error!(error = %e, "the log shutdown task failed"),
        }
        info!("broker stopped");
        Ok(())
    }
}

/// Opens every log dir (recovering logs after an unclean stop: blocking work).
async fn open_log_dirs(
    config: &ServerConfig,
) -> Result<Arc<fjord_storage::LogManager>, BrokerError> {
    let dirs = config.log_dirs.clone();
    let node_id = config.node_id;
    let default_config = replica::topic_settings::log_config_from_server(config);
    let cleaner = fjord_storage::CleanerConfig {
        enabled: config.log_cleaner_enable,
        dedupe_buffer_size: usize::try_from(config.log_cleaner_dedupe_buffer_size)
            .unwrap_or(usize::MAX),
    };
    tokio::task::spawn_blocking(move || {
        fjord_storage::LogManager::open(&dirs, node_id, default_config)
    })
    .await
    .map_err(|e| BrokerError::Storage {
        source: Box::new(e),
    })?
    .map(|logs| {
        logs.set_cleaner_config(cleaner);
        Arc::new(logs)
    })
    .map_err(|e| BrokerError::Storage {
        source: Box::new(e),
    })
}
