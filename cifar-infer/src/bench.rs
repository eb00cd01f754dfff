//! Throughput measurement: images per second of the float and quantized evaluations.
//!
//! Documented command (release build, both cores; add `--json` for machine-readable output):
//! ```text
//! cargo run --release -p cifar-infer -- bench --images 2000 --bits 4,6,8,12
//! ```
//! Each configuration gets one warm-up batch, then a timed evaluation of the images; weight
//! quantization (once per precision) is timed separately (`prepare_s`). The machine is shared,
//! so compare configurations of one run rather than runs.
use crate::data::CifarSet;
use crate::error::Result;
use crate::eval::evaluate;
use crate::int8::{simd_level, SimdLevel};
use crate::model::{FloatKernel, Model};
use crate::profile::{noise_gains, Estimator, Gains};
use crate::quantized::{KernelPath, PathPolicy, QuantizedModel, Ranges};
use fxp_core::LayerPrecision;
use serde::Serialize;
use std::time::Instant;

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// `float` or `B=…`.
    pub config: String,
    /// Uniform precision (None for float).
    pub bits: Option<u32>,
    /// Kernel path of each layer (empty for float).
    pub paths: Vec<KernelPath>,
    /// Images evaluated.
    pub images: usize,
    /// Seconds spent quantizing the weights (once per precision).
    pub prepare_s: f64,
    /// Seconds of the evaluation.
    pub seconds: f64,
    /// Images per second.
    pub images_per_s: f64,
    /// Accuracy (percent), as a sanity check.
    pub accuracy: f64,
}

/// Result of [`run`].
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Worker threads used.
    pub threads: usize,
    /// Integer kernel available on this CPU.
    pub simd: SimdLevel,
    /// Images per batch.
    pub batch: usize,
    /// One row per configuration.
    pub rows: Vec<BenchRow>,
}

/// Times the float evaluation and uniform quantized evaluations at each of `bits` on `data`
/// (after one warm-up batch per configuration).
pub fn run(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    bits: &[u32],
    batch: usize,
    policy: PathPolicy,
) -> Result<BenchReport> {
    run_with_progress(
        model,
        data,
        ranges,
        bits,
        batch,
        policy,
        &fxp_core::progress::Silent,
    )
}

/// [`run`] that reports to `progress`: one phase per configuration (named after it), a pass
/// over the images.
// Allowed: independent inputs of one measurement, each chosen by the caller (network, data,
// ranges, precisions, batch, path policy, progress); a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn run_with_progress(
    model: &Model,
    data: &CifarSet,
    ranges: &Ranges,
    bits: &[u32],
    batch: usize,
    policy: PathPolicy,
    progress: &dyn fxp_core::progress::Progress,
) -> Result<BenchReport> {
    let silent = &fxp_core::progress::Silent;
    let start = |msg: String| progress.begin(&msg, data.len() as u64);
    let warm = data.take(batch.min(data.len()));
    let mut rows = Vec::new();
    evaluate(model, &FloatKernel, &warm, batch, silent)?;
    start("float".into());
    let t = Instant::now();
    let r = evaluate(model, &FloatKernel, data, batch, progress)?;
    let s = t.elapsed().as_secs_f64();
    progress.end();
    rows.push(BenchRow {
        config: "float".into(),
        bits: None,
        paths: vec![],
        images: data.len(),
        prepare_s: 0.0,
        seconds: s,
        images_per_s: data.len() as f64 / s,
        accuracy: r.accuracy,
    });
    for &b in bits {
        let t = Instant::now();
        let p = vec![LayerPrecision { b_w: b, b_a: b }; model.num_weight_layers()];
        let q = QuantizedModel::new(model, ranges, &p, policy)?;
        let prepare_s = t.elapsed().as_secs_f64();
        evaluate(model, &q, &warm, batch, silent)?;
        start(format!("B = {b}"));
        let t = Instant::now();
        let r = evaluate(model, &q, data, batch, progress)?;
        let s = t.elapsed().as_secs_f64();
        progress.end();
        rows.push(BenchRow {
            config: format!("B={b}"),
            bits: Some(b),
            paths: q.paths(),
            images: data.len(),
            prepare_s,
            seconds: s,
            images_per_s: data.len() as f64 / s,
            accuracy: r.accuracy,
        });
    }
    Ok(BenchReport {
        threads: rayon::current_num_threads(),
        simd: simd_level(),
        batch,
        rows,
    })
}

/// One timed noise-gain computation.
#[derive(Debug, Clone, Serialize)]
pub struct GainTiming {
    /// The estimator.
    pub estimator: Estimator,
    /// Calibration images.
    pub images: usize,
    /// Seconds of [`noise_gains`].
    pub seconds: f64,
    /// The gains.
    pub gains: Gains,
}

/// Times the noise gains of `estimator` on the first `images` images of `calibration`.
pub fn time_gains(
    model: &Model,
    calibration: &CifarSet,
    images: usize,
    estimator: Estimator,
) -> Result<GainTiming> {
    let n = images.min(calibration.len());
    let x = model.input_of(calibration.slice(0, n))?;
    let x = x
        .as_slice()
        .expect("input_of builds a standard-layout batch");
    let t = Instant::now();
    let gains = noise_gains(model, x, estimator, &fxp_core::progress::Silent)?;
    Ok(GainTiming {
        estimator,
        images: n,
        seconds: t.elapsed().as_secs_f64(),
        gains,
    })
}

/// Whether the integer kernel has a SIMD implementation on this CPU.
pub fn has_simd() -> bool {
    simd_level() != SimdLevel::Portable
}
