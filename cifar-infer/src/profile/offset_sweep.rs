//! Problem 3.2: per-layer precisions `B_l = B_min + offset_l` (offsets from the course npy files
//! or from [`crate::profile`]), the sweep over `B_min` and the minimum `B_min` within the
//! tolerance of the float baseline: the sweep engine of [`crate::sweep`] ([`Engine`]) with the
//! assignment `B_min → B_min + offset_l`; a point's `bits` is `B_min`.
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::eval::{evaluate, EvalResult};
use crate::model::{FloatKernel, Model};
use crate::quantized::{PathPolicy, Ranges};
use crate::sweep::{Engine, SweepMode, SweepResult, Tolerance};
use fxp_core::progress::Progress;
use fxp_core::LayerPrecision;

/// Options of [`offsets_sweep`].
#[derive(Debug, Clone)]
pub struct OffsetSweepOptions {
    /// Smallest `B_min`.
    pub min_b: u32,
    /// Largest `B_min`.
    pub max_b: u32,
    /// Tolerance below the float baseline.
    pub tolerance: Tolerance,
    /// Images per forward batch.
    pub batch: usize,
    /// Kernel paths allowed.
    pub policy: PathPolicy,
}

impl Default for OffsetSweepOptions {
    fn default() -> Self {
        Self {
            min_b: 1,
            max_b: 10,
            tolerance: Tolerance::default(),
            batch: crate::eval::DEFAULT_BATCH,
            policy: PathPolicy::Auto,
        }
    }
}

/// Per-layer precisions at `b_min` from integral offsets (every precision must land in 1..=32).
///
/// # Errors
/// Offsets of the wrong length or not integral, or a precision outside 1..=32.
pub fn precisions_at(
    b_min: u32,
    w_offsets: &[f64],
    a_offsets: &[f64],
    layers: usize,
) -> Result<Vec<LayerPrecision>> {
    if w_offsets.len() != layers {
        return Err(InferError::Invalid(format!(
            "{} weight offsets for {layers} conv/linear layers",
            w_offsets.len()
        )));
    }
    Ok(nn_cost::costs::precisions_from_offsets(
        b_min, w_offsets, a_offsets,
    )?)
}

/// Average bits per weight parameter, `Σ_l n_l B_W,l / Σ_l n_l` over the weights of the
/// conv/linear layers (biases stay in float and are not counted): the storage axis on which
/// uniform and per-layer precisions compare.
pub fn mean_weight_bits(model: &Model, precisions: &[LayerPrecision]) -> f64 {
    let counts: Vec<f64> = model
        .weight_layers()
        .iter()
        .map(|w| w.weight().len() as f64)
        .collect();
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .zip(precisions)
        .map(|(n, p)| n * f64::from(p.b_w))
        .sum::<f64>()
        / total
}

/// Accuracy of the float network and at every `B_min` of the options' range with the given
/// offsets; the minimum `B_min` is the smallest whose accuracy is ≥ baseline − tolerance.
/// Reports to `progress` one phase per evaluation.
///
/// # Errors
/// An empty range, bad offsets, or an evaluation error.
pub fn offsets_sweep(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    w_offsets: &[f64],
    a_offsets: &[f64],
    opt: &OffsetSweepOptions,
    progress: &dyn Progress,
) -> Result<SweepResult> {
    check_inputs(opt, w_offsets, a_offsets, model.num_weight_layers())?;
    progress.begin("float baseline", data.len() as u64);
    let base = evaluate(model, &FloatKernel, data, opt.batch, progress)?;
    progress.end();
    offsets_sweep_against(
        model, data, ranges, w_offsets, a_offsets, opt, base, progress,
    )
}

/// Refuses an empty B_min range, and offsets that give a precision outside 1..=32 anywhere in
/// it (precisions grow with B_min, so both ends decide): before any evaluation.
fn check_inputs(
    opt: &OffsetSweepOptions,
    w_offsets: &[f64],
    a_offsets: &[f64],
    layers: usize,
) -> Result<()> {
    opt.tolerance.check()?;
    if opt.min_b < 1 || opt.min_b > opt.max_b {
        return Err(InferError::Invalid(format!(
            "B_min range {}..={} is empty",
            opt.min_b, opt.max_b
        )));
    }
    for b in [opt.min_b, opt.max_b] {
        precisions_at(b, w_offsets, a_offsets, layers)?;
    }
    Ok(())
}

/// [`offsets_sweep`] against a float baseline `base` already evaluated on the same `data` (e.g.
/// [`SweepResult::baseline_eval`] of another sweep), which saves one float pass.
///
/// # Errors
/// As [`offsets_sweep`]; also when `base` is not of `data`'s size.
// The sweep's inputs (network, images, ranges, two offset lists, options, baseline, progress)
// are independent values; bundling them in a struct would only move the list.
#[allow(clippy::too_many_arguments)]
pub fn offsets_sweep_against(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    w_offsets: &[f64],
    a_offsets: &[f64],
    opt: &OffsetSweepOptions,
    base: EvalResult,
    progress: &dyn Progress,
) -> Result<SweepResult> {
    check_inputs(opt, w_offsets, a_offsets, model.num_weight_layers())?;
    if base.n != data.len() || base.predictions.len() != data.len() {
        return Err(InferError::Invalid(format!(
            "float baseline of {} images for {} test images",
            base.n,
            data.len()
        )));
    }
    let layers = model.num_weight_layers();
    let engine = Engine {
        model,
        data,
        ranges,
        bits: (opt.min_b, opt.max_b),
        tolerance: opt.tolerance,
        mode: SweepMode::Full,
        batch: opt.batch,
        policy: opt.policy,
        label: "B_min",
    };
    engine.run(
        base,
        &|b| precisions_at(b, w_offsets, a_offsets, layers),
        progress,
    )
}
