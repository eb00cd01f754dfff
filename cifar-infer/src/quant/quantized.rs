//! Exact fixed-point inference.
//!
//! Layer l (a conv or linear layer) has its weights quantized signed with B_W,l bits over
//! r_W,l and its input activation quantized with B_A,l bits over r_A,l — signed for an input
//! that can be negative (the image), unsigned for one that follows a ReLU — with the course
//! conventions of [`fxp_core::Quantizer`]; biases stay in float. Everything between the weight
//! layers (ReLU, pooling, batch norm) is the float network's.
//!
//! # Numeric guarantee
//! Quantized values are integer codes times a step, q(a) = k_a·Δ_A and q(w) = k_w·Δ_W, so each
//! dot product is Σ q(a)·q(w) = Δ_A·Δ_W·Σ k_a·k_w where S = Σ k_a·k_w is an **integer**. Every
//! kernel computes S exactly:
//! * [`KernelPath::F32`]: codes as f32 in an f32 GEMM. Integers are exact in f32 up to 2^24;
//!   the path is chosen only when max|k_a| · max_row Σ_j |k_w,j| ≤ 2^24, which bounds every
//!   product and every partial sum in any summation order (with or without FMA), so S is exact.
//! * [`KernelPath::F64`]: the same with f64 codes, exact under the bound 2^53 (always met for
//!   B ≤ 16 and the course network).
//! * [`KernelPath::Int8`]: base-256 digits of the codes, u8×i8 products accumulated in i32 and
//!   combined in i64 (see [`crate::int8`]): exact integer arithmetic (B_A, B_W ≤ 16).
//!
//! The path is picked per layer automatically, from the actual weight codes. The output is then
//! formed once, in f64, as y = S·(Δ_A·Δ_W) + b and rounded to f32; this last step is the same
//! for every path, so all paths give bit-identical logits.
use crate::data::{CifarSet, DataPaths};
use crate::error::{InferError, Result};
use crate::gemm::GemmScalar;
use crate::int8;
use crate::model::{
    ActCodes, Activation, ConvLayer, LayerKernel, LinearLayer, Model, Output, WeightLayer,
};
use crate::ops::{conv2d_nobias, linear_nobias};
use fxp_core::{LayerPrecision, Quantizer};
use ndarray::ArrayView4;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Largest integer below which every f32 integer is exact.
pub const F32_EXACT: f64 = 16_777_216.0; // 2^24
/// Largest integer below which every f64 integer is exact.
pub const F64_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

/// Dynamic ranges r_W,l and r_A,l of the weight layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranges {
    /// Weight range of each layer.
    pub weight: Vec<f64>,
    /// Input-activation range of each layer.
    pub activation: Vec<f64>,
}

impl Ranges {
    /// Ranges from the course npy files of a data folder (`weight_dynamic_range.npy`,
    /// `activation_dynamic_range.npy`), `layers` values each.
    pub fn from_npy(paths: &DataPaths, layers: usize) -> Result<Self> {
        let weight = nn_cost::npy::read_f64_vec(&paths.weight_ranges(), None)?;
        let activation = nn_cost::npy::read_f64_vec(&paths.activation_ranges(), None)?;
        for (path, v) in [
            (paths.weight_ranges(), &weight),
            (paths.activation_ranges(), &activation),
        ] {
            if v.len() == layers {
                continue;
            }
            return Err(InferError::Invalid(format!(
                "{}: expected {layers} values (one per conv/linear layer of the network), \
                 found {}: the npy ranges of the data folder are for the course network; for \
                 another network use --ranges computed (from the calibration images)",
                path.display(),
                v.len()
            )));
        }
        let r = Self { weight, activation };
        r.check(layers).map_err(|e| {
            InferError::Invalid(format!(
                "{e} (in {} / {})",
                paths.weight_ranges().display(),
                paths.activation_ranges().display()
            ))
        })?;
        Ok(r)
    }

    /// Ranges computed the course's way: 2^⌈log2 max|·|⌉ of each layer's weights, and of each
    /// layer's input over the float forward pass of the calibration images.
    pub fn compute(model: &Model, calibration: &CifarSet, batch: usize) -> Result<Self> {
        Self::compute_with_progress(model, calibration, batch, &fxp_core::progress::Silent)
    }

