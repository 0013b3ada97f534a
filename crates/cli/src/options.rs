//! Kafka's command-line syntax, as its tools accept it (they parse with jopt-simple):
//!
//! - long options only, written `--name value`, `--name=value` or with a single dash
//!   (`-name value`);
//! - any unambiguous prefix of a name stands for it (`--bootstrap` = `--bootstrap-server`);
//!   an exact name always wins over a longer one that it prefixes;
//! - an option that takes an argument consumes the next word even when it starts with `-`
//!   (so `--offset -2` works), and may be repeated (`--config a=1 --config b=2`);
//! - `--` ends the options; other words are kept as non-option arguments.
//!
//! Each tool declares its options as a table of [`OptionSpec`]; [`OptionParser::parse`] gives
//! an [`OptionSet`]. The checks Kafka's tools run afterwards (required, conflicting) produce
//! Kafka's own messages through [`UsageError`].

use std::collections::BTreeMap;
use std::fmt;

/// Whether an option takes an argument, and the argument's name in the usage text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// A flag: `--list`.
    Nothing,
    /// `--topic <String: topic>`; the text is what the usage shows inside `<>`.
    Argument(&'static str),
    /// `--compression-codec [String: compression-codec]`: the next word is the argument
    /// unless it looks like an option.
    Optional(&'static str),
    /// `--producer-props a=1 b=2`: one or more following words, up to the next option
    /// (argparse's `nargs="+"`, which Kafka's perf tools use).
    Many(&'static str),
}

/// One accepted option.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    pub name: &'static str,
    pub takes: Takes,
    pub description: &'static str,
}

impl OptionSpec {
    /// A flag.
    pub const fn flag(name: &'static str, description: &'static str) -> OptionSpec {
        OptionSpec {
            name,
            takes: Takes::Nothing,
            description,
        }
    }

    /// An option whose argument may be left out, shown as `[arg]` in the usage.
    pub const fn optional_arg(
        name: &'static str,
        arg: &'static str,
        description: &'static str,
    ) -> OptionSpec {
        OptionSpec {
            name,
            takes: Takes::Optional(arg),
            description,
        }
    }

    /// An option taking one or more words, shown as `<arg> [<arg> ...]` in the usage.
    pub const fn many_args(
        name: &'static str,
        arg: &'static str,
        description: &'static str,
    ) -> OptionSpec {
        OptionSpec {
            name,
            takes: Takes::Many(arg),
            description,
        }
    }

    /// An option with an argument, shown as `<arg>` in the usage.
    pub const fn with_arg(
        name: &'static str,
        arg: &'static str,
        description: &'static str,
    ) -> OptionSpec {
        OptionSpec {
            name,
            takes: Takes::Argument(arg),
            description,
        }
    }
}

/// The words on the command line could not be matched to a tool's options. The messages are
/// jopt-simple's, which Kafka's tools print unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{0} is not a recognized option")]
    Unrecognized(String),
    #[error("Option {0} is ambiguous; it could be any of: {1}")]
    Ambiguous(String, String),
    #[error("Option ['{0}'] requires an argument")]
    MissingArgument(&'static str),
    #[error("Option ['{0}'] does not take an argument")]
    UnexpectedArgument(&'static str),
}

/// A tool's command line is well-formed but not acceptable: a required option is missing, two
/// options conflict, or a value is out of range. The tool prints the message, then its usage,
/// and exits 1, as Kafka's `CommandLineUtils.printUsageAndExit` does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<ParseError> for UsageError {
    fn from(e: ParseError) -> UsageError {
        UsageError(e.to_string())
    }
}

/// A tool's option table.
#[derive(Debug, Clone, Copy)]
pub struct OptionParser {
    pub specs: &'static [OptionSpec],
}

/// Every tool also accepts these (Kafka's `CommandDefaultOptions`).
pub const HELP: OptionSpec = OptionSpec::flag("help", "Print usage information.");
pub const VERSION: OptionSpec = OptionSpec::flag("version", "Display Kafka version.");

impl OptionParser {
    fn all_specs(&self) -> impl Iterator<Item = &OptionSpec> {
        self.specs.iter().chain([&HELP, &VERSION])
    }

    /// The spec a written name stands for: the exact name, else the only name it prefixes.
    fn resolve(&self, written: &str) -> Result<&OptionSpec, ParseError> {
        if let Some(spec) = self.all_specs().find(|s| s.name == written) {
            return Ok(spec);
        }
        let candidates: Vec<&OptionSpec> = self
            .all_specs()
            .filter(|s| !written.is_empty() && s.name.starts_with(written))
            .collect();
        match candidates.as_slice() {
            [one] => Ok(one),
            [] => Err(ParseError::Unrecognized(written.to_owned())),
            many => Err(ParseError::Ambiguous(
                written.to_owned(),
                many.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
            )),
        }
    }

    /// Parses the words after the program (and subcommand) name.
    pub fn parse<S: AsRef<str>>(&self, args: &[S]) -> Result<OptionSet, ParseError> {
        let mut set = OptionSet {
            values: BTreeMap::new(),
            non_options: Vec::new(),
            arg_count: args.len(),
        };
        let mut words = args.iter().map(AsRef::as_ref).peekable();
        while let Some(word) = words.next() {
            if word == "--" {
                set.non_options.extend(words.by_ref().map(str::to_owned));
                break;
            }
            let Some(body) = word
                .strip_prefix("--")
                .or_else(|| word.strip_prefix('-').filter(|b| !b.is_empty()))
            else {
                set.non_options.push(word.to_owned());
                continue;
            };
            let (name, inline) = match body.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (body, None),
            };
            let spec = self.resolve(name)?;
            if let (Takes::Many(_), None) = (spec.takes, inline) {
                let mut taken: Vec<String> = Vec::new();
                while let Some(next) = words.next_if(|next| !next.starts_with('-')) {
                    taken.push(next.to_owned());
                }
                if taken.is_empty() {
                    return Err(ParseError::MissingArgument(spec.name));
                }
                set.values.entry(spec.name).or_default().extend(taken);
                continue;
            }
            let value = match (spec.takes, inline) {
                (Takes::Nothing, None) => None,
                (Takes::Nothing, Some(_)) => return Err(ParseError::UnexpectedArgument(spec.name)),
                (Takes::Argument(_) | Takes::Optional(_) | Takes::Many(_), Some(value)) => {
                    Some(value.to_owned())
                }
                (Takes::Optional(_), None) => words
                    .next_if(|next| !next.starts_with('-') || *next == "-")
                    .map(str::to_owned),
                (Takes::Argument(_) | Takes::Many(_), None) => Some(
                    words
                        .next()
                        .ok_or(ParseError::MissingArgument(spec.name))?
                        .to_owned(),
                ),
            };
            let entry = set.values.entry(spec.name).or_default();
            entry.extend(value);
            if spec.takes == Takes::Nothing {
                // A flag records its presence with no values.
                entry.clear();
            }
        }
        Ok(set)
    }

    /// The usage table in jopt-simple's layout: `Option` and `Description` columns, options
    /// sorted by name, arguments shown as `<arg>`.
    pub fn usage(&self) -> String {
        let mut specs: Vec<&OptionSpec> = self.all_specs().collect();
        specs.sort_by_key(|s| s.name);
        let left: Vec<String> = specs
            .iter()
            .map(|s| match s.takes {
                Takes::Nothing => format!("--{}", s.name),
                Takes::Argument(arg) => format!("--{} <{arg}>", s.name),
                Takes::Optional(arg) => format!("--{} [{arg}]", s.name),
                Takes::Many(arg) => format!("--{} <{arg}> [<{arg}> ...]", s.name),
            })
            .collect();
        let width = left.iter().map(String::len).max().unwrap_or(6).clamp(6, 40) + 1;
        let mut out = format!(
            "{:width$}Description\n{:width$}-----------\n",
            "Option", "------"
        );
        for (spec, left) in specs.iter().zip(&left) {
            let mut lines = wrap(spec.description, 120usize.saturating_sub(width).max(40));
            if left.len() >= width {
                out.push_str(left);
                out.push('\n');
                for line in lines {
                    out.push_str(&format!("{:width$}{line}\n", ""));
                }
                continue;
            }
            let first = if lines.is_empty() {
                String::new()
            } else {
                lines.remove(0)
            };
            out.push_str(format!("{left:width$}{first}").trim_end());
            out.push('\n');
            for line in lines {
                out.push_str(&format!("{:width$}{line}\n", ""));
            }
        }
        out
    }
}

