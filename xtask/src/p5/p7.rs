//! The Problem 7 section: delayed LMS, the stability map and the retimed architecture.
use super::curves::{coef_chart, status_str};
use super::vec_str;
use crate::plot::{line_chart, write_text, Legend, LineChart, Series};
use crate::report::{md_table, opt_str, Ctx, Section, XResult};
use lms::adaptive::{Curves, Status};
use lms::dfg::{PathRegime, PathTime};
use lms::problems::P7;

/// The Problem 7 section: markdown, the coefficient, stability-map and architecture figures, and
/// `results.json["p7"]` = the result.
pub fn render_p7(p: &P7, ctx: &Ctx) -> XResult<Section> {
    let mut md = String::from("## Problem 7 — SGD with delayed updates\n\n");
    md.push_str(&p7_intro(p));
    md.push_str(&p7_dlms_table(p));
    md.push_str(&p7_dlms_note(p));
    md.push_str(&p7_dlms_figure(p, ctx)?);
    md.push_str(&p7_sweep_intro(p));
    md.push_str(&p7_bounds_table(p));
    md.push_str(&p7_mu_fail(p));
    md.push_str(&p7_stability_figure(p, ctx)?);
    md.push_str(RETIMING_INTRO);
    md.push_str(&p7_ratios_table(p));
    md.push_str(&p7_retiming(p));
    md.push_str(&p7_arch_figures(p, ctx)?);
    Ok(Section {
        id: "p7".into(),
        markdown: md,
        json: serde_json::to_value(p)?,
    })
}

fn p7_intro(p: &P7) -> String {
    let (s, g) = (&p.settings, &p.printed_sign);
    format!(
        "Delayed LMS (DLMS): w_n = w_{{n−1}} + μ e_{{n−M₁}} x_{{n−M₁}}, the error computed with the weights available \
         M₁ samples earlier (same conventions, reference and ensembles as Problem 6; M₁ = 0 is LMS).\n\n\
         **Where the seed slips.** It writes the update as w_n ← w_{{n−1}} + μ∇_w(e²_{{n−M₁}}). Since \
         ∇_w e² = −2e x, that is gradient *ascent*, w_n = w_{{n−1}} − 2μ e_{{n−M₁}} x_{{n−M₁}}: along the largest \
         eigenvalue λ_max = {:.4} of R the mean weight error then obeys v_{{n+1}} = v_n + 2μλ v_{{n−M₁}}, whose \
         root z = {:.6} > 1 (of z^{{M₁+1}} − z^{{M₁}} − 2μλ_max, at μ = {}, M₁ = {}) makes it grow by 10^{:.1} over the \
         {}-sample run — it diverges at every μ > 0. The update the seed evidently means, and runs (its μ \
         values assume it), is the descent w_n = w_{{n−1}} − (μ/2)∇_w(e²_{{n−M₁}}) used here.\n\n\
         ### M₁ = {} at μ = {} (7.1)\n\n",
        p.wiener.eigenvalues[0],
        g.growth_per_sample,
        g.mu,
        g.delay,
        g.log10_growth_over_run,
        s.dlms_len,
        s.dlms_delay,
        s.dlms_mu
    )
}

fn final_coef_str(c: &Curves) -> String {
    c.final_coef.as_ref().map_or("—".into(), vec_str)
}

fn p7_dlms_table(p: &P7) -> String {
    let row = |name: String, c: &Curves| {
        vec![
            name,
            status_str(c),
            final_coef_str(c),
            format!("{:.5}", c.final_mse),
            format!("{:.5}", c.final_wiener_mse),
            opt_str(c.misadjustment, 5),
        ]
    };
    md_table(
        &[
            "",
            "outcome",
            "final mean w",
            "final MSE",
            "reference MSE (same samples)",
            "M measured",
        ],
        &[
            row(format!("DLMS M₁ = {}", p.settings.dlms_delay), &p.dlms),
            row("LMS, same μ".into(), &p.lms_same_mu),
            vec![
                "reference w* (exact)".into(),
                "—".into(),
                vec_str(&p.wiener.w),
                format!("{:.5}", p.wiener.mmse),
                "—".into(),
                format!("{:.5} (μ tr(R)/2)", p.misadjustment.theory),
            ],
        ],
    )
}

