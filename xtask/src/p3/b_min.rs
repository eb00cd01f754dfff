//! Problem 3.2, second half: B_min sweeps of every offset source, their minima and figures.
use super::list;
use crate::plot::{bar_chart, line_chart, BarChart, Legend, LineChart, Series};
use crate::report::{md_table, Ctx, XResult};
use cifar_infer::problem3::{OffsetSource, Problem3};
use std::collections::BTreeSet;

/// Problem 3.2: B_min sweeps of every offset source, their minima and figures.
pub(super) fn b_min_part(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let mut md = format!(
        "\n**B_min sweep** (B_l = B_min + offset_l, ranges computed as above = the npy files; {} test images, \
         tolerance {:.2} points below the float baseline {:.2} %):\n\n",
        p.n,
        p.fl_accuracy - p.uniform.threshold,
        p.fl_accuracy
    );
    md.push_str(&b_min_table(p));
    md.push('\n');
    md.push_str(&b_min_minima_table(p));
    md.push_str(&format!(
        "\nUniform minimum (3.1) for comparison: {} bits, {}.\n\n",
        p.uniform.min_bits.map_or("none".into(), |b| b.to_string()),
        p.uniform
            .accuracy
            .map_or("–".into(), |a| format!("{a:.2} %"))
    ));
    md.push_str(&storage_figure(p, ctx)?);
    md.push_str(&precision_figure(p, ctx)?);
    Ok(md)
}

fn b_min_table(p: &Problem3) -> String {
    let sweeps = &p.offsets.by_source;
    let mut header = vec!["B_min".to_string()];
    header.extend(sweeps.iter().map(|s| format!("{} (%)", s.source.label())));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let bits: BTreeSet<u32> = sweeps
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.bits))
        .collect();
    let rows: Vec<Vec<String>> = bits
        .into_iter()
        .map(|b| {
            let mut row = vec![b.to_string()];
            row.extend(sweeps.iter().map(|s| {
                s.points
                    .iter()
                    .find(|q| q.bits == b)
                    .map_or("–".into(), |q| {
                        format!("{:.2}{}", q.accuracy, if q.within { "" } else { " ✗" })
                    })
            }));
            row
        })
        .collect();
    md_table(&header, &rows)
}

fn b_min_minima_table(p: &Problem3) -> String {
    let mut rows: Vec<Vec<String>> = p
        .offsets
        .by_source
        .iter()
        .map(|s| {
            let at = s.at_minimum.as_deref();
            let bits = |f: fn(&fxp_core::LayerPrecision) -> u32| {
                at.map_or("–".into(), |v| list(&v.iter().map(f).collect::<Vec<_>>()))
            };
            vec![
                s.source.label().to_string(),
                s.summary.min_b_min.map_or("none".into(), |b| b.to_string()),
                s.summary
                    .accuracy
                    .map_or("–".into(), |a| format!("{a:.2} %")),
                bits(|x| x.b_w),
                bits(|x| x.b_a),
                s.mean_weight_bits_at_minimum
                    .map_or("–".into(), |m| format!("{m:.2}")),
                s.plain_mean_b_w_at_minimum
                    .map_or("–".into(), |m| format!("{m:.2}")),
            ]
        })
        .collect();
    let r = &p.reference;
    rows.push(vec![
        "seed (their network)".into(),
        r.seed_b_min.to_string(),
        format!("{:.2} %", r.seed_b_min_accuracy),
        "–".into(),
        "–".into(),
        "–".into(),
        "–".into(),
    ]);
    md_table(
        &[
            "offsets",
            "min B_min",
            "accuracy",
            "B_W",
            "B_A",
            "mean B_W, weighted by parameter count",
            "plain mean of the listed B_W",
        ],
        &rows,
    )
}

/// Accuracy vs average bits per weight: uniform B and every B_min sweep.
fn storage_figure(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let uniform = p.uniform.sweep.iter().map(|(&b, &a)| (f64::from(b), a));
    let mut chart = LineChart::new(
        "Accuracy vs storage: uniform B and B_min + offsets",
        "average bits per weight",
        "test accuracy (%)",
    )
    .legend(Legend::LowerRight)
    .series(Series::line_markers("uniform B", uniform.collect()));
    for s in &p.offsets.by_source {
        let pts = s
            .points
            .iter()
            .filter_map(|q| q.mean_weight_bits.map(|m| (m, q.accuracy)))
            .collect();
        // The provided npy files are the course estimator's on the full calibration set:
        // markers only, so that a near-identical curve cannot hide them; identical points
        // share one legend entry (plot::line_chart).
        let name = format!("B_min + offsets ({})", s.source.label());
        chart = chart.series(if s.source == OffsetSource::ProvidedNpy {
            Series::markers(name, pts)
        } else {
            Series::line_markers(name, pts)
        });
    }
    chart = chart.hline(p.fl_accuracy, "float baseline").band(
        p.uniform.threshold,
        p.fl_accuracy,
        "tolerance",
    );
    let fig = "p3_offsets_accuracy.svg";
    line_chart(&ctx.figure(fig), &chart)?;
    let mut md = ctx.figure_link(fig, "Accuracy vs average bits per weight");
    md.push('\n');
    Ok(md)
}

/// Per-layer precisions at the uniform minimum and at the B_min minima.
fn precision_figure(p: &Problem3, ctx: &Ctx) -> XResult<String> {
    let mut groups = Vec::new();
    if let Some(b) = p.uniform.min_bits {
        groups.push((format!("uniform {b}"), vec![f64::from(b); p.layers.len()]));
    }
    let shown = p
        .offsets
        .by_source
        .iter()
        .filter(|s| s.source.in_precision_figure());
    for s in shown {
        if let Some(at) = &s.at_minimum {
            let label = s.source.label();
            groups.push((
                format!("B_W {label}"),
                at.iter().map(|x| f64::from(x.b_w)).collect(),
            ));
            groups.push((
                format!("B_A {label}"),
                at.iter().map(|x| f64::from(x.b_a)).collect(),
            ));
        }
    }
    let fig = "p3_layer_precisions.svg";
    bar_chart(
        &ctx.figure(fig),
        &BarChart {
            title: "Per-layer precision at the minimum".into(),
            x_label: "layer".into(),
            y_label: "bits".into(),
            categories: p.layers.clone(),
            groups,
            log_y: false,
        },
    )?;
    let mut md = ctx.figure_link(fig, "Per-layer precisions at the minimum B_min");
    md.push('\n');
    Ok(md)
}
