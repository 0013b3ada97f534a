//! `fjord server [FILE] [--override key=value]...`: loads the configuration, starts the
//! broker, logs where it listens, and runs until SIGINT or SIGTERM, then shuts down cleanly
//! (stop accepting, drain, flush, clean-shutdown marker) within [`SHUTDOWN_TIMEOUT`].
//!
//! Exit status: 0 after a clean shutdown; 1 when the configuration or start-up fails (the
//! reason and what to do go to stderr, one line each, never a panic or a Debug dump) or when
//! shutdown fails or times out; 130 when a second signal cuts a slow shutdown short.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use fjord_broker::Broker;
use fjord_broker::BrokerError;
use fjord_config::{Override, ServerConfig};
use fjord_console::{Console, ConsoleError, ConsoleOptions};
use fjord_storage::LogError;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::{error, info, warn};

use crate::{limits, logging};

/// How long a clean shutdown may take before fjord gives up and exits with an error.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// A Kafka-style server.properties file (Java properties syntax).
    #[arg(value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Set one configuration key, over the file and the KAFKA_* environment. Repeatable.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<Override>,
}

/// Runs the server to completion; see the module docs for the exit status.
pub fn run(args: ServerArgs) -> ExitCode {
    let started = Instant::now();
    logging::init();
    // Before any log is opened: each partition keeps ~3 files open (see `limits`).
    match limits::raise_open_files_limit() {
        Ok(limit) => info!("open files limit (RLIMIT_NOFILE): {limit}"),
        Err(e) => warn!("could not read or raise the open files limit (RLIMIT_NOFILE): {e}"),
    }

    let overrides: Vec<(String, String)> = args
        .overrides
        .into_iter()
        .map(|o| (o.key, o.value))
        .collect();
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not stop fjord
    // (`std::env::vars` would panic); such variables cannot be Kafka keys anyway.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let config = match ServerConfig::load(args.config_file.as_deref(), env, &overrides) {
        Ok(config) => config,
        Err(e) => {
            return fail(
                &e,
                "fix the value, then start again; docs/CONFIGURATION.md lists every key with its type and default",
            )
        }
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("fjord-worker")
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e, "the system refused to create threads; check ulimit -u"),
    };
    let code = runtime.block_on(serve(config, started));
    // Do not wait forever for blocking tasks that ignore shutdown.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

async fn serve(config: ServerConfig, started: Instant) -> ExitCode {
    // Register the handlers before starting, so a signal during start-up is not lost.
    let (mut sigterm, mut sigint) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(term), Ok(int)) => (term, int),
        (Err(e), _) | (_, Err(e)) => return fail(&e, "cannot install signal handlers"),
    };

    let broker = match Broker::start(config.clone()).await {
        Ok(broker) => broker,
        Err(e) => return fail(&e, &start_hint(&e, &config)),
    };
    info!("{}", StartedLine::new(&config, &broker, started.elapsed()));
    let console = start_console(&config, &broker).await;

    let name = next_signal(&mut sigterm, &mut sigint).await;
    info!("{name} received: shutting down (a second signal exits immediately)");
    let stopping = Instant::now();
    tokio::select! {
        result = tokio::time::timeout(SHUTDOWN_TIMEOUT, async move {
            if let Some(console) = console {
                console.shutdown().await;
            }
            broker.shutdown().await
        }) => match result {
            Ok(Ok(())) => {
                info!("fjord stopped cleanly in {} ms", stopping.elapsed().as_millis());
                ExitCode::SUCCESS
            }
            Ok(Err(e)) => fail(&e, "the next start will recover the logs"),
            Err(_) => {
                error!(
                    "shutdown did not finish within {} s; exiting, the next start will recover the logs",
                    SHUTDOWN_TIMEOUT.as_secs()
                );
                ExitCode::FAILURE
            }
        },
        name = next_signal(&mut sigterm, &mut sigint) => {
            warn!("{name} received again: exiting without a clean shutdown; the next start will recover the logs");
            ExitCode::from(130)
        }
    }
}

/// Starts the web console after the broker, unless `console.enabled=false`. A console that
/// cannot bind its port is a warning, not a failure: the broker matters more (and many test
/// brokers start side by side while only one can have 8080).
async fn start_console(config: &ServerConfig, broker: &Broker) -> Option<Console> {
    if !config.console_enabled {
        return None;
    }
    match Console::start(
        std::sync::Arc::clone(broker.context()),
        ConsoleOptions::from(config),
    )
    .await
    {
        Ok(console) => Some(console),
        Err(ConsoleError::Bind { addr, source }) => {
            warn!(
                "console not started: cannot listen on {addr} ({source}); the broker keeps \
                 running. Set console.listener=HOST:PORT to a free port, or console.enabled=false"
            );
            None
        }
        Err(e) => {
            warn!("console not started: {e}; the broker keeps running");
            None
        }
    }
}

async fn next_signal(sigterm: &mut Signal, sigint: &mut Signal) -> &'static str {
    tokio::select! {
        _ = sigterm.recv() => "SIGTERM",
        _ = sigint.recv() => "SIGINT",
    }
}

/// What to do about a start-up failure, in the person's terms (which key to change).
fn start_hint(err: &BrokerError, config: &ServerConfig) -> String {
    let dirs = config
        .log_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let storage = match err {
        BrokerError::Storage { source } => source.downcast_ref::<LogError>(),
        _ => None,
    };
    match storage {
        Some(LogError::ForeignDataDir { reason, .. }) if reason.contains("locked") => format!(
            "another fjord process is using log.dirs={dirs}: stop it, or give this one its own \
             directory (--override log.dirs=PATH)"
        ),
        Some(LogError::ForeignDataDir { .. }) => format!(
            "fjord only uses an empty directory or one it created itself (with meta.properties); \
             point log.dirs elsewhere (--override log.dirs=PATH) or move the other files out of {dirs}"
        ),
        Some(LogError::Io { .. }) => format!(
            "check that log.dirs={dirs} can be created and written by this user, or choose \
             another directory (--override log.dirs=PATH)"
        ),
        _ => "nothing was started; fix the cause above and start again".to_string(),
    }
}

/// Reports a fatal error: once in the log, once on stderr with what to do next.
fn fail(err: &dyn std::fmt::Display, hint: &str) -> ExitCode {
    error!("{err}");
    eprintln!("error: {err}");
    eprintln!("hint: {hint}");
    ExitCode::FAILURE
}

/// `fjord started (node.id=1, listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,
/// data=./fjord-data) in 12 ms`: the bound address of each broker listener (the real port when
/// the configuration said 0), the configured address of the others.
struct StartedLine {
    text: String,
}

impl StartedLine {
    fn new(config: &ServerConfig, broker: &Broker, elapsed: Duration) -> StartedLine {
        let bound = broker.listener_addrs();
        let listeners: Vec<String> = config
            .listeners
            .iter()
            .map(|l| match bound.iter().find(|(name, _)| *name == l.name) {
                Some((name, addr)) => format!("{name}://{addr}"),
                None => l.to_string(),
            })
            .collect();
        StartedLine {
            text: format!(
                "fjord started (node.id={}, listeners={}, data={}) in {} ms",
                config.node_id,
                listeners.join(","),
                config
                    .log_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                elapsed.as_millis()
            ),
        }
    }
}

impl std::fmt::Display for StartedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
