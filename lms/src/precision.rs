//! Problem 5: minimum input/coefficient precision of the fixed-point predictor for an SNR within
//! 0.1 dB of floating point, its full-adder cost, and a bit-true validation.
//!
//! Noise budget: 10 log10((σ_qy² + σ_e²)/σ_e²) ≤ L  ⇔  σ_qy² ≤ (10^(L/10) − 1) σ_e².
//! Noise model (independent, uniform quantization errors):
//! σ_qy² = ‖w‖² Δ_x²/12 + N E[x²] Δ_w²/12, with the course's signed quantizer steps
//! Δ = 2^(1−B)·r and power-of-two dynamic ranges r (fxp-core).
//!
//! The bit-true simulation quantizes the input and the coefficients with the course quantizers,
//! multiplies their integer codes exactly (`fxp_core::fixed`), and accumulates the N products
//! exactly (the accumulator grows one bit per addition); the output stays exact, as in the noise
//! model, which has no output-quantization term.
use crate::error::{check_positive, LmsError, Result};
use crate::wiener::Wiener;
use fxp_core::array::slice;
use fxp_core::cost::{dot_product_fa, AccumulatorConvention};
use fxp_core::fixed::{Fixed, FixedFormat};
use fxp_core::quant::{Quantizer, Rounding};
use fxp_core::stats::{db_power, dynamic_range_pow2, pow2_ceil};
use ndarray::AsArray;
use serde::{Deserialize, Serialize};

/// Settings of the precision analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrecisionConfig {
    /// Allowed SNR loss in dB (the problem: 0.1).
    pub loss_db: f64,
    /// Smallest precision simulated.
    pub bits_min: u32,
    /// Largest precision simulated.
    pub bits_max: u32,
    /// Input range r_x (power of two); `None` = 2^⌈log2 max|x|⌉ of the series.
    pub range_x: Option<f64>,
    /// Coefficient range r_w (power of two); `None` = 2^⌈log2 max|w*|⌉.
    pub range_w: Option<f64>,
}

impl Default for PrecisionConfig {
    fn default() -> Self {
        Self {
            loss_db: 0.1,
            bits_min: 2,
            bits_max: 12,
            range_x: None,
            range_w: None,
        }
    }
}

/// The analytic noise model of the predictor.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct NoiseModel {
    /// Taps N.
    pub taps: usize,
    /// ‖w‖².
    pub w_norm2: f64,
    /// E[x²].
    pub ex2: f64,
    /// Input range r_x.
    pub range_x: f64,
    /// Coefficient range r_w.
    pub range_w: f64,
    /// Floating-point MSE σ_e².
    pub sigma_e2: f64,
    /// Noise budget (10^(L/10) − 1) σ_e².
    pub budget: f64,
}

impl NoiseModel {
    /// Builds the model; the budget is (10^(loss/10) − 1)·σ_e².
    pub fn new(
        taps: usize,
        w_norm2: f64,
        ex2: f64,
        range_x: f64,
        range_w: f64,
        sigma_e2: f64,
        loss_db: f64,
    ) -> Result<Self> {
        check_positive("loss_db", loss_db)?;
        check_positive("range_x", range_x)?;
        check_positive("range_w", range_w)?;
        check_positive("sigma_e2", sigma_e2)?;
        Ok(Self {
            taps,
            w_norm2,
            ex2,
            range_x,
            range_w,
            sigma_e2,
            budget: noise_budget(sigma_e2, loss_db),
        })
    }

