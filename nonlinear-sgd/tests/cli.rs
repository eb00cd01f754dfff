//! The binary: JSON output and clear errors on bad input.
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nonlinear-sgd"))
}

#[test]
fn cost_json_has_c_grad_and_hessian_w1() {
    let out = bin()
        .args([
            "cost",
            "--weights",
            "0.9547247,-0.8316406,0.7071791",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    assert!((v["c"].as_f64().unwrap() - 3.0629).abs() < 1e-4);
    assert_eq!(v["grad"].as_array().unwrap().len(), 3);
    assert!(v["hessian_w1"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_weights_are_clear_errors() {
    for bad in ["1,2", "1,2,3,4", "1,NaN,2", "1,x,2", "1,inf,0"] {
        let out = bin().args(["cost", "--weights", bad]).output().unwrap();
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: --weights"), "{bad}: {err}");
        assert!(!err.contains("panicked"), "{bad}: {err}");
    }
    let out = bin().args(["train", "--mu0=0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("step size"));
}
