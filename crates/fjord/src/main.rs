//! The `fjord` binary: one executable that is the broker and controller (`fjord server`, or
//! `fjord` alone) and, in later issues, the `kafka-*` command-line tools.
//!
//! This file owns argument parsing and dispatch only. Each subcommand lives in its own module
//! and exposes `run(args) -> ExitCode`. The binary may also be invoked under a Kafka script's
//! name (a symlink `kafka-server-start.sh -> fjord`); [`dispatch::argv0_subcommand`] maps that
//! name to the subcommand, so Kafka's own command lines run verbatim.

mod dispatch;
mod logging;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Examples shown at the end of `fjord --help`.
const EXAMPLES: &str = "\
Examples:
  fjord
      Start a single node (broker + controller) with the embedded defaults:
      data in ./fjord-data, Kafka clients on 127.0.0.1:9092.
  fjord server config/server.properties
      Start with a Kafka-style properties file.
  fjord server --override num.partitions=3 --override log.dirs=/var/lib/fjord
      Override single keys (highest precedence).
  KAFKA_LISTENERS=PLAINTEXT://:9092,CONTROLLER://:9093 \\
  KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://my-host:9092 fjord
      Configure through environment variables, as with the Kafka container images.

Configuration keys are Kafka's; see docs/CONFIGURATION.md. Log level: RUST_LOG (default info).";

/// fjord: a Kafka-compatible event streaming platform in one binary.
#[derive(Debug, Parser)]
#[command(
    name = "fjord",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// With no subcommand, `fjord [FILE] [--override key=value]...` is `fjord server ...`.
    #[command(flatten)]
    server: server::ServerArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the broker and controller (what `kafka-server-start.sh` does).
    #[command(after_help = EXAMPLES)]
    Server(server::ServerArgs),
}

/// Peer-declared element counts must not abort the broker (see `fjord_protocol::alloc`).
#[global_allocator]
static ALLOCATOR: fjord_protocol::alloc::SparseLargeAlloc = fjord_protocol::alloc::SparseLargeAlloc;

fn main() -> ExitCode {
    let cli = Cli::parse_from(dispatch::args_with_argv0_subcommand(std::env::args_os()));
    match cli.command {
        Some(Command::Server(args)) => server::run(args),
        None => server::run(cli.server),
    }
}
