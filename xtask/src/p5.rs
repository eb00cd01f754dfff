//! Problems 5, 6 and 7 report: the fitted time series, the fixed-point predictor (P5), LMS and
//! its architecture (P6), delayed LMS, its stability map and the retimed architecture (P7).
//!
//! The numbers come from `lms::problems::{p5, p6, p7}`; this module and its children only render
//! them (markdown and figures; the results.json section is the result struct itself): P5 here,
//! [`render_p6`] in `p5/p6.rs`, [`render_p7`] in `p5/p7.rs`, shared chart helpers in
//! `p5/curves.rs`.
mod curves;
mod p6;
mod p7;

pub use p6::render_p6;
pub use p7::render_p7;

use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, tuple_str, Ctx, Section, XResult};
use lms::precision::{FaCost, Pair};
use lms::problems::{self, Settings, P5};
use ndarray::AsArray;

fn vec_str<'a>(v: impl AsArray<'a, f64>) -> String {
    tuple_str(&fxp_core::array::slice(v), 4)
}

/// The configuration of `--quick` (`quick = true`) or of the real run, seed 1.
pub fn settings(quick: bool) -> Settings {
    if quick {
        Settings::quick(1)
    } else {
        Settings::full(1)
    }
}

/// Problem 5: the series fit, the Wiener predictor, the precision analysis.
pub fn run_p5(ctx: &Ctx) -> XResult<Vec<Section>> {
    ctx.step("p5: series fit, Wiener, precision (bit-true grid)");
    let p5 = problems::p5(&settings(ctx.quick))?;
    Ok(vec![render_p5(&p5, ctx)?])
}

/// Problem 6: LMS ensembles and the LMS architecture.
pub fn run_p6(ctx: &Ctx) -> XResult<Vec<Section>> {
    ctx.step("p6: LMS ensembles, architecture");
    let p6 = problems::p6(&settings(ctx.quick))?;
    Ok(vec![render_p6(&p6, ctx)?])
}

/// Problem 7: delayed LMS, the stability map and the retimed architecture.
pub fn run_p7(ctx: &Ctx) -> XResult<Vec<Section>> {
    ctx.step("p7: delayed LMS, stability map, retiming");
    let p7 = problems::p7(&settings(ctx.quick))?;
    Ok(vec![render_p7(&p7, ctx)?])
}

/// The Problem 5 section: markdown, the SNR-loss figure, and `results.json["p5"]` = the result.
pub fn render_p5(p: &P5, ctx: &Ctx) -> XResult<Section> {
    let mut md = String::from("## Problem 5 — Fixed-point linear predictor\n\n");
    md.push_str(&p5_series(p));
    md.push_str(&p5_statistics_table(p));
    md.push_str(&p5_wiener(p));
    md.push_str(&p5_budget(p));
    md.push_str(&p5_precision_table(p));
    md.push_str(&p5_bit_true_table(p));
    md.push_str(&p5_loss_figure(p, ctx)?);
    md.push_str(&p5_cost_table(p));
    md.push_str(&p5_cost_note(p));
    md.push_str(&p5_cost_answer(p));
    Ok(Section {
        id: "p5".into(),
        markdown: md,
        json: serde_json::to_value(p)?,
    })
}

fn p5_series(p: &P5) -> String {
    let f = &p.series.fit;
    format!(
        "### The time series\n\nThe seed's series (Homework 1, Problem 5) is not available; the seed states only \
         σ_x² = {}, σ_e² = {} (MSE of the optimal 3-tap predictor) and ‖w*‖² = {}. AR(1), AR(2), AR(1) plus \
         noise and a sinusoid in noise cannot match all three. We use an **AR(3) process driven by white Gaussian noise**, \
         x_n = a₁x_{{n−1}} + a₂x_{{n−2}} + a₃x_{{n−3}} + v_n: its 3-tap Wiener predictor is a and its MMSE is σ_v², so \
         σ_v² = {}, ‖a‖² = {} and, through the Yule–Walker equations, r₀(a) = {}. This leaves a one-parameter \
         family; we take, deterministically, the {} (grid search on the sphere ‖a‖² = {} with bisection on the \
         constraint, {} members found). Result: a = {}, largest pole modulus {:.4}. The Problem 5 series is {} samples \
         from stream 0 of seed {}; every number below is computed from it.\n\n",
        f.target.sigma_x2,
        f.target.sigma_e2,
        f.target.w_norm2,
        f.target.sigma_e2,
        f.target.w_norm2,
        f.target.sigma_x2,
        f.selection,
        f.target.w_norm2,
        f.family_members_found,
        vec_str(&f.model.a),
        f.pole_radius,
        p.series.len,
        p.settings.seed
    )
}

