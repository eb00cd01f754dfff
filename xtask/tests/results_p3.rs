//! Snapshot of Problem 3's results (the library's result struct, rounded) and of its rendered
//! markdown, on a configuration small enough for CI: 200 test images, dynamic ranges on 200
//! calibration images, the course estimator on 40 and the per-image estimator on 20 images
//! (the sizes of cifar-infer's own profiler snapshots). Timings are zeroed before both
//! snapshots; every computed number is in them. Accept an intended change with
//! `cargo insta review` (or `INSTA_UPDATE=always`), after reading the diff.
use cifar_infer::problem3::{Hooks, NoHooks, Problem3, Problem3Error, Settings};
use fxp_core::json::round_json;
use xtask::p3::{render, CtxHooks};
use xtask::report::Ctx;

/// The CI configuration: the quick run with fewer images everywhere.
fn ci_settings() -> Settings {
    Settings {
        test_images: Some(200),
        ranges_images: Some(200),
        course_images: Some(40),
        per_image_images: 20,
        ..Settings::quick()
    }
}

/// The result with its run times set to zero (they are not results).
fn without_timings(mut p: Problem3) -> Problem3 {
    p.uniform.seconds = 0.0;
    p.profiler.ranges_seconds = 0.0;
    p.profiler.course.seconds = 0.0;
    p.profiler.per_image.seconds = 0.0;
    p
}

#[test]
fn problem3_results_and_report_on_a_small_configuration() {
    let problem = without_timings(cifar_infer::problem3::run(&ci_settings(), &NoHooks).unwrap());
    let cost_checks: Vec<_> = problem
        .seed_comparisons
        .iter()
        .filter(|c| c.quantity.ends_with("at the seed's uniform B"))
        .collect();
    assert_eq!(cost_checks.len(), 2);
    for c in cost_checks {
        assert!(c.agrees, "same architecture, same cost: {c:?}");
    }
    let json = serde_json::to_value(&problem).unwrap();
    insta::assert_json_snapshot!("p3_results_ci", round_json(&json, 6));

    let out = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(out.path().to_path_buf(), true, None);
    let section = render(&problem, &ctx).unwrap();
    assert_eq!(section.id, "p3");
    assert_eq!(section.json, json, "results.json is the result struct");
    for fig in [
        "p3_uniform_accuracy.svg",
        "p3_offsets_accuracy.svg",
        "p3_layer_precisions.svg",
        "p3_mismatch.svg",
    ] {
        assert!(ctx.figure(fig).is_file(), "{fig} not written");
    }
    insta::assert_snapshot!("p3_report_ci", section.markdown);
}

#[test]
fn the_cache_hook_stores_values_and_passes_errors_through() {
    let out = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(out.path().to_path_buf(), true, None);
    let hooks = CtxHooks::new(&ctx);
    let first = hooks
        .cached("t", &1u32, || Ok(vec![0.5f64, 1.0 / 3.0]))
        .unwrap();
    assert!(!first.from_cache);
    let again = hooks
        .cached("t", &1u32, || -> Result<Vec<f64>, Problem3Error> {
            panic!("a cached value is not recomputed")
        })
        .unwrap();
    assert!(again.from_cache);
    assert_eq!(again.value, first.value);
    let err = hooks
        .cached("t", &2u32, || -> Result<Vec<f64>, Problem3Error> {
            Err(Problem3Error::NoMinimum("none"))
        })
        .unwrap_err();
    assert!(matches!(err, Problem3Error::NoMinimum("none")), "{err:?}");
}
