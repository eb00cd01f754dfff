//! Problem 3.1: float baseline, uniform precision sweep, minimum B within the tolerance.
use super::pct;
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, Ctx, XResult};
use cifar_infer::problem3::Problem3;

/// Problem 3.1: float baseline, uniform sweep B = 2…16, minimum B within the tolerance.
pub(super) fn uniform_part(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let mut md = String::from("### 3.1 Float baseline and uniform precision\n\n");
    md.push_str(&uniform_summary_table(p));
    md.push_str(&uniform_discussion(p));
    md.push_str(&uniform_points_table(p));
    let u = &p.uniform;
    md.push_str(&format!(
        "\nUniform precision: B_W = B_A = B in every layer; pass threshold {} (float − {:.0} pp). \
         Sweep of {} precisions on {} images: {:.0} s.\n\n",
        pct(u.threshold),
        u.tolerance_pp,
        u.points.len(),
        p.n,
        u.seconds
    ));
    md.push_str(&tolerance_reading(p));
    md.push_str(&uniform_figures(p, ctx)?);
    Ok(md)
}

/// How "within 1 %" is read, and whether the other reading changes the minima.
fn tolerance_reading(p: &Problem3) -> String {
    let t = &p.tolerance_reading;
    let none = |b: Option<u32>| b.map_or("none".into(), |b| b.to_string());
    format!(
        "The homework's \"within 1 %\" is read as {} percentage point below the float accuracy \
         (threshold {}). Read as {} % of the float accuracy (threshold {}), the minimum uniform B \
         is {} and the minimum B_min with the provided offsets {}: {}.\n\n",
        fxp_core::text::short(t.percentage_points, 3),
        pct(t.threshold_points),
        fxp_core::text::short(100.0 * t.relative_fraction, 3),
        pct(t.threshold_relative),
        none(t.uniform_min_bits_relative),
        none(t.provided_min_b_min_relative),
        if t.same_minima {
            "the same minima"
        } else {
            "different minima from the percentage-point reading"
        }
    )
}

fn uniform_summary_table(p: &Problem3) -> String {
    let (u, r) = (&p.uniform, &p.reference);
    md_table(
        &["quantity", "ours", "data README (PyTorch)", "seed"],
        &[
            vec![
                "float accuracy".into(),
                format!("{} ({} / {})", pct(p.fl_accuracy), p.fl_correct, p.n),
                pct(r.data_readme_fl_accuracy),
                pct(r.seed_fl_accuracy),
            ],
            vec![
                format!("minimum uniform B (≤ {:.0} pp below float)", u.tolerance_pp),
                u.min_bits.map_or("none".into(), |b| b.to_string()),
                "—".into(),
                r.seed_min_bits.to_string(),
            ],
            vec![
                "accuracy at that B".into(),
                u.accuracy.map_or("—".into(), pct),
                "—".into(),
                pct(r.seed_min_bits_accuracy),
            ],
        ],
    )
}

fn uniform_discussion(p: &Problem3) -> String {
    let u = &p.uniform;
    let collapse = u.min_bits.map_or(String::new(), |b| {
        let below: Vec<String> = u
            .points
            .iter()
            .filter(|q| q.bits < b)
            .map(|q| format!("{} bits: {}", q.bits, pct(q.accuracy)))
            .collect();
        format!(
            " Here accuracy stays within {:.0} pp of float from {b} bits up; below it falls ({}).",
            u.tolerance_pp,
            below.join(", ")
        )
    });
    format!(
        "\nOur float accuracy {} the data README's PyTorch figure{}. The seed's values come from \
         another training run of the same architecture (the seed's own network, not shipped), so \
         they are comparison values only: its baseline and minimum precision need not match ours.{collapse}\n\n",
        if p.fl_vs_data_readme.agrees { "reproduces" } else { "differs from" },
        if p.settings.quick { " (quick run on a subset: not comparable)" } else { "" },
    )
}

fn uniform_points_table(p: &Problem3) -> String {
    let rows: Vec<Vec<String>> = p
        .uniform
        .points
        .iter()
        .map(|q| {
            vec![
                q.bits.to_string(),
                pct(q.accuracy),
                q.correct.to_string(),
                format!("{:+.2}", q.accuracy - p.fl_accuracy),
                if q.within { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    let within = format!("within {:.0} pp", p.uniform.tolerance_pp);
    md_table(
        &["B", "accuracy", "correct", "vs float (pp)", &within],
        &rows,
    )
}

/// Accuracy vs B with the float line and the tolerance band.
fn uniform_chart(p: &Problem3, title: &str, points: Vec<(f64, f64)>) -> LineChart {
    LineChart::new(title, "B (bits)", "test accuracy (%)")
        .series(Series::line_markers("fixed point, uniform B", points))
        .hline(p.fl_accuracy, format!("float {:.2} %", p.fl_accuracy))
        .band(
            p.uniform.threshold,
            p.fl_accuracy,
            format!("tolerance {:.0} pp", p.uniform.tolerance_pp),
        )
}

/// The uniform sweep, and the same near the baseline where the tolerance band is visible.
fn uniform_figures(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let u = &p.uniform;
    let fig = "p3_uniform_accuracy.svg";
    let all = u.points.iter().map(|q| (f64::from(q.bits), q.accuracy));
    let chart = uniform_chart(
        p,
        "Problem 3.1: accuracy vs uniform precision",
        all.collect(),
    );
    line_chart(&ctx.figure(fig), &chart)?;
    let mut md = ctx.figure_link(fig, "Accuracy of exact fixed-point inference vs uniform precision B, with the float baseline and the 1-percentage-point tolerance band");
    md.push('\n');
    let zoom = "p3_uniform_accuracy_zoom.svg";
    let near: Vec<(f64, f64)> = u
        .points
        .iter()
        .filter(|q| q.accuracy >= u.threshold - 3.0 * u.tolerance_pp)
        .map(|q| (f64::from(q.bits), q.accuracy))
        .collect();
    if near.len() >= 2 {
        let chart = uniform_chart(p, "Problem 3.1: accuracy near the float baseline", near);
        line_chart(&ctx.figure(zoom), &chart)?;
        md.push_str(&ctx.figure_link(
            zoom,
            "The same, precisions within 3 tolerances of the threshold",
        ));
        md.push('\n');
    }
    Ok(md)
}
