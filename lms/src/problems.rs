//! The results of Problems 5–7, assembled from the other modules for the binary and the report:
//! one entry point per problem ([`p5`], [`p6`], [`p7`], each taking only [`Settings`]) whose result
//! carries every number the report shows.
//! The seed's values are carried alongside as [`SeedValues`], named as such.
use crate::dfg::{self, ArchOptions, CriticalPath, PathRegime, Timing};
use crate::error::{check_nonzero, LmsError, Result};
use crate::precision::PrecisionConfig;
use crate::series::{fit_ar3, Ar3Fit, SeriesTarget};
use crate::wiener::{prediction_mse, Wiener};
use fxp_core::rng::stream;
use ndarray::{Array1, ArrayView1};
use serde::{Deserialize, Serialize};

mod p5;
mod p6;
mod p7;

pub use p5::{p5, CostAnswer, P5Checks, SeedCostCheck, P5, SEED_ARITHMETIC};
pub use p6::{
    p6, BiasScaling, LmsRun, StepStability, BIAS_SCALING_TOLERANCE, MISADJUSTMENT_TOLERANCE,
    MU_MAX_TOLERANCE, P6,
};
pub use p7::{
    min_m1_table, p7, BoundRow, P7Checks, PrintedSign, RatioRow, SmallStepMisadjustment,
    MU_FAIL_TOLERANCE, P7, RATIOS, SAME_TRAJECTORY,
};

/// The seed's numbers for Problems 5–7 (comparison values only).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedValues {
    /// σ_x².
    pub sigma_x2: f64,
    /// σ_e² of the optimal 3-tap predictor.
    pub sigma_e2: f64,
    /// ‖w*‖².
    pub w_norm2: f64,
    /// Noise budget (10^0.01 − 1)·0.352 as printed.
    pub noise_budget: f64,
    /// The same budget as the seed also prints it (0.008119).
    pub noise_budget_typo: f64,
    /// Coefficient of Δ_x² in the seed's noise model (‖w‖²/12).
    pub coef_x: f64,
    /// Coefficient of Δ_w² in the seed's noise model (N E[x²]/12).
    pub coef_w: f64,
    /// Real-valued bound B > 3.24.
    pub bits_real: f64,
    /// Equal precision chosen.
    pub bits: u32,
    /// Full adders printed.
    pub fa_cost: f64,
    /// μ_max.
    pub mu_max: f64,
    /// Critical path.
    pub critical_path: String,
    /// Latency.
    pub latency: String,
    /// Throughput.
    pub throughput: String,
    /// μ used for the M₁ = 5 DLMS run.
    pub dlms_mu: f64,
    /// μ where DLMS fails but LMS converges.
    pub mu_fail: f64,
    /// Minimum M₁ for T_cp = T_M.
    pub min_m1: usize,
}

impl SeedValues {
    /// The values printed in the seed.
    pub fn seed() -> Self {
        Self {
            sigma_x2: 0.52,
            sigma_e2: 0.352,
            w_norm2: 0.6624,
            noise_budget: 0.008199,
            noise_budget_typo: 0.008119,
            coef_x: 0.0552,
            coef_w: 0.13,
            bits_real: 3.24,
            bits: 4,
            fa_cost: 62.0,
            mu_max: 1.28,
            critical_path: "3T_M + 4T_A".into(),
            latency: "T_M + 2T_A".into(),
            throughput: "1/(3T_M + 4T_A)".into(),
            dlms_mu: 0.001,
            mu_fail: 0.1,
            min_m1: 6,
        }
    }
}

