//! Problem 4 as data: SGD (part 3), the precision of w1 at our weights and at the seed's (parts
//! 4–5) and the local minima (part 6), with C, ∇C and the Hessian by quadrature, and the seed's
//! printed values beside ours as computed comparisons.
//!
//! [`Problem4`] serializes to the layout results.json has always had (`final_weights`,
//! `precision`, `minima`, `seed_values`, …), plus the numbers the report shows besides them.
use crate::error::Result;
use crate::minima::{self, ConvexityCheck, Kind, MinimaConfig, MinimaReport, SymmetryImage};
use crate::model::{self, Weights};
use crate::precision::{self, DecidingCase, PrecisionConfig, PrecisionReport, PrecisionRow};
use crate::quadrature::Quadrature;
use crate::sgd::{self, CurvePoint, SgdConfig, SgdResult};
use crate::SEED_WEIGHTS;
use fxp_core::compare::{Comparison, Tolerance};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The seed's printed numbers (comparison values, never results).
pub mod seed {
    /// Final test MSE of the seed's SGD run.
    pub const TEST_MSE: f64 = 3.065;
    /// C at the seed's final weights.
    pub const C: f64 = 3.063;
    /// ∂C/∂w1 at the seed's final weights.
    pub const GRAD_W1: f64 = 0.0163;
    /// Bits of w1 the seed settles on.
    pub const BITS: u32 = 4;
    /// C with w1 quantized to [`BITS`] bits.
    pub const C_4BITS: f64 = 3.068;
    /// Significant digits of the printed C values and of the test MSE (3.063: 4).
    pub const C_DIGITS: u32 = 4;
    /// Significant digits of the printed ∂C/∂w1 (0.0163: 3).
    pub const GRAD_DIGITS: u32 = 3;
}

/// The configuration of the three computations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// SGD (part 3).
    pub sgd: SgdConfig,
    /// Precision of w1 (parts 4–5); its test set is SGD's.
    pub precision: PrecisionConfig,
    /// Multi-start search for minima (part 6).
    pub minima: MinimaConfig,
}

impl Settings {
    /// The report's configuration: 10 SGD epochs, 400 starts.
    pub fn full() -> Self {
        Self::with(SgdConfig::default(), 400)
    }

    /// The fast smoke configuration (`--quick`): 2 SGD epochs, 40 starts.
    pub fn quick() -> Self {
        let sgd = SgdConfig {
            epochs: 2,
            ..SgdConfig::default()
        };
        Self::with(sgd, 40)
    }

    fn with(sgd: SgdConfig, starts: usize) -> Self {
        let precision = PrecisionConfig {
            seed: sgd.seed,
            n_test: sgd.n_test,
            ..PrecisionConfig::default()
        };
        let minima = MinimaConfig {
            starts,
            ..MinimaConfig::default()
        };
        Self {
            sgd,
            precision,
            minima,
        }
    }
}

/// C, ∇C and ∂²C/∂w1² at the seed's final weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtSeedWeights {
    /// The seed's final weights.
    pub weights: Weights,
    /// C by quadrature.
    pub c: f64,
    /// ∇C.
    pub grad: [f64; 3],
    /// ‖∇C‖₂.
    pub grad_norm: f64,
    /// ∂²C/∂w1².
    pub hessian_w1: f64,
    /// Stated accuracy of the quadrature there.
    pub quadrature_error: f64,
}

/// The seed's printed values, as results.json lists them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedValues {
    /// Final test MSE.
    pub test_mse: f64,
    /// C at its weights.
    pub c: f64,
    /// Its final weights.
    pub weights: [f64; 3],
    /// ∂C/∂w1 at its weights.
    pub grad_w1: f64,
    /// Bits of w1.
    pub bits: u32,
    /// C at 4 bits.
    pub c_4bits: f64,
}

impl SeedValues {
    /// The values of [`seed`].
    pub fn printed() -> Self {
        Self {
            test_mse: seed::TEST_MSE,
            c: seed::C,
            weights: SEED_WEIGHTS,
            grad_w1: seed::GRAD_W1,
            bits: seed::BITS,
            c_4bits: seed::C_4BITS,
        }
    }
}

