//! The `nn-cost` binary: JSON output, text table, and errors.
use std::process::Command;

fn nn_cost(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nn-cost"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn json_output_is_only_json() {
    let out = nn_cost(&["--net", "resnet18", "--bits", "10", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["params"], 11_689_512);
    assert_eq!(v["table"]["rows"].as_array().unwrap().len(), 21);
    let rep = v["costs"]["rep_bits"].as_f64().unwrap();
    assert!(
        (rep / 1.386e8 - 1.0).abs() < 5e-4,
        "rep bits {rep} vs seed 1.386e8"
    );
}

#[test]
fn per_layer_lists_and_text_table() {
    let out = nn_cost(&[
        "--net",
        "cifar-alexnet",
        "--weight-bits",
        "8,8,8,8,8,8,8,8",
        "--act-bits",
        "7,7,7,7,7,7,7,7",
        "--convention",
        "seed",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fc_layers.6") && text.contains("FA (seed)"));
    assert!(!text.contains("FA (printed)"));
}

#[test]
fn errors_exit_nonzero_with_message() {
    let out = nn_cost(&[
        "--net",
        "cifar-alexnet",
        "--weight-bits",
        "8,8",
        "--act-bits",
        "8,8",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error:") && err.contains("2 precisions"),
        "{err}"
    );
    let out = nn_cost(&["--net", "nope"]);
    assert!(!out.status.success());
}

#[test]
fn spec_file_equals_builtin() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/nets/vgg11.json");
    let a = nn_cost(&["--spec", path, "--bits", "10", "--json"]);
    let b = nn_cost(&["--net", "vgg11", "--bits", "10", "--json"]);
    assert!(a.status.success());
    assert_eq!(a.stdout, b.stdout);
}
