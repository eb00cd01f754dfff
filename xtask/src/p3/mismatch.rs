//! Beyond the homework: the measured fixed-vs-float decision mismatch against its bound.
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, sci, Ctx, XResult};
use cifar_infer::problem3::Problem3;

/// Beyond the homework: the measured fixed-vs-float mismatch against its bound.
pub(super) fn mismatch_part(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let mut md = format!(
        "\n### Beyond the homework: the mismatch bound\n\nThe analysis bounds the probability that the fixed-point \
         decision differs from the float one: p_m ≤ Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l). Measured: the fraction of the \
         {} test images whose fixed-point (uniform B) prediction differs from the float prediction. Bound with the \
         per-image gains (the paper's estimator; the course estimator's gains are a different quantity, shown for \
         comparison).\n\n",
        p.n
    );
    let rows: Vec<Vec<String>> = p
        .mismatch
        .iter()
        .map(|(b, m)| {
            let accuracy = p.uniform.sweep.get(b).copied().unwrap_or(f64::NAN);
            vec![
                b.to_string(),
                format!("{:.4} ({})", m.measured, m.disagreements),
                sci(m.bound),
                sci(m.bound_course),
                format!("{accuracy:.2}"),
            ]
        })
        .collect();
    md.push_str(&md_table(
        &[
            "B",
            "measured p_m (images)",
            "bound (per-image E)",
            "bound (course E)",
            "accuracy %",
        ],
        &rows,
    ));
    md.push('\n');
    let s = &p.mismatch_summary;
    md.push_str(&format!(
        "\nWith the per-image gains the bound {} at every B measured{}; with the course gains it {} \
         (those gains are not the quantity the bound is about).\n",
        if s.bound_holds { "holds" } else { "is violated" },
        s.looseness.map_or(String::new(), |[lo, hi]| format!(
            ", loose by a factor {lo:.0}–{hi:.0} where mismatches occur"
        )),
        if s.course_bound_holds { "also holds here" } else { "does not hold" },
    ));
    md.push_str(&mismatch_figure(p, ctx)?);
    Ok(md)
}

fn mismatch_figure(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let floor = 0.5 / p.n as f64;
    let series = |f: &dyn Fn(&cifar_infer::problem3::MismatchRow) -> f64| {
        p.mismatch
            .iter()
            .map(|(&b, m)| (f64::from(b), f(m)))
            .collect::<Vec<_>>()
    };
    let chart = LineChart::new(
        "Decision mismatch: measured vs bound",
        "uniform precision B (bits)",
        "probability of mismatch",
    )
    .series(Series::line_markers(
        "measured",
        series(&|m| m.measured.max(floor)),
    ))
    .series(Series::dashed(
        "bound, per-image gains",
        series(&|m| m.bound),
    ))
    .series(Series::dashed(
        "bound, course gains",
        series(&|m| m.bound_course),
    ))
    .hline(1.0, "p = 1")
    .log_y();
    let fig = "p3_mismatch.svg";
    line_chart(&ctx.figure(fig), &chart)?;
    let mut md = ctx.figure_link(
        fig,
        "Measured mismatch vs the bound (zero plotted at half an image)",
    );
    md.push('\n');
    Ok(md)
}
