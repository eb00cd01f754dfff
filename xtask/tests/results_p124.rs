//! Snapshot tests of the results of Problems 1, 2 and 4: each problem's result struct on the
//! quick configuration (serialized, rounded to 6 significant digits so the snapshot is stable
//! across platforms; Problem 2's exact counts to 12), the rendered markdown of Problem 1, and the results.json section being
//! exactly the serialized result. A changed computed number changes a snapshot.
//!
//! Accept an intended change with `cargo insta review` (or `INSTA_UPDATE=always cargo test`),
//! then read the diff of the `.snap` files before committing them.
use fxp_core::json::round_json;
use serde::Serialize;
use xtask::report::Ctx;

/// Significant digits kept in the snapshots of sampled and iterated results.
const DIGITS: u32 = 6;
/// Significant digits kept for Problem 2, whose costs are sums of integers (exact in f64).
const COST_DIGITS: u32 = 12;

fn rounded_to(value: &impl Serialize, digits: u32) -> serde_json::Value {
    round_json(&serde_json::to_value(value).unwrap(), digits)
}

fn rounded(value: &impl Serialize) -> serde_json::Value {
    rounded_to(value, DIGITS)
}

/// A quick-configuration context writing into a fresh temporary folder.
fn quick_ctx() -> (tempfile::TempDir, Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(dir.path().to_path_buf(), true, None);
    (dir, ctx)
}

mod problem1 {
    use super::*;
    use fxp_core::sqnr::{self, SqnrConfig};

    #[test]
    fn result_on_the_quick_configuration() {
        let (_dir, ctx) = quick_ctx();
        let settings = xtask::p1::settings(&ctx);
        assert_eq!(settings, SqnrConfig::quick());
        let p = sqnr::problem1(&settings).unwrap();
        insta::assert_json_snapshot!("p1_result", rounded(&p));
    }

    #[test]
    fn summary_follows_the_rows() {
        let p = sqnr::problem1(&SqnrConfig::quick()).unwrap();
        let valid: Vec<_> = p.valid().collect();
        assert_eq!(p.valid_rows, valid.len());
        assert!(valid.len() < p.rows.len(), "some rows break the model");
        let gap = |r: &&sqnr::SqnrRow| (r.sqnr_measured_db - r.sqnr_formula_exact_db).abs();
        let worst = valid
            .iter()
            .max_by(|a, b| gap(a).total_cmp(&gap(b)))
            .unwrap();
        assert_eq!(p.max_gap_valid_db, gap(worst));
        assert!(p.max_gap_valid_db < 0.5, "{}", p.max_gap_valid_db);
        assert!((p.db_per_bit - 6.0206).abs() < 1e-4 && (p.offset_db - 4.7712).abs() < 1e-4);
        assert_eq!((p.seed_db_per_bit, p.seed_offset_db), (6.0, 4.8));
    }

    #[test]
    fn rendered_markdown() {
        let (dir, ctx) = quick_ctx();
        let p = sqnr::problem1(&SqnrConfig::quick()).unwrap();
        let section = xtask::p1::render(&p, &ctx).unwrap();
        assert_eq!(section.id, "p1");
        assert_eq!(section.json, serde_json::to_value(&p).unwrap());
        for dist in ["uniform", "gaussian-clipped"] {
            let figure = dir.path().join(format!("figures/p1_sqnr_{dist}.svg"));
            assert!(figure.is_file(), "{} not written", figure.display());
        }
        insta::assert_snapshot!("p1_markdown", section.markdown);
    }
}

mod problem2 {
    use super::*;
    use nn_cost::problem::{self, Settings};

    #[test]
    fn result_on_the_quick_configuration() {
        let p = problem::run(&Settings::default()).unwrap();
        insta::assert_json_snapshot!("p2_result", rounded_to(&p, COST_DIGITS));
    }

    #[test]
    fn seed_values_and_verdicts_are_data() {
        let p = problem::run(&Settings::default()).unwrap();
        let r = &p.resnet18;
        assert_eq!((r.seed_rep_bits, r.seed_comp_fa), (1.386e8, 2.377e11));
        let v = &r.vs_published;
        assert_eq!(v.rep_bits.ours, r.rep_bits);
        assert!(v.rep_bits.agrees && v.comp_fa_seed.agrees && !v.comp_fa_printed.agrees);
        assert_eq!(p.cifar_alexnet_7bit.bits, 7);
        assert_eq!(p.cifar_alexnet_7bit.comp_fa_seed, 18_500_064_380.0);
    }

    #[test]
    fn section_json_is_the_result() {
        let (_dir, ctx) = quick_ctx();
        let p = problem::run(&Settings::default()).unwrap();
        let section = xtask::p2::render(&p, &ctx).unwrap();
        assert_eq!(section.json, serde_json::to_value(&p).unwrap());
        assert!(section
            .markdown
            .contains("| resnet18 | 11689512 | 1.8141 G | 1.386e8 |"));
    }
}
