//! Helpers for the binaries' integration tests, shared by every crate's `tests/determinism.rs`
//! (included with `#[path = …] mod support;`, so there is one copy): run a binary, check that
//! its `--json` output is byte-identical across runs and thread counts, check a rejected input.
#![allow(dead_code)] // each crate uses the helpers it needs
use std::process::{Command, Output};

/// Runs `bin args` with `RAYON_NUM_THREADS=threads`.
pub fn run(bin: &str, args: &[&str], threads: usize) -> Output {
    Command::new(bin)
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

/// Stdout of a successful run of `bin args` on `threads` threads.
pub fn stdout(bin: &str, args: &[&str], threads: usize) -> Vec<u8> {
    let out = run(bin, args, threads);
    assert!(
        out.status.success(),
        "{args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `bin args` (which must include `--json`) twice with `RAYON_NUM_THREADS=1` and twice
/// with 2 threads (the four processes concurrently), asserts that the four stdouts are
/// byte-identical, and returns the stdout (asserted to parse as JSON).
pub fn assert_deterministic(bin: &str, args: &[&str]) -> Vec<u8> {
    const THREADS: [usize; 4] = [1, 1, 2, 2];
    let outs: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = THREADS
            .iter()
            .map(|&t| s.spawn(move || stdout(bin, args, t)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a run failed"))
            .collect()
    });
    let first = outs[0].clone();
    for (run, (out, threads)) in outs.iter().zip(THREADS).enumerate().skip(1) {
        assert!(
            *out == first,
            "{args:?}: run {} ({threads} threads) differs from run 1 (1 thread)",
            run + 1
        );
    }
    serde_json::from_slice::<serde_json::Value>(&first)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON only: {e}"));
    first
}

/// Asserts that `bin args` exits non-zero without panicking and that stderr says `error…`
/// and contains every one of `needles` (what the problem is, which flag or file).
pub fn assert_rejected(bin: &str, args: &[&str], needles: &[&str]) {
    let out = run(bin, args, 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} was accepted");
    assert!(err.starts_with("error"), "{args:?}: stderr {err:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks {n:?}: {err}");
    }
    assert!(out.stdout.is_empty(), "{args:?}: printed on stdout");
}

/// Asserts how `bin args` (text mode) treats a stdout it cannot write: a closed pipe
/// (`… | head`) ends it quietly with status 0, a full disk (`> /dev/full`) is
/// `error: cannot write to stdout: …` with status 1; never a panic.
pub fn assert_stdout_failures_handled(bin: &str, args: &[&str]) {
    use std::process::Stdio;
    // Closed pipe: the read end is dropped right after the spawn, before the child writes.
    let mut child = Command::new(bin)
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} | (closed): {err}");
    assert_eq!(out.status.code(), Some(0), "{args:?} | (closed): {err}");
    assert!(!err.contains("error"), "{args:?} | (closed): {err}");
    // Full disk.
    if std::path::Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let out = Command::new(bin)
            .args(args)
            .env("RAYON_NUM_THREADS", "1")
            .stdout(full)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?} > /dev/full: {err}");
        assert_eq!(out.status.code(), Some(1), "{args:?} > /dev/full: {err}");
        assert!(
            err.contains("error: cannot write to stdout") && err.contains("No space left"),
            "{args:?} > /dev/full: {err}"
        );
    }
}

/// Asserts that `bin [sub] --help` ends with examples for the top level and every subcommand.
pub fn assert_help_has_examples(bin: &str, subcommands: &[&str]) {
    let mut cmds: Vec<Vec<&str>> = vec![vec![]];
    cmds.extend(subcommands.iter().map(|s| vec![*s]));
    for mut args in cmds {
        args.push("--help");
        let out = stdout(bin, &args, 1);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains("Examples:"),
            "{args:?}: no examples in\n{text}"
        );
    }
}
