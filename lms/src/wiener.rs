//! The optimal (Wiener) N-tap linear predictor of x_n from x_{n−1} … x_{n−N}, estimated from a
//! series: biased autocorrelation estimate, Toeplitz normal equations R w* = p, MMSE and SNR.
use crate::error::{check_nonzero, LmsError, Result};
use fxp_core::linalg::{solve, symmetric_eigenvalues};
use fxp_core::stats::db_power;
use ndarray::{s, Array1, Array2, ArrayView1, AsArray};
use serde::{Deserialize, Serialize};

/// Biased autocorrelation estimate r̂_k = (1/n) Σ_t x_t x_{t+k}, k = 0 … max_lag.
pub fn autocorrelation<'a>(x: impl AsArray<'a, f64>, max_lag: usize) -> Result<Array1<f64>> {
    let x: ArrayView1<f64> = x.into();
    if x.len() <= max_lag {
        return Err(LmsError::Invalid {
            what: "series",
            reason: format!("{} samples cannot give lag {max_lag}", x.len()),
        });
    }
    fxp_core::error::check_finite("series", x.iter().copied())?;
    let n = x.len() as f64;
    Ok((0..=max_lag)
        .map(|k| {
            x.iter()
                .zip(x.slice(s![k..]))
                .map(|(a, b)| a * b)
                .sum::<f64>()
                / n
        })
        .collect())
}

/// The N×N Toeplitz autocorrelation matrix R built from r₀ … r_{N−1}.
pub fn toeplitz<'a>(r: impl AsArray<'a, f64>, taps: usize) -> Array2<f64> {
    let r: ArrayView1<f64> = r.into();
    Array2::from_shape_fn((taps, taps), |(i, j)| r[i.abs_diff(j)])
}

/// The Wiener predictor and the statistics it is built from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wiener {
    /// Number of taps N.
    pub taps: usize,
    /// Autocorrelation r₀ … r_N used.
    #[serde(with = "fxp_core::json::array1")]
    pub r: Array1<f64>,
    /// Optimal coefficients w* (w*_k multiplies x_{n−k}).
    #[serde(with = "fxp_core::json::array1")]
    pub w: Array1<f64>,
    /// σ_x² = r₀.
    pub sigma_x2: f64,
    /// MMSE σ_e² = r₀ − w*ᵀp.
    pub mmse: f64,
    /// ‖w*‖².
    pub w_norm2: f64,
    /// SNR = 10 log10(σ_x²/σ_e²) in dB.
    pub snr_db: f64,
    /// Eigenvalues of R, descending.
    #[serde(with = "fxp_core::json::array1")]
    pub eigenvalues: Array1<f64>,
}

impl Wiener {
    /// Solves the normal equations from the autocorrelation r₀ … r_N.
    pub fn from_autocorrelation<'a>(r: impl AsArray<'a, f64>, taps: usize) -> Result<Self> {
        let r: ArrayView1<f64> = r.into();
        check_nonzero("taps", taps)?;
        if r.len() <= taps {
            return Err(LmsError::Invalid {
                what: "autocorrelation",
                reason: format!("{taps} taps need lags 0..={taps}, got {} values", r.len()),
            });
        }
        let rm = toeplitz(r, taps);
        let p = r.slice(s![1..=taps]);
        let w = solve(rm.view(), p)?;
        let eigenvalues = symmetric_eigenvalues(rm.view())?
            .iter()
            .rev()
            .copied()
            .collect();
        let mmse = r[0] - w.iter().zip(p).map(|(a, b)| a * b).sum::<f64>();
        Ok(Self {
            taps,
            r: r.slice(s![..=taps]).to_owned(),
            w_norm2: w.iter().map(|x| x * x).sum(),
            snr_db: db_power(r[0] / mmse),
            sigma_x2: r[0],
            mmse,
            eigenvalues,
            w,
        })
    }

    /// Estimates the predictor from a series.
    pub fn estimate<'a>(x: impl AsArray<'a, f64>, taps: usize) -> Result<Self> {
        check_nonzero("taps", taps)?;
        Self::from_autocorrelation(&autocorrelation(x, taps)?, taps)
    }

    /// tr(R) = N r₀.
    pub fn trace(&self) -> f64 {
        self.taps as f64 * self.sigma_x2
    }
}

/// Prediction ŷ_n = Σ_k w_k x_{n−k} for n = N … len−1 (index 0 of the result is n = N).
pub fn predict<'a, 'b>(x: impl AsArray<'a, f64>, w: impl AsArray<'b, f64>) -> Array1<f64> {
    let (x, w): (ArrayView1<f64>, ArrayView1<f64>) = (x.into(), w.into());
    let n = w.len();
    (n..x.len())
        .map(|t| w.iter().enumerate().map(|(k, wk)| wk * x[t - 1 - k]).sum())
        .collect()
}

/// Empirical MSE of the predictor `w` on the series: mean of (x_n − ŷ_n)² over n ≥ N.
pub fn prediction_mse<'a, 'b>(x: impl AsArray<'a, f64>, w: impl AsArray<'b, f64>) -> Result<f64> {
    let (x, w): (ArrayView1<f64>, ArrayView1<f64>) = (x.into(), w.into());
    check_nonzero("taps", w.len())?;
    if x.len() <= w.len() {
        return Err(LmsError::Invalid {
            what: "series",
            reason: "shorter than the predictor".into(),
        });
    }
    let y = predict(x, w);
    Ok(y.iter()
        .zip(x.slice(s![w.len()..]))
        .map(|(p, t)| (t - p) * (t - p))
        .sum::<f64>()
        / y.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ar_model_exact_wiener_is_its_coefficients() {
        let m = crate::series::ArModel::new(vec![0.6, -0.4, 0.1], 0.3).unwrap();
        let r = m.autocorrelation(3).unwrap();
        let w = Wiener::from_autocorrelation(&r, 3).unwrap();
        for (a, b) in w.w.iter().zip(&m.a) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((w.mmse - 0.3).abs() < 1e-12);
        assert!(Wiener::from_autocorrelation(&r, 0).is_err());
    }
}
