//! The `cifar-infer` binary: its JSON output is identical across runs and thread counts
//! (RAYON_NUM_THREADS 1 vs 2), and bad input is a clear error (issue 9). Needs the homework data.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use support::{assert_deterministic, assert_rejected};

const BIN: &str = env!("CARGO_BIN_EXE_cifar-infer");

#[test]
fn json_is_identical_across_runs_and_thread_counts() {
    let float = assert_deterministic(BIN, &["eval", "--images", "24", "--batch", "7", "--json"]);
    let fixed = assert_deterministic(BIN, &["eval", "--images", "24", "--bits", "5", "--json"]);
    assert_ne!(
        float, fixed,
        "quantization changed nothing: the test would not see a change"
    );
    assert_deterministic(
        BIN,
        &[
            "sweep",
            "--images",
            "24",
            "--min-bits",
            "3",
            "--max-bits",
            "6",
            "--json",
        ],
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    assert_rejected(BIN, &["eval", "--images", "5", "--bits", "0"], &["0 bits"]);
    assert_rejected(
        BIN,
        &["eval", "--images", "5", "--bits", "33"],
        &["33 bits"],
    );
    assert_rejected(BIN, &["eval", "--images", "0"], &["--images", "at least 1"]);
    assert_rejected(
        BIN,
        &[
            "eval",
            "--images",
            "5",
            "--model",
            "/nonexistent/model.safetensors",
        ],
        &["/nonexistent/model.safetensors"],
    );
    assert_rejected(
        BIN,
        &[
            "eval",
            "--images",
            "5",
            "--weight-bits",
            "8,8",
            "--act-bits",
            "8,8",
        ],
        &["8 conv/linear layers"],
    );
    assert_rejected(
        BIN,
        &["eval", "--data", "/nonexistent/data"],
        &["/nonexistent/data"],
    );
}