/// Sizes of the computations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Seed of every random stream.
    pub seed: u64,
    /// Taps N.
    pub taps: usize,
    /// Length of the Problem 5 series (stream 0).
    pub series_len: usize,
    /// Realizations of the Problem 6 ensembles.
    pub lms_realizations: usize,
    /// Samples per Problem 6 realization.
    pub lms_len: usize,
    /// Realizations of the Problem 7 M₁ = 5 run.
    pub dlms_realizations: usize,
    /// Samples per Problem 7 realization.
    pub dlms_len: usize,
    /// Realizations per point of the stability map.
    pub sweep_realizations: usize,
    /// Samples per stability-map realization.
    pub sweep_len: usize,
    /// Points per decade of the μ sweep (from 10⁻³ to 10^0.5).
    pub sweep_per_decade: usize,
    /// Delays of the stability map.
    pub sweep_delays: Vec<usize>,
    /// Step size of the Problem 7 M₁ = 5 run.
    pub dlms_mu: f64,
    /// Delay of the Problem 7 run.
    pub dlms_delay: usize,
    /// Multiples of μ_max of the Problem 6 runs.
    pub lms_multiples: Vec<f64>,
    /// The Problem 5 precision analysis.
    pub precision: PrecisionConfig,
}

impl Settings {
    /// The full configuration.
    pub fn full(seed: u64) -> Self {
        Self {
            seed,
            taps: 3,
            series_len: 50_000,
            lms_realizations: 400,
            lms_len: 4_000,
            dlms_realizations: 200,
            dlms_len: 30_000,
            sweep_realizations: 40,
            sweep_len: 4_000,
            sweep_per_decade: 12,
            sweep_delays: vec![0, 1, 2, 5, 10],
            dlms_mu: 0.001,
            dlms_delay: 5,
            lms_multiples: vec![0.5, 0.01, 50.0, 0.1],
            precision: PrecisionConfig::default(),
        }
    }

    /// A fast smoke configuration (tests, `--quick`).
    pub fn quick(seed: u64) -> Self {
        Self {
            series_len: 20_000,
            lms_realizations: 60,
            lms_len: 3_000,
            dlms_realizations: 30,
            dlms_len: 12_000,
            sweep_realizations: 12,
            sweep_len: 2_000,
            sweep_per_decade: 6,
            ..Self::full(seed)
        }
    }

    fn check(&self) -> Result<()> {
        check_nonzero("taps", self.taps)?;
        check_nonzero("series length", self.series_len)?;
        check_nonzero("sweep points per decade", self.sweep_per_decade)?;
        crate::error::check_positive("dlms mu", self.dlms_mu)?;
        if self.taps != 3 {
            return Err(LmsError::Invalid {
                what: "taps",
                reason: "the fitted generator is a 3-tap (AR(3)) model".into(),
            });
        }
        Ok(())
    }
}

/// The generated series and how well it matches the target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesReport {
    /// The fit (model and its exact statistics).
    pub fit: Ar3Fit,
    /// Samples generated.
    pub len: usize,
    /// The Wiener predictor estimated from the generated series (measured statistics).
    pub measured: Wiener,
    /// Empirical MSE of the estimated predictor on the series.
    pub measured_prediction_mse: f64,
}

/// Fits the model and generates the Problem 5 series (stream 0 of the seed).
pub fn series(s: &Settings) -> Result<(SeriesReport, Array1<f64>)> {
    s.check()?;
    let fit = fit_ar3(SeriesTarget::SEED)?;
    let x = fit
        .model
        .generate(s.series_len, 1000, &mut stream(s.seed, 0));
    let measured = Wiener::estimate(&x, s.taps)?;
    let measured_prediction_mse = prediction_mse(&x, &measured.w)?;
    Ok((
        SeriesReport {
            fit,
            len: s.series_len,
            measured,
            measured_prediction_mse,
        },
        x,
    ))
}

/// The reference of Problems 6 and 7: the exact Wiener predictor of the fitted AR(3) model
/// (w* = a, MMSE = σ_v², R from the model's autocorrelation). The LMS ensembles run on fresh
/// realizations of that model, so this is the optimum they converge to; Problem 5's estimate
/// from its single series differs from it by sampling error.
pub fn reference(fit: &Ar3Fit, taps: usize) -> Result<Wiener> {
    Wiener::from_autocorrelation(&fit.model.autocorrelation(taps)?, taps)
}

