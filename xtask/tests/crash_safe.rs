//! An interrupted `xtask` run leaves the previous report whole: every output is written to a
//! temporary file and renamed into place.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn xtask(out: &Path, task: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.arg(task).arg("--quick").arg("--out").arg(out);
    c
}

#[test]
fn killed_run_keeps_previous_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let status = xtask(out, "p1").status().unwrap();
    assert!(status.success());
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let results = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(report.contains("## Problem 1"));
    let parsed: serde_json::Value = serde_json::from_str(&results).unwrap();
    assert!(parsed["p1"]["rows"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));

    // start again and kill it at several points of its run
    for delay_ms in [20u64, 150, 400] {
        let mut child = xtask(out, "p1")
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let report2 = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
        let results2 = std::fs::read_to_string(out.join("results.json")).unwrap();
        assert!(
            report2.contains("## Problem 1"),
            "REPORT.md damaged after kill at {delay_ms} ms"
        );
        let v: serde_json::Value =
            serde_json::from_str(&results2).expect("results.json is whole JSON");
        assert!(v["p1"]["rows"].as_array().is_some_and(|r| !r.is_empty()));
        for fig in std::fs::read_dir(out.join("figures")).unwrap() {
            let text = std::fs::read_to_string(fig.unwrap().path()).unwrap();
            assert!(
                text.trim_end().ends_with("</svg>"),
                "a figure was left half-written"
            );
        }
    }
}

#[test]
fn unknown_task_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = xtask(dir.path(), "p99").output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown task") && err.contains("p1"), "{err}");
}

/// A problem that fails writes nothing and does not log a report path (issue 19: a failed
/// `xtask p3` logged "report: …/REPORT.md" though nothing was written).
#[test]
fn failed_problem_does_not_claim_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let o = xtask(dir.path(), "p3")
        .arg("--data")
        .arg(dir.path().join("no-such-data"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error: p3") && err.contains("failed: p3"),
        "{err}"
    );
    assert!(!err.contains("report: "), "{err}");
    assert!(err.contains("no section written"), "{err}");
    assert!(!dir.path().join("REPORT.md").exists());
}
