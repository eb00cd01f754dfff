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