/// The measured misadjustment of the M₁ run and of LMS against μ tr(R)/2, with the slowest
/// mode's time constant when they differ.
fn misadjustment_note(p: &P7) -> String {
    let m = &p.misadjustment;
    let part = |name: &str, c: &Option<fxp_core::compare::Comparison>| {
        c.as_ref().map(|c| {
            format!(
                "{name} {:.5} against μ tr(R)/2 = {:.5}, {}",
                c.ours,
                c.reference,
                c.verdict()
            )
        })
    };
    let parts: Vec<String> = [part("DLMS", &m.dlms), part("LMS", &m.lms)]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    let all_agree = [&m.dlms, &m.lms]
        .iter()
        .all(|c| c.as_ref().is_none_or(|c| c.agrees));
    let transient = if all_agree {
        String::new()
    } else {
        format!(
            " The excess is the slowest mode of the mean weights still decaying: its time constant \
             1/(μλ_min) = {:.0} samples is not small against the {} samples before the averaged \
             tail.",
            m.slowest_time_constant, m.tail_start
        )
    };
    format!(
        " Misadjustment on the same samples: {}.{transient}",
        parts.join("; ")
    )
}

/// The outcome of the M₁ run and its distance to LMS, in words, from the computed checks.
fn dlms_outcome(p: &P7) -> String {
    let converges = if p.dlms.status == Status::Converged {
        "As in the seed, DLMS converges at this small step"
    } else {
        "Unlike in the seed, DLMS diverges at this small step"
    };
    let trajectory = match &p.checks.dlms_vs_lms {
        Some(c) if c.agrees => "its trajectory is indistinguishable from LMS".to_string(),
        Some(c) => format!(
            "its final mean coefficients differ from LMS by up to {:.4}",
            c.ours
        ),
        None => "the comparison with LMS is void (a run diverged)".to_string(),
    };
    format!("{converges}; at μ = {} {trajectory}", p.settings.dlms_mu)
}

fn p7_dlms_note(p: &P7) -> String {
    let s = &p.settings;
    format!(
        "\n{} realizations × {} samples. {} (the delay matters when μλ is not small).{}\n\n",
        s.dlms_realizations,
        s.dlms_len,
        dlms_outcome(p),
        misadjustment_note(p)
    )
}

fn p7_dlms_figure(p: &P7, ctx: &Ctx) -> XResult<String> {
    let s = &p.settings;
    let chart = coef_chart(
        &format!(
            "Problem 7: coefficients, M₁ = {}, μ = {}",
            s.dlms_delay, s.dlms_mu
        ),
        &[("DLMS", &p.dlms), ("LMS", &p.lms_same_mu)],
        &p.wiener.w,
    );
    line_chart(&ctx.figure("p7_dlms_coef.svg"), &chart)?;
    Ok(ctx.figure_link(
        "p7_dlms_coef.svg",
        &format!(
            "Problem 7: ensemble-mean coefficients of DLMS (M₁ = {}) and LMS at μ = {}",
            s.dlms_delay, s.dlms_mu
        ),
    ))
}

fn p7_sweep_intro(p: &P7) -> String {
    let s = &p.settings;
    format!(
        "\n### Sweep of μ and the stability map (7.2)\n\n\
         μ from 10⁻³ to 10^0.5, {} points per decade; for each M₁ ∈ {{{}}}, {} realizations × {} samples; final MSE = \
         mean over the last quarter. A point is *diverged* when a realization blew up or the final MSE exceeds \
         10 σ_x². Bounds: for each eigenvalue λ of R the mean weight error of DLMS obeys \
         v_{{n+1}} = v_n − μλ v_{{n−M₁}}, whose characteristic polynomial z^{{M₁+1}} − z^{{M₁}} + μλ has all roots inside \
         the unit circle iff μλ < 2 sin(π/(2(2M₁+1))) (Long, Ling & Picchi, IEEE Trans. ASSP 37(9), 1989; checked \
         numerically in the crate's tests). This gives the **mean bound** 2 sin(π/(2(2M₁+1)))/λ_max; replacing λ_max by \
         tr(R) gives the **trace bound**, which equals the seed's μ_max = 2/(N σ_x²) at M₁ = 0. Mean convergence is \
         necessary, not sufficient: the mean-square limit is lower.\n\n",
        s.sweep_per_decade,
        fxp_core::text::list(&s.sweep_delays),
        s.sweep_realizations,
        s.sweep_len
    )
}

fn p7_bounds_table(p: &P7) -> String {
    let rows: Vec<Vec<String>> = p
        .bounds
        .iter()
        .map(|b| {
            vec![
                b.delay.to_string(),
                format!("{:.4}", b.mean_bound),
                format!("{:.4}", b.trace_bound),
                opt_str(b.last_stable_mu, 4),
                opt_str(b.first_diverged_mu, 4),
            ]
        })
        .collect();
    md_table(
        &[
            "M₁",
            "mean bound",
            "trace bound",
            "largest stable μ in the sweep",
            "smallest diverged μ",
        ],
        &rows,
    )
}