fn p5_statistics_table(p: &P5) -> String {
    let (f, m, seed) = (&p.series.fit, &p.series.measured, &p.seed_values);
    let row = |name: &str, seed: f64, model: f64, measured: f64| {
        vec![
            name.into(),
            format!("{seed}"),
            format!("{model:.5}"),
            format!("{measured:.5}"),
        ]
    };
    let db = |x: f64| format!("{x:.3} dB");
    md_table(
        &[
            "statistic",
            "seed (target)",
            "model (exact)",
            "measured on our series",
        ],
        &[
            row("σ_x²", seed.sigma_x2, f.model_sigma_x2, m.sigma_x2),
            row("σ_e² (3-tap MMSE)", seed.sigma_e2, f.model_sigma_e2, m.mmse),
            row("‖w*‖²", seed.w_norm2, f.model_w_norm2, m.w_norm2),
            vec![
                "SNR = 10log10(σ_x²/σ_e²)".into(),
                db(p.checks.seed_snr_db),
                db(p.checks.model_snr_db),
                db(m.snr_db),
            ],
        ],
    )
}

fn p5_wiener(p: &P5) -> String {
    let m = &p.series.measured;
    format!(
        "\nMeasured differences are sampling error of a {}-sample series. Wiener solution from the estimated \
         autocorrelation r = {}: w* = {}, eigenvalues of R {}.\n\n",
        p.series.len,
        vec_str(&m.r),
        vec_str(&m.w),
        vec_str(&m.eigenvalues)
    )
}

/// "the seed's 0.008199 is right and its 0.008119 is a typo", as the comparisons say.
fn budget_verdict(p: &P5) -> String {
    let c = &p.checks;
    let word = |agrees: bool| if agrees { "right" } else { "a typo" };
    format!(
        "the seed's {} is {} and its {} is {}",
        c.budget_printed.reference,
        word(c.budget_printed.agrees),
        c.budget_typo.reference,
        word(c.budget_typo.agrees)
    )
}

/// A small count in words ("two"), as the report's prose writes it.
fn count_word(n: i32) -> String {
    const WORDS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    usize::try_from(n)
        .ok()
        .and_then(|i| WORDS.get(i))
        .map_or_else(|| n.to_string(), |w| (*w).to_string())
}

fn p5_budget(p: &P5) -> String {
    let (pr, c, seed) = (&p.precision, &p.checks, &p.seed_values);
    let nm = &pr.model;
    format!(
        "### Minimum precision\n\n\
         Budget for a {} dB SNR loss: σ_qy² ≤ (10^{} − 1)·σ_e² = **{:.6}** with our σ_e² (the seed's {} gives \
         {:.6}, i.e. {}). Noise model \
         σ_qy² = ‖w‖²Δ_x²/12 + N E[x²]Δ_w²/12 = {:.5}·Δ_x² + {:.5}·Δ_w² (seed: {}·Δ_x² + {}·Δ_w²), \
         with the course's signed quantizer steps Δ = 2^(1−B)·r and power-of-two dynamic ranges r_x = 2^⌈log2 max|x|⌉ \
         = **{}**, r_w = 2^⌈log2 max|w*|⌉ = **{}**. The seed's B > {} corresponds to r_x = r_w = 1 (with our \
         statistics and r = 1: B > {:.3}); our Gaussian series (σ_x ≈ {:.2}) has |x| > 1 in {:.1} % of its samples \
         (max |x| = {:.2}), so our input range is r_x = {} and the input needs {} more bits.\n\n",
        pr.config.loss_db,
        pr.config.loss_db / 10.0,
        nm.budget,
        seed.sigma_e2,
        c.budget_from_seed_sigma_e2,
        budget_verdict(p),
        c.coef_x,
        c.coef_w,
        seed.coef_x,
        seed.coef_w,
        nm.range_x,
        nm.range_w,
        seed.bits_real,
        pr.seed_ranges_bits_real,
        c.seed_sigma_x,
        100.0 * c.fraction_above_one,
        c.max_abs_x,
        nm.range_x,
        count_word(c.extra_input_bits)
    )
}

fn pair_str(q: &Pair) -> String {
    format!("B_x = {}, B_w = {}", q.bx, q.bw)
}

