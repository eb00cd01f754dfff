//! The results of Problems 5–7, assembled from the other modules for the binary and the report.
//! The seed's values are carried alongside as [`SeedValues`], named as such.
use crate::adaptive::{self, AdaptConfig, Curves, Status, SweepPoint};
use crate::dfg::{self, ArchOptions, CriticalPath, Timing};
use crate::error::{check_nonzero, LmsError, Result};
use crate::precision::{self, FaCost, PrecisionConfig, PrecisionReport};
use crate::series::{fit_ar3, Ar3Fit, SeriesTarget};
use crate::wiener::{prediction_mse, Wiener};
use fxp_core::compare::{Comparison, Tolerance};
use fxp_core::rng::stream;
use fxp_core::stats::db_power;
use serde::{Deserialize, Serialize};

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
pub fn series(s: &Settings) -> Result<(SeriesReport, Vec<f64>)> {
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

/// Problem 5: the series, its fixed-point predictor, and everything the report derives from them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P5 {
    /// The sizes used.
    pub settings: Settings,
    /// The series.
    pub series: SeriesReport,
    /// The precision analysis.
    pub precision: PrecisionReport,
    /// Numbers derived from the analysis for the report, and the checks against the seed.
    pub checks: P5Checks,
    /// The seed's values.
    #[serde(rename = "seed")]
    pub seed_values: SeedValues,
}

/// The relative tolerance under which a recomputed seed value counts as the seed's printed one.
pub const SEED_ARITHMETIC: Tolerance = Tolerance::Relative(1e-3);

/// The Problem 5 numbers the report shows beside the analysis, with the seed comparisons.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P5Checks {
    /// 10 log10(σ_x²/σ_e²) of the seed's statistics.
    pub seed_snr_db: f64,
    /// 10 log10(σ_x²/σ_e²) of the fitted model (exact).
    pub model_snr_db: f64,
    /// √σ_x² of the seed's statistics.
    pub seed_sigma_x: f64,
    /// Coefficient of Δ_x² of our noise model (‖w‖²/12).
    pub coef_x: f64,
    /// Coefficient of Δ_w² of our noise model (N E[x²]/12).
    pub coef_w: f64,
    /// Bits the input needs beyond the seed's range 1: log2 r_x.
    pub extra_input_bits: i32,
    /// Noise budget recomputed from the seed's σ_e².
    pub budget_from_seed_sigma_e2: f64,
    /// That budget against the seed's printed 0.008199.
    pub budget_printed: Comparison,
    /// That budget against the seed's other printing 0.008119.
    pub budget_typo: Comparison,
    /// Whether each point of `precision.equal_bits` meets the allowed loss.
    pub equal_bits_within_loss: Vec<bool>,
    /// The full-adder costs at the seed's precision.
    pub fa_cost_at_seed_bits: FaCost,
    /// The seed's cost formula, term by term, at the seed's precision.
    pub seed_cost: SeedCostCheck,
}

/// The seed's cost formula N B² + (N−1)(2B + 1) at its B, term by term, against its printed value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedCostCheck {
    /// N B² (multipliers).
    pub multipliers: f64,
    /// (N−1)(2B + 1): the adders of the seed's formula.
    pub adders_formula: f64,
    /// (N−1)(2B − 1): adders of width 2B − 1.
    pub adders_narrow: f64,
    /// The formula's total against the printed value.
    pub formula_vs_printed: Comparison,
    /// The narrow-adder total against the printed value.
    pub narrow_vs_printed: Comparison,
}