/// Problem 5's estimate of the predictor from its single series, beside the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesEstimate {
    /// Coefficients estimated from the Problem 5 series.
    #[serde(with = "fxp_core::json::array1")]
    pub w: Array1<f64>,
    /// Its MMSE estimate.
    pub mmse: f64,
    /// Largest |estimate − reference| over the coefficients.
    pub max_abs_gap: f64,
}

impl SeriesEstimate {
    fn new(measured: &Wiener, reference: &Wiener) -> Self {
        Self {
            w: measured.w.clone(),
            mmse: measured.mmse,
            max_abs_gap: measured
                .w
                .iter()
                .zip(&reference.w)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max),
        }
    }
}

/// The μ grid of the stability map: 10⁻³ to 10^0.5, `per_decade` points per decade.
fn sweep_mus(per_decade: usize) -> Result<Vec<f64>> {
    let decades = 3.5;
    let n = (decades * per_decade as f64).round() as usize + 1;
    crate::adaptive::log_space(1e-3, 10f64.powf(0.5), n)
}

/// The stability map of `s` for the update delays `delays`: its μ grid and its points (the
/// same realizations for every μ and M₁, so a row does not depend on which others are swept).
fn stability_map(
    s: &Settings,
    model: &crate::series::ArModel,
    wref: ArrayView1<f64>,
    delays: &[usize],
) -> Result<(Vec<f64>, Vec<crate::adaptive::SweepPoint>)> {
    let mus = sweep_mus(s.sweep_per_decade)?;
    let sweep = crate::adaptive::stability_sweep(
        model,
        wref,
        &mus,
        delays,
        s.sweep_len,
        s.sweep_realizations,
        s.seed,
    )?;
    Ok((mus, sweep))
}

/// Critical path, latency and throughput of one architecture, with its drawings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchReport {
    /// Title.
    pub title: String,
    /// The options.
    pub options: ArchOptions,
    /// Timing used for the numeric values.
    pub timing: Timing,
    /// Critical path.
    pub critical_path: CriticalPath,
    /// The critical path for every ratio T_M/T_A (from the graph, not only at `timing`).
    pub critical_path_regimes: Vec<PathRegime>,
    /// Latency (longest zero-delay path into ŷ).
    pub latency: CriticalPath,
    /// Throughput, symbolic.
    pub throughput: String,
    /// Throughput at `timing`: 1 / critical path time.
    pub throughput_value: f64,
    /// Graphviz DOT text.
    pub dot: String,
    /// SVG drawing (a figure: not serialized).
    #[serde(skip_serializing, default)]
    pub svg: String,
}

fn arch_report(g: &dfg::Dfg, options: ArchOptions, t: Timing) -> Result<ArchReport> {
    let critical_path = g.critical_path(&t)?;
    let latency = g.latency(&t, "yhat")?;
    Ok(ArchReport {
        title: g.title.clone(),
        options,
        timing: t,
        throughput: critical_path.symbolic.throughput(),
        throughput_value: 1.0 / critical_path.time,
        critical_path_regimes: g.critical_path_regimes()?,
        dot: g.to_dot(),
        svg: g.to_svg(&critical_path.nodes),
        critical_path,
        latency,
    })
}

/// The reference timing T_M = 3, T_A = 2 (T_A < T_M < 2 T_A, the regime of the seed's answer).
pub fn reference_timing() -> Timing {
    Timing { t_m: 3.0, t_a: 2.0 }
}

/// The LMS architecture of Problem 6.3 (μ multiplier counted, as the seed does).
pub fn lms_arch(taps: usize) -> Result<ArchReport> {
    let opt = ArchOptions {
        taps,
        delay: 0,
        count_mu: true,
    };
    arch_report(&dfg::lms_architecture(opt)?, opt, reference_timing())
}
