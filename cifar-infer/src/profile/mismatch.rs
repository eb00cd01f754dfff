//! Beyond the homework: the analysis of Sakr et al. bounds the probability that the fixed-point
//! network's decision differs from the float network's,
//! `p_m ≤ Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l)`, with `Δ` the quantization steps of the course
//! conventions (signed `Δ = 2^(1−B) r`, unsigned `Δ = 2^(−B) r`) and `E` the noise gains of
//! [`crate::profile`]. This module evaluates the bound and measures the actual disagreement rate.
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::eval::evaluate;
use crate::model::{FloatKernel, Model};
use crate::profile::Gains;
use crate::quantized::{PathPolicy, QuantizedModel, Ranges};
use crate::sweep::SweepResult;
use fxp_core::progress::Progress;
use fxp_core::{LayerPrecision, Quantizer};
use serde::{Deserialize, Serialize};

/// The bound `Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l)` at per-layer precisions (inputs that can be
/// negative — the image — signed, the others unsigned, as the fixed-point network quantizes them).
///
/// # Errors
/// Lists of different lengths or bad quantizer parameters.
pub fn mismatch_bound(
    model: &Model,
    ranges: &Ranges,
    gains: &Gains,
    precisions: &[LayerPrecision],
) -> Result<f64> {
    let layers = model.num_weight_layers();
    if [
        precisions.len(),
        gains.e_w.len(),
        gains.e_a.len(),
        ranges.weight.len(),
        ranges.activation.len(),
    ]
    .iter()
    .any(|&l| l != layers)
    {
        return Err(InferError::Invalid(format!(
            "mismatch bound: precisions, gains and ranges must have one value per layer ({layers})"
        )));
    }
    let unsigned = model.nonnegative_inputs();
    let mut sum = 0.0;
    for l in 0..layers {
        let p = precisions[l];
        let dw = Quantizer::signed(ranges.weight[l], p.b_w)?.step();
        let qa = if unsigned[l] {
            Quantizer::unsigned(ranges.activation[l], p.b_a)?
        } else {
            Quantizer::signed(ranges.activation[l], p.b_a)?
        };
        let da = qa.step();
        sum += da * da * gains.e_a[l] + dw * dw * gains.e_w[l];
    }
    Ok(sum)
}

/// Measured and predicted disagreement at one precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MismatchPoint {
    /// Uniform precision B.
    pub bits: u32,
    /// Fraction of images whose fixed-point decision differs from the float decision.
    pub measured: f64,
    /// Number of such images.
    pub disagreements: usize,
    /// The bound `Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l)` (may exceed 1: then it says nothing).
    pub bound: f64,
    /// Fixed-point accuracy in percent.
    pub accuracy: f64,
}

/// For every uniform precision in `bits`: the disagreement rate between the fixed-point and the
/// float predictions on `data`, and the bound from `gains`. Reports to `progress` one phase
/// per evaluation.
///
/// # Errors
/// Evaluation errors or bad precisions.
// Allowed: independent inputs of one sweep, each chosen by the caller (network, data, ranges,
// gains, precisions, batch, path policy, progress); a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn mismatch_sweep(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    gains: &Gains,
    bits: &[u32],
    batch: usize,
    policy: PathPolicy,
    progress: &dyn Progress,
) -> Result<Vec<MismatchPoint>> {
    let n = data.len() as u64;
    progress.begin("float predictions", n);
    let float = evaluate(model, &FloatKernel, data, batch, progress)?;
    progress.end();
    let layers = model.num_weight_layers();
    bits.iter()
        .map(|&b| {
            let p = vec![LayerPrecision { b_w: b, b_a: b }; layers];
            let q = QuantizedModel::new(model, ranges, &p, policy)?;
            progress.begin(&format!("mismatch B = {b}"), n);
            let r = evaluate(model, &q, data, batch, progress)?;
            progress.end();
            point(
                model,
                ranges,
                gains,
                b,
                &r.predictions,
                &float.predictions,
                r.accuracy,
            )
        })
        .collect()
}

/// One point: the disagreement between `fixed` and `float` predictions, and the bound.
fn point(
    model: &Model,
    ranges: &Ranges,
    gains: &Gains,
    bits: u32,
    fixed: &[u8],
    float: &[u8],
    accuracy: f64,
) -> Result<MismatchPoint> {
    let p = vec![
        LayerPrecision {
            b_w: bits,
            b_a: bits
        };
        model.num_weight_layers()
    ];
    let disagreements = fixed.iter().zip(float).filter(|(a, b)| a != b).count();
    Ok(MismatchPoint {
        bits,
        measured: disagreements as f64 / float.len() as f64,
        disagreements,
        bound: mismatch_bound(model, ranges, gains, &p)?,
        accuracy,
    })
}

/// [`mismatch_sweep`] from a uniform sweep already run with the same `ranges`: its kept
/// predictions give the measured rates, so no evaluation is repeated. Errors when a precision
/// of `bits` was not evaluated by the sweep.
pub fn mismatch_from_sweep(
    model: &Model,
    ranges: &Ranges,
    gains: &Gains,
    sweep: &SweepResult,
    bits: &[u32],
) -> Result<Vec<MismatchPoint>> {
    bits.iter()
        .map(|&b| {
            let p = sweep
                .points
                .iter()
                .find(|p| p.bits == b && p.predictions.len() == sweep.baseline_predictions.len())
                .filter(|_| !sweep.baseline_predictions.is_empty())
                .ok_or_else(|| {
                    InferError::Invalid(format!(
                        "the uniform sweep has no predictions at B = {b}: sweep B = {b} first"
                    ))
                })?;
            point(
                model,
                ranges,
                gains,
                b,
                &p.predictions,
                &sweep.baseline_predictions,
                p.accuracy,
            )
        })
        .collect()
}
