//! The one plotting helper of the project: line charts (several series, log axes, reference
//! lines, a tolerance band, legends) and grouped bar charts, drawn as SVG with plotters and
//! written atomically.
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

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Solid line.
    Line,
    /// Dashed line.
    Dashed,
    /// Markers only.
    Markers,
    /// Solid line with markers.
    LineMarkers,
}

/// One labelled series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The points; non-finite points (and non-positive ones on a log axis) are skipped.
    pub points: Vec<(f64, f64)>,
    /// Drawing style.
    pub style: Style,
    /// Palette index (default: the series' position), to pair e.g. a formula and its measurement.
    pub color: Option<usize>,
}

impl Series {
    /// A series with a style.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Self {
        Self {
            label: label.into(),
            points,
            style,
            color: None,
        }
    }
    /// The same series drawn in palette colour `i`.
    pub fn color(mut self, i: usize) -> Self {
        self.color = Some(i);
        self
    }
    /// A solid line.
    pub fn line(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::new(label, points, Style::Line)
    }
    /// A dashed line.
    pub fn dashed(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::new(label, points, Style::Dashed)
    }
    /// Markers only.
    pub fn markers(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::new(label, points, Style::Markers)
    }
    /// A line with markers.
    pub fn line_markers(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self::new(label, points, Style::LineMarkers)
    }
}

/// Where the legend box goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Legend {
    /// The corner where the box covers no data; when every corner has data, the y axis gets
    /// headroom above the data and the box goes there (the default).
    #[default]
    Auto,
    /// Top right corner.
    UpperRight,
    /// Top left corner.
    UpperLeft,
    /// Bottom right corner.
    LowerRight,
    /// Bottom left corner.
    LowerLeft,
}

/// A line chart.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Horizontal reference lines (y, label).
    pub hlines: Vec<(f64, String)>,
    /// A shaded horizontal band (low, high, label).
    pub band: Option<(f64, f64, String)>,
    /// Legend position.
    pub legend: Legend,
    /// Said inside the plot area when no series has a point to draw (instead of empty axes).
    pub empty_note: Option<String>,
}

impl LineChart {
    /// An empty chart with a title and axis labels.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Default::default()
        }
    }
    /// Adds a series.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    /// Logarithmic x axis.
    pub fn log_x(mut self) -> Self {
        self.log_x = true;
        self
    }
    /// Logarithmic y axis.
    pub fn log_y(mut self) -> Self {
        self.log_y = true;
        self
    }
    /// Adds a horizontal reference line.
    pub fn hline(mut self, y: f64, label: impl Into<String>) -> Self {
        self.hlines.push((y, label.into()));
        self
    }
    /// Puts the legend elsewhere than the upper right corner.
    pub fn legend(mut self, at: Legend) -> Self {
        self.legend = at;
        self
    }
    /// What to say inside the plot when no series has a point to draw.
    pub fn empty_note(mut self, note: impl Into<String>) -> Self {
        self.empty_note = Some(note.into());
        self
    }
    /// Adds a shaded band between two y values.
    pub fn band(mut self, lo: f64, hi: f64, label: impl Into<String>) -> Self {
        self.band = Some((lo, hi, label.into()));
        self
    }
}

/// A grouped bar chart: one group of bars per category.
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    /// Title above the plot.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Category names along x.
    pub categories: Vec<String>,
    /// (legend label, one value per category).
    pub groups: Vec<(String, Vec<f64>)>,
    /// Logarithmic y axis.
    pub log_y: bool,
}

const SIZE: (u32, u32) = (900, 560);

fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    PALETTE[i % PALETTE.len()]
}

fn extent(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        if hi <= lo {
            return (lo / 2.0, hi * 2.0);
        }
        let f = (hi / lo).powf(0.05);
        (lo / f, hi * f)
    } else {
        if hi <= lo {
            return (lo - 1.0, hi + 1.0);
        }
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    }
}

