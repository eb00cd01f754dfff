//! The one plotting helper of the project: line charts (several series, log axes, reference
//! lines, a tolerance band, legends) and grouped bar charts, drawn as SVG with plotters and
//! written atomically.
//!
//! `line` draws line charts, `bar` grouped bar charts; `legend` places the legend box and
//! `axis` computes ranges and tick labels for both.
mod axis;
mod bar;
mod legend;
mod line;

use crate::report::XResult;
use plotters::style::RGBColor;
use std::path::Path;

pub use bar::bar_chart;
pub use line::{line_chart, line_chart_svg};

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

pub(crate) const SIZE: (u32, u32) = (900, 560);

pub(crate) fn color(i: usize) -> RGBColor {
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

/// Approximate plot-area size in pixels (the SVG minus margins, caption and label areas).
pub(crate) const PLOT_W: f64 = 900.0 - 2.0 * 16.0 - 80.0;
pub(crate) const PLOT_H: f64 = 560.0 - 2.0 * 16.0 - 48.0 - 30.0;

/// Writes a text file (DOT source, a hand-made SVG, a CSV) atomically.
pub fn write_text(path: &Path, text: &str) -> XResult<()> {
    fxp_core::io::atomic_write(path, text.as_bytes())?;
    Ok(())
}
