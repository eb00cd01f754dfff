//! The Problem 6 section: LMS ensembles at multiples of μ_max and the LMS architecture.
use super::curves::{coef_chart, mse_db_points, status_str};
use super::vec_str;
use crate::plot::{line_chart, write_text, LineChart, Series};
use crate::report::{md_table, opt_str, Ctx, Section, XResult};
use fxp_core::stats::db_power;
use lms::adaptive::{DivergenceTrace, Status};
use lms::problems::{LmsRun, P6};

/// The Problem 6 section: markdown, the MSE, coefficient and architecture figures, and
/// `results.json["p6"]` = the result.
pub fn render_p6(p: &P6, ctx: &Ctx) -> XResult<Section> {
    let mut md = String::from("## Problem 6 — SGD (LMS) linear predictor\n\n");
    md.push_str(&p6_convention(p));
    md.push_str(&p6_reference(p));
    md.push_str(&p6_bounds_table(p));
    md.push_str(
        "\nThe problem asks for μ = 0.5, 0.01 and 50 × μ_max (the seed's text also reads like μ = 0.5; we use multiples \
         of μ_max as the statement says); 0.1 × μ_max is added to check the misadjustment at a moderate step.\n\n",
    );
    md.push_str(&p6_runs_table(p));
    md.push_str(&p6_discussion(p));
    md.push_str(&p6_mse_figures(p, ctx)?);
    md.push_str(&p6_coef_figures(p, ctx)?);
    md.push_str(&p6_arch(p, ctx)?);
    Ok(Section {
        id: "p6".into(),
        markdown: md,
        json: serde_json::to_value(p)?,
    })
}

fn p6_convention(p: &P6) -> String {
    let s = &p.settings;
    format!(
        "Convention: ŷ_n = w_{{n−1}}ᵀx_n with x_n = (x_{{n−1}}, x_{{n−2}}, x_{{n−3}}), e_n = x_n − ŷ_n, \
         **w_n = w_{{n−1}} + μ e_n x_n** (−μ/2 times the gradient of e_n²), w_0 = 0. This is the convention for which \
         the step bound is 2/tr(R) = 2/(N σ_x²). Ensembles: {} independent realizations of {} samples of the AR(3) \
         process (one seeded stream each, run in parallel, summed in a fixed order), curves are ensemble means \
         averaged over blocks of {} samples. A realization counts as diverged when e² exceeds 10⁶·σ_x² (it then \
         contributes that cap to the MSE and nothing to the coefficient means).\n\n",
        s.lms_realizations,
        s.lms_len,
        p.runs.first().map_or(1, |r| r.curves.config.record_every)
    )
}

/// The reference of Problems 6 and 7, named and justified, beside Problem 5's estimate.
fn p6_reference(p: &P6) -> String {
    let (w, est) = (&p.wiener, &p.series_estimate);
    format!(
        "**Reference** (every Wiener line, reference MSE and misadjustment of Problems 6 and 7): the \
         exact 3-tap Wiener predictor of the fitted AR(3) model of Problem 5, w* = a = {}, MMSE = σ_v² \
         = {:.5}, with σ_x² = r₀ = {:.5} and R from the model's autocorrelation (eigenvalues {}). The \
         ensembles are fresh realizations of that model, so w* is the optimum LMS converges to. \
         Problem 5's estimate from its single {}-sample series, {} (MMSE {:.5}), differs from it by up \
         to {:.4}: sampling error of the size of the biases discussed below, so it is not the \
         reference. μ_max and the bounds use the same R. Misadjustment M = (final MSE − reference \
         MSE)/reference MSE, both averaged over the last quarter of the run on the same samples.\n\n",
        vec_str(&w.w),
        w.mmse,
        w.sigma_x2,
        vec_str(&w.eigenvalues),
        p.settings.series_len,
        vec_str(&est.w),
        est.mmse,
        est.max_abs_gap
    )
}

