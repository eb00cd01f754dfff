//! Issue 19: counts that do not fit in 64 bits, huge offsets, a short offsets file, empty list
//! items and a closed or full stdout, through the `nn-cost` binary.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use nn_cost::npy::f64_vec_bytes;
use support::{assert_rejected, assert_stdout_failures_handled};

const BIN: &str = env!("CARGO_BIN_EXE_nn-cost");

fn spec_file(dir: &std::path::Path, json: &str) -> String {
    let p = dir.join("net.json");
    std::fs::write(&p, json).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn counts_that_overflow_name_the_layer() {
    let d = tempfile::tempdir().unwrap();
    // 2^32 input features × 2^32 outputs: 2^64 weights (printed 0 before: u64 wrapped).
    let f = spec_file(
        d.path(),
        r#"{"name": "huge", "input": [65536, 65536, 1], "layers": [{"type": "flatten"},
            {"type": "linear", "name": "fc", "out_features": 4294967296}]}"#,
    );
    assert_rejected(
        BIN,
        &["--spec", &f],
        &["linear fc", "does not fit in 64 bits"],
    );
    // Each layer fits, the MACs N·D of a conv do not.
    let f = spec_file(
        d.path(),
        r#"{"name": "wide", "input": [4294967295, 3, 3], "layers": [
            {"type": "conv", "name": "c1", "out_channels": 4294967295, "kernel": 3, "padding": 1}]}"#,
    );
    assert_rejected(
        BIN,
        &["--spec", &f],
        &["conv c1", "does not fit in 64 bits"],
    );
}

fn offsets_dir(w: &[f64], a: &[f64]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("weight_offsets.npy"), f64_vec_bytes(w)).unwrap();
    std::fs::write(d.path().join("activation_offsets.npy"), f64_vec_bytes(a)).unwrap();
    d
}

#[test]
fn huge_offsets_are_out_of_range_not_wrapped() {
    let mut w = vec![0.0; 8];
    w[2] = 9.2e18;
    let d = offsets_dir(&w, &[0.0; 8]);
    let dir = d.path().to_str().unwrap();
    let args = ["--net", "cifar-alexnet", "--offsets", dir, "--b-min", "5"];
    assert_rejected(BIN, &args, &["layer 3", "weight offset", "outside 1 to 32"]);
    let out = support::run(BIN, &args, 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("-92233"));
}

#[test]
fn a_short_weight_offsets_file_is_named() {
    let d = offsets_dir(&[0.0; 5], &[0.0; 8]);
    let dir = d.path().to_str().unwrap();
    let out = support::run(
        BIN,
        &["--net", "cifar-alexnet", "--offsets", dir, "--b-min", "5"],
        1,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("weight_offsets.npy") && !err.contains("activation_offsets.npy"),
        "{err}"
    );
    assert!(err.contains("expected 8 values"), "{err}");
    // The old spelling still works.
    let d = offsets_dir(&[0.0; 8], &[0.0; 8]);
    let dir = d.path().to_str().unwrap();
    support::stdout(
        BIN,
        &[
            "--net",
            "cifar-alexnet",
            "--offsets-dir",
            dir,
            "--b-min",
            "5",
        ],
        1,
    );
}

#[test]
fn empty_list_items_are_refused() {
    for flag in ["--weight-bits", "--act-bits"] {
        let args = [
            "--net",
            "cifar-alexnet",
            "--weight-bits",
            "8,8,8,8,8,8,8,8",
            "--act-bits",
            "8,8,8,8,8,8,8,8",
        ];
        let mut args = args.map(String::from);
        let i = args.iter().position(|a| a == flag).unwrap() + 1;
        args[i] = "8,,8,8,8,8,8,8".into();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_rejected(BIN, &args, &[flag, "empty item"]);
    }
    assert_rejected(
        BIN,
        &["--net", "vgg11", "--bits", "0"],
        &["--bits", "out of range"],
    );
}

#[test]
fn bits_is_a_list() {
    let out = support::stdout(BIN, &["--net", "vgg11", "--bits", "8,10", "--json"], 1);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let runs = v.as_array().expect("one object per precision");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["precision"], "uniform 10 bits");
}

#[test]
fn text_output_groups_digits() {
    let out = support::stdout(BIN, &["--net", "resnet18", "--bits", "10"], 1);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("11,689,512"), "{text}");
}

#[test]
fn closed_or_full_stdout_in_text_mode() {
    assert_stdout_failures_handled(BIN, &["--net", "resnet18", "--bits", "10"]);
}

#[test]
fn every_help_has_examples() {
    support::assert_help_has_examples(BIN, &[]);
}