fn p5_precision_table(p: &P5) -> String {
    let (pr, seed) = (&p.precision, &p.seed_values);
    let nm = &pr.model;
    let row = |cells: [String; 4]| cells.to_vec();
    let fa = |q: &Pair| format!("{:.0} FA", q.fa_seed_convention);
    md_table(
        &["quantity", "ours", "seed", "note"],
        &[
            row([
                "noise budget".into(),
                format!("{:.6}", nm.budget),
                format!("{} (also {})", seed.noise_budget, seed.noise_budget_typo),
                "our σ_e² differs by sampling".into(),
            ]),
            row([
                "equal B (real)".into(),
                format!("B > {:.3}", pr.bits_equal_real),
                format!("B > {}", seed.bits_real),
                format!("ranges {} and {} vs 1 and 1", nm.range_x, nm.range_w),
            ]),
            row([
                "equal B, analytic".into(),
                pr.bits_analytic.to_string(),
                seed.bits.to_string(),
                String::new(),
            ]),
            row([
                "equal B, bit-true simulation".into(),
                pr.bits_simulated.map_or("none".into(), |b| b.to_string()),
                "—".into(),
                format!(
                    "smallest B with loss ≤ {} dB for it and all larger B",
                    pr.config.loss_db
                ),
            ]),
            row([
                "best unequal pair, analytic (min B_x+B_w, then FA)".into(),
                pair_str(&pr.best_pair_analytic),
                "—".into(),
                format!("{} (seed convention)", fa(&pr.best_pair_analytic)),
            ]),
            row([
                "cheapest pair, analytic".into(),
                pair_str(&pr.cheapest_pair_analytic),
                "—".into(),
                fa(&pr.cheapest_pair_analytic),
            ]),
            row([
                "best pair, bit-true".into(),
                pr.best_pair_simulated
                    .as_ref()
                    .map_or("none".into(), pair_str),
                "—".into(),
                pr.best_pair_simulated.as_ref().map_or(String::new(), |q| {
                    format!("loss {:.3} dB, {}", q.value, fa(q))
                }),
            ]),
        ],
    )
}

fn p5_bit_true_table(p: &P5) -> String {
    let pr = &p.precision;
    let yes_no = |ok: bool| if ok { "yes" } else { "no" }.to_string();
    let rows: Vec<Vec<String>> = pr
        .equal_bits
        .iter()
        .zip(&p.checks.equal_bits_within_loss)
        .map(|(q, &ok)| {
            vec![
                q.bx.to_string(),
                format!("{:.4}", q.loss_db),
                format!("{:.4}", q.predicted_loss_db),
                q.acc_bits.to_string(),
                yes_no(ok),
            ]
        })
        .collect();
    let budget_header = format!("≤ {} dB", pr.config.loss_db);
    let mut md = String::from(
        "\n**Bit-true validation.** The input and the coefficients are quantized with the course quantizers; their \
         integer codes are multiplied exactly and the three products summed exactly with `fxp_core::fixed` (accumulator \
         2B + 2 bits: 2B for a product, +1 per addition); the output is not re-quantized, as in the noise model. \
         Loss = SNR(float) − SNR(fixed) on the same samples:\n\n",
    );
    md.push_str(&md_table(
        &[
            "B = B_x = B_w",
            "measured loss (dB)",
            "model loss (dB)",
            "accumulator bits",
            &budget_header,
        ],
        &rows,
    ));
    md
}

fn p5_loss_figure(p: &P5, ctx: &Ctx) -> XResult<String> {
    let pr = &p.precision;
    let points = |f: fn(&lms::precision::SimPoint) -> f64| -> Vec<(f64, f64)> {
        pr.equal_bits
            .iter()
            .map(|q| (f64::from(q.bx), f(q)))
            .collect()
    };
    let chart = LineChart::new(
        "Problem 5: SNR loss of the fixed-point predictor",
        "B (input = coefficient bits)",
        "SNR loss (dB)",
    )
    .series(Series::line_markers(
        "bit-true simulation",
        points(|q| q.loss_db),
    ))
    .series(Series::dashed(
        "noise model 10log10(1 + σ_qy²/σ_e²)",
        points(|q| q.predicted_loss_db),
    ))
    .hline(pr.config.loss_db, format!("{} dB", pr.config.loss_db))
    .log_y();
    line_chart(&ctx.figure("p5_snr_loss.svg"), &chart)?;
    Ok(format!(
        "\n{}",
        ctx.figure_link(
            "p5_snr_loss.svg",
            "Problem 5: measured and predicted SNR loss vs precision (negative measured losses at large B are sampling noise and are not drawn on the log axis)"
        )
    ))
}