fn usable(p: &(f64, f64), log_x: bool, log_y: bool) -> bool {
    p.0.is_finite() && p.1.is_finite() && (!log_x || p.0 > 0.0) && (!log_y || p.1 > 0.0)
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

/// Approximate plot-area size in pixels (the SVG minus margins, caption and label areas).
const PLOT_W: f64 = 900.0 - 2.0 * 16.0 - 80.0;
const PLOT_H: f64 = 560.0 - 2.0 * 16.0 - 48.0 - 30.0;

/// Legend entries of a chart: band, reference lines, series.
fn legend_labels(c: &LineChart) -> Vec<&str> {
    c.band
        .iter()
        .map(|b| b.2.as_str())
        .chain(c.hlines.iter().map(|h| h.1.as_str()))
        .chain(c.series.iter().map(|s| s.label.as_str()))
        .collect()
}

/// The legend box as fractions (width, height) of the plot area.
fn legend_size(c: &LineChart) -> (f64, f64) {
    let labels = legend_labels(c);
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let w = (chars * 7.5 + 45.0) / PLOT_W;
    let h = (labels.len() as f64 * 19.0 + 14.0) / PLOT_H;
    (w.min(1.0), h.min(1.0))
}

/// Where the legend goes and how much headroom (fraction of the y axis) it needs: the chosen
/// corner if it covers no data, else the first corner (of upper right, upper left, lower
/// right, lower left) that covers none, else upper right above the data with headroom.
fn place_legend(c: &LineChart, x: (f64, f64), y: (f64, f64)) -> (Legend, f64) {
    if c.series.is_empty() && c.hlines.is_empty() && c.band.is_none() {
        return (Legend::UpperRight, 0.0);
    }
    let norm = |v: f64, (lo, hi): (f64, f64), log: bool| {
        if log {
            (v.ln() - lo.ln()) / (hi.ln() - lo.ln())
        } else {
            (v - lo) / (hi - lo)
        }
    };
    // Points of the series, with line segments sampled, plus the reference lines and band
    // edges sampled across, in [0, 1]² plot coordinates.
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for s in &c.series {
        let p: Vec<(f64, f64)> = s
            .points
            .iter()
            .map(|&(a, b)| (norm(a, x, c.log_x), norm(b, y, c.log_y)))
            .collect();
        pts.extend(p.iter().copied());
        if s.style != Style::Markers {
            for w in p.windows(2) {
                for k in 1..24 {
                    let t = k as f64 / 24.0;
                    pts.push((
                        w[0].0 + t * (w[1].0 - w[0].0),
                        w[0].1 + t * (w[1].1 - w[0].1),
                    ));
                }
            }
        }
    }
    let edges = c
        .hlines
        .iter()
        .map(|h| h.0)
        .chain(c.band.iter().flat_map(|b| [b.0, b.1]));
    for v in edges {
        let yv = norm(v, y, c.log_y);
        pts.extend((0..=40).map(|k| (k as f64 / 40.0, yv)));
    }
    let (w, h) = legend_size(c);
    let margin = 12.0 / PLOT_W;
    let covers = |corner: Legend| {
        let (xl, xh) = match corner {
            Legend::UpperLeft | Legend::LowerLeft => (0.0, w + 2.0 * margin),
            _ => (1.0 - w - 2.0 * margin, 1.0),
        };
        let (yl, yh) = match corner {
            Legend::LowerLeft | Legend::LowerRight => (0.0, h + 2.0 * margin),
            _ => (1.0 - h - 2.0 * margin, 1.0),
        };
        pts.iter()
            .any(|&(px, py)| px >= xl && px <= xh && py >= yl && py <= yh)
    };
    let order = [
        c.legend,
        Legend::UpperRight,
        Legend::UpperLeft,
        Legend::LowerRight,
        Legend::LowerLeft,
    ];
    for corner in order {
        if corner != Legend::Auto && !covers(corner) {
            return (corner, 0.0);
        }
    }
    (Legend::UpperRight, (h + 3.0 * margin).min(0.6))
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

/// The middle of an axis range (geometric on a log axis).
fn mid(r: &std::ops::Range<f64>, log: bool) -> f64 {
    if log && r.start > 0.0 {
        (r.start * r.end).sqrt()
    } else {
        0.5 * (r.start + r.end)
    }
}

/// The legend box of every chart, on a translucent white background.
fn draw_legend<'a, CT: CoordTranslate>(
    ch: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    at: Legend,
) -> XResult<()> {
    let position = match at {
        Legend::UpperRight | Legend::Auto => SeriesLabelPosition::UpperRight,
        Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
        Legend::LowerRight => SeriesLabelPosition::LowerRight,
        Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
    };
    ch.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .position(position)
        .draw()?;
    Ok(())
}

/// Whether an axis labels its ticks in scientific notation (one format per axis, never
/// "1.0e5" beside "10000"): when its largest magnitude is ≥ 1e5, or its ticks need more than
/// three decimals (a linear span below 1e-2, a log axis reaching below 1e-3).
fn sci_axis(r: &std::ops::Range<f64>, log: bool) -> bool {
    let m = r.start.abs().max(r.end.abs());
    let fine = if log {
        r.start.min(r.end) < 1e-3
    } else {
        (r.end - r.start).abs() < 1e-2
    };
    m >= 1e5 || (m > 0.0 && fine)
}

/// Axis tick label in the axis's format: plain (`0.25`, `10000`) or scientific with a trimmed
/// mantissa (`1e5`, `2.5e5`).
fn tick(v: f64, sci: bool) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if v == 0.0 || v.abs() < 1e-12 {
        "0".into()
    } else if sci {
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{e}", trim(m.to_string()))
    } else {
        trim(format!("{v:.3}"))
    }
}

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