    /// [`Ranges::compute`] that advances `progress` by the calibration images done (the caller
    /// begins and ends the phase).
    pub fn compute_with_progress(
        model: &Model,
        calibration: &CifarSet,
        batch: usize,
        progress: &dyn fxp_core::progress::Progress,
    ) -> Result<Self> {
        if calibration.is_empty() {
            return Err(InferError::Invalid("the calibration set is empty".into()));
        }
        let weight = weight_ranges(model)?;
        let layers = weight.len();
        let batch = batch.max(1);
        let starts: Vec<usize> = (0..calibration.len()).step_by(batch).collect();
        // Batches run concurrently; the maximum is exact in any order.
        let max = starts
            .par_iter()
            .map(|&start| {
                let end = (start + batch).min(calibration.len());
                let x = model.input_of(calibration.slice(start, end))?;
                let m = input_maxima(model, x.view());
                progress.advance((end - start) as u64);
                Ok::<_, InferError>(m)
            })
            .try_reduce(
                || vec![0f32; layers],
                |a, b| Ok(a.iter().zip(&b).map(|(x, y)| x.max(*y)).collect()),
            )?;
        Ok(Self {
            weight,
            activation: activation_ranges(model, &max)?,
        })
    }

    /// Ranges computed the course's way from an (N, C, H, W) batch of preprocessed inputs.
    pub fn compute_from_inputs(model: &Model, x: ArrayView4<'_, f32>) -> Result<Self> {
        if x.is_empty() {
            return Err(InferError::Invalid("no calibration inputs".into()));
        }
        Ok(Self {
            weight: weight_ranges(model)?,
            activation: activation_ranges(model, &input_maxima(model, x))?,
        })
    }

    fn check(&self, layers: usize) -> Result<()> {
        for (what, v) in [("weight", &self.weight), ("activation", &self.activation)] {
            if v.len() != layers {
                return Err(InferError::Invalid(format!(
                    "{what} ranges: {} values for {layers} conv/linear layers",
                    v.len()
                )));
            }
            if let Some((l, r)) = v
                .iter()
                .enumerate()
                .find(|(_, r)| !(r.is_finite() && **r > 0.0))
            {
                return Err(InferError::Invalid(format!(
                    "{what} range of layer {} is {r}: it must be finite and > 0",
                    l + 1
                )));
            }
        }
        Ok(())
    }
}

/// r_W,l = 2^⌈log2 max|w|⌉ of every weight layer.
fn weight_ranges(model: &Model) -> Result<Vec<f64>> {
    model
        .weight_layers()
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            fxp_core::stats::dynamic_range_pow2(layer.weight().iter().map(|&v| v as f64)).map_err(
                |e| {
                    InferError::Invalid(format!(
                        "{}: cannot compute the weight range: {e} (are all its weights zero?)",
                        fxp_core::text::layer(l, layer.name())
                    ))
                },
            )
        })
        .collect()
}

/// max |a| of the input of every weight layer over an (N, C, H, W) batch of preprocessed
/// inputs.
fn input_maxima(model: &Model, x: ArrayView4<'_, f32>) -> Vec<f32> {
    model
        .forward_traced(x)
        .layer_inputs
        .iter()
        .map(|a| a.iter().fold(0f32, |acc, v| acc.max(v.abs())))
        .collect()
}

/// r_A,l = 2^⌈log2 max|a|⌉ from the maxima of the layer inputs.
fn activation_ranges(model: &Model, max: &[f32]) -> Result<Vec<f64>> {
    let names = model.weight_layer_names();
    max.iter()
        .enumerate()
        .map(|(l, &m)| {
            fxp_core::stats::pow2_ceil(m as f64).map_err(|e| {
                InferError::Invalid(format!(
                    "{}: cannot compute the input range over the calibration images: {e} \
                     (is its input zero on every image?)",
                    fxp_core::text::layer(l, names.get(l).map_or("", |n| n.as_str()))
                ))
            })
        })
        .collect()
}

/// How a layer's integer dot products are computed (all exact; see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelPath {
    /// Integer codes in an f32 GEMM (bound ≤ 2^24).
    F32,
    /// Integer codes in an f64 GEMM (bound ≤ 2^53).
    F64,
    /// Integer kernel: u8 × i8 → i32 digit products (B_A, B_W ≤ 16; see [`crate::int8`]).
    Int8,
}

