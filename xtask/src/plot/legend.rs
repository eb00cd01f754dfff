//! The legend box: where it goes (a corner that covers no data, or headroom above the data)
//! and how it is drawn.
use super::{Legend, LineChart, Style, PLOT_H, PLOT_W};
use crate::report::XResult;
use plotters::prelude::*;

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
pub(super) fn legend_size(c: &LineChart) -> (f64, f64) {
    let labels = legend_labels(c);
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let w = (chars * 7.5 + 45.0) / PLOT_W;
    let h = (labels.len() as f64 * 19.0 + 14.0) / PLOT_H;
    (w.min(1.0), h.min(1.0))
}

/// Where the legend goes and how much headroom (fraction of the y axis) it needs: the chosen
/// corner if it covers no data, else the first corner (of upper right, upper left, lower
/// right, lower left) that covers none, else upper right above the data with headroom.
pub(super) fn place_legend(c: &LineChart, x: (f64, f64), y: (f64, f64)) -> (Legend, f64) {
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

/// The legend box of every chart, on a translucent white background.
pub(super) fn draw_legend<'a, CT: CoordTranslate>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::Series;

    fn pts(v: &[(f64, f64)]) -> Vec<(f64, f64)> {
        v.to_vec()
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
}
