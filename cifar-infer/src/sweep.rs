//! Problem 3.1: uniform precision sweep and the minimum precision within a tolerance of the
//! float baseline.
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::eval::{evaluate, evaluate_until, EvalResult};
use crate::model::{FloatKernel, Model};
use crate::quantized::{PathPolicy, QuantizedModel, Ranges};
use fxp_core::progress::Progress;
use fxp_core::LayerPrecision;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How far below the float baseline an accuracy may be.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Tolerance {
    /// Percentage points (default 1).
    Absolute(f64),
    /// Fraction of the baseline accuracy (e.g. 0.01 = 1 % of it).
    Relative(f64),
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance::Absolute(1.0)
    }
}

impl Tolerance {
    /// Checks the tolerance: a finite number ≥ 0, and at most 100 (percentage points, or
    /// fraction 1 of the baseline with `Relative`): NaN, −5 or 150 % are refused.
    pub fn check(&self) -> Result<()> {
        let (v, max, what) = match *self {
            Tolerance::Absolute(p) => (p, 100.0, "percentage points"),
            Tolerance::Relative(f) => (f * 100.0, 100.0, "percent of the baseline (--relative)"),
        };
        if !v.is_finite() || !(0.0..=max).contains(&v) {
            return Err(InferError::Invalid(format!(
                "--tolerance {v}: give a number from 0 to {max} ({what})"
            )));
        }
        Ok(())
    }

    /// The allowed drop in percentage points for a baseline accuracy (percent).
    pub fn points(&self, baseline: f64) -> f64 {
        match *self {
            Tolerance::Absolute(p) => p,
            Tolerance::Relative(f) => f * baseline,
        }
    }
}

/// Evaluate every precision, or bisect for the minimum only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SweepMode {
    /// Every B of the range (the table and figure).
    #[default]
    Full,
    /// Binary search for the smallest passing B, assuming accuracy does not fall as B grows
    /// (evaluates about log2 of the range's size precisions, and stops evaluating a precision
    /// as soon as it can no longer pass: such a precision is listed in
    /// [`SweepResult::stopped_early`], not in [`SweepResult::points`]).
    Bisect,
}

/// Options of [`uniform_sweep`].
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Smallest precision.
    pub min_bits: u32,
    /// Largest precision.
    pub max_bits: u32,
    /// Tolerance below the baseline.
    pub tolerance: Tolerance,
    /// Full scan or bisection.
    pub mode: SweepMode,
    /// Images per forward batch.
    pub batch: usize,
    /// Kernel paths allowed.
    pub policy: PathPolicy,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            min_bits: 2,
            max_bits: 16,
            tolerance: Tolerance::default(),
            mode: SweepMode::Full,
            batch: crate::eval::DEFAULT_BATCH,
            policy: PathPolicy::Auto,
        }
    }
}

/// One evaluated precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Uniform precision B (= B_W = B_A of every layer).
    pub bits: u32,
    /// Accuracy in percent.
    pub accuracy: f64,
    /// Correct images.
    pub correct: usize,
    /// Whether the accuracy is within the tolerance.
    pub within: bool,
    /// Predicted class of each image (kept for reuse, e.g. the mismatch rates; not serialized).
    #[serde(skip)]
    pub predictions: Vec<u8>,
}

/// Result of a uniform sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Images evaluated.
    pub n: usize,
    /// Float accuracy (percent).
    pub baseline: f64,
    /// Float correct count.
    pub baseline_correct: usize,
    /// The tolerance asked for.
    pub tolerance: Tolerance,
    /// Smallest passing accuracy: baseline − tolerance (percent).
    pub threshold: f64,
    /// Evaluated precisions, increasing B.
    pub points: Vec<SweepPoint>,
    /// Smallest B whose accuracy is within the tolerance (None when none is).
    pub min_bits: Option<u32>,
    /// Accuracy at `min_bits`.
    pub min_bits_accuracy: Option<f64>,
    /// Precisions (bisection only) whose evaluation stopped as soon as they could no longer
    /// pass: known to fail, accuracy not measured, not in `points`.
    pub stopped_early: Vec<u32>,
    /// Float predictions of each image (kept for reuse; not serialized).
    #[serde(skip)]
    pub baseline_predictions: Vec<u8>,
}