/// Which kernel paths [`QuantizedModel::new`] may choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathPolicy {
    /// The fastest exact path of each layer: Int8 where it applies, else F32 where exact, else F64.
    #[default]
    Auto,
    /// Float-code GEMMs only (F32 where exact, else F64).
    FloatCodes,
    /// F64 everywhere (the slow reference).
    F64Only,
}

#[derive(Debug, Clone)]
enum Codes {
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// One packed matrix per group (one for a dense layer).
    Int8(Vec<int8::PackedWeights>),
}

/// One quantized weight layer.
#[derive(Debug, Clone)]
pub struct QuantizedLayer {
    /// Layer name.
    pub name: String,
    /// Quantizer of the layer's input.
    pub act: Quantizer,
    /// Quantizer of the layer's weights.
    pub weight: Quantizer,
    /// The kernel path used.
    pub path: KernelPath,
    /// max|k_a| · max_row Σ|k_w|: a bound on every partial integer sum.
    pub sum_bound: f64,
    codes: Codes,
}

/// A network whose conv/linear layers compute exact fixed-point dot products. Built once per
/// precision assignment (weights quantized once, reused for every image); run it with
/// [`Model::forward_with`].
#[derive(Debug, Clone)]
pub struct QuantizedModel {
    /// Per-layer quantization and kernel choice.
    pub layers: Vec<QuantizedLayer>,
    /// Whether each layer may hand the next its input codes ([`LayerKernel::emits_codes`]).
    codes_out: Vec<bool>,
    /// The paths it could choose from.
    policy: PathPolicy,
}

impl QuantizedModel {
    /// Quantizes the weights of `model` with the given ranges and per-layer precisions.
    pub fn new(
        model: &Model,
        ranges: &Ranges,
        precisions: &[LayerPrecision],
        policy: PathPolicy,
    ) -> Result<Self> {
        Self::reusing(model, ranges, precisions, policy, None)
    }

    /// [`QuantizedModel::new`] that takes from `previous` (built from the same `model`) every
    /// layer whose quantizers are unchanged instead of quantizing and packing its weights
    /// again: a search's candidates differ from each other in one or two layers.
    pub fn reusing(
        model: &Model,
        ranges: &Ranges,
        precisions: &[LayerPrecision],
        policy: PathPolicy,
        previous: Option<&QuantizedModel>,
    ) -> Result<Self> {
        let n = model.num_weight_layers();
        ranges.check(n)?;
        if precisions.len() != n {
            return Err(InferError::Invalid(format!(
                "{} precisions given for {n} conv/linear layers",
                precisions.len()
            )));
        }
        let nonneg = model.nonnegative_inputs();
        let mut layers = Vec::with_capacity(n);
        for (l, layer) in model.weight_layers().into_iter().enumerate() {
            let (name, w, rows) = (layer.name(), layer.weight(), layer.rows());
            // Groups of a grouped convolution: packed separately for the integer kernel.
            let groups = match layer {
                WeightLayer::Conv(c) => c.groups.max(1),
                WeightLayer::Linear(_) => 1,
            };
            let p = precisions[l];
            let act = if nonneg[l] {
                Quantizer::unsigned(ranges.activation[l], p.b_a)?
            } else {
                Quantizer::signed(ranges.activation[l], p.b_a)?
            };
            let weight = Quantizer::signed(ranges.weight[l], p.b_w)?;
            let same = previous
                .filter(|q| q.policy == policy && q.layers.len() == n)
                .map(|q| &q.layers[l])
                .filter(|q| q.act == act && q.weight == weight && q.name == name);
            if let Some(same) = same {
                layers.push(same.clone());
                continue;
            }
            let k: Vec<i64> = w
                .par_iter()
                .with_min_len(8192)
                .map(|&v| weight.level(v as f64))
                .collect();
            // A dilated kernel runs as its span with zero codes between the taps.
            let k = match layer {
                WeightLayer::Conv(c) => c.expand(&k).into_owned(),
                WeightLayer::Linear(_) => k,
            };
            let d = k.len() / rows.max(1);
            let max_row = k
                .chunks(d.max(1))
                .map(|r| r.iter().map(|v| v.unsigned_abs()).sum::<u64>())
                .max()
                .unwrap_or(0);
            let max_a = act
                .min_level()
                .unsigned_abs()
                .max(act.max_level().unsigned_abs());
            let sum_bound = max_a as f64 * max_row as f64;
            let int8_ok = policy == PathPolicy::Auto && int8::applies(&act, &weight, d);
            let path = if int8_ok {
                KernelPath::Int8
            } else if policy != PathPolicy::F64Only && sum_bound <= F32_EXACT {
                KernelPath::F32
            } else if sum_bound <= F64_EXACT {
                KernelPath::F64
            } else {
                return Err(InferError::Invalid(format!(
                    "layer {name}: integer sums up to {sum_bound:e} exceed the exact range of f64"
                )));
            };
            let codes = match path {
                KernelPath::F32 => Codes::F32(k.iter().map(|&v| v as f32).collect()),
                KernelPath::F64 => Codes::F64(k.iter().map(|&v| v as f64).collect()),
                KernelPath::Int8 => {
                    let per = rows / groups;
                    Codes::Int8(
                        k.chunks(per * d)
                            .map(|kj| int8::PackedWeights::new(kj, per, d, &act, &weight))
                            .collect::<Result<_>>()?,
                    )
                }
            };
            layers.push(QuantizedLayer {
                name: name.to_string(),
                act,
                weight,
                path,
                sum_bound,
                codes,
            });
        }
        let codes_out = codes_out_of(model, &layers);
        Ok(Self {
            layers,
            codes_out,
            policy,
        })
    }

