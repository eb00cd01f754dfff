//! The Problem 6 section: LMS ensembles at multiples of μ_max and the LMS architecture.
use super::curves::{coef_chart, mse_db_points, status_str};
use super::vec_str;
use crate::plot::{line_chart, write_text, LineChart, Series};
use crate::report::{md_table, opt_str, Ctx, Section, XResult};
use fxp_core::stats::db_power;
use lms::adaptive::Status;
use lms::problems::{LmsRun, P6};

/// The Problem 6 section: markdown, the MSE, coefficient and architecture figures, and
/// `results.json["p6"]` = the result.
pub fn render_p6(p: &P6, ctx: &Ctx) -> XResult<Section> {
    let mut md = String::from("## Problem 6 — SGD (LMS) linear predictor\n\n");
    md.push_str(&p6_convention(p));
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
        c.final_coef.as_ref().map_or("—".into(), |v| vec_str(v)),
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
            "Wiener MSE (same samples)",
            "M measured",
            "M ≈ μ tr(R)/2",
            "M (Feuer–Weinstein)",
            "final mean w",
        ],
        &rows,
    )
}

/// The run at `multiple` × μ_max, if it was made.
fn run_at(p: &P6, multiple: f64) -> Option<&LmsRun> {
    p.runs.iter().find(|r| r.multiple == multiple)
}

/// What the run at 0.5 μ_max does, from its outcome.
fn half_step_outcome(p: &P6) -> &'static str {
    match run_at(p, 0.5).map(|r| r.curves.status) {
        Some(Status::Diverged) => {
            "so many realizations blow up: the MSE rises dramatically, as the seed also observed, but with Gaussian \
             data it does not come back (the coefficient means of the surviving realizations wander accordingly)"
        }
        _ => "yet here every realization converges (the seed observed the MSE rise dramatically)",
    }
}

/// How the runs at 50 μ_max diverge, from their counts.
fn large_step_outcome(p: &P6) -> String {
    match run_at(p, 50.0) {
        Some(r) if r.all_diverged => {
            "At 50 μ_max every realization diverges within a few samples.".into()
        }
        Some(r) => format!(
            "At 50 μ_max {} of {} realizations diverge.",
            r.curves.diverged_realizations, r.curves.config.realizations
        ),
        None => String::new(),
    }
}

/// Whether the misadjustment at 0.1 μ_max matches the Gaussian theory, from its comparison.
fn moderate_step_match(p: &P6) -> &'static str {
    let agrees = run_at(p, 0.1)
        .and_then(|r| r.misadjustment_vs_gaussian.as_ref())
        .is_some_and(|c| c.agrees);
    if agrees {
        "matches"
    } else {
        "does not match"
    }
}

fn p6_discussion(p: &P6) -> String {
    let w = &p.wiener;
    format!(
        "\nWiener solution (our Homework 1 Problem 5 values): w* = {}, MMSE = {:.5}. Misadjustment M = (final MSE − \
         Wiener MSE)/Wiener MSE over the last quarter of the run. At 0.5 μ_max = 1/tr(R) our Gaussian series is \
         beyond the mean-square stability region of LMS (the Feuer–Weinstein bound is {:.3}; for correlated \
         regressors — prediction — the practical limit is lower still), {}. 2/(N σ_x²) = 2/tr(R) is the classical small-step \
         approximation of the mean-square bound, not a guarantee: the M₁ = 0 row of the Problem 7 stability map \
         shows where plain LMS diverges on this series. {} At \
         0.1 μ_max the measured misadjustment {} the Gaussian theory, but the mean coefficients are visibly \
         biased towards zero: LMS on a tapped delay line has regressors that depend on the current weights, an \
         O(μ) effect the independence theory ignores (it vanishes at 0.01 μ_max).\n\n",
        vec_str(&w.w),
        w.mmse,
        p.mu_mean_square_bound,
        half_step_outcome(p),
        large_step_outcome(p),
        moderate_step_match(p)
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

fn p6_coef_figures(p: &P6, ctx: &Ctx) -> XResult<String> {
    let mut md = String::new();
    for r in &p.runs {
        let name = format!("p6_coef_{}.svg", r.multiple.to_string().replace('.', "_"));
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