/// The empirical limit of LMS from the stability map, as a table cell.
fn empirical_limit_str(p: &P6) -> String {
    match (p.empirical_last_stable_mu, p.empirical_first_diverged_mu) {
        (Some(a), Some(b)) => format!("stable at {a:.4}, diverged from {b:.4}"),
        (Some(a), None) => format!("stable up to {a:.4} (nothing diverged)"),
        (None, Some(b)) => format!("diverged from {b:.4}"),
        (None, None) => "—".into(),
    }
}

fn p6_bounds_table(p: &P6) -> String {
    let row =
        |name: &str, ours: f64, seed: String| vec![name.to_string(), format!("{ours:.4}"), seed];
    md_table(
        &["bound", "ours", "seed"],
        &[
            row(
                "μ_max = 2/(N σ_x²)",
                p.mu_max,
                format!("{}", p.seed_values.mu_max),
            ),
            row("mean convergence 2/λ_max", p.mu_mean_bound, "—".into()),
            row(
                "mean-square, Gaussian regressors (Feuer–Weinstein 1985, independence theory)",
                p.mu_mean_square_bound,
                "—".into(),
            ),
            vec![
                "empirical limit of LMS on this series (the M₁ = 0 row of Problem 7's stability map, \
                 same realizations)"
                    .into(),
                empirical_limit_str(p),
                "—".into(),
            ],
        ],
    )
}

fn run_row(r: &LmsRun) -> Vec<String> {
    let c = &r.curves;
    vec![
        format!("{} μ_max", r.multiple),
        format!("{:.4}", r.mu),
        status_str(c),
        if c.status == Status::Converged {
            format!("{:.5}", c.final_mse)
        } else {
            "—".into()
        },
        format!("{:.5}", c.final_wiener_mse),
        opt_str(c.misadjustment, 4),
        format!("{:.4}", r.misadjustment_small_mu),
        opt_str(r.misadjustment_independence, 4),
        c.final_coef.as_ref().map_or("—".into(), vec_str),
        opt_str(r.max_abs_bias, 4),
    ]
}

fn p6_runs_table(p: &P6) -> String {
    let rows: Vec<Vec<String>> = p.runs.iter().map(run_row).collect();
    md_table(
        &[
            "μ",
            "value",
            "outcome",
            "final MSE",
            "reference MSE (same samples)",
            "M measured",
            "M ≈ μ tr(R)/2",
            "M (Feuer–Weinstein)",
            "final mean w",
            "largest \\|w − w*\\|",
        ],
        &rows,
    )
}

/// The run at `multiple` × μ_max, if it was made.
fn run_at(p: &P6, multiple: f64) -> Option<&LmsRun> {
    p.runs.iter().find(|r| r.multiple == multiple)
}

/// What the run at 0.5 μ_max does, from its outcome.
fn half_step_outcome(p: &P6) -> String {
    match run_at(p, 0.5) {
        Some(r) if r.curves.status == Status::Diverged => format!(
            "{} of {} realizations blow up: the MSE rises dramatically, as the seed also observed, \
             but with Gaussian data it does not come back (the coefficient means of the surviving \
             realizations wander accordingly)",
            r.curves.diverged_realizations, r.curves.config.realizations
        ),
        Some(_) => {
            "every realization converges (the seed observed the MSE rise dramatically)".into()
        }
        None => "(not run)".into(),
    }
}