/// The sweep's outcome at the seed's μ_fail, in words.
fn at_seed_mu_fail(p: &P7) -> &'static str {
    match p.checks.at_seed_mu_fail {
        Some(Status::Converged) => "is still stable",
        Some(Status::Diverged) => "diverges, as in the seed,",
        None => "is not sampled",
    }
}

/// Whether μ_fail lies within the mean bound (as it must: mean convergence is necessary).
fn mean_bound_relation(p: &P7) -> &'static str {
    match p.checks.mu_fail_within_mean_bound {
        Some(true) => "consistent with",
        Some(false) => "above",
        None => "to be compared with",
    }
}

fn p7_mu_fail(p: &P7) -> String {
    let (s, seed) = (&p.settings, &p.seed_values);
    let mean_bound = p
        .bounds
        .iter()
        .find(|b| b.delay == s.dlms_delay)
        .map_or(f64::NAN, |b| b.mean_bound);
    format!(
        "\n**μ_fail** (smallest μ of the sweep where DLMS with M₁ = {} diverges while LMS converges) = **{}** \
         (seed: {}). With our series DLMS(M₁ = {}) {} at μ = {}; it fails between the last stable and the \
         first diverged value above, {} the mean bound {:.3}. The seed's series (not available) has other \
         eigenvalues, so its boundary differs; the phenomenon — a μ well inside LMS's region where DLMS diverges — is \
         reproduced.\n\n",
        s.dlms_delay,
        opt_str(p.mu_fail, 4),
        seed.mu_fail,
        s.dlms_delay,
        at_seed_mu_fail(p),
        seed.mu_fail,
        mean_bound_relation(p),
        mean_bound
    )
}

fn stability_chart(p: &P7) -> LineChart {
    let mut chart = LineChart::new("Problem 7: stability map of DLMS", "μ", "final MSE")
        .log_x()
        .log_y()
        .legend(Legend::UpperLeft);
    let ymax = p.sweep.iter().map(|q| q.final_mse).fold(1.0, f64::max);
    for (i, &dl) in p.settings.sweep_delays.iter().enumerate() {
        let pts: Vec<(f64, f64)> = p
            .sweep
            .iter()
            .filter(|q| q.delay == dl)
            .map(|q| (q.mu, q.final_mse))
            .collect();
        chart = chart.series(Series::line_markers(format!("M₁ = {dl}"), pts).color(i));
        if let Some(b) = p.bounds.iter().find(|b| b.delay == dl) {
            let bound = vec![(b.mean_bound, p.wiener.mmse * 0.8), (b.mean_bound, ymax)];
            chart = chart.series(Series::dashed(format!("mean bound M₁ = {dl}"), bound).color(i));
        }
    }
    chart
        .hline(p.wiener.mmse, "reference MMSE σ_v²")
        .hline(10.0 * p.wiener.sigma_x2, "divergence threshold 10σ_x²")
}

fn p7_stability_figure(p: &P7, ctx: &Ctx) -> XResult<String> {
    line_chart(&ctx.figure("p7_stability_map.svg"), &stability_chart(p))?;
    let delays: Vec<String> = p
        .settings
        .sweep_delays
        .iter()
        .map(|d| d.to_string())
        .collect();
    Ok(ctx.figure_link(
        "p7_stability_map.svg",
        &format!(
            "Problem 7: final ensemble MSE vs μ for M₁ = {} (diverged runs at the cap), with the mean-convergence bounds (dashed)",
            delays.join(", ")
        ),
    ))
}

const RETIMING_INTRO: &str = "\n### Pipelined architecture by retiming (7.3)\n\n\
    The DLMS graph is the LMS graph of Problem 6 with M₁ delays on the error path S → MU (and x reaching U_k \
    through k + M₁ delays). Leiserson–Saxe retiming: a clock period c is feasible iff r(u) − r(v) ≤ w(e) for \
    every edge and r(u) − r(v) ≤ W(u,v) − 1 whenever D(u,v) > c, solved by Bellman–Ford; delays may cross the \
    input (pipelining). We search the smallest M₁ for which c = T_M is feasible. Every coefficient loop \
    W_k → M_k → A… → S → MU → U_k → W_k holds 3 multipliers and 4 adders (tap 3: 3 adders) and M₁ + 1 \
    delays; retiming cannot change a loop's delay count, so the answer depends on how many operations fit in T_M:\n\n";

