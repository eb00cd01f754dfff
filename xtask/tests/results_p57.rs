//! Snapshots of the results of Problems 5–7 on the quick configuration (the result structs as
//! JSON, rounded to 6 significant digits so that they are stable across platforms) and of the
//! rendered markdown of Problem 5. A changed computed number makes one of them fail; accept an
//! intended change with `cargo insta review`.
use fxp_core::json::round_json;
use xtask::report::Ctx;

/// The quick configuration of `cargo xtask … --quick`.
fn quick() -> lms::problems::Settings {
    xtask::p5::settings(true)
}

/// A result struct as JSON, rounded for a stable snapshot.
fn rounded<T: serde::Serialize>(result: &T) -> serde_json::Value {
    round_json(&serde_json::to_value(result).expect("serializable"), 6)
}

#[test]
fn p5_result_quick() {
    let p = lms::problems::p5(&quick()).unwrap();
    insta::assert_json_snapshot!("p5_result_quick", rounded(&p));
}

#[test]
fn p5_markdown_quick() {
    let p = lms::problems::p5(&quick()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(dir.path().to_path_buf(), true, None);
    let section = xtask::p5::render_p5(&p, &ctx).unwrap();
    assert_eq!(section.id, "p5");
    assert_eq!(
        section.json,
        serde_json::to_value(&p).unwrap(),
        "results.json[p5] is the result struct"
    );
    assert!(ctx.figure("p5_snr_loss.svg").is_file());
    insta::assert_snapshot!("p5_markdown_quick", section.markdown);
}

#[test]
fn p6_result_quick() {
    let p = lms::problems::p6(&quick()).unwrap();
    insta::assert_json_snapshot!("p6_result_quick", rounded(&p));
}

#[test]
fn p7_result_quick() {
    let p = lms::problems::p7(&quick()).unwrap();
    insta::assert_json_snapshot!("p7_result_quick", rounded(&p));
}
