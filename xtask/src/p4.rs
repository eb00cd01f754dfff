//! Problem 4 report: back-propagation through a non-linear system — gradients, expected cost by
//! quadrature, SGD, precision of w1, local minima. The numbers come from
//! [`nonlinear_sgd::problem::run`]; this module only renders them (markdown and figures).
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, tuple_str, Ctx, Section, XResult};
use fxp_core::compare::Comparison;
use nonlinear_sgd::minima::{Kind, Minimum};
use nonlinear_sgd::precision::{PrecisionReport, PrecisionRow};
use nonlinear_sgd::problem::{self, seed, Problem4, Settings};
use nonlinear_sgd::sgd::CurvePoint;
use nonlinear_sgd::Weights;

fn w_str(w: &Weights) -> String {
    tuple_str(&w.0, 4)
}

fn bits_str(b: Option<u32>) -> String {
    b.map_or("none ≤ 12".into(), |b| b.to_string())
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

/// A list of precisions in words: "1, 2, 3" or "none".
fn bits_list(bits: &[u32]) -> String {
    if bits.is_empty() {
        "none".into()
    } else {
        fxp_core::text::list(bits)
    }
}

/// Where w1 is clamped to the top level, and where the clamp makes |δ| exceed Δ/2, at our
/// weights and at the seed's.
fn saturation_note(p: &Problem4) -> String {
    let at = |r: &PrecisionReport, whose: &str| {
        format!(
            "at B = {} at {whose} weights (w1 = {:.4}; |δ| > Δ/2 at B = {})",
            bits_list(&r.clamped_bits()),
            r.weights.w1(),
            bits_list(&r.saturated_bits())
        )
    };
    format!(
        "The top level (1 − 2^(1−B))·r lies below w1, so that w1 is clamped to it, {} and {}. \
         Where the clamp makes |δ| exceed Δ/2 the a-priori models (bound Δ/2, noise Δ²/12) \
         underestimate the error.",
        at(&p.precision, "our"),
        at(&p.precision_seed_weights, "the seed's")
    )
}

/// The case that decides the validated bits at some weights, in words.
fn deciding_case_sentence(r: &PrecisionReport, whose: &str) -> String {
    let Some(d) = r.deciding_case() else {
        return format!("At {whose} weights no precision up to 12 bits meets the budget.");
    };
    let budget = 100.0 * r.config.budget;
    let clamp = match (d.clamped, d.beyond_half_step) {
        (true, true) => format!(
            "w1 = {:.4} is clamped to the top level {} and |δ| = {:.4} exceeds Δ/2 = {}: the \
             a-priori models underestimate the error of exactly the case that decides",
            d.w1,
            d.top_level,
            d.error.abs(),
            d.half_step
        ),
        (true, false) => format!(
            "w1 = {:.4} is clamped to the top level {}, but |δ| = {:.4} stays within Δ/2 = {}",
            d.w1,
            d.top_level,
            d.error.abs(),
            d.half_step
        ),
        _ => format!(
            "w1 = {:.4} is not clamped (|δ| = {:.4} ≤ Δ/2 = {})",
            d.w1,
            d.error.abs(),
            d.half_step
        ),
    };
    let within = |x: f64| {
        if x <= r.config.budget {
            "within"
        } else {
            "beyond"
        }
    };
    let one_less = d.rel_increase_one_less.map_or(String::new(), |x| {
        format!(
            " and {:+.2} % at B = {} ({} it)",
            100.0 * x,
            d.bits - 1,
            within(x)
        )
    });
    format!(
        "At {whose} weights the validated minimum is B = {}: {clamp}. ΔC/C = {:+.2} % there \
         ({} the {budget} % budget){one_less}.",
        d.bits,
        100.0 * d.rel_increase,
        within(d.rel_increase)
    )
}

fn precision_intro_md(p: &Problem4) -> String {
    let prec = &p.precision;
    format!(
        "### Precision of w1 (parts 4–5)\n\nw1 is quantized with the course's signed quantizer \
         (fxp-core), range r = 2^⌈log2|w1|⌉ = {} (the power-of-two dynamic range of w1), \
         Δ = 2^(1−B)·r, top level (1 − 2^(1−B))·r, half-to-even rounding; w2, w3 stay in floating \
         point. Budget: ΔC ≤ {} % of C at the float weights (C by quadrature; the seed used the test \
         MSE {}). Validation: C by quadrature with w1 quantized (the exact expectation; the \
         sampled test MSE is in `results.json`). Models, with δ = q(w1) − w1 the actual error:\n\n\
         * first order (the seed's \"gradient as noise gain\"): ΔC ≈ |∂C/∂w1|·|δ|; also a priori \
         with the bound |δ| ≤ Δ/2;\n\
         * second order: ΔC ≈ ∂C/∂w1·δ + ½·∂²C/∂w1²·δ²; also a priori with the noise model \
         E[δ²] = Δ²/12, ΔC ≈ ∂²C/∂w1²·Δ²/24.\n\n\
         {}\n\n\
         **The deciding case.** {} {}\n\n\
         At our weights: C = {:.5}, ∂C/∂w1 = {:.5}, ∂²C/∂w1² = {:.4}, budget {:.5}.\n\n",
        prec.range,
        100.0 * prec.config.budget,
        p.seed_values.test_mse,
        saturation_note(p),
        deciding_case_sentence(&p.precision_seed_weights, "the seed's"),
        deciding_case_sentence(prec, "our"),
        prec.float.c,
        prec.float.grad[0],
        prec.float.hessian_w1,
        prec.budget_abs
    )
}

fn precision_row(r: &PrecisionRow) -> Vec<String> {
    vec![
        r.bits.to_string(),
        format!("{:.6}", r.w1_quantized),
        format!("{:+.6}", r.error),
        format!("{:.5}", r.c),
        format!("{:+.3} %", 100.0 * r.rel_increase),
        format!("{:.2e}", r.dc_first_order),
        format!("{:.2e}", r.dc_second_order),
        format!("{:.2e}", r.dc_second_order_noise),
    ]
}

fn precision_table_md(prec: &PrecisionReport) -> String {
    let header = [
        "B",
        "q(w1)",
        "δ",
        "C (validated)",
        "ΔC/C",
        "1st order |g||δ|",
        "2nd order gδ+½Hδ²",
        "2nd, Δ²/12",
    ];
    let rows: Vec<Vec<String>> = prec.rows.iter().map(precision_row).collect();
    format!("{}\n", md_table(&header, &rows))
}

/// C with w1 quantized to `bits`: at our weights, and at the seed's with the relative increase.
fn c_at_bits_row(p: &Problem4, bits: u32, seed_value: String) -> Vec<String> {
    vec![
        format!("C at {bits} bits"),
        p.precision
            .row(bits)
            .map_or("—".into(), |r| format!("{:.4}", r.c)),
        p.precision_seed_weights.row(bits).map_or("—".into(), |r| {
            format!("{:.4} ({:+.2} %)", r.c, 100.0 * r.rel_increase)
        }),
        seed_value,
    ]
}

fn bits_table_md(p: &Problem4) -> String {
    let (ours, at_seed) = (&p.precision, &p.precision_seed_weights);
    let criterion = |name: &str, f: fn(&PrecisionReport) -> Option<u32>, seed: String| {
        vec![
            name.to_string(),
            bits_str(f(ours)),
            bits_str(f(at_seed)),
            seed,
        ]
    };
    let bits = p.seed_values.bits;
    let rows = vec![
        criterion(
            "first order, actual δ (seed's model)",
            |r| r.bits_first_order,
            format!("{bits} (claimed)"),
        ),
        criterion(
            "first order, bound Δ/2",
            |r| r.bits_first_order_bound,
            "—".into(),
        ),
        criterion(
            "second order, actual δ",
            |r| r.bits_second_order,
            "—".into(),
        ),
        criterion(
            "second order, Δ²/12",
            |r| r.bits_second_order_noise,
            "—".into(),
        ),
        criterion(
            "validated (C with w1 quantized)",
            |r| r.bits_validated,
            format!("{bits}"),
        ),
        c_at_bits_row(p, seed::BITS, format!("{}", p.seed_values.c_4bits)),
        c_at_bits_row(p, seed::BITS - 1, "—".into()),
    ];
    let header = [
        "criterion",
        "ours (our weights)",
        "ours (seed's weights)",
        "seed",
    ];
    format!(
        "Minimum bits of w1 (smallest B from which on the criterion holds):\n\n{}",
        md_table(&header, &rows)
    )
}

/// How the second-order model's bits compare with the validated bits.
fn second_order_verdict(r: &PrecisionReport) -> String {
    match (r.bits_second_order, r.bits_validated) {
        (Some(a), Some(b)) if a == b => format!("gives the validated {b} bits"),
        (Some(a), Some(b)) => format!(
            "gives {a} bits against {b} validated (the quadratic model is {} there)",
            if a > b { "conservative" } else { "optimistic" }
        ),
        _ => "does not reach the budget within 12 bits".into(),
    }
}

/// The a-priori Δ²/12 model's bits at the seed's weights against the validated bits.
fn noise_model_verdict(r: &PrecisionReport) -> String {
    match (r.bits_second_order_noise, r.bits_validated) {
        (Some(a), Some(b)) if a < b => format!(
            "gives {a} bits against {b} validated at the seed's weights: it misses the clamping \
             of the top level and is optimistic"
        ),
        (Some(a), Some(b)) if a > b => {
            format!("gives {a} bits against {b} validated at the seed's weights: conservative")
        }
        (Some(a), Some(_)) => format!("gives the validated {a} bits at the seed's weights"),
        _ => "does not reach the budget within 12 bits at the seed's weights".into(),
    }
}

/// The seed's validation at its bits, judged by the comparisons.
fn seed_validation_sentence(p: &Problem4) -> String {
    let cmp = &p.seed_comparisons;
    let right = [&cmp.c_at_seed_bits, &cmp.bits_validated]
        .iter()
        .all(|c| c.as_ref().is_some_and(|c| c.agrees));
    format!(
        "The seed's validation (C = {} at {} bits) is {}.",
        p.seed_values.c_4bits,
        p.seed_values.bits,
        if right { "right" } else { "not reproduced" }
    )
}

fn seed_errors_md(p: &Problem4) -> String {
    let at_seed = &p.precision_seed_weights;
    let twice = &p.seed_comparisons.twice_grad_w1;
    let grad_claim = if twice.agrees {
        "is twice the integral"
    } else {
        "differs from the integral"
    };
    format!(
        "\n**What the seed got wrong.** (1) Its ∂C/∂w1 = {} {grad_claim} ({:.5}). \
         (2) With a gradient that small, its own first-order criterion |∂C/∂w1|·|δ| ≤ 1 % of C holds \
         from B = {} on — at 1 bit w1 is quantized to 0 and C rises by {:.1} % — so \"B = {}\" does \
         not follow from the model it states. Near a minimum the gradient vanishes and the increase \
         is quadratic: the second-order model with the actual error {} at the seed's weights and \
         {} at ours. {} The a-priori Δ²/12 model {}. Note also that the bits of w1 \
         depend on the point of the minimum curve (s·w1, s·w2, w3/s²), not only on the function \
         (our w1 = {:.4}, the seed's {:.4}).\n\n",
        p.seed_values.grad_w1,
        p.at_seed_weights.grad[0],
        bits_str(at_seed.bits_first_order),
        100.0 * at_seed.rows[0].rel_increase,
        p.seed_values.bits,
        second_order_verdict(at_seed),
        second_order_verdict(&p.precision),
        seed_validation_sentence(p),
        noise_model_verdict(at_seed),
        p.sgd.final_weights.0[0],
        p.at_seed_weights.weights.0[0],
    )
}

fn precision_figure_md(p: &Problem4, ctx: &Ctx) -> XResult<String> {
    let prec = &p.precision;
    let c0 = prec.float.c;
    let pts = |f: &dyn Fn(&PrecisionRow) -> f64| -> Vec<(f64, f64)> {
        prec.rows.iter().map(|r| (r.bits as f64, f(r))).collect()
    };
    let pct = |dc: f64| 100.0 * dc / c0;
    let chart = LineChart::new(
        "Problem 4: increase of C with w1 quantized to B bits (our weights)",
        "B_w1 (bits)",
        "ΔC / C (%), log scale",
    )
    .log_y()
    .series(Series::line_markers(
        "validated (quadrature)",
        pts(&|r| 100.0 * r.rel_increase),
    ))
    .series(Series::dashed(
        "first order |g||δ|",
        pts(&|r| pct(r.dc_first_order)),
    ))
    .series(Series::dashed(
        "second order gδ + ½Hδ²",
        pts(&|r| pct(r.dc_second_order)),
    ))
    .series(Series::dashed(
        "second order HΔ²/24",
        pts(&|r| pct(r.dc_second_order_noise)),
    ))
    .hline(
        100.0 * prec.config.budget,
        format!("{} % budget", 100.0 * prec.config.budget),
    );
    line_chart(&ctx.figure("p4_precision.svg"), &chart)?;
    let mut md = ctx.figure_link(
        "p4_precision.svg",
        "Problem 4: ΔC/C vs B_w1 with the 1 % budget and both models (points with ΔC ≤ 0 are not drawn on the log scale)",
    );
    md.push('\n');
    Ok(md)
}

fn symmetries_md(p: &Problem4) -> String {
    let mut md = String::from(
        "### Local minima (part 6)\n\ny2 depends on the weights only through ỹ2² = \
         ((m·x)²)², m = √|w3|·(w1, w2). So C is unchanged by w3 → −w3 (the seed's answer), by \
         (w1, w2) → −(w1, w2), and by the scaling (s·w1, s·w2, w3/s²): no minimum is isolated, each \
         is a curve of weights in four sign branches (the Hessian of C has a zero eigenvalue). \
         Shown at our final weights (C computed at each image):\n\n",
    );
    let rows: Vec<Vec<String>> = p
        .symmetry_images
        .iter()
        .map(|im| {
            vec![
                im.transform.to_string(),
                w_str(&im.weights),
                format!("{:.12}", im.c),
            ]
        })
        .collect();
    md.push_str(&md_table(&["transform", "weights", "C"], &rows));
    let convex = &p.convexity_check;
    md.push_str(&format!(
        "\nNon-convex: C(w) = {:.5} and C(w1, w2, −w3) = {:.5}, but at their midpoint (w1, w2, 0) \
         C = {:.5} (= π²/3, y2 ≡ 0).\n\n",
        convex.c, convex.c_flipped, convex.c_midpoint
    ));
    md
}

/// The branches on which starts ended at a minimum, one per line of the cell.
fn branches_cell(m: &Minimum) -> String {
    let branches: Vec<String> = m
        .branches
        .iter()
        .map(|b| {
            if m.kind == Kind::Plateau {
                format!("{} ({} starts)", w_str(&b.example), b.count)
            } else {
                format!(
                    "{} ({} starts, |w3| ∈ [{:.2}, {:.2}])",
                    w_str(&b.example),
                    b.count,
                    b.w3_abs_min,
                    b.w3_abs_max
                )
            }
        })
        .collect();
    branches.join("<br>")
}

fn minima_md(p: &Problem4) -> String {
    let cfg = &p.settings.minima;
    let mut md = format!(
        "**Multi-start search** (seed {}, {} starts uniform in [−{a}, {a}]³, damped Newton \
         (Levenberg–Marquardt) on the quadrature C to ‖∇C‖ < {:.0e}; {} did not converge). End \
         points clustered by m (tolerance {:.0e}):\n\n",
        cfg.seed,
        cfg.starts,
        cfg.grad_tol,
        p.minima.not_converged,
        cfg.cluster_tol,
        a = cfg.box_half_width
    );
    let rows: Vec<Vec<String>> = p
        .minima
        .minima
        .iter()
        .map(|m| {
            vec![
                fxp_core::text::label(&m.kind),
                format!("{:.6}", m.c),
                tuple_str(&m.invariant, 4),
                m.count.to_string(),
                branches_cell(m),
            ]
        })
        .collect();
    let header = [
        "kind",
        "C",
        "m",
        "starts",
        "found on branches (example weights)",
    ];
    md.push_str(&md_table(&header, &rows));
    md.push_str(
        "\n*Minimum*: the one minimum of C as a function of m (up to m → −m), reached from all four \
         sign branches and over a range of scales — the seed's solution and ours belong to it. \
         *Plateau*: the w3 = 0 family (y2 ≡ 0, C = π²/3): flat in (w1, w2) and, where \
         ∂²C/∂w3² = −4E[Θ·ỹ1⁴] > 0, a set of non-strict local minima that traps a fraction of the \
         starts at a far higher cost. Together: distinct minima with different C, and \
         non-isolated minima — the cost is non-convex.\n\n",
    );
    md
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
