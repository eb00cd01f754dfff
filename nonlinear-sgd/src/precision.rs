//! Precision of w1 (parts 4–5): analytic bit counts against validation.
//!
//! w1 is quantized with the course's signed quantizer (`fxp_core::Quantizer::signed`), range
//! r = 2^⌈log2 |w1|⌉ (the power-of-two dynamic range of w1; r = 1 for w1 ≈ 0.95), B bits:
//! step Δ = 2^(1−B)·r, top level (1 − 2^(1−B))·r, half-to-even rounding. The quantization error
//! is δ(B) = q_B(w1) − w1; note that for small B the top level saturates below w1, so |δ| can
//! exceed Δ/2. Budget: ΔC ≤ 1 % of C(w) (C by quadrature at the float weights).
//!
//! Models of the increase ΔC = C(q(w1), w2, w3) − C(w):
//! * **first order** (the seed's, "gradient as noise gain"): ΔC₁ = |∂C/∂w1|·|δ(B)|, with δ the
//!   actual quantization error of w1 (the seed compares "the difference between quantized w1 and
//!   the original w1"); also listed a priori with the error bound Δ/2: |∂C/∂w1|·Δ/2.
//! * **second order**: ΔC₂ = ∂C/∂w1·δ + ½·∂²C/∂w1²·δ² with the actual error δ(B); also listed
//!   a priori with the additive-noise model E\[δ²\] = Δ²/12: ½·∂²C/∂w1²·Δ²/12.
//!
//! The bit count of a criterion is the smallest B from which on (for every larger B of the table)
//! the criterion holds.
use crate::error::{Error, Result};
use crate::model::Weights;
use crate::quadrature::{Expectation, Quadrature};
use crate::sgd;
use fxp_core::stats::dynamic_range_pow2;
use fxp_core::Quantizer;
use serde::Serialize;

/// Configuration of the precision study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrecisionConfig {
    /// Largest precision examined (table B = 1..=max_bits).
    pub max_bits: u32,
    /// Allowed relative increase of C (0.01 = 1 %).
    pub budget: f64,
    /// Seed of the sampled test set used for the test-MSE column (stream 1, as in training).
    pub seed: u64,
    /// Size of that test set (0 = skip the column).
    pub n_test: usize,
}

impl Default for PrecisionConfig {
    fn default() -> Self {
        PrecisionConfig {
            max_bits: 12,
            budget: 0.01,
            seed: 1,
            n_test: 10_000,
        }
    }
}

/// One precision B of w1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrecisionRow {
    /// Bits of w1.
    pub bits: u32,
    /// Quantization step Δ.
    pub step: f64,
    /// Quantized w1.
    pub w1_quantized: f64,
    /// Actual error δ = q(w1) − w1.
    pub error: f64,
    /// Validation: C with w1 quantized (quadrature).
    pub c: f64,
    /// Validation: ΔC / C.
    pub rel_increase: f64,
    /// Sampled test-set MSE with w1 quantized (None if not requested).
    pub test_mse: Option<f64>,
    /// First-order prediction |∂C/∂w1|·|δ|.
    pub dc_first_order: f64,
    /// First-order prediction with the error bound, |∂C/∂w1|·Δ/2.
    pub dc_first_order_bound: f64,
    /// Second-order prediction ∂C/∂w1·δ + ½ ∂²C/∂w1²·δ².
    pub dc_second_order: f64,
    /// Second-order prediction with the noise model, ½ ∂²C/∂w1²·Δ²/12.
    pub dc_second_order_noise: f64,
}

/// The precision that decides the validated bits of w1, against the clamping of the top level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecidingCase {
    /// The validated bits B.
    pub bits: u32,
    /// The float w1.
    pub w1: f64,
    /// The top level (1 − 2^(1−B))·r at B.
    pub top_level: f64,
    /// δ = q(w1) − w1 at B.
    pub error: f64,
    /// Δ/2 at B.
    pub half_step: f64,
    /// The top level lies below w1 (w1 is clamped).
    pub clamped: bool,
    /// |δ| > Δ/2: the a-priori models (bound Δ/2, noise Δ²/12) underestimate the error.
    pub beyond_half_step: bool,
    /// ΔC/C at B.
    pub rel_increase: f64,
    /// ΔC/C at B − 1 (None at B = 1).
    pub rel_increase_one_less: Option<f64>,
}

/// The precision study at some weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrecisionReport {
    /// Float weights.
    pub weights: Weights,
    /// Configuration.
    pub config: PrecisionConfig,
    /// Dynamic range r of w1.
    pub range: f64,
    /// C, ∇C and Hessian at the float weights.
    pub float: Expectation,
    /// Sampled test MSE at the float weights (None if not requested).
    pub float_test_mse: Option<f64>,
    /// Budget in absolute units: budget·C.
    pub budget_abs: f64,
    /// Table B = 1..=max_bits.
    pub rows: Vec<PrecisionRow>,
    /// Minimum bits, first-order model with the actual error.
    pub bits_first_order: Option<u32>,
    /// Minimum bits, first-order model with the bound Δ/2.
    pub bits_first_order_bound: Option<u32>,
    /// Minimum bits, second-order model with the actual error.
    pub bits_second_order: Option<u32>,
    /// Minimum bits, second-order model with Δ²/12.
    pub bits_second_order_noise: Option<u32>,
    /// Minimum bits, validated (quadrature C with w1 quantized).
    pub bits_validated: Option<u32>,
}