fn p7_ratios_table(p: &P7) -> String {
    let m1 = |m: Option<usize>| m.map_or("—".into(), |m| m.to_string());
    let rows: Vec<Vec<String>> = p
        .ratios
        .iter()
        .map(|r| {
            vec![
                format!("{}", r.t_m / r.t_a),
                m1(r.min_m1),
                m1(r.min_m1_mu_free),
            ]
        })
        .collect();
    md_table(
        &[
            "T_M / T_A",
            "min M₁ (μ multiplier counted)",
            "min M₁ (μ·e a free shift)",
        ],
        &rows,
    )
}

fn p7_retiming(p: &P7) -> String {
    let r = &p.retimed_arch;
    let retiming: Vec<String> = p
        .retiming
        .iter()
        .map(|(n, r)| format!("{n}: {r}"))
        .collect();
    format!(
        "\nFor T_A < T_M < 2T_A no two operations share a stage, every one of the {} operations of the loop needs its own \
         delay, M₁ + 1 = {}: **M₁ = {}** (seed: {}) — the smallest M₁ that gives T_cp = T_M for every T_M > T_A. When \
         two or three adders fit in T_M (T_M ≥ 2T_A, ≥ 3T_A) fewer delays suffice; if μ·e is a shift, one less.\n\n\
         Retiming at T_M = {}, T_A = {} (r(v) per node): {}. The retimed graph's critical path is **{}**.\n\n",
        p.min_m1 + 1,
        p.min_m1 + 1,
        p.min_m1,
        p.seed_values.min_m1,
        r.timing.t_m,
        r.timing.t_a,
        retiming.join(", "),
        r.critical_path.symbolic
    )
}

/// The critical path of a graph over the timings, e.g. "T_M + 3T_A for T_M ≤ 2T_A and 2T_M + T_A
/// for T_M ≥ 2T_A".
fn regimes_str(regimes: &[PathRegime]) -> String {
    let ratio = |r: f64| {
        let digits = format!("{r:.3}");
        match digits.trim_end_matches('0').trim_end_matches('.') {
            "1" => "T_A".to_string(),
            n => format!("{n}T_A"),
        }
    };
    let parts: Vec<String> = regimes
        .iter()
        .map(|g| {
            let range = match (g.from_ratio > 0.0, g.to_ratio) {
                (false, None) => "for every T_M, T_A".to_string(),
                (false, Some(b)) => format!("for T_M ≤ {}", ratio(b)),
                (true, None) => format!("for T_M ≥ {}", ratio(g.from_ratio)),
                (true, Some(b)) => format!("for {} ≤ T_M ≤ {}", ratio(g.from_ratio), ratio(b)),
            };
            format!("{} {range}", g.path)
        })
        .collect();
    parts.join(" and ")
}

/// "one multiplier" when the retimed critical path is T_M, else the path itself.
fn retimed_path_words(p: &P7) -> String {
    let path = p.retimed_arch.critical_path.symbolic;
    if path == (PathTime { muls: 1, adds: 0 }) {
        "one multiplier".into()
    } else {
        path.to_string()
    }
}

fn p7_arch_figures(p: &P7, ctx: &Ctx) -> XResult<String> {
    write_text(&ctx.figure("p7_dlms_arch.svg"), &p.dlms_arch.svg)?;
    write_text(&ctx.figure("p7_dlms_retimed.svg"), &p.retimed_arch.svg)?;
    write_text(&ctx.figure("p7_dlms_retimed.dot"), &p.retimed_arch.dot)?;
    write_text(&ctx.figure("p7_dlms_arch.dot"), &p.dlms_arch.dot)?;
    let mut md = ctx.figure_link(
        "p7_dlms_arch.svg",
        &format!(
            "Problem 7: DLMS graph with M₁ = {} before retiming (critical path in red: {} = {} at the \
             drawn T_M = {}, T_A = {}; from the graph, {})",
            p.min_m1,
            p.dlms_arch.critical_path.symbolic,
            p.dlms_arch.critical_path.time,
            p.dlms_arch.timing.t_m,
            p.dlms_arch.timing.t_a,
            regimes_str(&p.dlms_arch.critical_path_regimes)
        ),
    );
    md.push_str(&ctx.figure_link(
        "p7_dlms_retimed.svg",
        &format!(
            "Problem 7: the retimed DLMS graph, critical path {}",
            retimed_path_words(p)
        ),
    ));
    md.push_str(&format!(
        "\nGraphviz source of the retimed graph (`figures/p7_dlms_retimed.dot`):\n\n```dot\n{}```\n",
        p.retimed_arch.dot
    ));
    Ok(md)
}
