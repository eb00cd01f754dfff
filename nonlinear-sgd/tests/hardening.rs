//! Issue 19: sizes bounded before allocating, non-finite results refused, empty list items
//! refused, a closed or full stdout handled, no debug formatting in the text output.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use support::{assert_rejected, assert_stdout_failures_handled};

const BIN: &str = env!("CARGO_BIN_EXE_nonlinear-sgd");

#[test]
fn sizes_are_bounded_before_allocating() {
    let t = std::time::Instant::now();
    assert_rejected(
        BIN,
        &["cost", "--panels", "4000000000"],
        &["panels", "1,048,576"],
    );
    assert_rejected(
        BIN,
        &["cost", "--panels", "18446744073709551615"],
        &["panels"],
    );
    assert_rejected(BIN, &["train", "--n-train", "100000000000"], &["--n-train"]);
    assert_rejected(
        BIN,
        &["precision", "--n-test", "100000000000"],
        &["--n-test"],
    );
    assert_rejected(BIN, &["minima", "--starts", "100000000000"], &["--starts"]);
    assert!(t.elapsed().as_secs() < 10);
}

#[test]
fn non_finite_results_are_refused() {
    for cmd in ["cost", "precision"] {
        assert_rejected(
            BIN,
            &[cmd, "--weights", "1e300,1,1"],
            &["not finite", "too large"],
        );
    }
}

#[test]
fn empty_list_items_are_refused() {
    assert_rejected(BIN, &["cost", "--weights", "1,,1"], &["--weights", "empty"]);
    assert_rejected(BIN, &["precision", "--max-bits", "0"], &["--max-bits"]);
}

#[test]
fn text_output_has_no_debug_formatting() {
    let cost = String::from_utf8(support::stdout(BIN, &["cost"], 1)).unwrap();
    let minima = String::from_utf8(support::stdout(BIN, &["minima", "--starts", "20"], 1)).unwrap();
    for text in [&cost, &minima] {
        assert!(!text.contains("[\"") && !text.contains("Some("), "{text}");
        assert!(!text.contains("-0.0000000"), "{text}");
        // no "1.767e0"-style exponents for ordinary magnitudes
        assert!(
            !text.contains("e0,") && !text.contains("e0)") && !text.contains("e1"),
            "{text}"
        );
    }
    assert!(minima.contains("minimum"), "{minima}");
}

#[test]
fn closed_or_full_stdout_in_text_mode() {
    assert_stdout_failures_handled(BIN, &["cost"]);
}

#[test]
fn every_help_has_examples() {
    support::assert_help_has_examples(BIN, &["train", "cost", "precision", "minima"]);
}