    /// Coefficient of Δ_x²: ‖w‖²/12 (the seed prints 0.0552).
    pub fn coef_x(&self) -> f64 {
        self.w_norm2 / 12.0
    }
    /// Coefficient of Δ_w²: N E[x²]/12.
    pub fn coef_w(&self) -> f64 {
        self.taps as f64 * self.ex2 / 12.0
    }
    /// σ_qy² for precisions (B_x, B_w).
    pub fn noise(&self, bx: u32, bw: u32) -> f64 {
        let dx = step(self.range_x, bx);
        let dw = step(self.range_w, bw);
        self.coef_x() * dx * dx + self.coef_w() * dw * dw
    }
    /// Predicted SNR loss in dB: 10 log10(1 + σ_qy²/σ_e²).
    pub fn loss_db(&self, bx: u32, bw: u32) -> f64 {
        db_power(1.0 + self.noise(bx, bw) / self.sigma_e2)
    }
    /// Real-valued B solving the equal-precision budget equation exactly.
    pub fn bits_equal_real(&self) -> f64 {
        let k = self.coef_x() * self.range_x.powi(2) + self.coef_w() * self.range_w.powi(2);
        1.0 + 0.5 * (k / self.budget).log2()
    }
}

/// Noise budget (10^(loss/10) − 1)·σ_e².
pub fn noise_budget(sigma_e2: f64, loss_db: f64) -> f64 {
    (10f64.powf(loss_db / 10.0) - 1.0) * sigma_e2
}

/// Signed course step Δ = 2^(1−B)·r.
fn step(range: f64, bits: u32) -> f64 {
    range * 2f64.powi(1 - bits as i32)
}

/// One (B_x, B_w) point of the bit-true simulation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimPoint {
    /// Input precision.
    pub bx: u32,
    /// Coefficient precision.
    pub bw: u32,
    /// Measured MSE of the fixed-point predictor.
    pub mse: f64,
    /// Measured SNR loss against floating point, dB.
    pub loss_db: f64,
    /// Predicted loss from the noise model, dB.
    pub predicted_loss_db: f64,
    /// Width of the exact accumulator, bits.
    pub acc_bits: u32,
}

/// Full-adder cost of the chosen precision under the different conventions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaCost {
    /// Precision B (equal for input and coefficients).
    pub bits: u32,
    /// fxp-core, printed convention: N B² + (N−1)(2B + log2 N − 1).
    pub printed: f64,
    /// fxp-core, seed convention: N B² + (N−1)(2B + ⌈log2 N⌉).
    pub seed_convention: f64,
    /// The seed's Problem 5 formula N B² + (N−1)(2B + 1).
    pub seed_formula: f64,
    /// N B² + (N−1)(2B − 1): what reproduces the seed's printed 62 at B = 4.
    pub seed_printed_value_formula: f64,
}

impl FaCost {
    /// Costs of an N-tap dot product at B bits.
    pub fn new(taps: usize, bits: u32) -> Self {
        let (n, b) = (taps as f64, bits as f64);
        Self {
            bits,
            printed: dot_product_fa(taps as u64, bits, bits, AccumulatorConvention::Printed),
            seed_convention: dot_product_fa(taps as u64, bits, bits, AccumulatorConvention::Seed),
            seed_formula: n * b * b + (n - 1.0) * (2.0 * b + 1.0),
            seed_printed_value_formula: n * b * b + (n - 1.0) * (2.0 * b - 1.0),
        }
    }
}

/// A precision pair with its cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pair {
    /// Input precision.
    pub bx: u32,
    /// Coefficient precision.
    pub bw: u32,
    /// Noise-model σ_qy² (analytic) or measured loss (simulated), see the field using it.
    pub value: f64,
    /// Full adders, seed convention (N B_x B_w + (N−1)(B_x + B_w + ⌈log2 N⌉)).
    pub fa_seed_convention: f64,
}