/// Breaks text into lines of at most `width` characters at spaces (longer words stay whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// The options found on one command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionSet {
    values: BTreeMap<&'static str, Vec<String>>,
    non_options: Vec<String>,
    arg_count: usize,
}

impl OptionSet {
    /// Whether the option was given (under any accepted spelling).
    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The option's last value (jopt-simple's `valueOf` takes the first; Kafka's tools never
    /// repeat single-valued options, and the last one wins in most Unix tools).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeatable option, in order.
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Words that are not options.
    pub fn non_options(&self) -> &[String] {
        &self.non_options
    }

    /// No words at all: Kafka's tools print their usage then.
    pub fn is_empty(&self) -> bool {
        self.arg_count == 0
    }

    /// `Missing required argument "[name]"` unless the option is present.
    pub fn require(&self, name: &str) -> Result<(), UsageError> {
        if self.has(name) {
            Ok(())
        } else {
            Err(UsageError(format!(
                "Missing required argument \"[{name}]\""
            )))
        }
    }

    /// `Option "[used]" can't be used with option "[other]"` when `used` and any of `others`
    /// are both present (Kafka's `checkInvalidArgs`).
    pub fn forbid(&self, used: &str, others: &[&str]) -> Result<(), UsageError> {
        if !self.has(used) {
            return Ok(());
        }
        match others.iter().find(|o| self.has(o)) {
            Some(other) => Err(UsageError(format!(
                "Option \"[{used}]\" can't be used with option \"[{other}]\""
            ))),
            None => Ok(()),
        }
    }