impl SweepResult {
    /// A sweep from its float baseline `base`, its evaluated `points` (increasing B) and its
    /// minimum; the accuracy at `min_bits` is read from the points.
    pub(crate) fn assemble(
        base: crate::eval::EvalResult,
        tolerance: Tolerance,
        threshold: f64,
        points: Vec<SweepPoint>,
        min_bits: Option<u32>,
        stopped_early: Vec<u32>,
    ) -> Self {
        let min_bits_accuracy =
            min_bits.and_then(|b| points.iter().find(|p| p.bits == b).map(|p| p.accuracy));
        Self {
            n: base.n,
            baseline: base.accuracy,
            baseline_correct: base.correct,
            tolerance,
            threshold,
            points,
            min_bits,
            min_bits_accuracy,
            stopped_early,
            baseline_predictions: base.predictions,
        }
    }

    /// The float baseline of the sweep as an evaluation result (for
    /// [`crate::offsets::offsets_sweep_against`]).
    pub fn baseline_eval(&self) -> crate::eval::EvalResult {
        crate::eval::EvalResult {
            accuracy: self.baseline,
            correct: self.baseline_correct,
            n: self.n,
            predictions: self.baseline_predictions.clone(),
        }
    }

    /// The sweep as a map B → accuracy.
    pub fn accuracy_map(&self) -> BTreeMap<u32, f64> {
        self.points.iter().map(|p| (p.bits, p.accuracy)).collect()
    }
}

/// Accuracy of the network at uniform precision B (every layer B_W = B_A = B).
pub fn eval_uniform(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    bits: u32,
    batch: usize,
    policy: PathPolicy,
    progress: &dyn Progress,
) -> Result<EvalResult> {
    let p = vec![
        LayerPrecision {
            b_w: bits,
            b_a: bits
        };
        model.num_weight_layers()
    ];
    let q = QuantizedModel::new(model, ranges, &p, policy)?;
    evaluate(model, &q, data, batch, progress)
}

/// The one sweep engine of the uniform and the offsets sweeps: a precision index B (uniform B,
/// or B_min) over a range, an assignment B → per-layer precisions, every B evaluated or a
/// bisection for the smallest passing one (with early stop), against a float baseline.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    /// The network.
    pub model: &'a Model,
    /// The images.
    pub data: &'a CifarSet,
    /// The dynamic ranges.
    pub ranges: &'a Ranges,
    /// Smallest and largest B.
    pub bits: (u32, u32),
    /// Tolerance below the baseline.
    pub tolerance: Tolerance,
    /// Every B or bisection.
    pub mode: SweepMode,
    /// Images per forward batch.
    pub batch: usize,
    /// Kernel paths allowed.
    pub policy: PathPolicy,
    /// Name of B in progress messages (`B`, `B_min`).
    pub label: &'a str,
}

