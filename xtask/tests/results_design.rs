//! Snapshot of "Beyond the homework: precision design" on the quick configuration (the test
//! networks `bn-after-relu` and `bn-after-relu-outliers` only): the result struct (rounded JSON)
//! and the rendered markdown, and the results.json section being exactly the serialized result;
//! the search's verdicts recomputed from its numbers; and (ignored by default, minutes) issue
//! 17's done-when on the report's configuration.
//!
//! Accept an intended change with `cargo insta review` (or `INSTA_UPDATE=always cargo test`),
//! then read the diff of the `.snap` files before committing them.
use cifar_infer::search::design::{self, DesignSettings};
use cifar_infer::search::study::{Assignment, SearchStudy};
use cifar_infer::Sources;
use fxp_core::json::round_json;
use fxp_core::progress::Silent;
use xtask::report::Ctx;

#[test]
fn design_on_the_quick_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(dir.path().to_path_buf(), true, None);
    assert_eq!(xtask::design::settings(&ctx), DesignSettings::quick());
    let d = design::run(&Sources::default(), &DesignSettings::quick(), &Silent).unwrap();
    let json = serde_json::to_value(&d).unwrap();
    insta::assert_json_snapshot!("design_result", round_json(&json, 6));
    let section = xtask::design::render(&d, &ctx).unwrap();
    assert_eq!(section.json, json);
    insta::assert_snapshot!("design_markdown", section.markdown);
    // Every figure the markdown links to was written.
    for line in section.markdown.lines().filter(|l| l.starts_with("![")) {
        let file = line.split("](").nth(1).unwrap().trim_end_matches(')');
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    for s in &d.searches {
        check_search(s);
    }
}

/// The search's answers obey its rules, and its computed verdicts (`holds` and the per-metric
/// flags) agree with the numbers they summarise.
fn check_search(s: &SearchStudy) {
    let t = s.settings.tolerance;
    let test_threshold = s.float_test_accuracy - t;
    let mut all = true;
    for m in &s.searches {
        let cost = |a: &Assignment| a.costs.get(m.metric);
        // The answer passed the validation rule.
        assert_eq!(m.searched.validated, Some(true), "{m:?}");
        let v = m.searched.validation_accuracy.unwrap();
        let se = m.searched.validation_se.unwrap();
        assert!(v - s.settings.z * se >= s.float_validation_accuracy - t - 1e-9);
        // Within T on calibration, never costlier than its start.
        assert!(m.searched.calibration_accuracy.unwrap() >= s.float_calibration_accuracy - t);
        let start = s
            .uniform
            .iter()
            .chain(&s.offsets)
            .find(|a| a.label == m.start)
            .unwrap();
        assert!(cost(&m.searched) <= cost(start));
        // The verdicts, recomputed from the accuracies and costs.
        let best = s
            .uniform
            .iter()
            .chain(&s.offsets)
            .filter(|a| a.test_accuracy >= test_threshold)
            .map(cost)
            .min_by(f64::total_cmp);
        let within = m.searched.test_accuracy >= test_threshold;
        let not_costlier = best.map(|b| cost(&m.searched) <= b);
        assert_eq!(m.searched_within_tolerance_on_test, within, "{m:?}");
        assert_eq!(m.searched_not_costlier, not_costlier, "{m:?}");
        assert_eq!(m.best_baseline.as_ref().map(|b| b.1), best);
        all &= within && not_costlier == Some(true);
    }
    assert_eq!(s.holds, all);
}

/// Issue 17's done-when on the report's configuration: on the course network, every searched
/// assignment is within T on the test images and no costlier than the best baseline. Runs the
/// whole design study (minutes): `cargo test --release -p xtask --test results_design -- --ignored`.
/// It fails today: all four searched assignments are within T on test, but fa and bops cost more
/// than B = 6, which is within T on test and fails the validation rule (README, "Beyond the
/// homework").
#[test]
#[ignore = "runs the report's configuration (minutes)"]
fn the_report_configuration_meets_the_done_when() {
    let d = design::run(&Sources::default(), &DesignSettings::full(), &Silent).unwrap();
    let course = &d.searches[0];
    assert_eq!(course.network, "cifar-alexnet");
    check_search(course);
    assert!(course.holds, "{:#?}", course.searches);
}