    /// The option's value parsed as `T`, with Kafka's message for a bad number.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, UsageError> {
        match self.value(name) {
            None => Ok(None),
            Some(raw) => raw.trim().parse().map(Some).map_err(|_| {
                UsageError(format!(
                    "Cannot parse argument '{raw}' of option {name}: not a valid number"
                ))
            }),
        }
    }
}

impl fmt::Display for OptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptionSpec] = &[
        OptionSpec::with_arg(
            "bootstrap-server",
            "String: server to connect to",
            "The server.",
        ),
        OptionSpec::with_arg("topic", "String: topic", "The topic."),
        OptionSpec::with_arg("topic-id", "String: topic-id", "The topic id."),
        OptionSpec::with_arg("config", "String: name=value", "A config."),
        OptionSpec::with_arg("offset", "String: offset", "Where to start."),
        OptionSpec::flag("list", "List."),
        OptionSpec::optional_arg("state", "String", "Optional value."),
        OptionSpec::many_args("props", "PROP=VALUE", "Several values."),
        OptionSpec::flag("if-exists", "Only if it exists."),
        OptionSpec::flag("if-not-exists", "Only if it does not exist."),
    ];
    const PARSER: OptionParser = OptionParser { specs: SPECS };

    #[test]
    fn long_options_in_every_spelling() {
        let set = PARSER
            .parse(&[
                "--bootstrap-server",
                "h:1",
                "--topic=t",
                "-list",
                "--config",
                "a=1",
                "--config=b=2",
            ])
            .expect("parse");
        assert_eq!(set.value("bootstrap-server"), Some("h:1"));
        assert_eq!(set.value("topic"), Some("t"));
        assert!(set.has("list"));
        assert_eq!(set.values("config"), ["a=1", "b=2"]);
        assert!(!set.has("topic-id"));
    }

    #[test]
    fn unambiguous_prefixes_and_exact_names() {
        let set = PARSER
            .parse(&["--bootstrap", "h:1", "--topic", "t"])
            .expect("parse");
        assert_eq!(set.value("bootstrap-server"), Some("h:1"));
        // `topic` is exact even though `topic-id` starts with it.
        assert_eq!(set.value("topic"), Some("t"));
        assert_eq!(
            PARSER.parse(&["--if"]),
            Err(ParseError::Ambiguous(
                "if".into(),
                "if-exists, if-not-exists".into()
            ))
        );
        assert_eq!(
            PARSER.parse(&["--zookeeper", "z:2181"]),
            Err(ParseError::Unrecognized("zookeeper".into()))
        );
        assert_eq!(
            ParseError::Unrecognized("zookeeper".into()).to_string(),
            "zookeeper is not a recognized option"
        );
    }

    #[test]
    fn arguments_may_start_with_a_dash() {
        let set = PARSER.parse(&["--offset", "-2"]).expect("parse");
        assert_eq!(set.value("offset"), Some("-2"));
        assert_eq!(
            PARSER.parse(&["--topic"]),
            Err(ParseError::MissingArgument("topic"))
        );
        assert_eq!(
            PARSER.parse(&["--list=yes"]),
            Err(ParseError::UnexpectedArgument("list"))
        );
    }

    #[test]
    fn optional_arguments_take_the_next_word_unless_it_is_an_option() {
        let set = PARSER.parse(&["--state", "--list"]).expect("parse");
        assert!(set.has("state") && set.value("state").is_none() && set.has("list"));
        let set = PARSER.parse(&["--state", "Stable"]).expect("parse");
        assert_eq!(set.value("state"), Some("Stable"));
        let set = PARSER.parse(&["--state=Empty"]).expect("parse");
        assert_eq!(set.value("state"), Some("Empty"));
        let set = PARSER.parse(&["--state"]).expect("parse");
        assert!(set.has("state") && set.value("state").is_none());
    }

    #[test]
    fn many_arguments_run_to_the_next_option() {
        let set = PARSER
            .parse(&["--props", "a=1", "b=2", "--list", "--props", "c=3"])
            .expect("parse");
        assert_eq!(set.values("props"), ["a=1", "b=2", "c=3"]);
        assert!(set.has("list"));
        assert_eq!(
            PARSER.parse(&["--props", "--list"]),
            Err(ParseError::MissingArgument("props"))
        );
    }

    #[test]
    fn non_options_and_double_dash() {
        let set = PARSER
            .parse(&["x", "--list", "--", "--topic"])
            .expect("parse");
        assert_eq!(set.non_options(), ["x", "--topic"]);
        assert!(set.has("list") && !set.has("topic"));
        assert!(PARSER.parse::<&str>(&[]).expect("parse").is_empty());
    }

    #[test]
    fn kafka_messages_for_required_and_conflicting_options() {
        let set = PARSER.parse(&["--list", "--if-exists"]).expect("parse");
        assert_eq!(
            set.require("topic"),
            Err(UsageError("Missing required argument \"[topic]\"".into()))
        );
        assert_eq!(
            set.forbid("if-exists", &["topic", "list"]),
            Err(UsageError(
                "Option \"[if-exists]\" can't be used with option \"[list]\"".into()
            ))
        );
        assert!(set.forbid("topic", &["list"]).is_ok());
    }

    #[test]
    fn numbers_are_checked() {
        let set = PARSER.parse(&["--offset", "x1"]).expect("parse");
        assert!(set.parsed::<i64>("offset").is_err());
        let set = PARSER.parse(&["--offset", "12"]).expect("parse");
        assert_eq!(set.parsed::<i64>("offset"), Ok(Some(12)));
        assert_eq!(set.parsed::<i64>("topic"), Ok(None));
    }

    #[test]
    fn usage_lists_every_option_sorted_with_help_and_version() {
        let usage = PARSER.usage();
        let mut lines = usage.lines();
        assert!(lines
            .next()
            .is_some_and(|l| l.starts_with("Option ") && l.ends_with("Description")));
        assert!(lines.next().is_some_and(|l| l.starts_with("------ ")));
        let names: Vec<&str> = usage
            .lines()
            .filter_map(|l| l.strip_prefix("--"))
            .map(|l| l.split([' ', '<']).next().unwrap_or(""))
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        assert!(names.contains(&"help") && names.contains(&"version") && names.contains(&"topic"));
        assert!(usage.contains("--topic <String: topic>"));
    }
}
