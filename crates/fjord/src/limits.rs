//! The process's open-file limit (`RLIMIT_NOFILE`), raised at start-up.
//!
//! Every hosted partition keeps about three descriptors open (the active segment's `.log`,
//! `.index` and `.timeindex`), plus one per client connection, so the usual soft limit of
//! 1,024 is reached at a few hundred partitions. The hard limit is normally far higher and an
//! unprivileged process may raise its soft limit up to it, which is what Kafka's JVM does at
//! start (HotSpot's `-XX:+MaxFDLimit`, on by default). fjord does the same, before opening any
//! log, and says the resulting limit in its start-up log so an operator can relate a later
//! "too many open files" to it.

use std::io;

/// The open-file limit after [`raise_open_files_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFilesLimit {
    /// The soft limit now in force.
    pub soft: libc::rlim_t,
    /// The hard limit (the most the soft limit can be raised to without privileges).
    pub hard: libc::rlim_t,
    /// The soft limit before, when it was raised.
    pub raised_from: Option<libc::rlim_t>,
}

impl std::fmt::Display for OpenFilesLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: libc::rlim_t| {
            if v == libc::RLIM_INFINITY {
                "unlimited".to_string()
            } else {
                v.to_string()
            }
        };
        write!(f, "{}", show(self.soft))?;
        match self.raised_from {
            Some(before) => write!(f, " (raised from {} to the hard limit)", show(before)),
            None => write!(f, " (hard limit {})", show(self.hard)),
        }
    }
}

fn get() -> io::Result<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we pass and reads nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. An unlimited hard limit is not a valid
/// soft value on every kernel (Linux caps descriptors at `fs.nr_open`); then the soft limit is
/// raised to `fs.nr_open` when it can be read, else left alone.
pub fn raise_open_files_limit() -> io::Result<OpenFilesLimit> {
    let before = get()?;
    let mut target = before.rlim_max;
    if target == libc::RLIM_INFINITY {
        match std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|s| s.trim().parse::<libc::rlim_t>().ok())
        {
            Some(nr_open) => target = nr_open,
            None => {
                return Ok(OpenFilesLimit {
                    soft: before.rlim_cur,
                    hard: before.rlim_max,
                    raised_from: None,
                })
            }
        }
    }
    if before.rlim_cur != libc::RLIM_INFINITY && before.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: before.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let after = get()?;
    Ok(OpenFilesLimit {
        soft: after.rlim_cur,
        hard: after.rlim_max,
        raised_from: (after.rlim_cur != before.rlim_cur).then_some(before.rlim_cur),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raises_the_soft_limit_to_the_hard_limit() {
        // Lower the soft limit first (always allowed), so the raise has something to do.
        let start = get().expect("getrlimit");
        let lowered = libc::rlimit {
            rlim_cur: start.rlim_cur.min(256),
            rlim_max: start.rlim_max,
        };
        // SAFETY: as in raise_open_files_limit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        let limit = raise_open_files_limit().expect("raise");
        let now = get().expect("getrlimit");
        assert_eq!(limit.soft, now.rlim_cur);
        assert_eq!(limit.hard, start.rlim_max);
        if start.rlim_max != libc::RLIM_INFINITY && start.rlim_max > 256 {
            assert_eq!(limit.soft, start.rlim_max);
            assert_eq!(limit.raised_from, Some(lowered.rlim_cur));
            assert!(limit.to_string().contains("raised from"), "{limit}");
        }
        // Already at the hard limit: nothing to raise.
        let again = raise_open_files_limit().expect("raise again");
        assert_eq!(again.raised_from, None);
        assert_eq!(again.soft, limit.soft);
    }
}
