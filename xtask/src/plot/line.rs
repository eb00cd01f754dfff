//! Line charts: several series, log axes, reference lines, a tolerance band.
use super::axis::{extent, mid, sci_axis, tick, usable};
use super::legend::{draw_legend, place_legend};
use super::{color, LineChart, Series, Style, SIZE};
use crate::report::XResult;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// A dashed legend swatch (three dashes at `(x, y)`), for dashed series and reference lines.
macro_rules! dashed_swatch {
    ($x:expr, $y:expr, $style:expr) => {
        EmptyElement::at(($x, $y))
            + PathElement::new(vec![(0, 0), (5, 0)], $style)
            + PathElement::new(vec![(8, 0), (13, 0)], $style)
            + PathElement::new(vec![(16, 0), (21, 0)], $style)
    };
}

/// Series with the same points drawn once, their labels joined by " = " (two estimators that
/// give identical results would otherwise hide one under the other); series without a point
/// to draw are left out (no legend entry without drawn data).
fn drawable_series(chart: &LineChart) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for (i, s) in chart.series.iter().enumerate() {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| usable(p, chart.log_x, chart.log_y))
            .collect();
        if pts.is_empty() {
            continue;
        }
        if let Some(same) = out.iter_mut().find(|o| o.points == pts) {
            same.label = format!("{} = {}", same.label, s.label);
            if same.style == Style::Markers {
                same.style = s.style;
            }
            continue;
        }
        // A line through one point draws nothing: show the point.
        let style = match s.style {
            Style::Line | Style::Dashed if pts.len() == 1 => Style::Markers,
            other => other,
        };
        out.push(Series {
            label: s.label.clone(),
            points: pts,
            style,
            color: Some(s.color.unwrap_or(i)),
        });
    }
    out
}

/// Draws a line chart into an SVG file.
pub fn line_chart(path: &Path, chart: &LineChart) -> XResult<()> {
    let svg = line_chart_svg(chart)?;
    fxp_core::io::atomic_write(path, svg.as_bytes())?;
    Ok(())
}

