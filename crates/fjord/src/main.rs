//! The `fjord` binary: one executable that is the broker and controller (`fjord server`, or
//! `fjord` alone) and the `kafka-*` command-line tools (`fjord topics`, ...).
//!
//! This file owns argument parsing and dispatch only. Each subcommand lives in its own module
//! and exposes `run(args) -> ExitCode`; the tools live in the `fjord-cli` crate and parse
//! their own arguments with Kafka's syntax, so their words are handed over untouched. The
//! binary may also be invoked under a Kafka script's name (a symlink `kafka-topics.sh ->
//! fjord`); [`dispatch::argv0_subcommand`] maps that name to the subcommand, so Kafka's own
//! command lines run verbatim. `fjord install-aliases DIR` makes those links.

mod dispatch;
mod limits;
mod logging;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use fjord_cli::Tool;

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
  fjord topics --bootstrap-server localhost:9092 --create --topic orders --partitions 3
      Run a Kafka tool (each tool's --help lists its options and examples).
  fjord install-aliases /usr/local/bin
      Create kafka-topics, kafka-topics.sh, ... links, so Kafka's command lines run as-is.

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
    /// Create symlinks named after Kafka's scripts (kafka-topics, kafka-topics.sh, ...).
    InstallAliases(AliasArgs),
}

#[derive(Debug, clap::Args)]
struct AliasArgs {
    /// Directory for the links (created if missing), e.g. /usr/local/bin or ~/bin.
    dir: PathBuf,
}

/// `fjord install-aliases DIR`: links every Kafka script name to this binary.
fn install_aliases(args: &AliasArgs) -> ExitCode {
    let target = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: cannot find the path of this fjord binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    match dispatch::install_aliases(&args.dir, &target) {
        Ok(report) => {
            println!("{report}");
            println!(
                "Links in {} point to {}. Add the directory to PATH to run kafka-topics etc.",
                args.dir.display(),
                target.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("hint: choose another directory, or remove the file in the way");
            ExitCode::FAILURE
        }
    }
}

/// The clap command with the tools listed as subcommands, for `fjord --help`. The tools'
/// words never go through clap (see [`main`]).
fn command_with_tools() -> clap::Command {
    Tool::ALL.into_iter().fold(Cli::command(), |cmd, tool| {
        cmd.subcommand(clap::Command::new(tool.subcommand()).about(tool.about()))
    })
}

/// Peer-declared element counts must not abort the broker (see `fjord_protocol::alloc`).
#[global_allocator]
static ALLOCATOR: fjord_protocol::alloc::SparseLargeAlloc = fjord_protocol::alloc::SparseLargeAlloc;

fn main() -> ExitCode {
    let args = dispatch::args_with_argv0_subcommand(std::env::args_os());
    // A tool takes Kafka's syntax (`--bootstrap-server=x`, abbreviations, `-topic`), which
    // clap would reject; its words go to it untouched.
    let tool = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(|name| Tool::ALL.into_iter().find(|t| t.subcommand() == name));
    if let Some(tool) = tool {
        let words: Vec<String> = args[2..]
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        return fjord_cli::run(tool, &words);
    }
    let matches = command_with_tools().get_matches_from(args);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Some(Command::Server(args)) => server::run(args),
        Some(Command::InstallAliases(args)) => install_aliases(&args),
        None => server::run(cli.server),
    }
}