    /// Whether the activation that reaches weight layer `layer` in a forward pass (of the same
    /// images, the same model) is the same with `self` as with `other`, so that a pass of
    /// `self` can start there from `other`'s ([`Model::forward_from`]): layers `0..layer`
    /// identical (quantizers, kernel path), and what layer `layer − 1` emits identical —
    /// whether it writes codes ([`LayerKernel::emits_codes`], which depends on layer `layer`'s
    /// path and input precision) and, when it does, the input quantizer of layer `layer` it
    /// requantizes to (which also sets the code width). Layer 0's input is the image's.
    pub fn same_input(&self, other: &QuantizedModel, layer: usize) -> bool {
        let n = self.layers.len();
        if n != other.layers.len() || layer >= n || self.policy != other.policy {
            return false;
        }
        let same = |a: &QuantizedLayer, b: &QuantizedLayer| {
            (&a.name, a.act, a.weight, a.path) == (&b.name, b.act, b.weight, b.path)
        };
        let before = self.layers[..layer]
            .iter()
            .zip(&other.layers[..layer])
            .all(|(a, b)| same(a, b));
        let emission = layer.checked_sub(1).is_none_or(|e| {
            let codes = self.codes_out[e];
            codes == other.codes_out[e]
                && (!codes || self.layers[layer].act == other.layers[layer].act)
        });
        before && emission
    }

    /// The kernel path of each layer.
    pub fn paths(&self) -> Vec<KernelPath> {
        self.layers.iter().map(|l| l.path).collect()
    }

    fn scale(&self, layer: usize) -> f64 {
        self.layers[layer].act.step() * self.layers[layer].weight.step()
    }

    fn dequantize<'a>(&self, layer: usize, bias: Option<&'a [f32]>) -> int8::Dequantize<'a> {
        int8::Dequantize {
            scale: self.scale(layer),
            bias,
        }
    }

    /// The input of integer layer `layer`: its codes, or float values and its quantizer.
    fn int8_input<'a>(&'a self, layer: usize, x: &'a Activation) -> int8::Activations<'a> {
        match x {
            Activation::Float(x) => int8::Activations::Float(x, &self.layers[layer].act),
            Activation::Codes {
                codes: ActCodes::U8(codes),
                channels_last,
            } => int8::Activations::Codes8 {
                codes,
                channels_last: *channels_last,
            },
            Activation::Codes {
                codes: ActCodes::U16(codes),
                channels_last,
            } => int8::Activations::Codes16 {
                codes,
                channels_last: *channels_last,
            },
        }
    }

    /// Whether layer `layer + 1` takes one-byte codes (B_A ≤ 8) rather than two.
    fn next_takes_bytes(&self, layer: usize) -> bool {
        self.layers[layer + 1].act.bits() <= 8
    }

    /// Layer `layer + 1`'s quantizer on `de`'s values (the output as codes).
    fn requantize<'a>(&'a self, layer: usize, de: int8::Dequantize<'a>) -> int8::Requantize<'a> {
        int8::Requantize::new(de, &self.layers[layer + 1].act)
    }
}