/// Everything Problem 5 computes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrecisionReport {
    /// The settings.
    pub config: PrecisionConfig,
    /// The Wiener predictor (float).
    pub wiener: Wiener,
    /// The noise model.
    pub model: NoiseModel,
    /// Real-valued equal precision solving the budget equation.
    pub bits_equal_real: f64,
    /// Minimum equal precision B (analytic).
    pub bits_analytic: u32,
    /// Best unequal pair: min B_x + B_w, ties broken by FA cost (analytic).
    pub best_pair_analytic: Pair,
    /// Cheapest pair in full adders (analytic).
    pub cheapest_pair_analytic: Pair,
    /// Minimum equal precision by simulation: smallest B whose loss and every larger B's loss
    /// are within the budget.
    pub bits_simulated: Option<u32>,
    /// Best pair by simulation (min B_x + B_w, then FA cost).
    pub best_pair_simulated: Option<Pair>,
    /// The diagonal B_x = B_w of the simulation, B = bits_min … bits_max.
    pub equal_bits: Vec<SimPoint>,
    /// The whole (B_x, B_w) grid.
    pub grid: Vec<SimPoint>,
    /// FA cost at the analytic precision.
    pub fa_cost: FaCost,
    /// The seed's assumption (ranges 1 for x and w) evaluated with our statistics: real B.
    pub seed_ranges_bits_real: f64,
}

/// Bit-true MSE of the fixed-point predictor on `x` (targets stay exact).
/// Returns (MSE, accumulator width in bits).
pub fn bit_true_mse<'a, 'b>(
    x: impl AsArray<'a, f64>,
    w: impl AsArray<'b, f64>,
    qx: &Quantizer,
    qw: &Quantizer,
) -> Result<(f64, u32)> {
    let (x, w) = (slice(x), slice(w));
    let n = w.len();
    if x.len() <= n {
        return Err(LmsError::Invalid {
            what: "series",
            reason: "shorter than the predictor".into(),
        });
    }
    // Integer codes in s(B−1).0 formats; the binary point (a power of two, Δ_x·Δ_w) is applied
    // once at the end, which is a shift in hardware.
    let fx = FixedFormat::new(true, qx.bits() - 1, 0)?;
    let fw = FixedFormat::new(true, qw.bits() - 1, 0)?;
    let codes_x: Vec<Fixed> = x
        .iter()
        .map(|&v| Fixed {
            mantissa: qx.level(v),
            format: fx,
        })
        .collect();
    let codes_w: Vec<Fixed> = w
        .iter()
        .map(|&v| Fixed {
            mantissa: qw.level(v),
            format: fw,
        })
        .collect();
    let scale = qx.step() * qw.step();
    let mut sum = 0.0;
    let mut acc_bits = 0;
    for t in n..x.len() {
        let mut acc = codes_w[0].mul(&codes_x[t - 1])?;
        for k in 1..n {
            acc = acc.add(&codes_w[k].mul(&codes_x[t - 1 - k])?)?;
        }
        acc_bits = acc.format.total_bits();
        let e = x[t] - acc.mantissa as f64 * scale;
        sum += e * e;
    }
    Ok((sum / (x.len() - n) as f64, acc_bits))
}

