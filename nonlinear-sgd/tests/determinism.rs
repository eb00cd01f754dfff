//! The `nonlinear-sgd` binary: its JSON output is identical across runs and thread counts,
//! changes with the seed where there is random work, and bad input is a clear error (issue 9).
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use support::{assert_deterministic, assert_rejected};

const BIN: &str = env!("CARGO_BIN_EXE_nonlinear-sgd");

#[test]
fn train_and_minima_are_deterministic_and_seeded() {
    let train = |seed| {
        assert_deterministic(
            BIN,
            &[
                "train",
                "--epochs",
                "1",
                "--n-train",
                "4000",
                "--n-test",
                "1000",
                "--seed",
                seed,
                "--json",
            ],
        )
    };
    assert_ne!(train("1"), train("2"), "train: --seed has no effect");
    let minima =
        |seed| assert_deterministic(BIN, &["minima", "--starts", "24", "--seed", seed, "--json"]);
    assert_ne!(minima("1"), minima("2"), "minima: --seed has no effect");
}

#[test]
fn cost_and_precision_are_deterministic() {
    assert_deterministic(BIN, &["cost", "--json"]);
    let p = |seed| {
        assert_deterministic(
            BIN,
            &["precision", "--n-test", "2000", "--seed", seed, "--json"],
        )
    };
    assert_ne!(
        p("1"),
        p("2"),
        "precision: --seed must change the sampled test MSE"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    assert_rejected(
        BIN,
        &["cost", "--weights", "1,2"],
        &["--weights", "3 weights"],
    );
    assert_rejected(
        BIN,
        &["cost", "--weights", "nan,1,1"],
        &["--weights", "not finite"],
    );
    // Negative numbers reach the crate's own validation (not clap's "unexpected argument").
    assert_rejected(BIN, &["train", "--mu0", "-1"], &["step size", "-1"]);
    assert_rejected(BIN, &["precision", "--budget", "-1"], &["budget", "-1"]);
    assert_rejected(BIN, &["minima", "--starts", "0"], &["start"]);
    assert_rejected(BIN, &["minima", "--box-half-width", "-2"], &["box"]);
    assert_rejected(BIN, &["train", "--epochs", "0"], &["epochs"]);
}
