//! Grouped bar charts.
use super::axis::{extent, sci_axis, tick};
use super::legend::draw_legend;
use super::{color, BarChart, Legend, PLOT_H, SIZE};
use crate::report::XResult;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Draws a grouped bar chart into an SVG file.
pub fn bar_chart(path: &Path, chart: &BarChart) -> XResult<()> {
    let n = chart.categories.len().max(1);
    let values = chart.groups.iter().flat_map(|g| g.1.iter().copied());
    let (lo, hi) = extent(
        values.chain(std::iter::once(if chart.log_y { 1.0 } else { 0.0 })),
        chart.log_y,
    );
    let y0 = if chart.log_y { lo } else { lo.min(0.0) };
    // Headroom for the legend (upper right) above the tallest bar: the box covers no bar.
    let rows = chart.groups.len() as f64;
    let f = ((rows * 19.0 + 14.0 + 36.0) / PLOT_H).min(0.6);
    let hi = if chart.log_y {
        y0 * (hi / y0).powf(1.0 / (1.0 - f))
    } else {
        y0 + (hi - y0) / (1.0 - f)
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        if chart.log_y {
            draw_bars(&root, chart, n, (y0..hi).log_scale(), y0)?;
        } else {
            draw_bars(&root, chart, n, y0..hi, 0.0)?;
        }
        root.present()?;
    }
    fxp_core::io::atomic_write(path, svg.as_bytes())?;
    Ok(())
}

fn draw_bars<Y>(
    root: &DrawingArea<SVGBackend, Shift>,
    c: &BarChart,
    n: usize,
    yr: Y,
    base: f64,
) -> XResult<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let cats = c.categories.clone();
    let mut ch = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), yr)?;
    let y_sci = sci_axis(&ch.y_range(), c.log_y);
    ch.configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x: &f64| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                cats.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .y_label_formatter(&|v: &f64| tick(*v, y_sci))
        .draw()?;
    let g = c.groups.len().max(1) as f64;
    let width = 0.8 / g;
    for (gi, (label, vals)) in c.groups.iter().enumerate() {
        let col = color(gi);
        let left = -0.4 + gi as f64 * width;
        ch.draw_series(
            vals.iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| {
                    let x = i as f64 + left;
                    Rectangle::new([(x, base), (x + width * 0.92, v)], col.filled())
                }),
        )?
        .label(label.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], col.filled()));
    }
    draw_legend(&mut ch, Legend::UpperRight)
}
