//! Helpers shared by the Problem 6 and 7 renderers: learning-curve charts and outcome words.
use crate::plot::{LineChart, Series};
use fxp_core::stats::db_power;
use lms::adaptive::{Curves, Status};
use ndarray::AsArray;

/// The ensemble MSE in dB against the iteration.
pub fn mse_db_points(c: &Curves) -> Vec<(f64, f64)> {
    c.steps
        .iter()
        .zip(&c.mse)
        .map(|(&n, &e)| (n as f64, db_power(e)))
        .collect()
}

/// One line per coefficient of each labelled run, the Wiener values as reference lines.
/// When every realization of a run diverged there is no ensemble mean to draw: the title and
/// the plot area say so instead of showing empty axes.
pub fn coef_chart<'a>(
    title: &str,
    curves: &[(&str, &Curves)],
    w_opt: impl AsArray<'a, f64>,
) -> LineChart {
    let w_opt = fxp_core::array::slice(w_opt);
    let diverged =
        |c: &Curves| c.config.realizations > 0 && c.diverged_realizations == c.config.realizations;
    let title = match curves.iter().find(|(_, c)| diverged(c)) {
        Some((_, c)) => format!(
            "{title}: all {}/{} runs diverged",
            c.diverged_realizations, c.config.realizations
        ),
        None => title.to_string(),
    };
    let mut chart = LineChart::new(title, "iteration n", "coefficient (ensemble mean)");
    for (label, c) in curves {
        for (k, ck) in c.coef.iter().enumerate() {
            let pts: Vec<(f64, f64)> = c
                .steps
                .iter()
                .zip(ck)
                .filter_map(|(&n, w)| w.map(|w| (n as f64, w)))
                .collect();
            let name = if label.is_empty() {
                format!("w{}", k + 1)
            } else {
                format!("{label} w{}", k + 1)
            };
            chart = chart.series(Series::line(name, pts));
        }
    }
    for (k, w) in w_opt.iter().enumerate() {
        chart = chart.hline(*w, format!("Wiener w{} = {w:.3}", k + 1));
    }
    let counts: Vec<String> = curves
        .iter()
        .map(|(_, c)| {
            format!(
                "{}/{} runs diverged",
                c.diverged_realizations, c.config.realizations
            )
        })
        .collect();
    chart.empty_note(format!(
        "{}: no surviving realization, no coefficients to draw",
        counts.join(", ")
    ))
}

/// "converged", or "**diverged** (n/m realizations blew up, first at n = k)".
pub fn status_str(c: &Curves) -> String {
    match c.status {
        Status::Converged => "converged".into(),
        Status::Diverged => format!(
            "**diverged** ({}/{} realizations blew up{})",
            c.diverged_realizations,
            c.config.realizations,
            c.first_divergence
                .map_or(String::new(), |n| format!(", first at n = {n}"))
        ),
    }
}
