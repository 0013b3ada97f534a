//! A progress bar on stderr for the tools that run long (the perf tests), drawn only when
//! stderr is a terminal so that piped or captured output stays exactly Kafka's. Kafka's own
//! lines go to stdout and are never touched; colour is used only on a terminal and never when
//! `NO_COLOR` is set (<https://no-color.org>).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar counting up to a known total, or nothing at all off a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

/// Whether colour may be used on stderr: a terminal, and `NO_COLOR` unset or empty.
pub fn stderr_colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl Progress {
    /// A bar for `total` units named `unit` ("records sent"), if stderr is a terminal.
    pub fn new(total: u64, unit: &str) -> Progress {
        if !std::io::stderr().is_terminal() || total == 0 {
            return Progress { bar: None };
        }
        let template = if stderr_colour() {
            "{elapsed_precise} [{bar:40.cyan/blue}] {pos}/{len} {msg} ({per_sec})"
        } else {
            "{elapsed_precise} [{bar:40}] {pos}/{len} {msg} ({per_sec})"
        };
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        // The template is a constant; if indicatif ever refused it, the default style is fine.
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(unit.to_owned());
        Progress { bar: Some(bar) }
    }

    /// Moves the bar to `position`.
    pub fn set(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
    }

    /// Runs `write` with the bar hidden, so a line printed on the same terminal (Kafka's
    /// progress lines on stdout) is not drawn over.
    pub fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Removes the bar, so that the lines printed next start on a clean line.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_a_terminal_or_without_total_nothing_is_drawn() {
        // Under `cargo test` stderr is captured or piped; a zero total never draws.
        let empty = Progress::new(0, "records");
        assert!(empty.bar.is_none());
        if !std::io::stderr().is_terminal() {
            assert!(Progress::new(10, "records").bar.is_none());
            assert!(!stderr_colour());
        }
    }
}