/// The SVG text of a line chart.
pub fn line_chart_svg(chart: &LineChart) -> XResult<String> {
    let mut chart = chart.clone();
    chart.series = drawable_series(&chart);
    let chart = &chart;
    let pts = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|p| usable(p, chart.log_x, chart.log_y))
    };
    let (x0, x1) = extent(pts().map(|p| p.0), chart.log_x);
    let extra_y = chart
        .hlines
        .iter()
        .map(|h| h.0)
        .chain(chart.band.iter().flat_map(|b| [b.0, b.1]));
    let (y0, mut y1) = extent(pts().map(|p| p.1).chain(extra_y), chart.log_y);
    let (legend, headroom) = place_legend(chart, (x0, x1), (y0, y1));
    if headroom > 0.0 {
        // Raise the top of the y axis so that the legend box sits above every point.
        y1 = if chart.log_y {
            y0 * (y1 / y0).powf(1.0 / (1.0 - headroom))
        } else {
            y0 + (y1 - y0) / (1.0 - headroom)
        };
    }
    let mut chart = chart.clone();
    chart.legend = legend;
    let chart = &chart;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        match (chart.log_x, chart.log_y) {
            (false, false) => draw_lines(&root, chart, x0..x1, y0..y1)?,
            (true, false) => draw_lines(&root, chart, (x0..x1).log_scale(), y0..y1)?,
            (false, true) => draw_lines(&root, chart, x0..x1, (y0..y1).log_scale())?,
            (true, true) => draw_lines(&root, chart, (x0..x1).log_scale(), (y0..y1).log_scale())?,
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_lines<X, Y>(
    root: &DrawingArea<SVGBackend, Shift>,
    c: &LineChart,
    xr: X,
    yr: Y,
) -> XResult<()>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut ch = ChartBuilder::on(root)
        .caption(&c.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(xr, yr)?;
    let (xs, ys) = (ch.x_range(), ch.y_range());
    let (x_sci, y_sci) = (sci_axis(&xs, c.log_x), sci_axis(&ys, c.log_y));
    ch.configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&|v: &f64| tick(*v, x_sci))
        .y_label_formatter(&|v: &f64| tick(*v, y_sci))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    if let Some((lo, hi, label)) = &c.band {
        let fill = RGBColor(255, 200, 120).mix(0.35);
        ch.draw_series(std::iter::once(Rectangle::new(
            [(xs.start, *lo), (xs.end, *hi)],
            fill.filled(),
        )))?
        .label(label.as_str())
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], fill.filled()));
    }
    for (i, (y, label)) in c.hlines.iter().enumerate() {
        let col = RGBColor(90, 90, 90);
        let style = ShapeStyle::from(&col).stroke_width(if i == 0 { 2 } else { 1 });
        ch.draw_series(DashedLineSeries::new(
            vec![(xs.start, *y), (xs.end, *y)],
            6,
            4,
            style,
        ))?
        .label(label.as_str())
        .legend(move |(x, y)| dashed_swatch!(x, y, style));
    }
    if c.series.is_empty() {
        // Nothing to draw: say so inside the plot instead of leaving empty axes.
        let note = c
            .empty_note
            .clone()
            .unwrap_or_else(|| "no finite data points to draw".into());
        let (xm, ym) = (mid(&xs, c.log_x), mid(&ys, c.log_y));
        ch.draw_series(std::iter::once(Text::new(
            note,
            (xm, ym),
            ("sans-serif", 20)
                .into_font()
                .color(&RGBColor(150, 30, 30))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        )))?;
    }
    for (i, s) in c.series.iter().enumerate() {
        let col = color(s.color.unwrap_or(i));
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| usable(p, c.log_x, c.log_y))
            .collect();
        let line = ShapeStyle::from(&col).stroke_width(2);
        let anno = match s.style {
            Style::Line => ch.draw_series(LineSeries::new(pts, line))?,
            Style::Dashed => ch.draw_series(DashedLineSeries::new(pts, 8, 5, line))?,
            Style::Markers => {
                ch.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, col.filled())))?
            }
            Style::LineMarkers => {
                ch.draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())))?;
                ch.draw_series(LineSeries::new(pts, line))?
            }
        };
        match s.style {
            Style::Markers => anno
                .label(s.label.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, col.filled())),
            Style::Dashed => anno
                .label(s.label.as_str())
                .legend(move |(x, y)| dashed_swatch!(x, y, line)),
            _ => anno
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line)),
        };
    }
    draw_legend(&mut ch, c.legend)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<(f64, f64)> {
        v.to_vec()
    }

    #[test]
    fn every_legend_entry_has_drawn_data() {
        let chart = LineChart::new("t", "x", "y")
            .series(Series::line("has data", pts(&[(0.0, 1.0), (1.0, 2.0)])))
            .series(Series::line("only NaN", pts(&[(0.0, f64::NAN)])))
            .series(Series::line("nothing", vec![]))
            .series(Series::line("one point", pts(&[(0.5, 1.5)])));
        let svg = line_chart_svg(&chart).unwrap();
        assert!(svg.contains("has data") && svg.contains("one point"));
        assert!(
            !svg.contains("only NaN") && !svg.contains("nothing"),
            "{svg}"
        );
        // the single point of a line is drawn as a marker
        assert!(svg.contains("<circle"), "{svg}");
    }

    #[test]
    fn a_chart_without_data_says_so_inside() {
        let chart = LineChart::new("t", "x", "y")
            .series(Series::line("w1", vec![]))
            .hline(0.5, "reference")
            .empty_note("all 60/60 runs diverged");
        let svg = line_chart_svg(&chart).unwrap();
        assert!(svg.contains("all 60/60 runs diverged"), "{svg}");
        assert!(!svg.contains(">w1<"), "{svg}");
    }

    #[test]
    fn identical_series_share_one_legend_entry() {
        let p = pts(&[(1.0, 2.0), (2.0, 3.0)]);
        let chart = LineChart::new("t", "x", "y")
            .series(Series::markers("provided npy", p.clone()))
            .series(Series::line_markers("course estimator", p.clone()));
        let svg = line_chart_svg(&chart).unwrap();
        assert!(svg.contains("provided npy = course estimator"), "{svg}");
        let merged = drawable_series(&chart);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].style, Style::LineMarkers);
        // near-identical points stay two entries
        let q = pts(&[(1.0, 2.0), (2.0, 3.1)]);
        let chart = chart.series(Series::line("other", q));
        assert_eq!(drawable_series(&chart).len(), 2);
    }
}