impl Engine<'_> {
    /// Runs the sweep against the float baseline `base` (of `data`), with `assign` giving the
    /// per-layer precisions at each B. Reports to `progress` one phase per evaluation and one
    /// note per evaluated B (with its time).
    pub fn run(
        &self,
        base: EvalResult,
        assign: &dyn Fn(u32) -> Result<Vec<LayerPrecision>>,
        progress: &dyn Progress,
    ) -> Result<SweepResult> {
        let (data, label) = (self.data, self.label);
        let threshold = base.accuracy - self.tolerance.points(base.accuracy);
        let mut points: BTreeMap<u32, SweepPoint> = BTreeMap::new();
        // Smallest correct count that passes: 100·c/n ≥ threshold.
        let n_img = data.len();
        let min_correct = (0..=n_img)
            .find(|&c| 100.0 * c as f64 / n_img as f64 >= threshold)
            .unwrap_or(n_img + 1);
        // Evaluates B; with `early`, stops as soon as B can no longer pass (then only `false`
        // is known).
        let mut stopped_early = Vec::new();
        let mut eval = |b: u32, early: bool| -> Result<bool> {
            if let Some(p) = points.get(&b) {
                return Ok(p.within);
            }
            let prec = assign(b)?;
            let q = QuantizedModel::new(self.model, self.ranges, &prec, self.policy)?;
            progress.begin(&format!("{label} = {b}"), n_img as u64);
            let t = std::time::Instant::now();
            let stop_below = if early { min_correct } else { 0 };
            let r = evaluate_until(self.model, &q, data, self.batch, progress, stop_below)?;
            progress.end();
            let Some(r) = r else {
                progress.note(&format!(
                    "  {label} = {b:>2}: below the threshold, stopped early after {:.1} s",
                    t.elapsed().as_secs_f64()
                ));
                stopped_early.push(b);
                return Ok(false);
            };
            progress.note(&format!(
                "  {label} = {b:>2}: {:.2} % ({} / {}) in {:.1} s",
                r.accuracy,
                r.correct,
                r.n,
                t.elapsed().as_secs_f64()
            ));
            let within = r.accuracy >= threshold;
            points.insert(
                b,
                SweepPoint {
                    bits: b,
                    accuracy: r.accuracy,
                    correct: r.correct,
                    within,
                    predictions: r.predictions,
                },
            );
            Ok(within)
        };
        let (lo, hi) = self.bits;
        let min_bits = match self.mode {
            SweepMode::Full => {
                let mut first = None;
                for b in lo..=hi {
                    if eval(b, false)? && first.is_none() {
                        first = Some(b);
                    }
                }
                first
            }
            SweepMode::Bisect => {
                if !eval(hi, true)? {
                    None
                } else {
                    // Invariant: hi passes; every B < lo is known (assumed) to fail.
                    let (mut lo, mut hi) = (lo, hi);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if eval(mid, true)? {
                            hi = mid;
                        } else {
                            lo = mid + 1;
                        }
                    }
                    Some(hi)
                }
            }
        };
        stopped_early.sort_unstable();
        let points: Vec<SweepPoint> = points.into_values().collect();
        Ok(SweepResult::assemble(
            base,
            self.tolerance,
            threshold,
            points,
            min_bits,
            stopped_early,
        ))
    }
}

/// Problem 3.1: the float baseline, then uniform precisions B = `min_bits..=max_bits` (all, or by
/// bisection), and the smallest B whose accuracy is ≥ baseline − tolerance. Reports to
/// `progress` one phase per evaluation and one note per evaluated precision (with its time).
pub fn uniform_sweep(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    opt: &SweepOptions,
    progress: &dyn Progress,
) -> Result<SweepResult> {
    opt.tolerance.check()?;
    if opt.min_bits < 1 || opt.min_bits > opt.max_bits || opt.max_bits > 32 {
        return Err(InferError::Invalid(format!(
            "precision range {}..={} must satisfy 1 ≤ min ≤ max ≤ 32",
            opt.min_bits, opt.max_bits
        )));
    }
    let n = data.len() as u64;
    progress.begin("float baseline", n);
    let t = std::time::Instant::now();
    let base = evaluate(model, &FloatKernel, data, opt.batch, progress)?;
    progress.end();
    progress.note(&format!(
        "  float: {:.2} % ({} / {}) in {:.1} s",
        base.accuracy,
        base.correct,
        base.n,
        t.elapsed().as_secs_f64()
    ));
    let layers = model.num_weight_layers();
    let engine = Engine {
        model,
        data,
        ranges,
        bits: (opt.min_bits, opt.max_bits),
        tolerance: opt.tolerance,
        mode: opt.mode,
        batch: opt.batch,
        policy: opt.policy,
        label: "B",
    };
    engine.run(
        base,
        &|b| Ok(vec![LayerPrecision { b_w: b, b_a: b }; layers]),
        progress,
    )
}
