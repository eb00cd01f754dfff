//! Problem 6: LMS ensembles at multiples of μ_max and the LMS architecture.
use super::p7::bound_rows;
use super::{
    lms_arch, reference, series, stability_map, ArchReport, SeedValues, SeriesEstimate, Settings,
};
use crate::adaptive::{self, AdaptConfig, Curves, DivergenceTrace};
use crate::error::Result;
use crate::wiener::Wiener;
use fxp_core::compare::{Comparison, Tolerance};
use serde::{Deserialize, Serialize};

/// Where a step size lies against the stability bounds of LMS on the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStability {
    /// μ < 2/λ_max (mean convergence).
    pub within_mean_bound: bool,
    /// μ below the Feuer–Weinstein mean-square bound (Gaussian independence theory).
    pub within_mean_square_bound: bool,
    /// Against the empirical limit of LMS (the M₁ = 0 row of the stability map): `Some(true)`
    /// at or below its largest stable μ, `Some(false)` at or above its smallest diverged μ,
    /// `None` in between (not resolved by the map's grid).
    pub within_empirical_limit: Option<bool>,
}

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
    /// The step against the stability bounds.
    pub stability: StepStability,
    /// Final mean coefficients minus the reference w* (None when every realization diverged).
    pub bias: Option<Vec<f64>>,
    /// The bias relative to w*, (w − w*)/w* per coefficient.
    pub bias_relative: Option<Vec<f64>>,
    /// Largest |bias| over the coefficients.
    pub max_abs_bias: Option<f64>,
    /// How the run blew up sample by sample, for a run in which every realization diverged.
    pub divergence: Option<DivergenceTrace>,
}

/// Relative tolerance under which a measured misadjustment matches the Gaussian theory.
pub const MISADJUSTMENT_TOLERANCE: Tolerance = Tolerance::Relative(0.2);
/// Relative tolerance under which our μ_max agrees with the seed's (the series differ by sampling).
pub const MU_MAX_TOLERANCE: Tolerance = Tolerance::Relative(0.05);
/// Relative tolerance under which the ratio of the coefficient biases of two converged runs
/// matches the ratio of their steps (a bias proportional to μ).
pub const BIAS_SCALING_TOLERANCE: Tolerance = Tolerance::Relative(0.5);

impl LmsRun {
    fn new(multiple: f64, mu: f64, curves: Curves, w: &Wiener, stability: StepStability) -> Self {
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
        let bias: Option<Vec<f64>> = curves
            .final_coef
            .as_ref()
            .map(|c| c.iter().zip(&w.w).map(|(a, b)| a - b).collect());
        Self {
            multiple,
            mu,
            all_diverged: curves.diverged_realizations == curves.config.realizations,
            misadjustment_small_mu: adaptive::misadjustment_small_mu(mu, w.trace()),
            misadjustment_independence,
            misadjustment_vs_gaussian,
            stability,
            bias_relative: bias
                .as_ref()
                .map(|b| b.iter().zip(&w.w).map(|(d, w)| d / w).collect()),
            max_abs_bias: bias
                .as_ref()
                .map(|b| b.iter().map(|d| d.abs()).fold(0.0, f64::max)),
            bias,
            divergence: None,
            curves,
        }
    }
}

/// The coefficient bias of two converged runs against their steps: is it O(μ)?
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BiasScaling {
    /// μ/μ_max of the smaller step.
    pub small: f64,
    /// μ/μ_max of the larger step.
    pub large: f64,
    /// Ratio of the largest |bias| (small over large) against the ratio of the steps.
    pub ratio: Comparison,
}

