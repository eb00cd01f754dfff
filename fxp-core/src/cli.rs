//! Helpers shared by every binary: error exit, JSON output, progress bars.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::fmt::Display;
use std::io::Write;

/// Runs a binary's main logic; on error prints `error: …` (with its causes) to stderr and
/// exits with status 1.
pub fn run<E: Display + std::fmt::Debug>(main: impl FnOnce() -> Result<(), E>) {
    if let Err(e) = main() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Prints `value` as pretty JSON on stdout (the only thing stdout carries under `--json`).
/// A closed pipe (`… --json | head`) ends the process quietly instead of panicking.
pub fn print_json(value: &impl Serialize) -> Result<(), serde_json::Error> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(serde_json::Error::io(e)),
    }
}

/// A progress bar on stderr; hidden when stderr is not a terminal or `quiet` is set.
pub fn progress(len: u64, message: &str, quiet: bool) -> ProgressBar {
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

/// Parses a comma-separated list (`"8,8,7"`) into numbers, naming the flag in the error.
pub fn parse_list<T: std::str::FromStr>(flag: &str, s: &str) -> Result<Vec<T>, String>
where
    T::Err: Display,
{
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<T>()
                .map_err(|e| format!("{flag}: cannot read {t:?}: {e}"))
        })
        .collect()
}
