//! Signal statistics: dynamic range, power, SQNR, peak-to-RMS ratio, quantization noise.
use crate::error::{check_finite, FxpError, Result};

/// Power-of-two ceiling of max |x|: 2^⌈log2 max|x|⌉ (the course's dynamic range).
/// Errors on empty or non-finite data and on all-zero data.
pub fn dynamic_range_pow2(xs: impl IntoIterator<Item = f64>) -> Result<f64> {
    let mut max = 0f64;
    let mut n = 0usize;
    for (index, x) in xs.into_iter().enumerate() {
        if !x.is_finite() {
            return Err(FxpError::NonFinite {
                what: "dynamic range input".into(),
                index,
                value: x,
            });
        }
        max = max.max(x.abs());
        n += 1;
    }
    if n == 0 {
        return Err(FxpError::Empty {
            what: "dynamic range input".into(),
        });
    }
    pow2_ceil(max)
}

/// 2^⌈log2 m⌉ for m > 0.
pub fn pow2_ceil(m: f64) -> Result<f64> {
    if !(m.is_finite() && m > 0.0) {
        return Err(FxpError::InvalidRange { range: m });
    }
    Ok((2f64).powi(m.log2().ceil() as i32))
}

/// Mean power E[x²].
pub fn power(xs: &[f64]) -> Result<f64> {
    if xs.is_empty() {
        return Err(FxpError::Empty {
            what: "signal".into(),
        });
    }
    check_finite("signal", xs.iter().copied())?;
    Ok(xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64)
}

/// Variance (population) of the data.
pub fn variance(xs: &[f64]) -> Result<f64> {
    let p = power(xs)?;
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    Ok(p - m * m)
}

/// 10·log10 of a power ratio.
pub fn db_power(ratio: f64) -> f64 {
    10.0 * ratio.log10()
}

/// 20·log10 of an amplitude ratio.
pub fn db_amplitude(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// SQNR in dB of `noisy` against the reference `signal`: 10 log10(E[s²]/E[(s − ŝ)²]).
pub fn sqnr_db(signal: &[f64], noisy: &[f64]) -> Result<f64> {
    if signal.len() != noisy.len() {
        return Err(FxpError::Invalid(format!(
            "SQNR: signal has {} samples, quantized signal {}",
            signal.len(),
            noisy.len()
        )));
    }
    let ps = power(signal)?;
    check_finite("quantized signal", noisy.iter().copied())?;
    let pn = signal
        .iter()
        .zip(noisy)
        .map(|(s, q)| (s - q) * (s - q))
        .sum::<f64>()
        / signal.len() as f64;
    Ok(db_power(ps / pn))
}

/// Peak-to-RMS ratio ζ = peak/σ (σ: standard deviation about the mean).
pub fn zeta(peak: f64, sigma: f64) -> f64 {
    peak / sigma
}

/// Variance of uniform quantization noise of step Δ: Δ²/12.
pub fn quant_noise_variance(step: f64) -> f64 {
    step * step / 12.0
}

/// SQNR (dB) of a B-bit signed quantizer over ±peak for a signal of standard deviation σ:
/// 6.02 B + 4.77 − 20 log10 ζ (exact constants: 20 log10 2 and 10 log10 3).
pub fn sqnr_formula_db(bits: u32, zeta: f64) -> f64 {
    db_amplitude(2.0) * bits as f64 + db_power(3.0) - db_amplitude(zeta)
}
