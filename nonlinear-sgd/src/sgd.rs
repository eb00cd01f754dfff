//! Seeded SGD on the instantaneous gradients (part 3).
//!
//! Data: Θ uniform on [−π, π), x = (cos Θ, sin Θ), y = atan2(x2, x1); training set from
//! `stream(seed, 0)`, test set from `stream(seed, 1)`, the per-epoch shuffles from
//! `stream(seed, 2)`. One iteration = one sample: w ← w − μ_t·∇e²(w; x, y).
//! Step-size schedule ([`Schedule`]): μ_t = μ0 for t < t0, then μ0 / (1 + (t − t0)/τ).
use crate::error::{Error, Result};
use crate::model::{self, Sample, Weights};
use crate::quadrature::{Expectation, Quadrature};
use fxp_core::rng::{stream, GenRange};
use ndarray::Array1;
use ndarray_rand::RandomExt;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::Serialize;
use std::f64::consts::PI;

/// Step-size schedule: constant μ0 for the first `constant_iters` iterations, then
/// μ_t = μ0 / (1 + (t − constant_iters)/decay_iters) (a 1/t decay, so the iterate settles).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Schedule {
    /// Initial (constant) step size μ0.
    pub mu0: f64,
    /// Iterations at constant μ0 (t0).
    pub constant_iters: usize,
    /// Decay time constant τ in iterations; the step halves τ iterations after t0.
    pub decay_iters: f64,
}

impl Schedule {
    /// Step size at iteration t (0-based).
    pub fn step(&self, t: usize) -> f64 {
        if t < self.constant_iters {
            self.mu0
        } else {
            self.mu0 / (1.0 + (t - self.constant_iters) as f64 / self.decay_iters)
        }
    }
}

/// Configuration of a training run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SgdConfig {
    /// Seed of the data, shuffle streams.
    pub seed: u64,
    /// Training samples (seed: 50,000).
    pub n_train: usize,
    /// Test samples (seed: 10,000).
    pub n_test: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Step-size schedule.
    pub schedule: Schedule,
    /// Initial weights.
    pub init: Weights,
    /// Number of curve points (train/test MSE and weights), see [`curve_marks`].
    pub curve_points: usize,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            seed: 1,
            n_train: 50_000,
            n_test: 10_000,
            epochs: 10,
            schedule: Schedule {
                mu0: 0.001,
                constant_iters: 50_000,
                decay_iters: 20_000.0,
            },
            init: Weights([0.5, -0.5, 0.5]),
            curve_points: 200,
        }
    }
}

impl SgdConfig {
    /// Errors on sizes of zero or a non-positive / non-finite step size.
    pub fn validate(&self) -> Result<()> {
        if self.n_train == 0 || self.n_test == 0 || self.epochs == 0 {
            return Err(Error::Config(
                "training/test set sizes and epochs must be ≥ 1".into(),
            ));
        }
        let s = &self.schedule;
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(s.mu0) || !positive(s.decay_iters) {
            return Err(Error::Config(format!(
                "step size μ0 = {} and decay τ = {} must be finite and > 0",
                s.mu0, s.decay_iters
            )));
        }
        if self.curve_points < 2 {
            return Err(Error::Config("need at least 2 curve points".into()));
        }
        self.init.check()
    }
}

/// One point of the convergence curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Iteration (samples processed so far).
    pub iteration: usize,
    /// MSE over the whole training set.
    pub train_mse: f64,
    /// MSE over the test set.
    pub test_mse: f64,
    /// Weights at this iteration.
    pub weights: Weights,
}

/// Result of a training run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SgdResult {
    /// The configuration that produced it.
    pub config: SgdConfig,
    /// Train/test MSE and weights at the iterations of [`curve_marks`] (first = init, last = final).
    pub curve: Vec<CurvePoint>,
    /// Final weights.
    pub final_weights: Weights,
    /// Final training-set MSE.
    pub train_mse: f64,
    /// Final test-set MSE.
    pub test_mse: f64,
    /// C, ∇C, Hessian at the final weights by quadrature.
    pub quadrature: Expectation,
    /// Stated accuracy of the quadrature values (difference to the doubled rule).
    pub quadrature_error: f64,
}

/// `n` samples with Θ uniform on [−π, π) from stream `unit` of `seed`.
pub fn dataset(seed: u64, unit: u64, n: usize) -> Vec<Sample> {
    let theta = Array1::random_using(n, ANGLE, &mut stream(seed, unit));
    theta.iter().map(|&t| Sample::at_angle(t)).collect()
}

/// Θ uniform on [−π, π).
const ANGLE: GenRange = GenRange::constant(-PI, PI);

/// Mean of e² over `data` (deterministic chunked parallel sum).
pub fn mse(w: &Weights, data: &[Sample]) -> f64 {
    let parts: Vec<f64> = data
        .par_chunks(4096)
        .map(|c| c.iter().map(|s| model::loss(w, s)).sum())
        .collect();
    parts.iter().sum::<f64>() / data.len() as f64
}

/// Iterations at which the curve is recorded: 0, then `points − 1` iterations spaced
/// geometrically from 1 to `total` (deduplicated), so a log-scaled axis shows both the fast
/// initial drop and the slow end.
pub fn curve_marks(total: usize, points: usize) -> Vec<usize> {
    let mut marks = vec![0];
    for i in 0..points.saturating_sub(1) {
        let f = i as f64 / (points - 2).max(1) as f64;
        marks.push(((total as f64).powf(f).round() as usize).clamp(1, total));
    }
    marks.sort_unstable();
    marks.dedup();
    marks
}

/// Runs seeded SGD.
pub fn train(cfg: &SgdConfig) -> Result<SgdResult> {
    cfg.validate()?;
    let train_set = dataset(cfg.seed, 0, cfg.n_train);
    let test_set = dataset(cfg.seed, 1, cfg.n_test);
    let mut shuffle_rng = stream(cfg.seed, 2);
    let total = cfg.epochs * cfg.n_train;
    let marks = curve_marks(total, cfg.curve_points);
    let mut next_mark = 0;
    let mut curve = Vec::with_capacity(marks.len());
    let mut w = cfg.init;
    let mut order: Vec<usize> = (0..cfg.n_train).collect();
    let mut t = 0usize;
    let record = |t: usize, w: &Weights, curve: &mut Vec<CurvePoint>| {
        curve.push(CurvePoint {
            iteration: t,
            train_mse: mse(w, &train_set),
            test_mse: mse(w, &test_set),
            weights: *w,
        })
    };
    for _ in 0..cfg.epochs {
        order.shuffle(&mut shuffle_rng);
        for &i in &order {
            if next_mark < marks.len() && marks[next_mark] == t {
                record(t, &w, &mut curve);
                next_mark += 1;
            }
            let (_, g) = model::loss_grad(&w, &train_set[i]);
            let mu = cfg.schedule.step(t);
            for (wk, gk) in w.0.iter_mut().zip(g) {
                *wk -= mu * gk;
            }
            if w.check().is_err() {
                return Err(Error::Diverged { iteration: t });
            }
            t += 1;
        }
    }
    record(t, &w, &mut curve);
    let quad = Quadrature::default();
    let last = *curve.last().expect("at least one curve point");
    Ok(SgdResult {
        config: cfg.clone(),
        curve,
        final_weights: w,
        train_mse: last.train_mse,
        test_mse: last.test_mse,
        quadrature: quad.expectation(&w),
        quadrature_error: quad.error_estimate(&w),
    })
}