/// Our numbers at the seed's weights against its printed ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedComparisons {
    /// C by quadrature against the seed's C (to its printed digits).
    pub c: Comparison,
    /// ∂C/∂w1 by quadrature against the seed's.
    pub grad_w1: Comparison,
    /// Twice our ∂C/∂w1 against the seed's: the seed's value is twice the integral.
    pub twice_grad_w1: Comparison,
    /// ‖∇C‖ against 0 within the minima search's gradient tolerance: is the seed's end point
    /// stationary?
    pub stationary: Comparison,
    /// C with w1 at the seed's bits against the seed's validation value.
    pub c_at_seed_bits: Option<Comparison>,
    /// Our validated bits of w1 at the seed's weights against the seed's bits (exact).
    pub bits_validated: Option<Comparison>,
}

/// Problem 4's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem4 {
    /// The configuration.
    pub settings: Settings,
    /// The SGD run (final weights, curves, C by quadrature at the end).
    pub sgd: SgdResult,
    /// Standard error of the final test MSE (sample standard deviation of e² / √n).
    pub test_mse_std_error: f64,
    /// Step size of the last SGD iteration.
    pub final_step: f64,
    /// Invariant m = √|w3|·(w1, w2) of our final weights.
    pub invariant: [f64; 2],
    /// Values at the seed's weights.
    pub at_seed_weights: AtSeedWeights,
    /// Invariant of the seed's weights.
    pub invariant_seed_weights: [f64; 2],
    /// Precision of w1 at our weights.
    pub precision: PrecisionReport,
    /// Precision of w1 at the seed's weights.
    pub precision_seed_weights: PrecisionReport,
    /// The multi-start search.
    pub minima: MinimaReport,
    /// C at the lowest minimum found, if any.
    pub minimum_c: Option<f64>,
    /// How far SGD's end point is above it, relative: (C − C_min)/C_min.
    pub sgd_above_minimum: Option<f64>,
    /// Our final weights and their symmetry images.
    pub symmetry_images: Vec<SymmetryImage>,
    /// Non-convexity at our final weights.
    pub convexity_check: ConvexityCheck,
    /// The seed's printed values.
    pub seed_values: SeedValues,
    /// Ours against them.
    pub seed_comparisons: SeedComparisons,
}

/// Standard error of the mean loss of `w` over `data`.
fn mse_std_error(w: &Weights, data: &[model::Sample]) -> f64 {
    let losses: Vec<f64> = data.iter().map(|x| model::loss(w, x)).collect();
    let n = losses.len() as f64;
    let mean = losses.iter().sum::<f64>() / n;
    let var = losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (var / n).sqrt()
}

fn at_seed_weights(quad: &Quadrature) -> AtSeedWeights {
    let weights = Weights(SEED_WEIGHTS);
    let e = quad.expectation(&weights);
    AtSeedWeights {
        weights,
        c: e.c,
        grad: e.grad,
        grad_norm: e.grad.iter().map(|g| g * g).sum::<f64>().sqrt(),
        hessian_w1: e.hessian_w1,
        quadrature_error: quad.error_estimate(&weights),
    }
}

fn seed_comparisons(at: &AtSeedWeights, prec: &PrecisionReport, grad_tol: f64) -> SeedComparisons {
    let c_tol = Tolerance::printed_digits(seed::C, seed::C_DIGITS);
    let grad_tol_printed = Tolerance::printed_digits(seed::GRAD_W1, seed::GRAD_DIGITS);
    let c_4 = Tolerance::printed_digits(seed::C_4BITS, seed::C_DIGITS);
    SeedComparisons {
        c: Comparison::new("C", at.c, seed::C, c_tol),
        grad_w1: Comparison::new("∂C/∂w1", at.grad[0], seed::GRAD_W1, grad_tol_printed),
        twice_grad_w1: Comparison::new(
            "2·∂C/∂w1",
            2.0 * at.grad[0],
            seed::GRAD_W1,
            grad_tol_printed,
        ),
        stationary: Comparison::new("‖∇C‖", at.grad_norm, 0.0, Tolerance::Absolute(grad_tol)),
        c_at_seed_bits: prec
            .row(seed::BITS)
            .map(|r| Comparison::new("C at the seed's bits", r.c, seed::C_4BITS, c_4)),
        bits_validated: prec.bits_validated.map(|b| {
            let (ours, theirs) = (b as f64, seed::BITS as f64);
            Comparison::new("validated bits", ours, theirs, Tolerance::Absolute(0.0))
        }),
    }
}