impl SeedCostCheck {
    fn new(taps: usize, seed: &SeedValues) -> Self {
        let cost = FaCost::new(taps, seed.bits);
        let multipliers = taps as f64 * f64::from(seed.bits).powi(2);
        let exact = Tolerance::Absolute(0.0);
        Self {
            multipliers,
            adders_formula: cost.seed_formula - multipliers,
            adders_narrow: cost.seed_printed_value_formula - multipliers,
            formula_vs_printed: Comparison::new(
                "FA cost, the seed's formula at its B",
                cost.seed_formula,
                seed.fa_cost,
                exact,
            ),
            narrow_vs_printed: Comparison::new(
                "FA cost with (N−1)(2B − 1) adders at the seed's B",
                cost.seed_printed_value_formula,
                seed.fa_cost,
                exact,
            ),
        }
    }
}

impl P5Checks {
    fn new(s: &Settings, series: &SeriesReport, pr: &PrecisionReport, seed: &SeedValues) -> Self {
        let fit = &series.fit;
        let budget = precision::noise_budget(seed.sigma_e2, s.precision.loss_db);
        Self {
            seed_snr_db: db_power(seed.sigma_x2 / seed.sigma_e2),
            model_snr_db: db_power(fit.model_sigma_x2 / fit.model_sigma_e2),
            seed_sigma_x: seed.sigma_x2.sqrt(),
            coef_x: pr.model.coef_x(),
            coef_w: pr.model.coef_w(),
            extra_input_bits: pr.model.range_x.log2().round() as i32,
            budget_from_seed_sigma_e2: budget,
            budget_printed: Comparison::new(
                "noise budget from the seed's σ_e²",
                budget,
                seed.noise_budget,
                SEED_ARITHMETIC,
            ),
            budget_typo: Comparison::new(
                "noise budget from the seed's σ_e² (other printing)",
                budget,
                seed.noise_budget_typo,
                SEED_ARITHMETIC,
            ),
            equal_bits_within_loss: pr
                .equal_bits
                .iter()
                .map(|q| q.loss_db <= pr.config.loss_db)
                .collect(),
            fa_cost_at_seed_bits: FaCost::new(s.taps, seed.bits),
            seed_cost: SeedCostCheck::new(s.taps, seed),
        }
    }
}

/// Runs Problem 5: the series, the Wiener predictor and the precision analysis of `s.precision`.
pub fn p5(s: &Settings) -> Result<P5> {
    let (series, x) = series(s)?;
    let precision = precision::analyze(&x, s.taps, &s.precision)?;
    let seed_values = SeedValues::seed();
    Ok(P5 {
        settings: s.clone(),
        checks: P5Checks::new(s, &series, &precision, &seed_values),
        series,
        precision,
        seed_values,
    })
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

/// Stability bounds and the measured boundary for one M₁.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundRow {
    /// M₁.
    pub delay: usize,
    /// 2 sin(π/(2(2M₁+1)))/λ_max (mean convergence, exact for the first moment).
    pub mean_bound: f64,
    /// 2 sin(π/(2(2M₁+1)))/tr(R) (trace analogue of 2/(N σ_x²)).
    pub trace_bound: f64,
    /// Largest μ of the sweep that converged below the first diverging μ.
    pub last_stable_mu: Option<f64>,
    /// Smallest μ of the sweep that diverged.
    pub first_diverged_mu: Option<f64>,
}

/// Minimum M₁ for one timing ratio.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatioRow {
    /// T_M.
    pub t_m: f64,
    /// T_A.
    pub t_a: f64,
    /// Minimum M₁, μ multiplier counted.
    pub min_m1: Option<usize>,
    /// Minimum M₁ when μ·e is a free shift.
    pub min_m1_mu_free: Option<usize>,
}

