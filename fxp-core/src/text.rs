//! Number formatting for the text output every binary prints for a person to read (the JSON
//! output keeps full precision): digit grouping for integers, rounded floats without "-0.00",
//! scientific notation only for very large or very small magnitudes (`1.386e8`, never
//! `1.3725e1`), lists without Rust debug brackets and quotes, optional values in words, and
//! layers counted from 1 (as in the tables) with their names.
use std::fmt::Display;

/// An integer with thousands separators: `11689512` → `11,689,512`, `-4096` → `-4,096`.
pub fn group(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` with `decimals` decimals; a value that rounds to zero is printed without a minus sign
/// (`-0.00001` → `0.0000`), and non-finite values as `NaN`, `inf`, `-inf`.
pub fn fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return non_finite(x);
    }
    let s = format!("{x:.decimals$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// `x` in scientific notation with `sig` significant digits and a plain exponent
/// (`1.386e8`, `2.5e-7`); zero as `0`.
pub fn sci(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return non_finite(x);
    }
    if x == 0.0 {
        return "0".into();
    }
    let s = format!("{x:.prec$e}", prec = sig.saturating_sub(1));
    match s.strip_prefix('-') {
        Some(rest) if rest.starts_with("0.") || rest.starts_with("0e") => rest.to_string(),
        _ => s,
    }
}

/// A real number for a person: `sig` significant digits, in plain decimal notation when
/// 1e-3 ≤ |x| < 1e6 (`13.73`, `0.003832`), else scientific (`1.386e8`, `2.5e-7`).
pub fn num(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return non_finite(x);
    }
    let sig = sig.max(1);
    let rounded = crate::json::round_sig(x, sig as u32);
    if rounded == 0.0 {
        return "0".into();
    }
    let mag = rounded.abs().log10().floor() as i32;
    if (-3..6).contains(&mag) {
        let decimals = (sig as i32 - 1 - mag).max(0) as usize;
        fixed(rounded, decimals)
    } else {
        sci(rounded, sig)
    }
}

/// [`num`] without trailing zeros after the decimal point: `0.001`, `50`, `2.5` (for values
/// echoed back, such as a step size or a delay, rather than columns of a table).
pub fn short(x: f64, sig: usize) -> String {
    let s = num(x, sig);
    if s.contains('e') || !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A percentage with two decimals: `85.57 %`.
pub fn percent(x: f64) -> String {
    format!("{} %", fixed(x, 2))
}

/// Items joined by `, ` (no brackets, no quotes): `[8, 8, 7]` → `8, 8, 7`.
pub fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reals joined by `, `, each through [`num`] with `sig` significant digits.
pub fn num_list(items: impl IntoIterator<Item = f64>, sig: usize) -> String {
    list(items.into_iter().map(|x| num(x, sig)))
}

/// The value, or `none` in words when absent.
pub fn opt<T: Display>(value: Option<T>, none: &str) -> String {
    value.map_or_else(|| none.to_string(), |v| v.to_string())
}

/// A layer as people count it: `layer 3 (features.6)` for the index 2 (counted from 0 in code,
/// from 1 in every table and message).
pub fn layer(index: usize, name: &str) -> String {
    if name.is_empty() {
        format!("layer {}", index + 1)
    } else {
        format!("layer {} ({name})", index + 1)
    }
}

/// The serialized name of a unit-like enum value (`Converged` → `converged` under
/// `rename_all = "lowercase"`): a word for a person instead of the Rust debug form.
pub fn label(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".into(),
    }
}

/// A vector of reals as `(0.6729, -0.4201, 0.1452)` with `sig` significant digits.
pub fn vector(items: impl IntoIterator<Item = f64>, sig: usize) -> String {
    format!("({})", num_list(items, sig))
}

fn non_finite(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        assert_eq!(group(0u32), "0");
        assert_eq!(group(999u32), "999");
        assert_eq!(group(1000u32), "1,000");
        assert_eq!(group(11_689_512u64), "11,689,512");
        assert_eq!(group(-4096i64), "-4,096");
        assert_eq!(group(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn no_negative_zero() {
        assert_eq!(fixed(-0.00001, 4), "0.0000");
        assert_eq!(fixed(-0.0, 2), "0.00");
        assert_eq!(fixed(-0.5, 2), "-0.50");
        assert_eq!(fixed(f64::NAN, 2), "NaN");
        assert_eq!(num(-1e-12, 3), "-1.00e-12");
        assert_eq!(num(-0.0, 3), "0");
    }

    #[test]
    fn plain_or_scientific() {
        assert_eq!(num(13.725, 4), "13.73");
        assert_eq!(num(0.38311868495572915, 4), "0.3831");
        assert_eq!(num(1.386e8, 4), "1.386e8");
        assert_eq!(num(2.5e-7, 2), "2.5e-7");
        assert_eq!(num(100000.0, 3), "100000");
        assert_eq!(num(1e6, 3), "1.00e6");
        assert_eq!(sci(1.3726e1, 4), "1.373e1");
        assert_eq!(sci(0.0, 4), "0");
        assert_eq!(short(0.001, 4), "0.001");
        assert_eq!(short(50.0, 4), "50");
        assert_eq!(short(2.5e-7, 4), "2.500e-7");
    }

    #[test]
    fn lists_and_options() {
        assert_eq!(list([8, 8, 7]), "8, 8, 7");
        assert_eq!(list(["int8", "f32"]), "int8, f32");
        assert_eq!(num_list([0.5, 1.0 / 3.0], 3), "0.500, 0.333");
        assert_eq!(opt(Some(0.25), "none"), "0.25");
        assert_eq!(opt(None::<u32>, "none"), "none");
        assert_eq!(layer(0, "features.0"), "layer 1 (features.0)");
        assert_eq!(layer(7, ""), "layer 8");
    }
}