/// Writes a text file (DOT source, a hand-made SVG, a CSV) atomically.
pub fn write_text(path: &Path, text: &str) -> XResult<()> {
    fxp_core::io::atomic_write(path, text.as_bytes())?;
    Ok(())
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

    #[test]
    fn the_legend_avoids_the_data() {
        // Data in the upper right only: the legend goes elsewhere, without headroom.
        let c = LineChart::new("t", "x", "y").series(Series::markers(
            "a",
            pts(&[(0.0, 0.0), (10.0, 10.0), (9.5, 9.5)]),
        ));
        let (at, headroom) = place_legend(&c, (0.0, 10.0), (0.0, 10.0));
        assert_ne!(at, Legend::UpperRight);
        assert_eq!(headroom, 0.0);
        // Data in every corner: headroom above the data.
        let corners = pts(&[(0.0, 0.0), (0.0, 10.0), (10.0, 0.0), (10.0, 10.0)]);
        let c = LineChart::new("t", "x", "y").series(Series::markers("a", corners));
        let (_, headroom) = place_legend(&c, (0.0, 10.0), (0.0, 10.0));
        assert!(headroom > 0.0);
        // A line across the top covers both upper corners.
        let c = LineChart::new("t", "x", "y")
            .series(Series::line("a", pts(&[(0.0, 10.0), (10.0, 10.0)])));
        let (at, _) = place_legend(&c, (0.0, 10.0), (0.0, 10.0));
        assert!(matches!(at, Legend::LowerRight), "{at:?}");
    }

    #[test]
    fn one_tick_format_per_axis() {
        assert!(sci_axis(&(0.0..2e5), false));
        assert!(!sci_axis(&(0.0..5e4), false));
        assert!(!sci_axis(&(0.001..1000.0), true));
        // a log axis down to 1e-7: every tick in scientific notation, none printed as "0"
        assert!(sci_axis(&(1e-7..30.0), true));
        assert!(!sci_axis(&(81.5..83.9), false));
        assert!(sci_axis(&(0.001..0.005), false));
        assert_eq!(tick(1e4, true), "1e4");
        assert_eq!(tick(1e5, true), "1e5");
        assert_eq!(tick(2.5e5, true), "2.5e5");
        assert_eq!(tick(10000.0, false), "10000");
        assert_eq!(tick(0.25, false), "0.25");
        assert_eq!(tick(-1e-15, false), "0");
    }
}
