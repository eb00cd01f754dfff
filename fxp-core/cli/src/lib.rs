//! # fxp-cli
//!
//! What the binaries of fxp-hw (and xtask) share, kept out of the libraries, which never print
//! or draw: error exit, text and JSON output on stdout (a closed pipe ends the process quietly,
//! a full disk is an error), the progress bar ([`Bar`], the one implementation of
//! [`fxp_core::progress::Progress`] that draws), and clap value parsers for list items.
//! Re-exports [`clap`], so a library crate's optional binary needs only this crate.
//!
//! Also home of Problem 1's `sqnr` binary (`cargo run --release -p fxp-cli --bin sqnr`).
use fxp_core::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::fmt::Display;
use std::io::Write;
use std::sync::Mutex;

pub use clap;

mod input;
pub use input::InputArgs;

/// Runs a binary's main logic; on error prints `error: …` (with its causes) to stderr and
/// exits with status 1. Freed memory stays in the process for reuse
/// ([`fxp_core::memory::keep_freed_memory`]).
pub fn run<E: Display + std::fmt::Debug>(main: impl FnOnce() -> Result<(), E>) {
    fxp_core::memory::keep_freed_memory();
    if let Err(e) = main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Prints `value` as pretty JSON on stdout (the only thing stdout carries under `--json`).
/// A closed pipe (`… --json | head`) ends the process quietly instead of panicking.
pub fn print_json(value: &impl Serialize) -> Result<(), serde_json::Error> {
    let text = serde_json::to_string_pretty(value)?;
    write_stdout(format_args!("{text}\n"));
    Ok(())
}

/// Writes text on stdout and flushes it. A closed pipe (`… | head`, `… | true`) ends the process
/// quietly with status 0; any other write error (`> /dev/full`: no space left on device) prints
/// `error: cannot write to stdout: …` and exits with status 1. Used through [`outln!`] and
/// [`out!`] instead of `println!`/`print!`, which panic on such errors.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        stdout_failed(&e);
    }
}

/// Ends the process after a failed write to stdout: quietly (status 0) for a closed pipe,
/// with `error: cannot write to stdout: …` (status 1) for anything else.
pub fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(1);
}

/// `println!` for the text output of a binary, through [`write_stdout`]: no panic on a closed
/// pipe (quiet exit 0) or a full disk (`error: …`, exit 1).
#[macro_export]
macro_rules! outln {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` for the text output of a binary, through [`write_stdout`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

/// A progress bar on stderr; hidden when stderr is not a terminal or `quiet` is set.
fn new_bar(len: u64, message: &str, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if quiet {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>24} [{bar:32}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb.set_message(message.to_string());
    pb
}

/// The [`Progress`] of the binaries: each phase a library begins is a bar on stderr (hidden when
/// stderr is not a terminal or the bar is quiet, e.g. under `--json`), cleared when the phase
/// ends. Notes (one line per result of a long run) are printed on stderr only when asked for
/// with [`Bar::with_notes`], whether the bar is visible or not (logs).
#[derive(Debug, Default)]
pub struct Bar {
    quiet: bool,
    notes: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bar {
    /// A bar drawn on stderr unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Self {
            quiet,
            notes: false,
            current: Mutex::new(None),
        }
    }

    /// The same bar, printing the notes of the computation on stderr when `notes` is set.
    pub fn with_notes(mut self, notes: bool) -> Self {
        self.notes = notes;
        self
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        // A panic elsewhere while the lock was held leaves a usable bar.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for Bar {
    fn begin(&self, label: &str, total: u64) {
        let old = self.current().replace(new_bar(total, label, self.quiet));
        if let Some(pb) = old {
            pb.finish_and_clear();
        }
    }

    fn advance(&self, units: u64) {
        if let Some(pb) = self.current().as_ref() {
            pb.inc(units);
        }
    }

    fn end(&self) {
        if let Some(pb) = self.current().take() {
            pb.finish_and_clear();
        }
    }

    fn note(&self, line: &str) {
        if !self.notes {
            return;
        }
        match self.current().as_ref() {
            Some(pb) => pb.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.end();
    }
}

/// Parses a comma-separated list (`"8,8,7"`) into numbers, naming the flag in the error.
/// An empty list or an empty item (`"8,,7"`, `"8,7,"`) is refused.
pub fn parse_list<T: std::str::FromStr>(flag: &str, s: &str) -> Result<Vec<T>, String>
where
    T::Err: Display,
{
    if s.trim().is_empty() {
        return Err(format!(
            "{flag}: no value given (expected a comma-separated list)"
        ));
    }
    s.split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, t)| {
            if t.is_empty() {
                return Err(format!(
                    "{flag}: item {} of {s:?} is empty (a doubled or trailing comma?)",
                    i + 1
                ));
            }
            t.parse::<T>()
                .map_err(|e| format!("{flag}: cannot read {t:?}: {e}"))
        })
        .collect()
}

/// A clap value parser for one item of a comma-separated list flag (`value_delimiter = ','`):
/// refuses an empty item (`8,,8`) with a message saying so, then parses it as `T`.
pub fn list_item<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: Display,
{
    let t = s.trim();
    if t.is_empty() {
        return Err("empty item in the list (a doubled or trailing comma?)".into());
    }
    t.parse::<T>()
        .map_err(|e| format!("cannot read {t:?}: {e}"))
}

/// A clap value parser for a count that must be at least 1 (images, batch size, ...).
pub fn count_item(s: &str) -> Result<usize, String> {
    let n: usize = list_item(s)?;
    if n == 0 {
        return Err("give at least 1".into());
    }
    Ok(n)
}

/// A clap value parser for a precision in bits, one list item: an integer in 1..=32.
pub fn bits_item(s: &str) -> Result<u32, String> {
    let b: i64 = list_item(s)?;
    if (1..=32).contains(&b) {
        Ok(b as u32)
    } else {
        Err(format!("{b} bits is out of range: use 1 to 32"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_items_are_refused() {
        assert_eq!(parse_list::<u32>("--n", "1, 2,3").unwrap(), vec![1, 2, 3]);
        let e = parse_list::<u32>("--weight-bits", "8,,8").unwrap_err();
        assert!(
            e.contains("--weight-bits") && e.contains("item 2") && e.contains("empty"),
            "{e}"
        );
        assert!(parse_list::<u32>("--n", "8,")
            .unwrap_err()
            .contains("item 2"));
        assert!(parse_list::<u32>("--n", " ")
            .unwrap_err()
            .contains("no value"));
        assert!(list_item::<u32>("").unwrap_err().contains("empty item"));
        assert_eq!(bits_item("8"), Ok(8));
        assert!(bits_item("0").unwrap_err().contains("out of range"));
        assert!(bits_item("33").is_err());
    }

    #[test]
    fn a_bar_follows_the_phases_it_is_told() {
        let bar = Bar::new(true);
        bar.advance(3); // before any phase: nothing to advance, no panic
        bar.begin("phase 1", 10);
        bar.advance(4);
        assert_eq!(bar.current().as_ref().map(|pb| pb.position()), Some(4));
        bar.begin("phase 2", 5);
        assert_eq!(bar.current().as_ref().map(|pb| pb.length()), Some(Some(5)));
        assert_eq!(bar.current().as_ref().map(|pb| pb.position()), Some(0));
        bar.end();
        assert!(bar.current().is_none());
        bar.note("dropped: notes are off");
    }
}