/// Problem 4: SGD, the precision of w1 and the minima.
pub fn run(settings: &Settings) -> Result<Problem4> {
    let quad = Quadrature::default();
    let cfg = &settings.sgd;
    let sgd = sgd::train(cfg)?;
    let ours = sgd.final_weights;
    let at_seed = at_seed_weights(&quad);
    let precision = precision::study(&ours, &settings.precision)?;
    let precision_seed_weights = precision::study(&at_seed.weights, &settings.precision)?;
    let minima = minima::search(&settings.minima)?;
    let minimum_c = minima
        .minima
        .iter()
        .find(|m| m.kind == Kind::Minimum)
        .map(|m| m.c);
    let test_set = sgd::dataset(cfg.seed, 1, cfg.n_test);
    Ok(Problem4 {
        settings: settings.clone(),
        test_mse_std_error: mse_std_error(&ours, &test_set),
        final_step: cfg.schedule.step(cfg.epochs * cfg.n_train - 1),
        invariant: minima::invariant(&ours),
        invariant_seed_weights: minima::invariant(&at_seed.weights),
        seed_comparisons: seed_comparisons(
            &at_seed,
            &precision_seed_weights,
            settings.minima.grad_tol,
        ),
        at_seed_weights: at_seed,
        precision,
        precision_seed_weights,
        minimum_c,
        sgd_above_minimum: minimum_c.map(|c| (sgd.quadrature.c - c) / c),
        symmetry_images: minima::symmetry_images(&ours),
        convexity_check: minima::convexity_check(&ours),
        seed_values: SeedValues::printed(),
        minima,
        sgd,
    })
}

/// A precision study as results.json lists it.
#[derive(Serialize)]
struct PrecisionLayout<'a> {
    weights: &'a Weights,
    range: f64,
    c: f64,
    grad_w1: f64,
    hessian_w1: f64,
    budget: f64,
    budget_abs: f64,
    float_test_mse: Option<f64>,
    bits_first_order: Option<u32>,
    bits_first_order_bound: Option<u32>,
    bits_second_order: Option<u32>,
    bits_second_order_noise: Option<u32>,
    bits_validated: Option<u32>,
    saturated_bits: Vec<u32>,
    clamped_bits: Vec<u32>,
    deciding_case: Option<DecidingCase>,
    rows: &'a [PrecisionRow],
}

impl<'a> PrecisionLayout<'a> {
    fn of(r: &'a PrecisionReport) -> Self {
        Self {
            weights: &r.weights,
            range: r.range,
            c: r.float.c,
            grad_w1: r.float.grad[0],
            hessian_w1: r.float.hessian_w1,
            budget: r.config.budget,
            budget_abs: r.budget_abs,
            float_test_mse: r.float_test_mse,
            bits_first_order: r.bits_first_order,
            bits_first_order_bound: r.bits_first_order_bound,
            bits_second_order: r.bits_second_order,
            bits_second_order_noise: r.bits_second_order_noise,
            bits_validated: r.bits_validated,
            saturated_bits: r.saturated_bits(),
            clamped_bits: r.clamped_bits(),
            deciding_case: r.deciding_case(),
            rows: &r.rows,
        }
    }
}

/// A distinct minimum as results.json lists it.
#[derive(Serialize)]
struct MinimumLayout<'a> {
    weights: &'a Weights,
    c: f64,
    kind: Kind,
    invariant: [f64; 2],
    count: usize,
    grad_norm: f64,
    eigenvalues_f: [f64; 2],
    eigenvalues_w: [f64; 3],
    branches: &'a [minima::Branch],
}

