//! Issue 19, through the `lms` binary: `arch --dot` prints DOT only, the text output carries
//! no Rust debug formatting, renamed flags and list items, a closed or full stdout.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use support::{assert_rejected, assert_stdout_failures_handled};

const BIN: &str = env!("CARGO_BIN_EXE_lms");

fn text(args: &[&str]) -> String {
    String::from_utf8(support::stdout(BIN, args, 1)).unwrap()
}

#[test]
fn arch_dot_is_dot_only() {
    let out = text(&["arch", "--dot"]);
    // Two graphs and nothing else: every non-blank line belongs to a `digraph … { … }` block.
    let mut depth = 0i32;
    let mut graphs = 0;
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        if depth == 0 {
            assert!(
                line.starts_with("digraph "),
                "text outside a graph: {line:?}"
            );
            graphs += 1;
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
    }
    assert_eq!((graphs, depth), (2, 0), "{out}");
}

#[test]
fn text_output_has_no_debug_formatting() {
    for cmd in ["series", "wiener", "precision", "lms", "dlms", "arch"] {
        let out = text(&[cmd, "--quick"]);
        for bad in [
            "Some(",
            "None",
            "[0.",
            "[-0.",
            "Converged",
            "Diverged",
            "-0.0000 ",
        ] {
            assert!(!out.contains(bad), "lms {cmd}: {bad:?} in\n{out}");
        }
    }
}

#[test]
fn max_bits_is_the_flag_and_bits_max_an_alias() {
    let a = support::stdout(
        BIN,
        &["precision", "--quick", "--max-bits", "8", "--json"],
        1,
    );
    let b = support::stdout(
        BIN,
        &["precision", "--quick", "--bits-max", "8", "--json"],
        1,
    );
    assert_eq!(a, b);
    assert_rejected(BIN, &["precision", "--max-bits", "0"], &["--max-bits"]);
    assert_rejected(
        BIN,
        &["lms", "--multiples", "0.5,,1"],
        &["--multiples", "empty item"],
    );
}

#[test]
fn closed_or_full_stdout_in_text_mode() {
    assert_stdout_failures_handled(BIN, &["arch"]);
}

#[test]
fn every_help_has_examples() {
    support::assert_help_has_examples(
        BIN,
        &["series", "wiener", "precision", "lms", "dlms", "arch"],
    );
}
