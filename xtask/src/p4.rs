//! Problem 4 report: back-propagation through a non-linear system — gradients, expected cost by
//! quadrature, SGD, precision of w1, local minima. The numbers come from
//! [`nonlinear_sgd::problem::run`]; this module only renders them (markdown and figures):
//! `precision` the precision of w1 (parts 4–5), `minima` the symmetries and local minima
//! (part 6).
mod minima;
mod precision;

use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, tuple_str, Ctx, Section, XResult};
use fxp_core::compare::Comparison;
use minima::{minima_md, symmetries_md};
use nonlinear_sgd::problem::{self, Problem4, Settings};
use nonlinear_sgd::sgd::CurvePoint;
use nonlinear_sgd::Weights;
use precision::{
    bits_table_md, precision_figure_md, precision_intro_md, precision_table_md, seed_errors_md,
};

fn w_str(w: &Weights) -> String {
    tuple_str(&w.0, 4)
}

/// The configuration of the run: `--quick` or the report's.
pub fn settings(ctx: &Ctx) -> Settings {
    if ctx.quick {
        Settings::quick()
    } else {
        Settings::full()
    }
}

/// Runs Problem 4 and returns its section.
pub fn run(ctx: &Ctx) -> XResult<Vec<Section>> {
    ctx.step("p4: SGD, precision of w1, multi-start search for minima");
    let problem = problem::run(&settings(ctx))?;
    Ok(vec![render(&problem, ctx)?])
}

/// The section of Problem 4: markdown (figures written under `ctx.out`) and results.json.
pub fn render(p: &Problem4, ctx: &Ctx) -> XResult<Section> {
    let mut md = intro_md(p);
    md.push_str(&at_seed_md(p));
    md.push_str(&sgd_md(p));
    md.push_str(&sgd_figures_md(p, ctx)?);
    md.push_str(&precision_intro_md(p));
    md.push_str(&precision_table_md(&p.precision));
    md.push_str(&bits_table_md(p));
    md.push_str(&seed_errors_md(p));
    md.push_str(&precision_figure_md(p, ctx)?);
    md.push_str(&symmetries_md(p));
    md.push_str(&minima_md(p));
    Ok(Section {
        id: "p4".into(),
        markdown: md,
        json: serde_json::to_value(p)?,
    })
}

fn intro_md(p: &Problem4) -> String {
    let mut md = String::from("## Problem 4 — Back-propagation through a non-linear system\n\n");
    md.push_str(
        "System: ỹ1 = w1x1 + w2x2, y1 = ỹ1², ỹ2 = w3y1, y2 = ln(1 + ỹ2²); target y = atan2(x2, x1) \
         for (x1, x2) uniform on the unit circle; C = E[(y − y2)²].\n\n\
         **Gradients (parts 1–2).** With e = y − y2: ∂e²/∂w1 = −8e·ỹ2w3ỹ1x1/(1+ỹ2²), \
         ∂e²/∂w2 = −8e·ỹ2w3ỹ1x2/(1+ỹ2²), ∂e²/∂w3 = −4e·ỹ2y1/(1+ỹ2²) — the seed's expressions, \
         confirmed against central finite differences (crate tests, 200 random points, also the \
         closed-form Hessian). By LOTUS with Θ uniform on [−π, π), x = (cos Θ, sin Θ), y = Θ and \
         E[f(Θ)] = (1/2π)∫f(θ)dθ over [−π, π]:\n\n\
         * ∂C/∂w1 = E[−8e·ỹ2w3ỹ1x1/(1+ỹ2²)] = (−4/π)∫(y − y2)ỹ2w3ỹ1x1/(1+ỹ2²)dθ (the seed's eq. (8)),\n\
         * ∂C/∂w2 = E[−8e·ỹ2w3ỹ1x2/(1+ỹ2²)] = (−4/π)∫(y − y2)ỹ2w3ỹ1x2/(1+ỹ2²)dθ (eq. (9)),\n\
         * ∂C/∂w3 = E[−4e·ỹ2y1/(1+ỹ2²)] = (−2/π)∫(y − y2)ỹ2y1/(1+ỹ2²)dθ (eq. (10)),\n\n\
         with ỹ1 = w1 cos θ + w2 sin θ, y1 = ỹ1², ỹ2 = w3y1 and y = θ: the seed's eqs. (8)–(10) are \
         right, and the quadrature below evaluates exactly these integrals. **Where the seed \
         slips:** its chain rule for ∂C/∂w1 ends with the factor ∂y1/∂w̃1, where ∂ỹ1/∂w1 = x1 is \
         meant, and repeats that factor unchanged for ∂C/∂w2, where ∂ỹ1/∂w2 = x2 is meant; its \
         expressions after the chain rule (with x1 and x2) are right.\n\n\
         **Quadrature.** C, ∇C and the full 3×3 Hessian are integrals over θ ∈ [−π, π], computed by \
         composite Gauss–Legendre (64 panels × 16 nodes). The integrand is analytic inside the \
         interval; its only jump (the wrap of atan2) is at the end points, so the rule converges \
         spectrally. Stated accuracy = difference to the rule with twice the panels",
    );
    md.push_str(&format!(
        ": {:.1e} at the seed's weights, {:.1e} at ours (tests require < 1e-9, and compare with a \
         400,000-sample mean).\n\n",
        p.at_seed_weights.quadrature_error, p.sgd.quadrature_error
    ));
    md
}

