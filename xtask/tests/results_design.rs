//! Snapshot of "Beyond the homework: precision design" on the quick configuration (the test
//! networks `bn-after-relu` and `bn-after-relu-outliers` only): the result struct (rounded JSON) and the rendered markdown,
//! and the results.json section being exactly the serialized result.
//!
//! Accept an intended change with `cargo insta review` (or `INSTA_UPDATE=always cargo test`),
//! then read the diff of the `.snap` files before committing them.
use cifar_infer::search::design::{self, DesignSettings};
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
    // The search never costs more than its start and stays within T on calibration.
    for s in &d.searches {
        for m in &s.searches {
            assert!(
                m.searched.calibration_accuracy
                    >= s.float_calibration_accuracy - s.settings.tolerance
            );
            let start = s
                .uniform
                .iter()
                .chain(&s.offsets)
                .find(|a| a.label == m.start)
                .unwrap();
            assert!(m.searched.costs.get(m.metric) <= start.costs.get(m.metric));
        }
    }
}
