//! Problem 5: the series, the fixed-point predictor, and the checks against the seed.
use super::{series, SeedValues, SeriesReport, Settings};
use crate::error::Result;
use crate::precision::{self, FaCost, PrecisionReport};
use fxp_core::compare::{Comparison, Tolerance};
use fxp_core::cost::AccumulatorConvention;
use fxp_core::stats::db_power;
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

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
    /// Fraction of the series' samples with |x| > 1 (outside the seed's range r_x = 1).
    pub fraction_above_one: f64,
    /// max |x| of the series (what sets r_x).
    pub max_abs_x: f64,
    /// The report's answer for the cost, with its convention.
    pub cost_answer: CostAnswer,
}

/// The report's answer for the cost of Problem 5: the seed convention of fxp-core (the one that
/// reproduces the seed's costs of Problems 2 and 3) at the minimum equal precision, each of the
/// N − 1 adders as wide as the accumulator the bit-true simulation needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CostAnswer {
    /// The precision B = B_x = B_w (the analytic minimum).
    pub bits: u32,
    /// Full adders: N B² + (N−1)(2B + ⌈log2 N⌉).
    pub full_adders: f64,
    /// The convention's name in fxp-core.
    pub convention: String,
    /// Adder width of the convention, 2B + ⌈log2 N⌉, against the width of the exact accumulator
    /// of the bit-true simulation at B.
    pub adder_width_vs_bit_true: Option<Comparison>,
}

impl CostAnswer {
    fn new(taps: usize, pr: &PrecisionReport) -> Self {
        let bits = pr.bits_analytic;
        let conv = AccumulatorConvention::Seed;
        let width = conv.accumulator_bits(taps as u64, bits, bits);
        Self {
            bits,
            full_adders: pr.fa_cost.seed_convention,
            convention: conv.name().to_string(),
            adder_width_vs_bit_true: pr.equal_bits.iter().find(|q| q.bx == bits).map(|q| {
                Comparison::new(
                    "adder width vs bit-true accumulator width",
                    width,
                    f64::from(q.acc_bits),
                    Tolerance::Absolute(0.0),
                )
            }),
        }
    }
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
    fn new(
        s: &Settings,
        series: &SeriesReport,
        x: ArrayView1<f64>,
        pr: &PrecisionReport,
        seed: &SeedValues,
    ) -> Self {
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
            fraction_above_one: x.iter().filter(|v| v.abs() > 1.0).count() as f64
                / x.len().max(1) as f64,
            max_abs_x: x.iter().map(|v| v.abs()).fold(0.0, f64::max),
            cost_answer: CostAnswer::new(s.taps, pr),
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
        checks: P5Checks::new(s, &series, x.view(), &precision, &seed_values),
        series,
        precision,
        seed_values,
    })
}
