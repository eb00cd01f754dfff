//! Snapshots of the results of Problems 5–7 on the quick configuration (the result structs as
//! JSON, rounded to 6 significant digits so that they are stable across platforms) and of the
//! rendered markdown of Problems 5–7. The learning curves (hundreds of points each) are
//! snapshotted as summaries — length, extremes, mean, 8 evenly spaced points and a digest of
//! every value — while results.json keeps them whole. A changed computed number makes one of
//! the snapshots fail; accept an intended change with `cargo insta review`.
use fxp_core::json::{round_json, summarize_long_arrays};
use xtask::report::Ctx;

/// The quick configuration of `cargo xtask … --quick`.
fn quick() -> lms::problems::Settings {
    xtask::p5::settings(true)
}

/// Arrays of numbers longer than this are snapshotted as summaries (the learning curves).
const CURVE_LEN: usize = 40;

/// A result struct as JSON, rounded for a stable snapshot, its curves summarized.
fn rounded<T: serde::Serialize>(result: &T) -> serde_json::Value {
    let value = round_json(&serde_json::to_value(result).expect("serializable"), 6);
    summarize_long_arrays(&value, CURVE_LEN)
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

/// A rendered section of the quick configuration, its figures written into a temporary folder.
fn rendered(
    render: impl FnOnce(&Ctx) -> xtask::report::XResult<xtask::report::Section>,
) -> (tempfile::TempDir, Ctx, xtask::report::Section) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(dir.path().to_path_buf(), true, None);
    let section = render(&ctx).unwrap();
    (dir, ctx, section)
}

#[test]
fn p6_markdown_quick() {
    let p = lms::problems::p6(&quick()).unwrap();
    let (_dir, ctx, section) = rendered(|ctx| xtask::p5::render_p6(&p, ctx));
    assert_eq!(section.json, serde_json::to_value(&p).unwrap());
    for name in ["p6_mse", "p6_mse_all", "p6_coef_0_5", "p6_coef_50"] {
        assert!(ctx.figure(&format!("{name}.svg")).is_file(), "{name}");
    }
    insta::assert_snapshot!("p6_markdown_quick", section.markdown);
}

#[test]
fn p7_markdown_quick() {
    let p = lms::problems::p7(&quick()).unwrap();
    let (_dir, _ctx, section) = rendered(|ctx| xtask::p5::render_p7(&p, ctx));
    assert_eq!(section.json, serde_json::to_value(&p).unwrap());
    insta::assert_snapshot!("p7_markdown_quick", section.markdown);
}

/// Problems 6 and 7 compare with one reference: the exact Wiener predictor of the fitted model.
#[test]
fn one_reference_for_problems_6_and_7() {
    let s = quick();
    let (p5, p6, p7) = (
        lms::problems::p5(&s).unwrap(),
        lms::problems::p6(&s).unwrap(),
        lms::problems::p7(&s).unwrap(),
    );
    let model = &p5.series.fit.model;
    assert_eq!(p6.wiener.w, p7.wiener.w);
    for (w, a) in p6.wiener.w.iter().zip(&model.a) {
        assert!((w - a).abs() < 1e-9, "w* = a: {w} vs {a}");
    }
    assert!((p6.wiener.mmse - model.sigma_v2).abs() < 1e-9);
    assert_eq!(p6.series_estimate.w, p5.series.measured.w);
    assert!(p6.series_estimate.max_abs_gap > 0.0);
    assert_eq!(p6.mu_max, 2.0 / (3.0 * p6.wiener.sigma_x2));
    // Problem 7.1's misadjustment is measured against the reference on the same samples
    let dlms = p7.misadjustment.dlms.as_ref().unwrap();
    assert_eq!(
        dlms.ours,
        p7.dlms.final_mse / p7.dlms.final_wiener_mse - 1.0
    );
    assert_eq!(dlms.reference, 0.5 * s.dlms_mu * p7.wiener.trace());
}

