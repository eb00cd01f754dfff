//! The `sqnr` binary: its JSON output is identical across runs and thread counts, changes with
//! the seed, and bad input is a clear error (issue 9).
mod support;
use support::{assert_deterministic, assert_rejected};

const BIN: &str = env!("CARGO_BIN_EXE_sqnr");

fn quick(seed: &str) -> Vec<&str> {
    vec![
        "--n",
        "1,16,256",
        "--bits",
        "4,8,12",
        "--samples",
        "3000",
        "--seed",
        seed,
        "--json",
    ]
}

#[test]
fn json_is_identical_across_runs_and_thread_counts() {
    let a = assert_deterministic(BIN, &quick("1"));
    let b = assert_deterministic(BIN, &quick("2"));
    assert_ne!(
        a, b,
        "a different --seed must change the Monte Carlo output"
    );
    let v: serde_json::Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 2 * 3 * 3);
}

#[test]
fn bad_input_is_a_clear_error() {
    assert_rejected(BIN, &["--bits", "0"], &["0 bits", "1 to 32"]);
    assert_rejected(BIN, &["--bits", "33"], &["33 bits"]);
    assert_rejected(BIN, &["--n", "0"], &["N = 0"]);
    assert_rejected(BIN, &["--n", "-1"], &["--n", "-1"]);
    assert_rejected(BIN, &["--bits", "x"], &["--bits", "\"x\""]);
    assert_rejected(BIN, &["--dist", "nope"], &["--dist", "nope"]);
    assert_rejected(BIN, &["--samples", "1"], &["2 samples"]);
}
