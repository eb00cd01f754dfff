//! Range calibration methods: the power-of-two range r_l of each layer's weights and inputs.
//!
//! * [`RangeMethod::Max`] — the course's method, 2^⌈log2 max|x|⌉ over the weights and over the
//!   layer inputs of the calibration images ([`Ranges::compute`]); the default.
//! * [`RangeMethod::Percentile`] — 2^⌈log2 Q_P(|x|)⌉, Q_P the P-th percentile of |x|: values
//!   beyond it are clipped.
//! * [`RangeMethod::Mse`] — per layer and per precision, the power-of-two range r ≤ r_max that
//!   minimises E[(q(x) − x)²] (granular plus clipping noise: Problem 1's trade-off between the
//!   peak-to-σ ratio and clipping), over all weights and over a sample of the layer's inputs.
//!
//! Every range stays a power of two, so the exact integer path is unchanged. The calibration
//! sample ([`CalibrationSample`]) holds every weight and, per layer, every k-th input value of
//! the calibration images (a deterministic stride, no random draw).
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::model::Model;
use crate::quantized::Ranges;
use fxp_core::{LayerPrecision, Quantizer};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest number of input values kept per layer in a calibration sample.
pub const DEFAULT_SAMPLE: usize = 1 << 17;

/// How far below the max range the MSE search looks (factors of two).
const MSE_OCTAVES: i32 = 24;

/// How the range of each layer is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeMethod {
    /// 2^⌈log2 max|x|⌉ (the course).
    Max,
    /// 2^⌈log2 of the P-th percentile of |x|⌉, 0 < P ≤ 100.
    Percentile(f64),
    /// The power-of-two range minimising the mean squared quantization error.
    Mse,
}

impl fmt::Display for RangeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Max => write!(f, "max"),
            Self::Percentile(p) => write!(f, "percentile:{p}"),
            Self::Mse => write!(f, "mse"),
        }
    }
}

