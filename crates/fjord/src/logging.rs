//! Log output: `tracing` events written to standard output as Kafka-like lines,
//!
//! `[2025-03-18 14:02:11,042] INFO fjord started (node.id=1, ...) in 12 ms (fjord::server)`
//!
//! i.e. `[local date time,millis] LEVEL message (target)`, so people and tools used to Kafka's
//! log4j layout read them the same way. The filter comes from `RUST_LOG` (default `info`).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Safe to call once per process; later calls do nothing.
pub fn init() {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(e) => {
            if std::env::var_os("RUST_LOG").is_some() {
                eprintln!("warning: RUST_LOG is not a valid filter ({e}); using `info`");
            }
            EnvFilter::new("info")
        }
    };
    // try_init: a second call (or a test harness subscriber) is not an error worth dying for.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        // Plain text, like Kafka's log4j lines; colour codes would end up in log files.
        .with_ansi(false)
        .event_format(KafkaLine)
        .try_init();
}

/// The Kafka-like line layout described in the module docs.
struct KafkaLine;

impl<S, N> FormatEvent<S, N> for KafkaLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write!(writer, "[{}] {} ", LocalTime::now(), meta.level())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer, " ({})", meta.target())
    }
}

/// Wall-clock time in the local time zone, printed as `2025-03-18 14:02:11,042`.
struct LocalTime {
    tm: libc::tm,
    millis: u32,
}

impl LocalTime {
    fn now() -> LocalTime {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since_epoch.as_secs() as libc::time_t;
        // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: localtime_r reads `secs` and writes only into `tm`, both owned here; it is
        // the thread-safe variant. fjord never calls setenv, so the TZ lookup cannot race.
        let converted = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
        if !converted {
            // Out-of-range time: print the epoch rather than garbage.
            // SAFETY: as above.
            tm = unsafe { std::mem::zeroed() };
            tm.tm_year = 70;
            tm.tm_mday = 1;
        }
        LocalTime {
            tm,
            millis: since_epoch.subsec_millis(),
        }
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
            self.tm.tm_year + 1900,
            self.tm.tm_mon + 1,
            self.tm.tm_mday,
            self.tm.tm_hour,
            self.tm.tm_min,
            self.tm.tm_sec,
            self.millis
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_has_kafka_layout() {
        let text = LocalTime::now().to_string();
        // 2025-03-18 14:02:11,042
        assert_eq!(text.len(), 23, "{text}");
        let bytes = text.as_bytes();
        for (i, sep) in [
            (4, b'-'),
            (7, b'-'),
            (10, b' '),
            (13, b':'),
            (16, b':'),
            (19, b','),
        ] {
            assert_eq!(bytes[i], sep, "{text}");
        }
        assert!(text[..4].parse::<u32>().expect("year") >= 2024, "{text}");
    }
}