/// Whether a layer's input and output are both floats (then it runs as `conv`/`linear` do).
fn takes_floats(x: &Activation, out: Output) -> bool {
    matches!(x, Activation::Float(_)) && out == Output::Float
}

/// Whether each weight layer can write the next one's input codes ([`LayerKernel::emits_codes`]):
/// both on the integer path as dense layers (one group), the next with codes of at most 16
/// bits (one byte each up to 8, two up to 16), a finite scale and finite biases (so every value is finite: a NaN would not
/// quantize monotonically).
fn codes_out_of(model: &Model, layers: &[QuantizedLayer]) -> Vec<bool> {
    let weight_layers = model.weight_layers();
    let dense_int8 = |l: usize| {
        let dense = match weight_layers[l] {
            WeightLayer::Conv(c) => c.groups <= 1,
            WeightLayer::Linear(_) => true,
        };
        dense && layers[l].path == KernelPath::Int8
    };
    let finite = |l: usize| {
        let bias = match weight_layers[l] {
            WeightLayer::Conv(c) => c.biases(),
            WeightLayer::Linear(lin) => lin.biases(),
        };
        let scale = layers[l].act.step() * layers[l].weight.step();
        scale.is_finite() && bias.is_none_or(|b| b.iter().all(|v| v.is_finite()))
    };
    (0..layers.len())
        .map(|l| {
            l + 1 < layers.len()
                && dense_int8(l)
                && dense_int8(l + 1)
                && layers[l + 1].act.bits() <= int8::MAX_BITS
                && finite(l)
        })
        .collect()
}

/// Integer codes k_a of an activation buffer (as a GEMM scalar; exact).
pub fn activation_codes<T: GemmScalar>(q: &Quantizer, x: &[f32]) -> Vec<T> {
    let mut out = vec![T::ZERO; x.len()];
    out.par_chunks_mut(8192)
        .zip(x.par_chunks(8192))
        .for_each(|(o, x)| {
            for (o, &v) in o.iter_mut().zip(x) {
                *o = T::from_i64(q.level(v as f64));
            }
        });
    out
}

/// y = S·scale + bias in f64, rounded to f32; `plane` elements per channel (1 for linear rows).
pub fn epilogue<S: Copy + Send + Sync>(
    sums: &[S],
    to_f64: impl Fn(S) -> f64 + Sync,
    scale: f64,
    bias: Option<&[f32]>,
    channels: usize,
    plane: usize,
) -> Vec<f32> {
    let mut y = vec![0f32; sums.len()];
    let plane = plane.max(1);
    let rows = (16384 / plane).max(1) * plane;
    y.par_chunks_mut(rows)
        .zip(sums.par_chunks(rows))
        .enumerate()
        .for_each(|(ci, (y, s))| {
            let first = ci * rows / plane;
            for (pi, (y, s)) in y.chunks_mut(plane).zip(s.chunks(plane)).enumerate() {
                let b = bias.map_or(0.0, |b| b[(first + pi) % channels] as f64);
                for (y, &s) in y.iter_mut().zip(s) {
                    *y = (to_f64(s) * scale + b) as f32;
                }
            }
        });
    y
}

impl LayerKernel for QuantizedModel {
    fn conv(&self, layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        let q = &self.layers[layer];
        let gg = c.group_geom();
        let (og, dg) = (gg.out_c, gg.out_c * gg.d());
        let plane = gg.out_h() * gg.out_w();
        let scale = self.scale(layer);
        c.per_group(x, n, |j, g, xj| {
            let bias = c.biases().map(|b| &b[j * og..][..og]);
            match &q.codes {
                Codes::F32(w) => {
                    let s = conv2d_nobias(
                        &activation_codes::<f32>(&q.act, xj),
                        n,
                        g,
                        &w[j * dg..][..dg],
                    );
                    epilogue(&s, |v| v as f64, scale, bias, og, plane)
                }
                Codes::F64(w) => {
                    let s = conv2d_nobias(
                        &activation_codes::<f64>(&q.act, xj),
                        n,
                        g,
                        &w[j * dg..][..dg],
                    );
                    epilogue(&s, |v| v, scale, bias, og, plane)
                }
                Codes::Int8(p) => int8::conv2d_dequantized(
                    int8::Activations::Float(xj, &q.act),
                    n,
                    g,
                    &p[j],
                    int8::Dequantize { scale, bias },
                ),
            }
        })
    }