impl FromStr for RangeMethod {
    type Err = InferError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            InferError::Invalid(format!(
                "range method {s:?}: use max, mse or percentile:P with 0 < P ≤ 100 \
                 (e.g. percentile:99.99)"
            ))
        };
        match s {
            "max" | "computed" => Ok(Self::Max),
            "mse" => Ok(Self::Mse),
            _ => {
                let p: f64 = s
                    .strip_prefix("percentile:")
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                if p > 0.0 && p <= 100.0 {
                    Ok(Self::Percentile(p))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl Serialize for RangeMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RangeMethod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Mean squared quantization error split into its two parts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NoiseSplit {
    /// From values beyond the largest level (clipped): mean of (q(x) − x)² over all samples.
    pub clipping: f64,
    /// From rounding inside the range: mean of (q(x) − x)² over all samples.
    pub granular: f64,
}

impl NoiseSplit {
    /// Total mean squared error.
    pub fn total(&self) -> f64 {
        self.clipping + self.granular
    }

    /// The split of `q` on `xs`.
    pub fn of(q: &Quantizer, xs: &[f32]) -> Self {
        let (lo, hi) = (
            q.min_level() as f64 * q.step(),
            q.max_level() as f64 * q.step(),
        );
        let (mut clip, mut gran) = (0f64, 0f64);
        for &x in xs {
            let x = x as f64;
            let e = q.quantize(x) - x;
            if x > hi + q.step() / 2.0 || x < lo - q.step() / 2.0 {
                clip += e * e;
            } else {
                gran += e * e;
            }
        }
        let n = xs.len().max(1) as f64;
        Self {
            clipping: clip / n,
            granular: gran / n,
        }
    }
}

/// The chosen ranges of one layer with their noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRange {
    /// Layer name.
    pub name: String,
    /// Chosen weight range r_W.
    pub weight_range: f64,
    /// Chosen input range r_A.
    pub activation_range: f64,
    /// The course's (max) weight range, for comparison.
    pub max_weight_range: f64,
    /// The course's (max) input range.
    pub max_activation_range: f64,
    /// Weight noise (mean squared error per weight) at the chosen range.
    pub weight_noise: NoiseSplit,
    /// Input noise (mean squared error per sampled input value) at the chosen range.
    pub activation_noise: NoiseSplit,
}

/// Ranges chosen by one method at one precision assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeReport {
    /// The method.
    pub method: RangeMethod,
    /// One entry per conv/linear layer.
    pub layers: Vec<LayerRange>,
}

impl RangeReport {
    /// The ranges to quantize with.
    pub fn ranges(&self) -> Ranges {
        Ranges {
            weight: self.layers.iter().map(|l| l.weight_range).collect(),
            activation: self.layers.iter().map(|l| l.activation_range).collect(),
        }
    }
}

/// Everything the range methods look at: all weights, a strided sample of every layer's inputs
/// over the calibration images, and the course's max ranges over all of them.
#[derive(Debug, Clone)]
pub struct CalibrationSample {
    /// Layer names.
    pub names: Vec<String>,
    /// All weights of each conv/linear layer.
    pub weights: Vec<Vec<f32>>,
    /// A sample of each layer's inputs (every k-th value, at most the sample size).
    pub inputs: Vec<Vec<f32>>,
    /// Whether each layer's input is quantized unsigned (it follows a ReLU).
    pub unsigned_inputs: Vec<bool>,
    /// The course's ranges over all calibration images.
    pub max: Ranges,
    /// Calibration images seen.
    pub images: usize,
}

impl CalibrationSample {
    /// Runs the float network over `calibration` (batches of `batch`) and keeps at most
    /// `per_layer` input values of each layer.
    pub fn collect(
        model: &Model,
        calibration: &CifarSet,
        per_layer: usize,
        batch: usize,
    ) -> Result<Self> {
        let max = Ranges::compute(model, calibration, batch)?;
        let weights: Vec<Vec<f32>> = model
            .weight_layers()
            .into_iter()
            .map(|layer| layer.weight().to_vec())
            .collect();
        let batch = batch.max(1);
        let n = calibration.len();
        // Input elements per image of each layer, from one traced image.
        let first = model.forward_traced(model.input_of(calibration.slice(0, 1))?.view());
        let per_image: Vec<usize> = first.layer_inputs.iter().map(Vec::len).collect();
        let stride: Vec<usize> = per_image
            .iter()
            .map(|&len| (len * n).div_ceil(per_layer.max(1)).max(1))
            .collect();
        let starts: Vec<usize> = (0..n).step_by(batch).collect();
        let parts: Vec<Vec<Vec<f32>>> = starts
            .par_iter()
            .map(|&start| -> Result<Vec<Vec<f32>>> {
                let end = (start + batch).min(n);
                let trace =
                    model.forward_traced(model.input_of(calibration.slice(start, end))?.view());
                Ok(trace
                    .layer_inputs
                    .iter()
                    .enumerate()
                    .map(|(l, a)| {
                        let base = start * per_image[l];
                        let s = stride[l];
                        let skip = (s - base % s) % s;
                        a.iter().skip(skip).step_by(s).copied().collect()
                    })
                    .collect())
            })
            .collect::<Result<_>>()?;
        let mut inputs = vec![Vec::new(); per_image.len()];
        for part in parts {
            for (dst, src) in inputs.iter_mut().zip(part) {
                dst.extend(src);
            }
        }
        Ok(Self {
            names: model.weight_layer_names(),
            weights,
            inputs,
            unsigned_inputs: model.nonnegative_inputs(),
            max,
            images: n,
        })
    }

    /// Ranges of `method` at `precisions` (one per layer), with their noise.
    pub fn ranges(
        &self,
        method: RangeMethod,
        precisions: &[LayerPrecision],
    ) -> Result<RangeReport> {
        if precisions.len() != self.weights.len() {
            return Err(InferError::Invalid(format!(
                "{} precisions for {} conv/linear layers",
                precisions.len(),
                self.weights.len()
            )));
        }
        let layers = (0..self.weights.len())
            .into_par_iter()
            .map(|l| self.layer(l, method, precisions[l]))
            .collect::<Result<Vec<_>>>()?;
        Ok(RangeReport { method, layers })
    }

    fn layer(&self, l: usize, method: RangeMethod, p: LayerPrecision) -> Result<LayerRange> {
        let weight_q = |r: f64| Quantizer::signed(r, p.b_w);
        let act_q = |r: f64| {
            if self.unsigned_inputs[l] {
                Quantizer::unsigned(r, p.b_a)
            } else {
                Quantizer::signed(r, p.b_a)
            }
        };
        let (rw_max, ra_max) = (self.max.weight[l], self.max.activation[l]);
        let choose = |xs: &[f32], r_max: f64, q: &dyn Fn(f64) -> fxp_core::Result<Quantizer>| {
            choose_range(xs, r_max, method, q)
        };
        let rw = choose(&self.weights[l], rw_max, &weight_q)?;
        let ra = choose(&self.inputs[l], ra_max, &act_q)?;
        Ok(LayerRange {
            name: self.names[l].clone(),
            weight_range: rw,
            activation_range: ra,
            max_weight_range: rw_max,
            max_activation_range: ra_max,
            weight_noise: NoiseSplit::of(&weight_q(rw)?, &self.weights[l]),
            activation_noise: NoiseSplit::of(&act_q(ra)?, &self.inputs[l]),
        })
    }
}

/// The range `method` picks for the values `xs` whose max range is `r_max`, quantized by
/// `quantizer(r)`.
fn choose_range(
    xs: &[f32],
    r_max: f64,
    method: RangeMethod,
    quantizer: &dyn Fn(f64) -> fxp_core::Result<Quantizer>,
) -> Result<f64> {
    match method {
        RangeMethod::Max => Ok(r_max),
        RangeMethod::Percentile(p) => {
            let mut a: Vec<f32> = xs.iter().map(|v| v.abs()).collect();
            if a.is_empty() {
                return Ok(r_max);
            }
            let k = (((p / 100.0) * a.len() as f64).ceil() as usize).clamp(1, a.len()) - 1;
            let (_, v, _) = a.select_nth_unstable_by(k, f32::total_cmp);
            if *v <= 0.0 {
                return Ok(r_max);
            }
            Ok(fxp_core::stats::pow2_ceil(*v as f64)
                .map_err(|e| InferError::Invalid(e.to_string()))?
                .min(r_max))
        }
        RangeMethod::Mse => {
            let mut best = (f64::INFINITY, r_max);
            for k in 0..=MSE_OCTAVES {
                let r = r_max * 0.5f64.powi(k);
                let q = quantizer(r).map_err(|e| InferError::Invalid(e.to_string()))?;
                let mse = NoiseSplit::of(&q, xs).total();
                // Strictly better only: ties keep the larger range (less clipping).
                if mse < best.0 {
                    best = (mse, r);
                }
            }
            Ok(best.1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_methods() {
        assert_eq!("max".parse::<RangeMethod>().unwrap(), RangeMethod::Max);
        assert_eq!("mse".parse::<RangeMethod>().unwrap(), RangeMethod::Mse);
        assert_eq!(
            "percentile:99.9".parse::<RangeMethod>().unwrap(),
            RangeMethod::Percentile(99.9)
        );
        for bad in ["percentile:0", "percentile:101", "percentile:x", "min", ""] {
            assert!(bad.parse::<RangeMethod>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mse_clips_a_lone_outlier() {
        // 100,000 values spread over ±1 and one at 10: max's range 16 has a step of 1/8 at
        // 8 bits (granular MSE 1.3e-3); clipping the outlier at 1 costs 81/1e5 = 8.1e-4 and
        // leaves a step of 1/128.
        let mut xs: Vec<f32> = (0..100_000).map(|i| (i as f32 / 50_000.0) - 1.0).collect();
        xs.push(10.0);
        let q = |r: f64| Quantizer::signed(r, 8);
        let r = choose_range(&xs, 16.0, RangeMethod::Mse, &q).unwrap();
        assert!(r < 16.0, "{r}");
        let (max, mse) = (
            NoiseSplit::of(&q(16.0).unwrap(), &xs),
            NoiseSplit::of(&q(r).unwrap(), &xs),
        );
        assert!(mse.total() < max.total());
        assert!(mse.clipping > 0.0 && max.clipping == 0.0);
        let p = choose_range(&xs, 16.0, RangeMethod::Percentile(99.0), &q).unwrap();
        assert_eq!(p, 1.0);
    }
}