/// Problem 4 as results.json lists it.
#[derive(Serialize)]
struct Layout<'a> {
    sgd_config: &'a SgdConfig,
    precision_config: &'a PrecisionConfig,
    minima_config: &'a MinimaConfig,
    final_weights: &'a Weights,
    test_mse: f64,
    test_mse_std_error: f64,
    train_mse: f64,
    final_step: f64,
    c_quadrature: f64,
    grad_c: [f64; 3],
    hessian_w1: f64,
    hessian: [[f64; 3]; 3],
    quadrature_error: f64,
    curve: &'a [CurvePoint],
    invariant: [f64; 2],
    bits_first_order: Option<u32>,
    bits_first_order_bound: Option<u32>,
    bits_second_order: Option<u32>,
    bits_second_order_noise: Option<u32>,
    bits_validated: Option<u32>,
    c_quantized: BTreeMap<String, f64>,
    precision: PrecisionLayout<'a>,
    precision_seed_weights: PrecisionLayout<'a>,
    at_seed_weights: &'a AtSeedWeights,
    invariant_seed_weights: [f64; 2],
    minima: Vec<MinimumLayout<'a>>,
    minima_not_converged: usize,
    minimum_c: Option<f64>,
    sgd_above_minimum: Option<f64>,
    symmetry_images: &'a [SymmetryImage],
    convexity_check: &'a ConvexityCheck,
    seed_values: &'a SeedValues,
    seed_comparisons: &'a SeedComparisons,
}

impl Serialize for Problem4 {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let (sgd, prec) = (&self.sgd, &self.precision);
        let minima = self.minima.minima.iter().map(|m| MinimumLayout {
            weights: &m.weights,
            c: m.c,
            kind: m.kind,
            invariant: m.invariant,
            count: m.count,
            grad_norm: m.grad_norm,
            eigenvalues_f: m.eigenvalues,
            eigenvalues_w: m.eigenvalues_w,
            branches: &m.branches,
        });
        Layout {
            sgd_config: &self.settings.sgd,
            precision_config: &self.settings.precision,
            minima_config: &self.settings.minima,
            final_weights: &sgd.final_weights,
            test_mse: sgd.test_mse,
            test_mse_std_error: self.test_mse_std_error,
            train_mse: sgd.train_mse,
            final_step: self.final_step,
            c_quadrature: sgd.quadrature.c,
            grad_c: sgd.quadrature.grad,
            hessian_w1: sgd.quadrature.hessian_w1,
            hessian: sgd.quadrature.hessian,
            quadrature_error: sgd.quadrature_error,
            curve: &sgd.curve,
            invariant: self.invariant,
            bits_first_order: prec.bits_first_order,
            bits_first_order_bound: prec.bits_first_order_bound,
            bits_second_order: prec.bits_second_order,
            bits_second_order_noise: prec.bits_second_order_noise,
            bits_validated: prec.bits_validated,
            c_quantized: prec
                .rows
                .iter()
                .map(|r| (r.bits.to_string(), r.c))
                .collect(),
            precision: PrecisionLayout::of(prec),
            precision_seed_weights: PrecisionLayout::of(&self.precision_seed_weights),
            at_seed_weights: &self.at_seed_weights,
            invariant_seed_weights: self.invariant_seed_weights,
            minima: minima.collect(),
            minima_not_converged: self.minima.not_converged,
            minimum_c: self.minimum_c,
            sgd_above_minimum: self.sgd_above_minimum,
            symmetry_images: &self.symmetry_images,
            convexity_check: &self.convexity_check,
            seed_values: &self.seed_values,
            seed_comparisons: &self.seed_comparisons,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_and_full_differ_only_in_epochs_and_starts() {
        let (quick, full) = (Settings::quick(), Settings::full());
        assert_eq!((quick.sgd.epochs, quick.minima.starts), (2, 40));
        assert_eq!((full.sgd.epochs, full.minima.starts), (10, 400));
        for s in [&quick, &full] {
            assert_eq!(s.precision.seed, s.sgd.seed);
            assert_eq!(s.precision.n_test, s.sgd.n_test);
        }
        let same_sgd = SgdConfig {
            epochs: full.sgd.epochs,
            ..quick.sgd.clone()
        };
        assert_eq!(same_sgd, full.sgd);
    }
}