/// Runs Problem 5 on a series.
pub fn analyze<'a>(
    x: impl AsArray<'a, f64>,
    taps: usize,
    cfg: &PrecisionConfig,
) -> Result<PrecisionReport> {
    let x = slice(x);
    let x: &[f64] = &x;
    check_positive("loss_db", cfg.loss_db)?;
    if cfg.bits_min < 2 || cfg.bits_max < cfg.bits_min || cfg.bits_max > 24 {
        return Err(LmsError::Invalid {
            what: "bit range",
            reason: format!(
                "{}..={} (use 2 ≤ min ≤ max ≤ 24)",
                cfg.bits_min, cfg.bits_max
            ),
        });
    }
    let wiener = Wiener::estimate(x, taps)?;
    let pow2 = |what: &'static str, r: Option<f64>, data: &[f64]| -> Result<f64> {
        match r {
            None => Ok(dynamic_range_pow2(data.iter().copied())?),
            Some(v) => {
                check_positive(what, v)?;
                if pow2_ceil(v)? != v {
                    return Err(LmsError::Invalid {
                        what,
                        reason: format!("{v} is not a power of two"),
                    });
                }
                Ok(v)
            }
        }
    };
    let range_x = pow2("range_x", cfg.range_x, x)?;
    let range_w = pow2("range_w", cfg.range_w, &slice(&wiener.w))?;
    let ex2 = fxp_core::stats::power(x)?;
    let model = NoiseModel::new(
        taps,
        wiener.w_norm2,
        ex2,
        range_x,
        range_w,
        wiener.mmse,
        cfg.loss_db,
    )?;
    let seed_model = NoiseModel::new(
        taps,
        wiener.w_norm2,
        ex2,
        1.0,
        1.0,
        wiener.mmse,
        cfg.loss_db,
    )?;
    let bits: Vec<u32> = (cfg.bits_min..=cfg.bits_max).collect();
    let fa = |bx: u32, bw: u32| dot_product_fa(taps as u64, bx, bw, AccumulatorConvention::Seed);
    let bits_analytic = bits
        .iter()
        .copied()
        .find(|&b| model.noise(b, b) <= model.budget)
        .ok_or_else(|| LmsError::Invalid {
            what: "bit range",
            reason: "no precision meets the budget".into(),
        })?;
    let pairs: Vec<(u32, u32)> = bits
        .iter()
        .flat_map(|&a| bits.iter().map(move |&b| (a, b)))
        .collect();
    let feasible: Vec<Pair> = pairs
        .iter()
        .filter(|&&(a, b)| model.noise(a, b) <= model.budget)
        .map(|&(bx, bw)| Pair {
            bx,
            bw,
            value: model.noise(bx, bw),
            fa_seed_convention: fa(bx, bw),
        })
        .collect();
    let by_sum = |v: &[Pair]| -> Option<Pair> {
        v.iter()
            .min_by(|p, q| {
                (p.bx + p.bw, p.fa_seed_convention)
                    .partial_cmp(&(q.bx + q.bw, q.fa_seed_convention))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .cloned()
    };
    let best_pair_analytic = by_sum(&feasible).ok_or_else(|| LmsError::Invalid {
        what: "bit range",
        reason: "no pair meets the budget".into(),
    })?;
    let cheapest_pair_analytic = feasible
        .iter()
        .min_by(|p, q| p.fa_seed_convention.total_cmp(&q.fa_seed_convention))
        .cloned()
        .unwrap_or_else(|| best_pair_analytic.clone());

    // bit-true grid (rayon over pairs)
    use rayon::prelude::*;
    let float_mse = crate::wiener::prediction_mse(x, &wiener.w)?;
    let grid: Vec<SimPoint> = pairs
        .par_iter()
        .map(|&(bx, bw)| -> Result<SimPoint> {
            let qx = Quantizer::signed(range_x, bx)?.with_rounding(Rounding::HalfEven);
            let qw = Quantizer::signed(range_w, bw)?;
            let (mse, acc_bits) = bit_true_mse(x, &wiener.w, &qx, &qw)?;
            Ok(SimPoint {
                bx,
                bw,
                mse,
                loss_db: db_power(mse / float_mse),
                predicted_loss_db: model.loss_db(bx, bw),
                acc_bits,
            })
        })
        .collect::<Result<_>>()?;
    let equal_bits: Vec<SimPoint> = grid.iter().filter(|p| p.bx == p.bw).cloned().collect();
    let bits_simulated = equal_bits
        .iter()
        .enumerate()
        .find(|(i, _)| equal_bits[*i..].iter().all(|p| p.loss_db <= cfg.loss_db))
        .map(|(_, p)| p.bx);
    let sim_ok: Vec<Pair> = grid
        .iter()
        .filter(|p| p.loss_db <= cfg.loss_db)
        .map(|p| Pair {
            bx: p.bx,
            bw: p.bw,
            value: p.loss_db,
            fa_seed_convention: fa(p.bx, p.bw),
        })
        .collect();
    Ok(PrecisionReport {
        config: cfg.clone(),
        bits_equal_real: model.bits_equal_real(),
        seed_ranges_bits_real: seed_model.bits_equal_real(),
        fa_cost: FaCost::new(taps, bits_analytic),
        best_pair_simulated: by_sum(&sim_ok),
        bits_analytic,
        best_pair_analytic,
        cheapest_pair_analytic,
        bits_simulated,
        equal_bits,
        grid,
        model,
        wiener,
    })
}
