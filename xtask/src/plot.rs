//! The one plotting helper of the project: line charts (several series, log axes, reference
//! lines, a tolerance band, legends) and grouped bar charts, drawn as SVG with plotters and
//! written atomically.
use crate::report::XResult;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

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
    /// Top right corner (the default).
    #[default]
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

/// Draws a line chart into an SVG file.
pub fn line_chart(path: &Path, chart: &LineChart) -> XResult<()> {
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
    let (y0, y1) = extent(pts().map(|p| p.1).chain(extra_y), chart.log_y);
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
    fxp_core::io::atomic_write(path, svg.as_bytes())?;
    Ok(())
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
    ch.configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&|v: &f64| tick(*v))
        .y_label_formatter(&|v: &f64| tick(*v))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let (xs, ys) = (ch.x_range(), ch.y_range());
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
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    let _ = ys;
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
            Style::Dashed => anno.label(s.label.as_str()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (7, 0)], line)
                    + PathElement::new(vec![(12, 0), (20, 0)], line)
            }),
            _ => anno
                .label(s.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line)),
        };
    }
    draw_legend(&mut ch, c.legend)
}

/// The legend box of every chart, on a translucent white background.
fn draw_legend<'a, CT: CoordTranslate>(
    ch: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    at: Legend,
) -> XResult<()> {
    let position = match at {
        Legend::UpperRight => SeriesLabelPosition::UpperRight,
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

/// Axis tick label: plain for moderate magnitudes, scientific (`1.0e12`) for large or tiny ones.
fn tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
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
        .y_label_formatter(&|v: &f64| tick(*v))
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
