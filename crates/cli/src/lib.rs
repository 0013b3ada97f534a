//! fjord's `kafka-*` command-line tools: the same flags, messages, output and exit codes as
//! Apache Kafka's scripts, so that command lines and scripts written for Kafka run unchanged.
//!
//! This crate owns, per tool, the option table (Kafka's names), the checks Kafka runs on a
//! command line (with Kafka's messages), the typed command that results, and the output
//! formats. The binary (`crates/fjord`) reaches a tool through [`run`], either as
//! `fjord topics ...` or under a Kafka script's name (`kafka-topics.sh ...`).
//!
//! Exit codes follow Kafka's tools: 0 on success, 1 on a usage error (after the message and
//! the usage table on stderr, also for `--help`, as `CommandLineUtils.printUsageAndExit`
//! does) and 1 when the command fails.

pub mod client;
pub mod options;
pub mod progress;
pub mod props;
pub mod time;
pub mod tool;
pub mod tools;

use std::io::Write;
use std::process::ExitCode;

pub use tool::{Tool, UnknownTool};

use options::{OptionParser, OptionSet, ParseError, UsageError};

/// Why a tool stopped without doing its job.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The command line is not acceptable; the usage follows the message.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The words could not be matched to options (jopt-simple's errors).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The command could not be carried out; the text is Kafka's message for the case.
    #[error("{0}")]
    Failed(String),
    /// No broker answered at the bootstrap address.
    #[error(
        "cannot reach a Kafka broker at {servers} ({detail})\n\
         hint: is the broker running? Point the tool at it with --bootstrap-server HOST:PORT"
    )]
    Unreachable { servers: String, detail: String },
    /// The client or the broker refused the request.
    #[error("{0}")]
    Client(#[from] fjord_client::ClientError),
}

impl ToolError {
    /// Kafka's exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        1
    }
}

/// What every tool declares besides its options.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    pub tool: Tool,
    /// Printed above the usage for `--help` and for an empty command line.
    pub about: &'static str,
    /// Printed below the usage: command lines to copy.
    pub examples: &'static str,
    pub parser: OptionParser,
}

impl ToolSpec {
    /// The spec of one tool.
    pub fn of(tool: Tool) -> ToolSpec {
        match tool {
            Tool::Topics => tools::topics::SPEC,
            Tool::ConsoleProducer => tools::console_producer::SPEC,
            Tool::ConsoleConsumer => tools::console_consumer::SPEC,
            Tool::ConsumerGroups => tools::consumer_groups::SPEC,
            Tool::Configs => tools::configs::SPEC,
            Tool::ProducerPerfTest => tools::producer_perf_test::SPEC,
            Tool::ConsumerPerfTest => tools::consumer_perf_test::SPEC,
            Tool::DeleteRecords => tools::delete_records::SPEC,
            Tool::GetOffsets => tools::get_offsets::SPEC,
        }
    }

    /// The full help text: what the tool does, the option table, examples.
    pub fn help(&self) -> String {
        format!(
            "{}\n{}\nExamples:\n{}",
            self.about,
            self.parser.usage(),
            self.examples
        )
    }
}

/// The outcome of parsing a command line before any tool-specific check.
enum Parsed {
    /// `--help`, `--version` or no words: answered without running the tool.
    Answered(i32),
    Options(OptionSet),
}

fn parse_common(
    spec: &ToolSpec,
    args: &[String],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Parsed, ToolError> {
    let set = spec.parser.parse(args)?;
    if set.is_empty() || set.has("help") {
        // Kafka prints the usage on stderr and exits 1 here, even for --help.
        let _ = write!(err, "{}", spec.help());
        return Ok(Parsed::Answered(1));
    }
    if set.has("version") {
        let _ = writeln!(out, "{} (fjord)", env!("CARGO_PKG_VERSION"));
        return Ok(Parsed::Answered(0));
    }
    Ok(Parsed::Options(set))
}

/// Runs one tool with the words after its name; returns the process exit status.
pub fn execute(tool: Tool, args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let spec = ToolSpec::of(tool);
    let result = parse_common(&spec, args, out, err).and_then(|parsed| match parsed {
        Parsed::Answered(code) => Ok(code),
        Parsed::Options(set) => tools::run(tool, &set, out, err),
    });
    match result {
        Ok(code) => code,
        Err(ToolError::Usage(e)) => {
            let _ = writeln!(err, "{e}");
            let _ = write!(err, "{}", spec.parser.usage());
            1
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            if let ToolError::Parse(_) = e {
                let _ = writeln!(
                    err,
                    "Run `{} --help` for the options it accepts.",
                    tool.kafka_script()
                );
            }
            i32::from(e.exit_code())
        }
    }
}

/// [`execute`] on the process's stdout and stderr.
pub fn run(tool: Tool, args: &[String]) -> ExitCode {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let code = execute(tool, args, &mut stdout.lock(), &mut stderr.lock());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