/// Why a step converges or diverges, from where it lies against the bounds.
fn stability_reason(p: &P6, r: &LmsRun) -> String {
    let st = &r.stability;
    let empirical = || match (p.empirical_last_stable_mu, p.empirical_first_diverged_mu) {
        (Some(a), Some(b)) => format!(
            "the M₁ = 0 row of Problem 7's stability map (the same realizations) is stable at \
             {a:.4} and diverges from {b:.4}"
        ),
        _ => "the M₁ = 0 row of Problem 7's stability map".into(),
    };
    if !st.within_mean_bound {
        format!(
            "beyond even the mean-convergence bound 2/λ_max = {:.3}",
            p.mu_mean_bound
        )
    } else if !st.within_mean_square_bound {
        format!(
            "inside the mean-convergence bound 2/λ_max = {:.3} but beyond the Feuer–Weinstein \
             mean-square bound {:.3}",
            p.mu_mean_bound, p.mu_mean_square_bound
        )
    } else {
        let theory = format!(
            "inside the Feuer–Weinstein mean-square bound {:.3}, where the independence theory \
             predicts convergence (with M = {})",
            p.mu_mean_square_bound,
            opt_str(r.misadjustment_independence, 2)
        );
        match st.within_empirical_limit {
            Some(false) => format!(
                "{theory}, but beyond the empirical limit of LMS on this series: {}. The \
                 independence theory assumes successive regressors independent; those of a tapped \
                 delay line share N − 1 samples, and at a step this large that matters",
                empirical()
            ),
            Some(true) => format!("{theory}, and within the empirical limit: {}", empirical()),
            None => format!(
                "{theory}, between the stable and diverged steps of the empirical limit: {}",
                empirical()
            ),
        }
    }
}

/// How the runs at 50 μ_max diverge, from their counts and their divergence trace.
fn large_step_outcome(p: &P6) -> String {
    let Some(r) = run_at(p, 50.0) else {
        return String::new();
    };
    let where_ = stability_reason(p, r);
    match &r.divergence {
        Some(d) if r.all_diverged => format!(
            "At 50 μ_max = {:.3}, {where_}, every realization diverges: e² and ‖w‖² grow by orders \
             of magnitude per sample until the cap (half of the realizations have blown up by \
             n = {}, all by n = {}; figure below).",
            r.mu,
            d.median_blow_up.map_or("—".into(), |n| n.to_string()),
            d.last_blow_up.map_or("—".into(), |n| n.to_string())
        ),
        _ => format!(
            "At 50 μ_max = {:.3}, {where_}, {} of {} realizations diverge.",
            r.mu, r.curves.diverged_realizations, r.curves.config.realizations
        ),
    }
}

/// The measured misadjustment of every converged run against the Gaussian theory.
fn misadjustment_sentence(p: &P6) -> String {
    let parts: Vec<String> = p
        .runs
        .iter()
        .filter_map(|r| {
            r.misadjustment_vs_gaussian.as_ref().map(|c| {
                format!(
                    "at {} μ_max M = {:.4} against {:.4}, {}",
                    r.multiple,
                    c.ours,
                    c.reference,
                    c.verdict()
                )
            })
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            "Measured misadjustment against the Feuer–Weinstein theory: {}.",
            parts.join("; ")
        )
    }
}

/// The coefficient bias of one converged run, e.g. "by up to 0.0097 (w3 6.3 % low) at 0.01 μ_max".
fn bias_of(r: &LmsRun) -> Option<String> {
    let (max, rel) = (r.max_abs_bias?, r.bias_relative.as_ref()?);
    let (k, worst) = rel
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))?;
    let side = if *worst < 0.0 { "smaller" } else { "larger" };
    Some(format!(
        "by up to {max:.4} at {} μ_max (|w{}| {:.1} % {side} than |w{}*|)",
        r.multiple,
        k + 1,
        100.0 * worst.abs(),
        k + 1
    ))
}