    fn emits_codes(&self, layer: usize) -> bool {
        self.codes_out.get(layer).copied().unwrap_or(false)
    }

    fn conv_act(
        &self,
        layer: usize,
        c: &ConvLayer,
        x: &Activation,
        n: usize,
        out: Output,
    ) -> Activation {
        let (Codes::Int8(p), false) = (&self.layers[layer].codes, takes_floats(x, out)) else {
            return Activation::Float(self.conv(layer, c, x.float(), n));
        };
        let (g, de) = (c.group_geom(), self.dequantize(layer, c.biases()));
        let src = self.int8_input(layer, x);
        match out {
            Output::Codes {
                channels_last,
                pool,
            } => {
                let (rq, pool) = (self.requantize(layer, de), pool.as_ref());
                let (cl, p) = (channels_last, &p[0]);
                let codes = if self.next_takes_bytes(layer) {
                    ActCodes::U8(int8::conv2d_requantized(src, n, &g, p, rq, cl, pool))
                } else {
                    ActCodes::U16(int8::conv2d_requantized(src, n, &g, p, rq, cl, pool))
                };
                Activation::Codes {
                    codes,
                    channels_last,
                }
            }
            Output::Float => Activation::Float(int8::conv2d_dequantized(src, n, &g, &p[0], de)),
        }
    }

    fn linear_act(
        &self,
        layer: usize,
        l: &LinearLayer,
        x: &Activation,
        n: usize,
        out: Output,
    ) -> Activation {
        let (Codes::Int8(p), false) = (&self.layers[layer].codes, takes_floats(x, out)) else {
            return Activation::Float(self.linear(layer, l, x.float(), n));
        };
        let de = self.dequantize(layer, l.biases());
        let src = self.int8_input(layer, x);
        match out {
            Output::Codes { .. } => {
                let rq = self.requantize(layer, de);
                let codes = if self.next_takes_bytes(layer) {
                    ActCodes::U8(int8::linear_requantized(src, n, &p[0], rq))
                } else {
                    ActCodes::U16(int8::linear_requantized(src, n, &p[0], rq))
                };
                Activation::Codes {
                    codes,
                    channels_last: false,
                }
            }
            Output::Float => Activation::Float(int8::linear_dequantized(src, n, &p[0], de)),
        }
    }

    fn linear(&self, layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        let q = &self.layers[layer];
        let bias = l.biases();
        let scale = self.scale(layer);
        let (i, o) = (l.in_features, l.out_features);
        match &q.codes {
            Codes::F32(w) => {
                let s = linear_nobias(&activation_codes::<f32>(&q.act, x), n, i, o, w);
                epilogue(&s, |v| v as f64, scale, bias, o, 1)
            }
            Codes::F64(w) => {
                let s = linear_nobias(&activation_codes::<f64>(&q.act, x), n, i, o, w);
                epilogue(&s, |v| v, scale, bias, o, 1)
            }
            Codes::Int8(p) => int8::linear_dequantized(
                int8::Activations::Float(x, &q.act),
                n,
                &p[0],
                int8::Dequantize { scale, bias },
            ),
        }
    }
}

/// Slow reference of one quantized layer for tests: Σ q(a)·q(w) in f64 from the quantized
/// values themselves (not codes), plus bias, for a linear layer.
pub fn reference_linear(
    x: &[f32],
    n: usize,
    l: &LinearLayer,
    act: &Quantizer,
    weight: &Quantizer,
) -> Vec<f64> {
    let mut y = vec![0.0; n * l.out_features];
    for b in 0..n {
        for o in 0..l.out_features {
            let mut s = 0.0f64;
            for i in 0..l.in_features {
                s += act.quantize(x[b * l.in_features + i] as f64)
                    * weight.quantize(l.weight_array()[[o, i]] as f64);
            }
            y[b * l.out_features + o] = s + l.biases().map_or(0.0, |bb| bb[o] as f64);
        }
    }
    y
}
