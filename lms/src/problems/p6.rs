//! Problem 6: LMS ensembles at multiples of μ_max and the LMS architecture.
use super::{lms_arch, series, ArchReport, SeedValues, Settings};
use crate::adaptive::{self, AdaptConfig, Curves};
use crate::error::Result;
use crate::wiener::Wiener;
use fxp_core::compare::{Comparison, Tolerance};
use serde::{Deserialize, Serialize};

/// One LMS run of Problem 6.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LmsRun {
    /// μ / μ_max.
    pub multiple: f64,
    /// μ.
    pub mu: f64,
    /// Ensemble curves.
    #[serde(flatten)]
    pub curves: Curves,
    /// Theory: μ tr(R)/2.
    #[serde(rename = "misadjustment_theory_small_mu")]
    pub misadjustment_small_mu: f64,
    /// Theory: Feuer–Weinstein Gaussian independence formula (None outside its validity).
    #[serde(rename = "misadjustment_theory_gaussian")]
    pub misadjustment_independence: Option<f64>,
    /// Measured misadjustment against the Gaussian theory (when both exist).
    pub misadjustment_vs_gaussian: Option<Comparison>,
    /// Every realization blew up.
    pub all_diverged: bool,
}

/// Relative tolerance under which a measured misadjustment matches the Gaussian theory.
pub const MISADJUSTMENT_TOLERANCE: Tolerance = Tolerance::Relative(0.2);
/// Relative tolerance under which our μ_max agrees with the seed's (the series differ by sampling).
pub const MU_MAX_TOLERANCE: Tolerance = Tolerance::Relative(0.05);

impl LmsRun {
    fn new(multiple: f64, mu: f64, curves: Curves, w: &Wiener) -> Self {
        let misadjustment_independence = adaptive::misadjustment_independence(mu, &w.eigenvalues);
        let misadjustment_vs_gaussian =
            curves
                .misadjustment
                .zip(misadjustment_independence)
                .map(|(measured, theory)| {
                    Comparison::new(
                        format!("misadjustment at {multiple} μ_max vs Gaussian theory"),
                        measured,
                        theory,
                        MISADJUSTMENT_TOLERANCE,
                    )
                });
        Self {
            multiple,
            mu,
            all_diverged: curves.diverged_realizations == curves.config.realizations,
            misadjustment_small_mu: adaptive::misadjustment_small_mu(mu, w.trace()),
            misadjustment_independence,
            misadjustment_vs_gaussian,
            curves,
        }
    }
}

/// Problem 6.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P6 {
    /// The sizes used.
    pub settings: Settings,
    /// Measured σ_x² of the series.
    pub sigma_x2: f64,
    /// μ_max = 2/(N σ_x²).
    pub mu_max: f64,
    /// Mean-convergence bound 2/λ_max.
    pub mu_mean_bound: f64,
    /// Mean-square bound for Gaussian regressors (independence theory, Feuer–Weinstein).
    pub mu_mean_square_bound: f64,
    /// The Wiener predictor of the series (the reference).
    pub wiener: Wiener,
    /// Runs at 0.5, 0.01 and 50 × μ_max.
    pub runs: Vec<LmsRun>,
    /// Our μ_max against the seed's.
    pub mu_max_vs_seed: Comparison,
    /// The architecture.
    pub arch: ArchReport,
    /// The seed's values.
    #[serde(rename = "seed")]
    pub seed_values: SeedValues,
}

/// Runs Problem 6: LMS ensembles at `s.lms_multiples` of μ_max, and the LMS architecture.
pub fn p6(s: &Settings) -> Result<P6> {
    let (sr, _) = series(s)?;
    let w = sr.measured.clone();
    let mu_max = adaptive::mu_max(s.taps, w.sigma_x2)?;
    let mut runs = vec![];
    for &m in &s.lms_multiples {
        crate::error::check_positive("mu multiple", m)?;
        let mu = m * mu_max;
        let cfg = AdaptConfig::new(mu, 0, s.lms_len, s.lms_realizations, s.seed);
        let curves = adaptive::ensemble(&sr.fit.model, &w.w, &cfg)?;
        runs.push(LmsRun::new(m, mu, curves, &w));
    }
    let seed_values = SeedValues::seed();
    Ok(P6 {
        settings: s.clone(),
        mu_max_vs_seed: Comparison::new("μ_max", mu_max, seed_values.mu_max, MU_MAX_TOLERANCE),
        sigma_x2: w.sigma_x2,
        mu_max,
        mu_mean_bound: 2.0 / w.eigenvalues[0],
        mu_mean_square_bound: adaptive::lms_mean_square_bound(&w.eigenvalues)?,
        arch: lms_arch(s.taps)?,
        wiener: w,
        runs,
        seed_values,
    })
}