/// Problem 6.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P6 {
    /// The sizes used.
    pub settings: Settings,
    /// σ_x² of the reference (the model's r₀).
    pub sigma_x2: f64,
    /// μ_max = 2/(N σ_x²).
    pub mu_max: f64,
    /// Mean-convergence bound 2/λ_max.
    pub mu_mean_bound: f64,
    /// Mean-square bound for Gaussian regressors (independence theory, Feuer–Weinstein).
    pub mu_mean_square_bound: f64,
    /// Largest stable μ of plain LMS in the stability map (its M₁ = 0 row, as in Problem 7).
    pub empirical_last_stable_mu: Option<f64>,
    /// Smallest diverged μ of plain LMS in the stability map.
    pub empirical_first_diverged_mu: Option<f64>,
    /// The reference: the exact Wiener predictor of the fitted model (see
    /// [`super::reference`]).
    pub wiener: Wiener,
    /// Problem 5's estimate from its single series, beside the reference.
    pub series_estimate: SeriesEstimate,
    /// Runs at 0.5, 0.01 and 50 × μ_max.
    pub runs: Vec<LmsRun>,
    /// The bias of the two smallest converged steps against their ratio (None with fewer
    /// than two converged runs).
    pub bias_scaling: Option<BiasScaling>,
    /// Our μ_max against the seed's.
    pub mu_max_vs_seed: Comparison,
    /// The architecture.
    pub arch: ArchReport,
    /// The seed's values.
    #[serde(rename = "seed")]
    pub seed_values: SeedValues,
}

/// The largest |bias| of the two smallest converged steps against the ratio of the steps.
fn bias_scaling(runs: &[LmsRun]) -> Option<BiasScaling> {
    let mut converged: Vec<(&LmsRun, f64)> = runs
        .iter()
        .filter(|r| r.curves.misadjustment.is_some())
        .filter_map(|r| r.max_abs_bias.map(|b| (r, b)))
        .collect();
    converged.sort_by(|a, b| a.0.mu.total_cmp(&b.0.mu));
    let [(small, b_small), (large, b_large), ..] = converged[..] else {
        return None;
    };
    Some(BiasScaling {
        small: small.multiple,
        large: large.multiple,
        ratio: Comparison::new(
            "ratio of the largest coefficient bias vs ratio of the steps",
            b_small / b_large,
            small.mu / large.mu,
            BIAS_SCALING_TOLERANCE,
        ),
    })
}

/// Runs Problem 6: LMS ensembles at `s.lms_multiples` of μ_max, and the LMS architecture.
pub fn p6(s: &Settings) -> Result<P6> {
    let (sr, _) = series(s)?;
    let w = reference(&sr.fit, s.taps)?;
    let model = &sr.fit.model;
    let mu_max = adaptive::mu_max(s.taps, w.sigma_x2)?;
    let mu_mean_bound = 2.0 / w.eigenvalues[0];
    let mu_mean_square_bound = adaptive::lms_mean_square_bound(&w.eigenvalues)?;
    let (_, sweep) = stability_map(s, model, w.w.view(), &[0])?;
    let lms_row = bound_rows(&sweep, &[0], &w).pop();
    let (last_stable, first_diverged) =
        lms_row.map_or((None, None), |b| (b.last_stable_mu, b.first_diverged_mu));
    let mut runs = vec![];
    for &m in &s.lms_multiples {
        crate::error::check_positive("mu multiple", m)?;
        let mu = m * mu_max;
        let cfg = AdaptConfig::new(mu, 0, s.lms_len, s.lms_realizations, s.seed);
        let curves = adaptive::ensemble(model, &w.w, &cfg)?;
        let stability = StepStability {
            within_mean_bound: mu < mu_mean_bound,
            within_mean_square_bound: mu < mu_mean_square_bound,
            within_empirical_limit: if last_stable.is_some_and(|l| mu <= l) {
                Some(true)
            } else if first_diverged.is_some_and(|f| mu >= f) {
                Some(false)
            } else {
                None
            },
        };
        let mut run = LmsRun::new(m, mu, curves, &w, stability);
        if run.all_diverged {
            run.divergence = Some(adaptive::divergence_trace(model, &cfg)?);
        }
        runs.push(run);
    }
    let seed_values = SeedValues::seed();
    Ok(P6 {
        settings: s.clone(),
        mu_max_vs_seed: Comparison::new("μ_max", mu_max, seed_values.mu_max, MU_MAX_TOLERANCE),
        sigma_x2: w.sigma_x2,
        mu_max,
        mu_mean_bound,
        mu_mean_square_bound,
        empirical_last_stable_mu: last_stable,
        empirical_first_diverged_mu: first_diverged,
        arch: lms_arch(s.taps)?,
        series_estimate: SeriesEstimate::new(&sr.measured, &w),
        bias_scaling: bias_scaling(&runs),
        wiener: w,
        runs,
        seed_values,
    })
}
