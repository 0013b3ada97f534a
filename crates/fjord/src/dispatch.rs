//! Dispatch on `argv[0]`: when the binary is called through a symlink named after a Kafka
//! script (`kafka-server-start.sh`, `kafka-server-start`), the matching subcommand is inserted
//! after the program name, so `kafka-server-start.sh config/server.properties` runs
//! `fjord server config/server.properties`. Later issues add the tools (`kafka-topics` ->
//! `topics`, ...) to [`ALIASES`].

use std::ffi::OsString;
use std::path::Path;

/// Kafka script name (without `.sh`) -> fjord subcommand.
const ALIASES: &[(&str, &str)] = &[("kafka-server-start", "server")];

/// The subcommand that the program name stands for, if it is a Kafka script's name.
pub fn argv0_subcommand(argv0: &Path) -> Option<&'static str> {
    let name = argv0.file_name()?.to_str()?;
    let name = name.strip_suffix(".sh").unwrap_or(name);
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map(|(_, subcommand)| *subcommand)
}

/// The arguments with the subcommand implied by `argv[0]` inserted after it.
pub fn args_with_argv0_subcommand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if let Some(sub) = args.first().and_then(|a| argv0_subcommand(Path::new(a))) {
        args.insert(1, OsString::from(sub));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_script_names_map_to_subcommands() {
        assert_eq!(
            argv0_subcommand(Path::new("/opt/kafka/bin/kafka-server-start.sh")),
            Some("server")
        );
        assert_eq!(
            argv0_subcommand(Path::new("kafka-server-start")),
            Some("server")
        );
        assert_eq!(argv0_subcommand(Path::new("/usr/local/bin/fjord")), None);
        assert_eq!(argv0_subcommand(Path::new("kafka-server-stop.sh")), None);
    }

    #[test]
    fn subcommand_is_inserted_after_the_program_name() {
        let args = args_with_argv0_subcommand(
            ["kafka-server-start.sh", "server.properties"].map(OsString::from),
        );
        assert_eq!(
            args,
            ["kafka-server-start.sh", "server", "server.properties"].map(OsString::from)
        );
        let args = args_with_argv0_subcommand(["fjord", "--help"].map(OsString::from));
        assert_eq!(args, ["fjord", "--help"].map(OsString::from));
    }
}