/// Each LMS run's place against the bounds is what its μ says, and the report gives the reason
/// that follows from it.
#[test]
fn p6_stability_reasons_follow_the_numbers() {
    let p = lms::problems::p6(&quick()).unwrap();
    for r in &p.runs {
        let st = &r.stability;
        assert_eq!(st.within_mean_bound, r.mu < p.mu_mean_bound);
        assert_eq!(st.within_mean_square_bound, r.mu < p.mu_mean_square_bound);
        if let Some(b) = p.empirical_first_diverged_mu {
            assert_eq!(st.within_empirical_limit == Some(false), r.mu >= b);
        }
        assert_eq!(r.divergence.is_some(), r.all_diverged);
    }
    let half = p.runs.iter().find(|r| r.multiple == 0.5).unwrap();
    // 0.5 μ_max lies inside the Feuer–Weinstein bound but beyond the empirical limit
    assert!(half.stability.within_mean_square_bound);
    assert_eq!(half.stability.within_empirical_limit, Some(false));
    let (_dir, _ctx, section) = rendered(|ctx| xtask::p5::render_p6(&p, ctx));
    assert!(section
        .markdown
        .contains("but beyond the empirical limit of LMS on this series"));
    assert!(!section
        .markdown
        .contains("beyond the mean-square stability region"));
    // the 50 μ_max figure shows the blow-up, not empty axes
    let large = p.runs.iter().find(|r| r.multiple == 50.0).unwrap();
    let d = large.divergence.as_ref().unwrap();
    assert!(!d.steps.is_empty() && d.last_blow_up.is_some());
    assert!(d.w_norm2_geo_mean.last() > d.w_norm2_geo_mean.first());
}

/// The coefficient bias at the small steps is stated with its size and its scaling, never as
/// vanishing.
#[test]
fn p6_bias_is_quantified() {
    let p = lms::problems::p6(&quick()).unwrap();
    let b = p.bias_scaling.as_ref().unwrap();
    assert_eq!((b.small, b.large), (0.01, 0.1));
    let bias = |m: f64| {
        p.runs
            .iter()
            .find(|r| r.multiple == m)
            .unwrap()
            .max_abs_bias
            .unwrap()
    };
    assert_eq!(b.ratio.ours, bias(0.01) / bias(0.1));
    let (_dir, _ctx, section) = rendered(|ctx| xtask::p5::render_p6(&p, ctx));
    assert!(!section.markdown.contains("it vanishes"));
    assert!(section
        .markdown
        .contains(&format!("by up to {:.4} at 0.01 μ_max", bias(0.01))));
}

/// The caption of the DLMS graph gives its critical path at the drawn timing and, from the
/// graph, for every timing.
#[test]
fn p7_caption_critical_path_is_computed() {
    let p = lms::problems::p7(&quick()).unwrap();
    let regimes = &p.dlms_arch.critical_path_regimes;
    assert_eq!(regimes.len(), 2);
    assert_eq!(regimes[0].to_ratio, Some(2.0));
    let t = &p.dlms_arch.timing;
    assert!(
        t.t_m < 2.0 * t.t_a,
        "the drawn timing is in the first regime"
    );
    assert_eq!(p.dlms_arch.critical_path.symbolic, regimes[0].path);
    let (_dir, _ctx, section) = rendered(|ctx| xtask::p5::render_p7(&p, ctx));
    assert!(section
        .markdown
        .contains("T_M + 3T_A for T_M ≤ 2T_A and 2T_M + T_A for T_M ≥ 2T_A"));
    // the seed's sign slip is shown with the growth it would cause
    assert!(p.printed_sign.growth_per_sample > 1.0);
    assert!(section.markdown.contains("gradient *ascent*"));
}

/// Problem 5 names its cost answer and gives the fraction of samples outside r_x = 1.
#[test]
fn p5_answer_and_range_statements() {
    let p = lms::problems::p5(&quick()).unwrap();
    let a = &p.checks.cost_answer;
    assert_eq!(a.bits, p.precision.bits_analytic);
    assert_eq!(a.full_adders, p.precision.fa_cost.seed_convention);
    assert!(a.adder_width_vs_bit_true.as_ref().unwrap().agrees);
    let f = p.checks.fraction_above_one;
    assert!(f > 0.1 && f < 0.25, "{f}");
    let (_dir, _ctx, section) = rendered(|ctx| xtask::p5::render_p5(&p, ctx));
    assert!(!section.markdown.contains("constantly"));
    assert!(section
        .markdown
        .contains(&format!("|x| > 1 in {:.1} % of its samples", 100.0 * f)));
    assert!(section
        .markdown
        .contains(&format!("**{:.0} FA**", a.full_adders)));
}
