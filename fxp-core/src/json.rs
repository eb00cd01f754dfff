//! Rounding of JSON results for stable snapshots and readable output.
use serde_json::Value;

/// Rounds `x` to `digits` significant digits (non-finite values are returned unchanged).
pub fn round_sig(x: f64, digits: u32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let mag = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits as i32 - 1 - mag);
    if !scale.is_finite() || scale == 0.0 {
        return x;
    }
    (x * scale).round() / scale
}

/// Rounds every floating-point number inside a JSON value to `digits` significant digits.
pub fn round_json(v: &Value, digits: u32) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let x = round_sig(n.as_f64().unwrap_or(f64::NAN), digits);
            serde_json::Number::from_f64(x)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| round_json(x, digits)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), round_json(x, digits)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Serializes an `ndarray::Array1<f64>` as a plain JSON list (not ndarray's
/// `{"v", "dim", "data"}` form), so that results holding arrays read like lists:
/// `#[serde(with = "fxp_core::json::array1")]`.
pub mod array1 {
    use ndarray::Array1;
    use serde::{Deserialize, Deserializer, Serializer};

    /// The array as a list of its elements.
    pub fn serialize<S: Serializer>(a: &Array1<f64>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(a.iter())
    }

    /// The array from a list.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Array1<f64>, D::Error> {
        Vec::<f64>::deserialize(d).map(Array1::from)
    }
}

/// Points kept from a long array by [`summarize_long_arrays`].
const SAMPLE_POINTS: usize = 8;

/// Every array of numbers (nulls allowed) longer than `max_len` inside a JSON value replaced by
/// a summary, for readable snapshots of long curves (results.json keeps the full arrays):
/// `len`, `nulls`, `first`, `last`, `min`, `max`, `mean` (rounded to 6 significant digits),
/// 8 evenly spaced points (`sample`, every `sample_step`-th element from the first) and `digest`,
/// a 64-bit FNV-1a hash of the whole array's JSON text — so that a change to any one number
/// still changes the summary. Round first ([`round_json`]) for a platform-stable digest.
pub fn summarize_long_arrays(v: &Value, max_len: usize) -> Value {
    match v {
        Value::Array(a) if a.len() > max_len && a.iter().all(|x| x.is_number() || x.is_null()) => {
            summary(a)
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| summarize_long_arrays(x, max_len))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), summarize_long_arrays(x, max_len)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The summary of one array of numbers and nulls (see [`summarize_long_arrays`]).
fn summary(a: &[Value]) -> Value {
    let nums: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
    let number = |x: f64| {
        serde_json::Number::from_f64(round_sig(x, 6))
            .map(Value::Number)
            .unwrap_or(Value::Null)
    };
    let (min, max) = nums
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let mean = nums.iter().sum::<f64>() / nums.len().max(1) as f64;
    let step = a.len().div_ceil(SAMPLE_POINTS);
    let text = serde_json::to_string(a).unwrap_or_default();
    let digest = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    serde_json::json!({
        "len": a.len(),
        "nulls": a.len() - nums.len(),
        "first": a.first(),
        "last": a.last(),
        "min": if nums.is_empty() { Value::Null } else { number(min) },
        "max": if nums.is_empty() { Value::Null } else { number(max) },
        "mean": if nums.is_empty() { Value::Null } else { number(mean) },
        "sample_step": step,
        "sample": a.iter().step_by(step).collect::<Vec<_>>(),
        "digest": format!("{digest:016x}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_arrays_become_summaries_that_see_every_number() {
        let curve: Vec<f64> = (0..100).map(|i| i as f64 / 4.0).collect();
        let v = json!({ "short": [1.0, 2.0], "curve": curve, "rows": [{ "c": curve }] });
        let s = summarize_long_arrays(&v, 24);
        assert_eq!(s["short"], json!([1.0, 2.0]));
        assert_eq!(s["curve"]["len"], 100);
        assert_eq!(s["curve"]["first"], 0.0);
        assert_eq!(s["curve"]["last"], 24.75);
        assert_eq!(s["curve"]["mean"], 12.375);
        assert_eq!(s["curve"]["sample_step"], 13);
        assert_eq!(s["curve"]["sample"].as_array().map(Vec::len), Some(8));
        assert_eq!(s["rows"][0]["c"], s["curve"]);
        // One changed number in the middle, with the same min, max and mean: another digest.
        let mut other = curve.clone();
        other[40] += 0.25;
        other[41] -= 0.25;
        let t = summarize_long_arrays(&json!({ "curve": other }), 24);
        assert_eq!(t["curve"]["mean"], s["curve"]["mean"]);
        assert_ne!(t["curve"]["digest"], s["curve"]["digest"]);
        // Nulls are counted; an array of objects is not summarized.
        let with_null = json!([null, 1.0, 2.0]);
        assert_eq!(summarize_long_arrays(&with_null, 2)["nulls"], 1);
        let objects = json!([{ "a": 1 }, { "a": 2 }, { "a": 3 }]);
        assert_eq!(summarize_long_arrays(&objects, 2), objects);
    }
}