/// Problem 7.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P7 {
    /// The sizes used.
    pub settings: Settings,
    /// The Wiener predictor (reference).
    pub wiener: Wiener,
    /// DLMS at M₁ = 5, μ = 0.001.
    pub dlms: Curves,
    /// LMS at the same μ for comparison.
    pub lms_same_mu: Curves,
    /// The μ grid of the sweep.
    pub mus: Vec<f64>,
    /// The stability map.
    pub sweep: Vec<SweepPoint>,
    /// Bounds vs measured boundary per M₁.
    pub bounds: Vec<BoundRow>,
    /// Smallest μ where DLMS (M₁ = dlms_delay) diverges while LMS converges.
    pub mu_fail: Option<f64>,
    /// Minimum M₁ for T_cp = T_M valid for every T_M > T_A (max over the ratio table).
    pub min_m1: usize,
    /// Minimum M₁ per timing ratio.
    pub ratios: Vec<RatioRow>,
    /// The retimed DLMS architecture at min_m1 (reference timing).
    pub retimed_arch: ArchReport,
    /// The DLMS architecture before retiming.
    pub dlms_arch: ArchReport,
    /// r(v) per node of the retiming.
    pub retiming: Vec<(String, i64)>,
    /// The checks of the results against the seed's.
    pub checks: P7Checks,
    /// The seed's values.
    #[serde(rename = "seed")]
    pub seed_values: SeedValues,
}

/// Largest difference of the final mean coefficients under which DLMS and LMS at the same small
/// step count as indistinguishable.
pub const SAME_TRAJECTORY: Tolerance = Tolerance::Absolute(0.01);
/// Relative tolerance under which our μ_fail agrees with the seed's.
pub const MU_FAIL_TOLERANCE: Tolerance = Tolerance::Relative(0.05);

/// Problem 7's results against the seed's statements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P7Checks {
    /// Largest |DLMS − LMS| of the final mean coefficients against 0 (None if either diverged).
    pub dlms_vs_lms: Option<Comparison>,
    /// Outcome of DLMS (M₁ = dlms_delay) at the seed's μ_fail, if the sweep sampled it.
    pub at_seed_mu_fail: Option<Status>,
    /// Our μ_fail against the seed's (None if no μ of the sweep fails).
    pub mu_fail_vs_seed: Option<Comparison>,
    /// Our minimum M₁ against the seed's.
    pub min_m1_vs_seed: Comparison,
}

/// Largest |DLMS − LMS| of the final mean coefficients, compared with 0 (None if either diverged).
fn same_trajectory(dlms: &Curves, lms: &Curves) -> Option<Comparison> {
    let (d, l) = dlms.final_coef.as_ref().zip(lms.final_coef.as_ref())?;
    let largest = d
        .iter()
        .zip(l)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    Some(Comparison::new(
        "largest |DLMS − LMS| final mean coefficient",
        largest,
        0.0,
        SAME_TRAJECTORY,
    ))
}

/// The outcome of the sweep at (`delay`, `mu`), if the sweep sampled that μ.
fn outcome_at(sweep: &[SweepPoint], delay: usize, mu: f64) -> Option<Status> {
    let sampled = Tolerance::Relative(1e-9);
    sweep
        .iter()
        .find(|q| q.delay == delay && sampled.holds(q.mu, mu))
        .map(|q| q.status)
}

/// The timing ratios examined for the minimum M₁ (T_A = 1).
pub const RATIOS: [f64; 9] = [1.1, 1.5, 1.9, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0];

