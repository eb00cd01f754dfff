//! Issue 19: `sqnr` refuses oversized experiments and empty list items before any work, and
//! survives a closed or full stdout in text mode.
#[path = "support/mod.rs"]
mod support;
use support::{assert_rejected, assert_stdout_failures_handled};

const BIN: &str = env!("CARGO_BIN_EXE_sqnr");

#[test]
fn oversized_experiments_are_refused_at_once() {
    let t = std::time::Instant::now();
    assert_rejected(BIN, &["--n", "100000000000"], &["products", "--n"]);
    assert_rejected(BIN, &["--samples", "100000000"], &["samples", "10,000,000"]);
    assert!(
        t.elapsed().as_secs() < 10,
        "the bound is checked before the work"
    );
}

#[test]
fn empty_list_items_are_refused() {
    assert_rejected(BIN, &["--n", "8,,8"], &["--n", "empty item"]);
    assert_rejected(BIN, &["--bits", "8,"], &["--bits", "empty item"]);
    assert_rejected(BIN, &["--dist", "uniform,"], &["--dist", "empty item"]);
    assert_rejected(BIN, &["--bits", "0"], &["--bits", "out of range"]);
}

#[test]
fn closed_or_full_stdout_in_text_mode() {
    assert_stdout_failures_handled(BIN, &["--n", "4", "--bits", "8", "--samples", "100"]);
}

#[test]
fn text_output_groups_digits_and_has_no_negative_zero() {
    let out = support::stdout(BIN, &["--n", "4096", "--bits", "8", "--samples", "200"], 1);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("4,096"), "{text}");
    assert!(!text.contains("-0.00 "), "{text}");
}

#[test]
fn every_help_has_examples() {
    support::assert_help_has_examples(BIN, &[]);
}