/// The note on ∂C/∂w1 at the seed's weights, from the comparisons.
fn grad_note(p: &Problem4) -> String {
    let cmp = &p.seed_comparisons;
    let ratio = cmp.grad_w1.reference / cmp.grad_w1.ours;
    let mut note = format!(
        "{}; the seed's value is {ratio:.2}× the quadrature of its own (correct) eq. (8)",
        cmp.grad_w1.verdict()
    );
    if cmp.twice_grad_w1.agrees {
        note.push_str(
            "; the factor 2 is an evaluation slip (the seed does not show the computation)",
        );
    }
    note
}

/// The note on ∇C at the seed's weights: stationary or not, within the search's tolerance.
fn stationary_note(c: &Comparison) -> String {
    if c.agrees {
        format!(
            "stationary: ‖∇C‖ = {:.1e}, {}",
            c.ours,
            c.tolerance.describe()
        )
    } else {
        format!(
            "not exactly stationary (‖∇C‖ = {:.1e}, not {} of 0): the seed stopped SGD before \
             the minimum",
            c.ours,
            c.tolerance.describe()
        )
    }
}

fn at_seed_md(p: &Problem4) -> String {
    let at = &p.at_seed_weights;
    let cmp = &p.seed_comparisons;
    let rows = vec![
        vec![
            "C (quadrature)".into(),
            format!("{:.5}", at.c),
            format!("{}", cmp.c.reference),
            cmp.c.verdict(),
        ],
        vec![
            "∂C/∂w1".into(),
            format!("{:.5}", at.grad[0]),
            format!("{}", cmp.grad_w1.reference),
            grad_note(p),
        ],
        vec![
            "∇C".into(),
            tuple_str(&at.grad, 5),
            "—".into(),
            stationary_note(&cmp.stationary),
        ],
        vec![
            "∂²C/∂w1²".into(),
            format!("{:.4}", at.hessian_w1),
            "—".into(),
            "not in the seed".into(),
        ],
    ];
    format!(
        "### At the seed's weights {}\n\n{}\n",
        seed_weights_str(&at.weights),
        md_table(&["quantity", "ours", "seed", "note"], &rows)
    )
}

/// The seed's weights as it prints them: (0.9547247, −0.8316406, 0.7071791).
fn seed_weights_str(w: &Weights) -> String {
    let parts: Vec<String> =
        w.0.iter()
            .map(|x| format!("{x}").replace('-', "−"))
            .collect();
    format!("({})", parts.join(", "))
}