fn p5_cost_table(p: &P5) -> String {
    let (c, c4, seed) = (
        &p.precision.fa_cost,
        &p.checks.fa_cost_at_seed_bits,
        &p.seed_values,
    );
    let row = |formula: &str, f: fn(&FaCost) -> f64, digits: usize, seed_cell: String| {
        vec![
            formula.to_string(),
            format!("{:.digits$}", f(c)),
            format!("{:.digits$}", f(c4)),
            seed_cell,
        ]
    };
    let mut md = String::from("\n### Computational cost\n\n");
    md.push_str(&md_table(
        &[
            "formula",
            &format!("ours, B = {}", c.bits),
            &format!("at B = {}", c4.bits),
            &format!("seed (B = {})", seed.bits),
        ],
        &[
            row(
                "fxp-core printed: N B² + (N−1)(2B + log2 N − 1)",
                |c| c.printed,
                2,
                "—".into(),
            ),
            row(
                "fxp-core seed convention: N B² + (N−1)(2B + ⌈log2 N⌉)",
                |c| c.seed_convention,
                0,
                "—".into(),
            ),
            row(
                "the seed's formula N B² + (N−1)(2B + 1)",
                |c| c.seed_formula,
                0,
                format!("{}", seed.fa_cost),
            ),
            row(
                "N B² + (N−1)(2B − 1)",
                |c| c.seed_printed_value_formula,
                0,
                String::new(),
            ),
        ],
    ));
    md
}

/// The note on the seed's cost arithmetic, its claims taken from the computed comparisons.
fn p5_cost_note(p: &P5) -> String {
    let (k, seed) = (&p.checks.seed_cost, &p.seed_values);
    let formula = &k.formula_vs_printed;
    let relation = if formula.agrees { "as" } else { "not" };
    let narrow = if k.narrow_vs_printed.agrees {
        format!(
            "{} is {} + (N−1)(2B−1) = {} + {}, i.e. adders of width 2B − 1",
            seed.fa_cost, k.multipliers, k.multipliers, k.adders_narrow
        )
    } else {
        format!(
            "(N−1)(2B−1) adders give {} + {}, not {} either",
            k.multipliers, k.adders_narrow, seed.fa_cost
        )
    };
    format!(
        "\nThe seed's formula N·B² + (N−1)(2B+1) gives {} + {} = {} at N = {}, B = {}, {} the printed {}; {}. \
         The 2B + 1 bits (products of 2B bits plus one bit of growth) are the consistent reading, so the seed's own \
         formula gives {}.\n",
        k.multipliers,
        k.adders_formula,
        formula.ours,
        p.settings.taps,
        seed.bits,
        relation,
        formula.reference,
        narrow,
        formula.ours
    )
}

/// The report's answer for the cost, with its convention, beside the seed's.
fn p5_cost_answer(p: &P5) -> String {
    let (a, seed, fa) = (
        &p.checks.cost_answer,
        &p.seed_values,
        &p.checks.fa_cost_at_seed_bits,
    );
    let width = match &a.adder_width_vs_bit_true {
        Some(c) if c.agrees => format!(
            "its adder width 2B + ⌈log2 N⌉ = {} bits is the width of the exact accumulator of the \
             bit-true simulation at B = {}",
            c.ours, a.bits
        ),
        Some(c) => format!(
            "its adder width 2B + ⌈log2 N⌉ = {} bits differs from the {}-bit exact accumulator of \
             the bit-true simulation at B = {}",
            c.ours, c.reference, a.bits
        ),
        None => "the bit-true simulation does not cover this B".into(),
    };
    format!(
        "\n**Answer.** Ours: B = B_x = B_w = {}, **{:.0} FA** in fxp-core's `{}` convention \
         N·B² + (N−1)(2B + ⌈log2 N⌉), the convention that reproduces the seed's costs of Problems 2 \
         and 3; {}. With unequal precisions the noise model's cheapest pair, {}, costs {:.0} FA{}. \
         The seed's: B = {}, {} FA as printed (its own formula gives {}; our convention gives {:.0} at \
         B = {}). The `printed` convention's fractional counts come from log2 N = \
         {:.3} not being an integer at N = {}; it is listed for comparison only.\n",
        a.bits,
        a.full_adders,
        a.convention,
        width,
        pair_str(&p.precision.cheapest_pair_analytic),
        p.precision.cheapest_pair_analytic.fa_seed_convention,
        p.precision
            .best_pair_simulated
            .as_ref()
            .map_or(String::new(), |q| format!(
                " (the bit-true simulation's best pair, {}, {:.0} FA)",
                pair_str(q),
                q.fa_seed_convention
            )),
        seed.bits,
        seed.fa_cost,
        p.checks.seed_cost.formula_vs_printed.ours,
        fa.seed_convention,
        fa.bits,
        (p.settings.taps as f64).log2(),
        p.settings.taps
    )
}
