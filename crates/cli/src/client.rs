//! The tools' side of `fjord-client`: a client config from `--bootstrap-server` and a
//! `--command-config` file (Kafka's client defaults underneath), a runtime to drive one command, and the translation of client
//! errors into messages that say what was tried and what to change.

use std::future::Future;

use fjord_client::{AdminClient, ClientConfig, ClientError};

use crate::props::Properties;
use crate::ToolError;

/// A client config for `bootstrap_server`, with the settings of `props` that the client
/// knows (others are for the producer or consumer, or unknown: Kafka's tools ignore them).
pub fn client_config(
    bootstrap_server: &str,
    props: &Properties,
) -> Result<ClientConfig, ToolError> {
    // Kafka's client defaults, as Kafka's tools use them (default.api.timeout.ms 60 s,
    // request.timeout.ms 30 s, socket.connection.setup.timeout.ms 10 s). An unreachable
    // broker still fails at once: the bootstrap connect is tried once per address, and a
    // refused connection answers immediately; only a silent address waits the 10 s setup
    // timeout, as Kafka's does.
    let mut config = ClientConfig::new(bootstrap_server);
    for (key, value) in props {
        if key == "bootstrap.servers" {
            continue;
        }
        config
            .set(key, value)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    Ok(config)
}

/// Runs one command's future to completion on a runtime of its own.
pub fn block_on<T>(work: impl Future<Output = Result<T, ToolError>>) -> Result<T, ToolError> {
    // Two workers: the client's background tasks (the producer's sender, heartbeats) keep
    // running while a tool's own task waits.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ToolError::Failed(format!("cannot start the I/O runtime: {e}")))?
        .block_on(work)
}

/// Connects the admin client, turning "nobody there" into a message with the address.
pub async fn admin(config: ClientConfig) -> Result<AdminClient, ToolError> {
    let servers = config.bootstrap_servers.join(",");
    AdminClient::connect(config)
        .await
        .map_err(|e| unreachable_or(e, &servers))
}

/// A client error as a tool error: connection failures name the address and how to change
/// it; broker errors keep Kafka's text.
pub fn unreachable_or(error: ClientError, servers: &str) -> ToolError {
    match error {
        ClientError::BootstrapUnreachable { .. }
        | ClientError::Connect { .. }
        | ClientError::ConnectTimeout { .. } => ToolError::Unreachable {
            servers: servers.to_owned(),
            detail: error.to_string(),
        },
        other => ToolError::Client(other),
    }
}