impl PrecisionReport {
    /// The precisions whose top level (1 − 2^(1−B))·r lies below |w1|: w1 saturates there and
    /// |δ| exceeds Δ/2 (beyond a 1e-15 rounding margin).
    pub fn saturated_bits(&self) -> Vec<u32> {
        self.rows
            .iter()
            .filter(|r| r.error.abs() > 0.5 * r.step + 1e-15)
            .map(|r| r.bits)
            .collect()
    }

    /// The precisions whose top level (1 − 2^(1−B))·r lies below w1: w1 is clamped to the top
    /// level there (|δ| may still be below Δ/2, see [`Self::saturated_bits`]; a negative w1 is
    /// never clamped, the bottom level being −r).
    pub fn clamped_bits(&self) -> Vec<u32> {
        self.rows
            .iter()
            .filter(|r| self.top_level(r) < self.weights.w1())
            .map(|r| r.bits)
            .collect()
    }

    /// The top level (1 − 2^(1−B))·r = r − Δ of a row.
    pub fn top_level(&self, row: &PrecisionRow) -> f64 {
        self.range - row.step
    }

    /// The row that decides the validated bits: the smallest B that meets the budget (with
    /// every larger B), described against the clamping of the top level.
    pub fn deciding_case(&self) -> Option<DecidingCase> {
        let bits = self.bits_validated?;
        let row = self.row(bits)?;
        let w1 = self.weights.w1();
        Some(DecidingCase {
            bits,
            w1,
            top_level: self.top_level(row),
            error: row.error,
            half_step: row.step / 2.0,
            clamped: self.clamped_bits().contains(&bits),
            beyond_half_step: self.saturated_bits().contains(&bits),
            rel_increase: row.rel_increase,
            rel_increase_one_less: bits
                .checked_sub(1)
                .and_then(|b| self.row(b))
                .map(|r| r.rel_increase),
        })
    }

    /// The row of the table at `bits`.
    pub fn row(&self, bits: u32) -> Option<&PrecisionRow> {
        self.rows.iter().find(|r| r.bits == bits)
    }
}

/// Smallest B of the table from which on `ok` holds for every larger B.
fn min_bits(rows: &[PrecisionRow], ok: impl Fn(&PrecisionRow) -> bool) -> Option<u32> {
    let mut best = None;
    for r in rows.iter().rev() {
        if ok(r) {
            best = Some(r.bits);
        } else {
            break;
        }
    }
    best
}

/// Runs the precision study of w1 at weights `w`.
pub fn study(w: &Weights, cfg: &PrecisionConfig) -> Result<PrecisionReport> {
    w.check()?;
    let budget_ok = cfg.budget.is_finite() && cfg.budget > 0.0;
    if !(1..=32).contains(&cfg.max_bits) || !budget_ok {
        return Err(Error::Config(format!(
            "max_bits must be 1..=32 and the budget finite and > 0 (got {}, {})",
            cfg.max_bits, cfg.budget
        )));
    }
    if w.w1() == 0.0 {
        return Err(Error::Config(
            "w1 = 0 has no dynamic range to quantize over".into(),
        ));
    }
    let quad = Quadrature::default();
    let float = quad.expectation(w);
    let range = dynamic_range_pow2([w.w1()])?;
    let test = (cfg.n_test > 0).then(|| sgd::dataset(cfg.seed, 1, cfg.n_test));
    let float_test_mse = test.as_ref().map(|t| sgd::mse(w, t));
    let budget_abs = cfg.budget * float.c;
    let (g, h) = (float.grad[0], float.hessian_w1);
    let mut rows = Vec::new();
    for bits in 1..=cfg.max_bits {
        let q = Quantizer::signed(range, bits)?;
        let w1q = q.quantize(w.w1());
        let wq = w.with_w1(w1q);
        let c = quad.cost(&wq);
        let d = w1q - w.w1();
        let step = q.step();
        rows.push(PrecisionRow {
            bits,
            step,
            w1_quantized: w1q,
            error: d,
            c,
            rel_increase: (c - float.c) / float.c,
            test_mse: test.as_ref().map(|t| sgd::mse(&wq, t)),
            dc_first_order: g.abs() * d.abs(),
            dc_first_order_bound: g.abs() * step / 2.0,
            dc_second_order: g * d + 0.5 * h * d * d,
            dc_second_order_noise: 0.5 * h * step * step / 12.0,
        });
    }
    Ok(PrecisionReport {
        weights: *w,
        config: cfg.clone(),
        range,
        float,
        float_test_mse,
        budget_abs,
        bits_first_order: min_bits(&rows, |r| r.dc_first_order <= budget_abs),
        bits_first_order_bound: min_bits(&rows, |r| r.dc_first_order_bound <= budget_abs),
        bits_second_order: min_bits(&rows, |r| r.dc_second_order <= budget_abs),
        bits_second_order_noise: min_bits(&rows, |r| r.dc_second_order_noise <= budget_abs),
        bits_validated: min_bits(&rows, |r| r.c - float.c <= budget_abs),
        rows,
    })
}
