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

    #[test]
    fn the_gaussian_peak_is_taken_not_raised() {
        let (_dir, ctx) = quick_ctx();
        let p = sqnr::problem1(&SqnrConfig::quick()).unwrap();
        let gauss = p
            .zetas
            .iter()
            .find(|z| z.dist == "gaussian-clipped")
            .unwrap();
        assert_eq!(gauss.clipped_fraction, sqnr::normal_two_sided_tail(4.0));
        let md = xtask::p1::render(&p, &ctx).unwrap().markdown;
        assert!(!md.contains("raises ζ"));
        assert!(md.contains(&format!(
            "taking the peak at x_m = 4σ (the fraction {:.1e} of the samples beyond it is clipped)",
            gauss.clipped_fraction
        )));
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

mod problem4 {
    use super::*;
    use nonlinear_sgd::problem::{self, seed, Settings};
    use serde_json::Value;

    /// Below this magnitude a number of Problem 4 is rounding noise (quadrature error estimates
    /// ≈ 1e-14, the zero eigenvalue of the scaling direction, gradients at converged minima):
    /// the snapshot holds it as 0 so that it does not depend on the last bits of libm.
    const NOISE: f64 = 1e-9;

    fn flush_noise(v: Value) -> Value {
        match v {
            Value::Number(n) if n.as_f64().is_some_and(|x| n.is_f64() && x.abs() < NOISE) => {
                Value::from(0.0)
            }
            Value::Array(a) => Value::Array(a.into_iter().map(flush_noise).collect()),
            Value::Object(o) => {
                Value::Object(o.into_iter().map(|(k, x)| (k, flush_noise(x))).collect())
            }
            other => other,
        }
    }

    fn quick() -> problem::Problem4 {
        problem::run(&Settings::quick()).unwrap()
    }

    #[test]
    fn result_on_the_quick_configuration() {
        let (_dir, ctx) = quick_ctx();
        assert_eq!(xtask::p4::settings(&ctx), Settings::quick());
        insta::assert_json_snapshot!("p4_result", flush_noise(rounded(&quick())));
    }

    #[test]
    fn seed_comparisons_are_computed() {
        let p = quick();
        let cmp = &p.seed_comparisons;
        assert_eq!(cmp.c.ours, p.at_seed_weights.c);
        assert_eq!(cmp.c.reference, seed::C);
        assert!(cmp.c.agrees, "C = {} against the seed's 3.063", cmp.c.ours);
        assert!(
            !cmp.grad_w1.agrees && cmp.twice_grad_w1.agrees,
            "the seed's gradient is 2×"
        );
        assert!(
            !cmp.stationary.agrees,
            "the seed's end point is not stationary"
        );
        assert!(cmp.c_at_seed_bits.as_ref().unwrap().agrees);
        assert!(cmp.bits_validated.as_ref().unwrap().agrees);
        assert_eq!(p.precision_seed_weights.bits_validated, Some(seed::BITS));
    }

    #[test]
    fn section_json_keeps_the_results_layout() {
        let (dir, ctx) = quick_ctx();
        let p = quick();
        let section = xtask::p4::render(&p, &ctx).unwrap();
        assert_eq!(section.json, serde_json::to_value(&p).unwrap());
        let j = &section.json;
        assert_eq!(j["c_quadrature"], serde_json::json!(p.sgd.quadrature.c));
        assert_eq!(
            j["precision"]["grad_w1"],
            serde_json::json!(p.precision.float.grad[0])
        );
        assert_eq!(
            j["c_quantized"]["4"],
            serde_json::json!(p.precision.row(4).unwrap().c)
        );
        assert_eq!(
            j["minima"][0]["eigenvalues_f"],
            serde_json::json!(p.minima.minima[0].eigenvalues)
        );
        assert_eq!(j["seed_values"]["c_4bits"], serde_json::json!(3.068));
        for fig in ["p4_convergence", "p4_weights", "p4_precision"] {
            assert!(dir.path().join(format!("figures/{fig}.svg")).is_file());
        }
        assert!(section
            .markdown
            .contains("| C (quadrature) | 3.06292 | 3.063 | agrees (within 0.0005) |"));
        insta::assert_snapshot!("p4_markdown", section.markdown);
    }

    /// The saturating precisions are computed, and the case that decides the seed's 4 bits is
    /// discussed with its numbers.
    #[test]
    fn deciding_case_and_integrals_are_stated() {
        let (_dir, ctx) = quick_ctx();
        let p = quick();
        let md = xtask::p4::render(&p, &ctx).unwrap().markdown;
        let at_seed = &p.precision_seed_weights;
        let d = at_seed.deciding_case().unwrap();
        assert_eq!(d.bits, seed::BITS);
        assert!(d.clamped && d.beyond_half_step);
        assert!(md.contains(&format!(
            "at B = {} at the seed's weights",
            fxp_core::text::list(at_seed.clamped_bits())
        )));
        assert!(md.contains(&format!(
            "is clamped to the top level {} and |δ| = {:.4} exceeds Δ/2 = {}",
            d.top_level,
            d.error.abs(),
            d.half_step
        )));
        assert!(!md.contains("At B = 1, 2, 3 (our weights)"));
        // eqs. (9) and (10) as integrals, and the seed's chain-rule slip
        assert!(md.contains("(−4/π)∫(y − y2)ỹ2w3ỹ1x2/(1+ỹ2²)dθ (eq. (9))"));
        assert!(md.contains("(−2/π)∫(y − y2)ỹ2y1/(1+ỹ2²)dθ (eq. (10))"));
        assert!(md.contains("repeats that factor unchanged for ∂C/∂w2"));
    }
}
