//! Dispatch on `argv[0]`: when the binary is called through a symlink named after a Kafka
//! script (`kafka-server-start.sh`, `kafka-topics`, ...), the matching subcommand is inserted
//! after the program name, so `kafka-topics.sh --list --bootstrap-server ...` runs
//! `fjord topics --list --bootstrap-server ...`. [`install_aliases`] creates those symlinks
//! (`fjord install-aliases DIR`).

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use fjord_cli::Tool;

/// Kafka's server script, the one alias that is not a tool.
const SERVER_SCRIPT: (&str, &str) = ("kafka-server-start", "server");

/// Every Kafka script name (without `.sh`) with the fjord subcommand it stands for.
pub fn aliases() -> impl Iterator<Item = (&'static str, &'static str)> {
    std::iter::once(SERVER_SCRIPT).chain(
        Tool::ALL
            .into_iter()
            .map(|tool| (tool.kafka_script(), tool.subcommand())),
    )
}

/// The subcommand that the program name stands for, if it is a Kafka script's name.
pub fn argv0_subcommand(argv0: &Path) -> Option<&'static str> {
    let name = argv0.file_name()?.to_str()?;
    let name = name.strip_suffix(".sh").unwrap_or(name);
    aliases()
        .find(|(alias, _)| *alias == name)
        .map(|(_, subcommand)| subcommand)
}

/// The arguments with the subcommand implied by `argv[0]` inserted after it.
pub fn args_with_argv0_subcommand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if let Some(sub) = args.first().and_then(|a| argv0_subcommand(Path::new(a))) {
        args.insert(1, OsString::from(sub));
    }
    args
}

/// What [`install_aliases`] did to one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    Created,
    /// A symlink with that name pointed elsewhere (e.g. an older fjord); it now points here.
    Replaced,
    /// Already a symlink to this binary.
    Unchanged,
}

/// Why a link could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AliasError {
    #[error("cannot create the directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} exists and is not a symlink; not replacing it")]
    NotALink { path: PathBuf },
    #[error("cannot create the link {path}: {source}")]
    Link {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The links made (or found) in one run, in creation order.
#[derive(Debug, Default)]
pub struct AliasReport {
    pub links: Vec<(PathBuf, LinkOutcome)>,
}

impl AliasReport {
    fn count(&self, outcome: LinkOutcome) -> usize {
        self.links.iter().filter(|(_, o)| *o == outcome).count()
    }
}

impl fmt::Display for AliasReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, outcome) in &self.links {
            match outcome {
                LinkOutcome::Created => writeln!(f, "created  {}", path.display())?,
                LinkOutcome::Replaced => writeln!(f, "replaced {}", path.display())?,
                LinkOutcome::Unchanged => {}
            }
        }
        write!(
            f,
            "{} links created, {} replaced, {} already in place",
            self.count(LinkOutcome::Created),
            self.count(LinkOutcome::Replaced),
            self.count(LinkOutcome::Unchanged)
        )
    }
}

/// Creates `DIR/kafka-topics`, `DIR/kafka-topics.sh`, ... as symlinks to `target` (the
/// running binary). Running it again changes nothing; a symlink pointing elsewhere is
/// re-pointed; a regular file with an alias's name is left alone and reported.
pub fn install_aliases(dir: &Path, target: &Path) -> Result<AliasReport, AliasError> {
    std::fs::create_dir_all(dir).map_err(|source| AliasError::CreateDir {
        path: dir.to_owned(),
        source,
    })?;
    let mut report = AliasReport::default();
    for (script, _) in aliases() {
        for name in [script.to_owned(), format!("{script}.sh")] {
            let path = dir.join(name);
            let outcome = match std::fs::symlink_metadata(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => LinkOutcome::Created,
                Err(source) => return Err(AliasError::Link { path, source }),
                Ok(meta) if !meta.file_type().is_symlink() => {
                    return Err(AliasError::NotALink { path })
                }
                Ok(_) => match std::fs::read_link(&path) {
                    Ok(existing) if existing == target => LinkOutcome::Unchanged,
                    _ => {
                        std::fs::remove_file(&path).map_err(|source| AliasError::Link {
                            path: path.clone(),
                            source,
                        })?;
                        LinkOutcome::Replaced
                    }
                },
            };
            if outcome != LinkOutcome::Unchanged {
                std::os::unix::fs::symlink(target, &path).map_err(|source| AliasError::Link {
                    path: path.clone(),
                    source,
                })?;
            }
            report.links.push((path, outcome));
        }
    }
    Ok(report)
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
        assert_eq!(
            argv0_subcommand(Path::new("/usr/bin/kafka-topics")),
            Some("topics")
        );
        assert_eq!(
            argv0_subcommand(Path::new("kafka-console-consumer.sh")),
            Some("console-consumer")
        );
        assert_eq!(
            argv0_subcommand(Path::new("kafka-producer-perf-test.sh")),
            Some("producer-perf-test")
        );
        assert_eq!(argv0_subcommand(Path::new("/usr/local/bin/fjord")), None);
        assert_eq!(argv0_subcommand(Path::new("kafka-server-stop.sh")), None);
        assert_eq!(argv0_subcommand(Path::new("topics")), None);
        assert_eq!(aliases().count(), 10);
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
        let args = args_with_argv0_subcommand(["kafka-topics", "--list"].map(OsString::from));
        assert_eq!(
            args,
            ["kafka-topics", "topics", "--list"].map(OsString::from)
        );
        let args = args_with_argv0_subcommand(["fjord", "--help"].map(OsString::from));
        assert_eq!(args, ["fjord", "--help"].map(OsString::from));
    }

    #[test]
    fn install_aliases_is_idempotent_and_never_clobbers_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        let target = Path::new("/opt/fjord/bin/fjord");
        let first = install_aliases(&bin, target).expect("install");
        assert_eq!(first.links.len(), 20);
        assert!(first.links.iter().all(|(_, o)| *o == LinkOutcome::Created));
        assert_eq!(
            std::fs::read_link(bin.join("kafka-topics.sh")).expect("link"),
            target
        );
        let again = install_aliases(&bin, target).expect("install again");
        assert!(again
            .links
            .iter()
            .all(|(_, o)| *o == LinkOutcome::Unchanged));
        assert!(again
            .to_string()
            .ends_with("0 links created, 0 replaced, 20 already in place"));
        let moved = install_aliases(&bin, Path::new("/new/fjord")).expect("re-point");
        assert!(moved.links.iter().all(|(_, o)| *o == LinkOutcome::Replaced));
        std::fs::remove_file(bin.join("kafka-configs")).expect("remove");
        std::fs::write(bin.join("kafka-configs"), "#!/bin/sh\n").expect("write");
        let err = install_aliases(&bin, target).expect_err("a file is in the way");
        assert!(err.to_string().contains("kafka-configs"), "{err}");
    }
}
