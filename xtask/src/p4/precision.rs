//! Problem 4, parts 4–5: the precision of w1 — first- and second-order models against the
//! validated increase of C, at our weights and at the seed's.
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, Ctx, XResult};
use nonlinear_sgd::precision::{PrecisionReport, PrecisionRow};
use nonlinear_sgd::problem::{seed, Problem4};

fn bits_str(b: Option<u32>) -> String {
    b.map_or("none ≤ 12".into(), |b| b.to_string())
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

pub(super) fn precision_intro_md(p: &Problem4) -> String {
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

pub(super) fn precision_table_md(prec: &PrecisionReport) -> String {
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

pub(super) fn bits_table_md(p: &Problem4) -> String {
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

pub(super) fn seed_errors_md(p: &Problem4) -> String {
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

pub(super) fn precision_figure_md(p: &Problem4, ctx: &Ctx) -> XResult<String> {
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