/// A ratio with at most three decimals and no trailing zeros (0.1, not 0.100).
fn trimmed(x: f64) -> String {
    let digits = format!("{x:.3}");
    digits
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// The coefficient bias of the converged runs and how it scales with μ.
fn bias_sentence(p: &P6) -> String {
    let converged: Vec<&LmsRun> = p
        .runs
        .iter()
        .filter(|r| r.curves.misadjustment.is_some())
        .collect();
    let parts: Vec<String> = converged.iter().filter_map(|r| bias_of(r)).collect();
    if parts.is_empty() {
        return String::new();
    }
    let toward_zero = converged
        .iter()
        .filter_map(|r| r.bias_relative.as_ref())
        .flatten()
        .all(|x| *x < 0.0);
    let direction = if toward_zero {
        "biased towards zero"
    } else {
        "biased"
    };
    let scaling = p.bias_scaling.as_ref().map_or(String::new(), |b| {
        let verdict = if b.ratio.agrees {
            "it shrinks in proportion to μ"
        } else {
            "it does not scale in proportion to μ"
        };
        format!(
            " From {} to {} μ_max the largest bias changes by the factor {:.3} for a step ratio \
             {} — {}: {verdict}, it does not vanish.",
            b.large,
            b.small,
            b.ratio.ours,
            trimmed(b.ratio.reference),
            b.ratio.verdict()
        )
    });
    format!(
        " The final mean coefficients are {direction}: {}.{scaling} LMS on a tapped delay line has \
         regressors that depend on the current weights, an O(μ) effect the independence theory \
         ignores.",
        parts.join(", ")
    )
}

fn p6_discussion(p: &P6) -> String {
    let half = run_at(p, 0.5);
    format!(
        "\nAt 0.5 μ_max = 1/tr(R) = {}, {}. The step is {}. 2/(N σ_x²) = 2/tr(R) is the classical \
         small-step approximation of the mean-square bound, not a guarantee. {} {}{}\n\n",
        half.map_or("—".into(), |r| format!("{:.4}", r.mu)),
        half_step_outcome(p),
        half.map_or(String::new(), |r| stability_reason(p, r)),
        large_step_outcome(p),
        misadjustment_sentence(p),
        bias_sentence(p)
    )
}

fn mse_chart(p: &P6, title: &str, all: bool) -> LineChart {
    let mut chart = LineChart::new(title, "iteration n", "MSE (dB)");
    for (i, r) in p.runs.iter().enumerate() {
        let diverged = r.curves.status == Status::Diverged;
        if diverged && !all {
            continue;
        }
        let label = format!(
            "μ = {} μ_max{}",
            r.multiple,
            if diverged { " (diverged, capped)" } else { "" }
        );
        chart = chart.series(Series::line(label, mse_db_points(&r.curves)).color(i));
    }
    chart
        .hlines
        .push((db_power(p.wiener.mmse), "Wiener MMSE".into()));
    chart
        .hlines
        .push((db_power(p.wiener.sigma_x2), "σ_x² (w = 0)".into()));
    chart
}

fn p6_mse_figures(p: &P6, ctx: &Ctx) -> XResult<String> {
    let converging = mse_chart(p, "Problem 6: ensemble MSE of LMS (converging runs)", false);
    let all = mse_chart(
        p,
        "Problem 6: ensemble MSE of LMS (all runs, diverged capped)",
        true,
    );
    line_chart(&ctx.figure("p6_mse.svg"), &converging)?;
    line_chart(&ctx.figure("p6_mse_all.svg"), &all)?;
    let mut md = ctx.figure_link(
        "p6_mse.svg",
        "Problem 6: ensemble-averaged MSE (dB) of the converging runs against the Wiener MMSE",
    );
    md.push_str(&ctx.figure_link("p6_mse_all.svg", "Problem 6: ensemble-averaged MSE (dB) of all runs; diverged realizations count as the cap 10⁶·σ_x²"));
    Ok(md)
}

/// What happened in a run whose every realization diverged: e² and ‖w‖² sample by sample until
/// the cap (there are no coefficient means left to draw).
fn divergence_chart(p: &P6, r: &LmsRun, d: &DivergenceTrace) -> LineChart {
    let pts = |v: &[f64]| -> Vec<(f64, f64)> {
        d.steps
            .iter()
            .zip(v)
            .map(|(&n, &y)| (n as f64, y))
            .collect()
    };
    let by = d
        .last_blow_up
        .map_or(String::new(), |n| format!(" by n = {n}"));
    LineChart::new(
        format!(
            "Problem 6: μ = {} μ_max, all {} realizations blow up{by}",
            r.multiple, r.curves.config.realizations
        ),
        "sample n",
        "e_n², ‖w_n‖²: geometric means; alive: count",
    )
    .log_y()
    .series(Series::line_markers("e_n²", pts(&d.e2_geo_mean)))
    .series(Series::line_markers(
        "‖w_n‖² (after the update)",
        pts(&d.w_norm2_geo_mean),
    ))
    .series(Series::dashed(
        "realizations still alive (count)",
        pts(&d.alive.iter().map(|&a| a as f64).collect::<Vec<_>>()),
    ))
    .hline(
        r.curves.config.cap_factor * p.wiener.sigma_x2,
        "divergence cap 10⁶·σ_x²",
    )
    .hline(p.wiener.sigma_x2, "σ_x²")
}

fn p6_coef_figures(p: &P6, ctx: &Ctx) -> XResult<String> {
    let mut md = String::new();
    for r in &p.runs {
        let name = format!("p6_coef_{}.svg", r.multiple.to_string().replace('.', "_"));
        if let (true, Some(d)) = (r.all_diverged, &r.divergence) {
            line_chart(&ctx.figure(&name), &divergence_chart(p, r, d))?;
            md.push_str(&ctx.figure_link(
                &name,
                &format!(
                    "Problem 6: what happens at μ = {} μ_max — e_n² and ‖w_n‖² (geometric means over \
                     the realizations still alive, dashed: how many) grow until every realization \
                     has hit the cap; no coefficient means are left to plot",
                    r.multiple
                ),
            ));
            continue;
        }
        let title = format!("Problem 6: LMS coefficients, μ = {} μ_max", r.multiple);
        line_chart(
            &ctx.figure(&name),
            &coef_chart(&title, &[("", &r.curves)], &p.wiener.w),
        )?;
        md.push_str(&ctx.figure_link(&name, &format!("Problem 6: ensemble-mean coefficients at μ = {} μ_max (surviving realizations), Wiener values as reference lines", r.multiple)));
    }
    Ok(md)
}

fn p6_arch_table(p: &P6) -> String {
    let (a, seed) = (&p.arch, &p.seed_values);
    md_table(
        &["", "ours (from the graph)", "numeric", "seed"],
        &[
            vec![
                "critical path".into(),
                a.critical_path.symbolic.to_string(),
                format!("{}", a.critical_path.time),
                seed.critical_path.clone(),
            ],
            vec![
                "latency".into(),
                a.latency.symbolic.to_string(),
                format!("{}", a.latency.time),
                seed.latency.clone(),
            ],
            vec![
                "throughput".into(),
                a.throughput.clone(),
                format!("{:.4}", a.throughput_value),
                seed.throughput.clone(),
            ],
        ],
    )
}

fn p6_arch(p: &P6, ctx: &Ctx) -> XResult<String> {
    let a = &p.arch;
    let mut md = format!(
        "\n### Architecture (6.3)\n\n\
         The 3-tap LMS predictor as a data-flow graph: filter multipliers M1–M3, adder chain A1–A2 (ŷ), error \
         subtractor S, the μ multiplier MU (counted, as the seed does), update multipliers U1–U3 and update adders \
         W1–W3 whose one-delay self-loops are the coefficient registers; x reaches M_k and U_k through k delays. The \
         critical path is the longest path through zero-delay edges ({}); the latency the longest zero-delay path into \
         the output ŷ; the throughput one sample per critical path. Numeric values at T_M = {}, T_A = {}.\n\n",
        a.critical_path.nodes.join(" → "),
        a.timing.t_m,
        a.timing.t_a
    );
    md.push_str(&p6_arch_table(p));
    write_text(&ctx.figure("p6_lms_arch.svg"), &a.svg)?;
    write_text(&ctx.figure("p6_lms_arch.dot"), &a.dot)?;
    md.push('\n');
    md.push_str(&ctx.figure_link(
        "p6_lms_arch.svg",
        "Problem 6: the LMS data-flow graph (critical path in red; kD = k delays)",
    ));
    md.push_str(&format!(
        "\nGraphviz source (`figures/p6_lms_arch.dot`):\n\n```dot\n{}```\n",
        a.dot
    ));
    Ok(md)
}