fn sgd_md(p: &Problem4) -> String {
    let cfg = &p.settings.sgd;
    let s = &cfg.schedule;
    let mut md = format!(
        "### SGD (part 3)\n\nSeeded (seed {}): {} training and {} test samples (Θ uniform), {} epochs \
         of per-sample updates w ← w − μ_t ∇e² in a shuffled order, initial weights {}. Step size: \
         μ_t = {} for the first {} iterations, then μ0/(1 + (t − {})/{}) (so the iterate settles; \
         final μ = {:.1e}).\n\n",
        cfg.seed,
        cfg.n_train,
        cfg.n_test,
        cfg.epochs,
        w_str(&cfg.init),
        s.mu0,
        s.constant_iters,
        s.constant_iters,
        s.decay_iters,
        p.final_step
    );
    let (sgd, at) = (&p.sgd, &p.at_seed_weights);
    let rows = vec![
        vec![
            "final weights".into(),
            w_str(&sgd.final_weights),
            w_str(&at.weights),
        ],
        vec![
            "test MSE".into(),
            format!("{:.4}", sgd.test_mse),
            format!("{}", p.seed_values.test_mse),
        ],
        vec![
            "train MSE".into(),
            format!("{:.4}", sgd.train_mse),
            "—".into(),
        ],
        vec![
            "C at final weights (quadrature)".into(),
            format!("{:.5}", sgd.quadrature.c),
            format!("{}", p.seed_values.c),
        ],
        vec![
            "∇C at final weights".into(),
            tuple_str(&sgd.quadrature.grad, 4),
            "—".into(),
        ],
        vec![
            "invariant m = √|w3|·(w1, w2)".into(),
            tuple_str(&p.invariant, 4),
            tuple_str(&p.invariant_seed_weights, 4),
        ],
        vec![
            "minimum of C (multi-start search)".into(),
            p.minimum_c.map_or("—".into(), |c| format!("{c:.5}")),
            "—".into(),
        ],
    ];
    md.push_str(&md_table(&["", "ours", "seed"], &rows));
    md.push_str(&format!(
        "\nBoth runs land in the same basin (nearly the same invariant m, see part 6): the weights \
         differ mostly along the scaling direction (s·w1, s·w2, w3/s²), which leaves C unchanged. \
         SGD minimises the *training-set* MSE, so its end point sits {:.3} % above the minimum of \
         the population cost C; the test MSE differs from C by sampling noise ({} samples, \
         standard error {:.3}).\n\n",
        p.sgd_above_minimum.map_or(f64::NAN, |r| 100.0 * r),
        cfg.n_test,
        p.test_mse_std_error
    ));
    md
}

/// (iteration, f(point)) for the curve points after the start (log-scaled axis).
fn curve_points(p: &Problem4, f: impl Fn(&CurvePoint) -> f64) -> Vec<(f64, f64)> {
    p.sgd
        .curve
        .iter()
        .filter(|c| c.iteration > 0)
        .map(|c| (c.iteration as f64, f(c)))
        .collect()
}

fn sgd_figures_md(p: &Problem4, ctx: &Ctx) -> XResult<String> {
    let cfg = &p.settings.sgd;
    let mut conv = LineChart::new(
        "Problem 4: SGD convergence",
        "iteration (samples seen)",
        "MSE",
    )
    .log_x()
    .series(Series::line(
        format!(
            "train MSE ({} samples)",
            fxp_core::text::group(cfg.n_train as u64)
        ),
        curve_points(p, |c| c.train_mse),
    ))
    .series(Series::line(
        format!(
            "test MSE ({} samples)",
            fxp_core::text::group(cfg.n_test as u64)
        ),
        curve_points(p, |c| c.test_mse),
    ))
    .hline(
        p.seed_values.test_mse,
        format!("seed's final test MSE {}", p.seed_values.test_mse),
    );
    if let Some(c) = p.minimum_c {
        conv = conv.hline(c, "minimum of C (quadrature)");
    }
    line_chart(&ctx.figure("p4_convergence.svg"), &conv)?;
    let mut md = ctx.figure_link(
        "p4_convergence.svg",
        "Problem 4: train/test MSE vs iteration",
    );
    md.push('\n');
    let mut weights = LineChart::new(
        "Problem 4: weight evolution",
        "iteration (samples seen)",
        "weight",
    )
    .log_x();
    for k in 0..3 {
        weights = weights.series(Series::line(
            format!("w{}", k + 1),
            curve_points(p, |c| c.weights.0[k]),
        ));
    }
    line_chart(&ctx.figure("p4_weights.svg"), &weights)?;
    md.push_str(&ctx.figure_link("p4_weights.svg", "Problem 4: evolution of w1, w2, w3"));
    md.push('\n');
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_weights_print_as_the_seed_prints_them() {
        assert_eq!(
            seed_weights_str(&Weights(nonlinear_sgd::SEED_WEIGHTS)),
            "(0.9547247, −0.8316406, 0.7071791)"
        );
    }
}