/// Minimum M₁ over the ratio table, and the table.
pub fn min_m1_table(taps: usize) -> Result<(usize, Vec<RatioRow>)> {
    let mut rows = vec![];
    for &ratio in &RATIOS {
        let t = Timing::new(ratio, 1.0)?;
        let a = dfg::min_delay_for_period(taps, true, &t, t.t_m, 40)?.map(|x| x.0);
        let b = dfg::min_delay_for_period(taps, false, &t, t.t_m, 40)?.map(|x| x.0);
        rows.push(RatioRow {
            t_m: ratio,
            t_a: 1.0,
            min_m1: a,
            min_m1_mu_free: b,
        });
    }
    let worst = rows
        .iter()
        .map(|r| {
            r.min_m1.ok_or_else(|| {
                LmsError::Graph(format!("no M1 ≤ 40 reaches T_M at T_M/T_A = {}", r.t_m))
            })
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    Ok((worst, rows))
}

/// Runs Problem 7.
pub fn p7(s: &Settings) -> Result<P7> {
    let (sr, _) = series(s)?;
    let w = sr.measured.clone();
    let model = &sr.fit.model;
    let cfg = AdaptConfig::new(
        s.dlms_mu,
        s.dlms_delay,
        s.dlms_len,
        s.dlms_realizations,
        s.seed,
    );
    let dlms = adaptive::ensemble(model, &w.w, &cfg)?;
    let lms_same_mu = adaptive::ensemble(model, &w.w, &AdaptConfig { delay: 0, ..cfg })?;
    let decades = 3.5;
    let n = (decades * s.sweep_per_decade as f64).round() as usize + 1;
    let mus = adaptive::log_space(1e-3, 10f64.powf(0.5), n)?;
    let sweep = adaptive::stability_sweep(
        model,
        &w.w,
        &mus,
        &s.sweep_delays,
        s.sweep_len,
        s.sweep_realizations,
        s.seed,
    )?;
    let bounds = s
        .sweep_delays
        .iter()
        .map(|&d| {
            let pts: Vec<&SweepPoint> = sweep.iter().filter(|p| p.delay == d).collect();
            let first = pts.iter().position(|p| p.status == Status::Diverged);
            BoundRow {
                delay: d,
                mean_bound: adaptive::dlms_mean_bound(d, w.eigenvalues[0]),
                trace_bound: adaptive::dlms_trace_bound(d, w.trace()),
                last_stable_mu: match first {
                    Some(0) => None,
                    Some(i) => Some(pts[i - 1].mu),
                    None => pts.last().map(|p| p.mu),
                },
                first_diverged_mu: first.map(|i| pts[i].mu),
            }
        })
        .collect();
    let mu_fail = adaptive::mu_fail(&sweep, s.dlms_delay);
    let (min_m1, ratios) = min_m1_table(s.taps)?;
    let t = reference_timing();
    let opt = ArchOptions {
        taps: s.taps,
        delay: min_m1,
        count_mu: true,
    };
    let g = dfg::lms_architecture(opt)?;
    let r = g
        .retime(&t, t.t_m)?
        .r
        .ok_or_else(|| LmsError::Graph("the reference timing is not retimable at min M1".into()))?;
    let gr = g.retimed(&r)?;
    let mut retimed_arch = arch_report(&gr, opt, t)?;
    retimed_arch.title = format!("{} (retimed, T_cp = T_M)", g.title);
    retimed_arch.svg = {
        let mut h = gr.clone();
        h.title = retimed_arch.title.clone();
        h.to_svg(&retimed_arch.critical_path.nodes)
    };
    let dlms_arch = arch_report(&g, opt, t)?;
    let seed_values = SeedValues::seed();
    let checks = P7Checks {
        dlms_vs_lms: same_trajectory(&dlms, &lms_same_mu),
        at_seed_mu_fail: outcome_at(&sweep, s.dlms_delay, seed_values.mu_fail),
        mu_fail_vs_seed: mu_fail
            .map(|mu| Comparison::new("μ_fail", mu, seed_values.mu_fail, MU_FAIL_TOLERANCE)),
        min_m1_vs_seed: Comparison::new(
            "minimum M₁",
            min_m1 as f64,
            seed_values.min_m1 as f64,
            Tolerance::Absolute(0.0),
        ),
    };
    Ok(P7 {
        settings: s.clone(),
        retiming: g
            .nodes
            .iter()
            .zip(&r)
            .map(|(v, &ri)| (v.name.clone(), ri))
            .collect(),
        wiener: w,
        dlms,
        lms_same_mu,
        mus,
        sweep,
        bounds,
        mu_fail,
        min_m1,
        ratios,
        retimed_arch,
        dlms_arch,
        checks,
        seed_values,
    })
}
