//! Axis ranges and tick labels shared by line and bar charts.

pub(super) fn extent(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
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

pub(super) fn usable(p: &(f64, f64), log_x: bool, log_y: bool) -> bool {
    p.0.is_finite() && p.1.is_finite() && (!log_x || p.0 > 0.0) && (!log_y || p.1 > 0.0)
}

/// The middle of an axis range (geometric on a log axis).
pub(super) fn mid(r: &std::ops::Range<f64>, log: bool) -> f64 {
    if log && r.start > 0.0 {
        (r.start * r.end).sqrt()
    } else {
        0.5 * (r.start + r.end)
    }
}

/// Whether an axis labels its ticks in scientific notation (one format per axis, never
/// "1.0e5" beside "10000"): when its largest magnitude is ≥ 1e5, or its ticks need more than
/// three decimals (a linear span below 1e-2, a log axis reaching below 1e-3).
pub(super) fn sci_axis(r: &std::ops::Range<f64>, log: bool) -> bool {
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
pub(super) fn tick(v: f64, sci: bool) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
