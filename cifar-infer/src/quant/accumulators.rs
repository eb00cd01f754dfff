//! Accumulator analysis: how wide the integer accumulator of each conv/linear layer must be,
//! and what happens to accuracy when it is narrower.
//!
//! Per layer: the width the cost model assumes (B_A + B_W + ⌈log2 D⌉), the worst case from the
//! codes' ranges (max|k_a| · max over output rows of Σ_j |k_w,j|), and the width reached on
//! calibration images by the final sums max|Σ k_a·k_w| and by every partial sum. A width W
//! means a W-bit two's-complement accumulator, holding −2^(W−1) … 2^(W−1) − 1; a magnitude m
//! needs ⌈log2(m + 1)⌉ + 1 bits.
//!
//! [`ReferenceModel`] is a slow exact i64 reference of the fixed-point network (the same codes,
//! scale and bias as [`crate::quantized::QuantizedModel`], so the same logits when nothing
//! overflows) that can cut its accumulators to W bits:
//! * **wrap-around**: the sum modulo 2^W (the order of the additions does not matter);
//! * **saturation**: after every addition the partial sum is clamped to the W-bit range. The
//!   order is the dot product's index order: input channel, then kernel row, then kernel column
//!   for a convolution (PyTorch's weight layout), input feature for a linear layer.
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::eval::evaluate;
use crate::model::{ConvLayer, LayerKernel, LinearLayer, Model, WeightLayer};
use crate::ops::im2col;
use crate::quantized::{epilogue, Ranges};
use fxp_core::progress::{Progress, Silent};
use fxp_core::{LayerPrecision, Quantizer};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, Ordering};

/// What happens to a sum that leaves the accumulator's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Accumulator {
    /// Wide enough for every sum (i64; exact).
    Exact,
    /// W bits, two's-complement wrap-around.
    Wrap(u32),
    /// W bits, saturating after every addition.
    Saturate(u32),
}

/// Bits of a two's-complement accumulator holding magnitudes up to `m`.
pub fn bits_for(m: u64) -> u32 {
    (64 - m.leading_zeros()) + 1
}

fn limits(bits: u32) -> (i64, i64) {
    let b = bits.clamp(2, 63);
    (-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1)
}

fn wrap(s: i64, bits: u32) -> i64 {
    if bits >= 64 {
        return s;
    }
    let m = 1i64 << bits;
    let half = 1i64 << (bits - 1);
    (s + half).rem_euclid(m) - half
}

#[derive(Debug, Clone)]
struct RefLayer {
    act: Quantizer,
    weight: Quantizer,
    codes: Vec<i64>,
    /// The codes in i32 when every sum, and every partial sum of a saturating accumulator,
    /// fits in i32 (the worst case is below 2^30): the same sums, twice as many per vector.
    codes32: Option<Vec<i32>>,
    d: usize,
}

/// The exact fixed-point network in i64, with a chosen [`Accumulator`]; records the largest
/// final and partial sum of each layer.
#[derive(Debug)]
pub struct ReferenceModel {
    layers: Vec<RefLayer>,
    acc: Accumulator,
    max_final: Vec<AtomicI64>,
    max_partial: Vec<AtomicI64>,
}

impl ReferenceModel {
    /// Quantizes the weights of `model` over `ranges` at `precisions` (the conventions of
    /// [`crate::quantized::QuantizedModel`]).
    pub fn new(
        model: &Model,
        ranges: &Ranges,
        precisions: &[LayerPrecision],
        acc: Accumulator,
    ) -> Result<Self> {
        let n = model.num_weight_layers();
        if precisions.len() != n || ranges.weight.len() != n || ranges.activation.len() != n {
            return Err(InferError::Invalid(format!(
                "{} precisions and {} ranges for {n} conv/linear layers",
                precisions.len(),
                ranges.weight.len()
            )));
        }
        let nonneg = model.nonnegative_inputs();
        let mut layers = Vec::new();
        for (l, layer) in model.weight_layers().into_iter().enumerate() {
            if let WeightLayer::Conv(c) = layer {
                if c.groups > 1 || c.dilation > 1 {
                    return Err(InferError::Unsupported(format!(
                        "conv {}: the accumulator reference runs dense, undilated convolutions \
                         only (groups {}, dilation {})",
                        c.name, c.groups, c.dilation
                    )));
                }
            }
            let w = layer.weight();
            let p = precisions[l];
            let act = if nonneg[l] {
                Quantizer::unsigned(ranges.activation[l], p.b_a)?
            } else {
                Quantizer::signed(ranges.activation[l], p.b_a)?
            };
            let weight = Quantizer::signed(ranges.weight[l], p.b_w)?;
            let codes: Vec<i64> = w.iter().map(|&v| weight.level(v as f64)).collect();
            let d = match layer {
                WeightLayer::Conv(c) => c.geom.d(),
                WeightLayer::Linear(lin) => lin.in_features,
            };
            layers.push(RefLayer {
                act,
                weight,
                codes,
                codes32: None,
                d,
            });
        }
        let mut m = Self {
            max_final: (0..n).map(|_| AtomicI64::new(0)).collect(),
            max_partial: (0..n).map(|_| AtomicI64::new(0)).collect(),
            layers,
            acc,
        };
        // Below 2^30, a saturating partial sum (within the limits, plus one product) stays
        // below 2^31 too.
        for (l, worst) in m.worst_case().into_iter().enumerate() {
            if worst < 1 << 30 {
                let q = &mut m.layers[l];
                q.codes32 = Some(q.codes.iter().map(|&v| v as i32).collect());
            }
        }
        // Every partial sum must fit the i64 reference (B_W + B_A + log2 D ≲ 62 bits).
        if let Some(l) = m.worst_case().iter().position(|&w| w >= 1 << 62) {
            return Err(InferError::Invalid(format!(
                "layer {}: sums up to 2^62 and beyond do not fit the i64 reference: use fewer bits",
                l + 1
            )));
        }
        Ok(m)
    }

    /// Largest |final sum| of each layer seen so far.
    pub fn max_final(&self) -> Vec<u64> {
        self.max_final
            .iter()
            .map(|a| a.load(Ordering::Relaxed) as u64)
            .collect()
    }

    /// Largest |partial sum| (in the saturation order) of each layer seen so far.
    pub fn max_partial(&self) -> Vec<u64> {
        self.max_partial
            .iter()
            .map(|a| a.load(Ordering::Relaxed) as u64)
            .collect()
    }

    /// The worst case of each layer: max|k_a| · max_row Σ|k_w|.
    pub fn worst_case(&self) -> Vec<u64> {
        self.layers
            .iter()
            .map(|q| {
                let a = q
                    .act
                    .min_level()
                    .unsigned_abs()
                    .max(q.act.max_level().unsigned_abs());
                let row = q
                    .codes
                    .chunks(q.d.max(1))
                    .map(|r| r.iter().map(|v| v.unsigned_abs()).sum::<u64>())
                    .max()
                    .unwrap_or(0);
                a.saturating_mul(row)
            })
            .collect()
    }

    /// Sums of output row `w` (D codes) against `cols` (D rows of `hw` values each), in the
    /// dot product's index order, written to `out` (hw values); returns (max |final|,
    /// max |partial|).
    fn dot_rows(&self, w: &[i64], cols: &[i64], hw: usize, out: &mut [i64]) -> (i64, i64) {
        out.fill(0);
        let mut peak = 0i64;
        let (lo, hi) = match self.acc {
            Accumulator::Saturate(b) => limits(b),
            _ => (i64::MIN, i64::MAX),
        };
        let saturate = matches!(self.acc, Accumulator::Saturate(_));
        for (r, &k) in w.iter().enumerate() {
            if k == 0 {
                continue;
            }
            let col = &cols[r * hw..(r + 1) * hw];
            if saturate {
                for (o, &a) in out.iter_mut().zip(col) {
                    *o = (*o + k * a).clamp(lo, hi);
                }
            } else {
                for (o, &a) in out.iter_mut().zip(col) {
                    *o += k * a;
                }
                if self.acc == Accumulator::Exact {
                    peak = out.iter().fold(peak, |m, v| m.max(v.abs()));
                }
            }
        }
        let fin = out.iter().fold(0i64, |m, v| m.max(v.abs()));
        if let Accumulator::Wrap(b) = self.acc {
            for o in out.iter_mut() {
                *o = wrap(*o, b);
            }
        }
        (fin, peak)
    }

    /// [`Self::dot_rows`] in i32 (layers whose worst case is below 2^30): the same sums.
    fn dot_rows32(&self, w: &[i32], cols: &[i32], hw: usize, out: &mut [i32]) -> (i64, i64) {
        // Limits beyond 2^30 are never reached by these sums: clamp them into i32.
        let (lo, hi) = match self.acc {
            Accumulator::Saturate(b) => limits(b.min(31)),
            _ => (i64::MIN, i64::MAX),
        };
        let (lo, hi) = (
            lo.max(i32::MIN as i64) as i32,
            hi.min(i32::MAX as i64) as i32,
        );
        let mode = match self.acc {
            Accumulator::Exact => Mode::Peak,
            Accumulator::Wrap(_) => Mode::Plain,
            Accumulator::Saturate(_) => Mode::Clamp(lo, hi),
        };
        let (fin, peak) = simd::dot_rows(w, cols, hw, out, mode);
        let (fin, peak) = (fin as i64, peak as i64);
        if let Accumulator::Wrap(b) = self.acc {
            for o in out.iter_mut() {
                *o = wrap(*o as i64, b) as i32;
            }
        }
        (fin, peak)
    }

    fn record(&self, layer: usize, fin: i64, peak: i64) {
        self.max_final[layer].fetch_max(fin, Ordering::Relaxed);
        self.max_partial[layer].fetch_max(peak.max(fin), Ordering::Relaxed);
    }

    fn codes(&self, layer: usize, x: &[f32]) -> Vec<i64> {
        let q = &self.layers[layer].act;
        x.iter().map(|&v| q.level(v as f64)).collect()
    }

    /// The sums of one conv image (`xi`: its input codes) into `s`, recorded.
    fn conv_image<T: Copy + Default + Into<i64>>(
        &self,
        layer: usize,
        g: &crate::ops::ConvGeom,
        codes: &[T],
        xi: &[T],
        s: &mut [i64],
        dot: impl Fn(&[T], &[T], usize, &mut [T]) -> (i64, i64),
    ) {
        let (hw, d) = (g.out_h() * g.out_w(), g.d());
        let mut cols = vec![T::default(); d * hw];
        let mut out = vec![T::default(); hw];
        im2col(xi, g, &mut cols);
        for (o, so) in s.chunks_mut(hw).enumerate() {
            let (fin, peak) = dot(&codes[o * d..(o + 1) * d], &cols, hw, &mut out);
            self.record(layer, fin, peak);
            for (a, &b) in so.iter_mut().zip(&out) {
                *a = b.into();
            }
        }
    }

    fn scale(&self, layer: usize) -> f64 {
        self.layers[layer].act.step() * self.layers[layer].weight.step()
    }
}

impl LayerKernel for ReferenceModel {
    fn conv(&self, layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        let g = &c.geom;
        let hw = g.out_h() * g.out_w();
        let k = self.codes(layer, x);
        let q = &self.layers[layer];
        let mut sums = vec![0i64; n * g.out_len()];
        let images = sums
            .par_chunks_mut(g.out_len().max(1))
            .zip(k.par_chunks(g.in_len().max(1)));
        match &q.codes32 {
            Some(codes) => images.for_each(|(s, xi)| {
                let xi: Vec<i32> = xi.iter().map(|&v| v as i32).collect();
                let dot =
                    |w: &[i32], c: &[i32], hw: usize, o: &mut [i32]| self.dot_rows32(w, c, hw, o);
                self.conv_image(layer, g, codes, &xi, s, dot);
            }),
            None => images.for_each(|(s, xi)| {
                let dot =
                    |w: &[i64], c: &[i64], hw: usize, o: &mut [i64]| self.dot_rows(w, c, hw, o);
                self.conv_image(layer, g, &q.codes, xi, s, dot);
            }),
        }
        epilogue(
            &sums,
            |v| v as f64,
            self.scale(layer),
            c.biases(),
            g.out_c,
            hw,
        )
    }

    fn linear(&self, layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        let (i, o) = (l.in_features, l.out_features);
        let k = self.codes(layer, x);
        let q = &self.layers[layer];
        // The images side by side (i rows of n codes): each output row j is then one row loop
        // over all images at once, its additions in the same order r = 0..i for each image.
        let mut sums_t = vec![0i64; o * n];
        match &q.codes32 {
            Some(codes) => {
                let kt = transpose(&k, n, i, |v| v as i32);
                let dot = |w: &[i32], c: &[i32], hw: usize, out: &mut [i32]| {
                    self.dot_rows32(w, c, hw, out)
                };
                self.linear_rows(layer, codes, &kt, i, n, &mut sums_t, dot);
            }
            None => {
                let kt = transpose(&k, n, i, |v| v);
                let dot =
                    |w: &[i64], c: &[i64], hw: usize, out: &mut [i64]| self.dot_rows(w, c, hw, out);
                self.linear_rows(layer, &q.codes, &kt, i, n, &mut sums_t, dot);
            }
        }
        let sums = transpose(&sums_t, o, n, |v| v);
        epilogue(&sums, |v| v as f64, self.scale(layer), l.biases(), o, 1)
    }
}

impl ReferenceModel {
    /// The sums of a linear layer, output row j of `sums_t` holding its n images, from the
    /// transposed inputs `kt` (d rows of n codes), recorded.
    #[allow(clippy::too_many_arguments)] // one layer's loop: layer, codes, inputs, both sizes, output, row loop
    fn linear_rows<T: Copy + Default + Send + Sync + Into<i64>>(
        &self,
        layer: usize,
        codes: &[T],
        kt: &[T],
        d: usize,
        n: usize,
        sums_t: &mut [i64],
        dot: impl Fn(&[T], &[T], usize, &mut [T]) -> (i64, i64) + Sync,
    ) {
        sums_t.par_chunks_mut(n.max(1)).enumerate().for_each_init(
            || vec![T::default(); n],
            |out, (j, s)| {
                let (fin, peak) = dot(&codes[j * d..(j + 1) * d], kt, n, out);
                self.record(layer, fin, peak);
                for (a, &b) in s.iter_mut().zip(out.iter()) {
                    *a = b.into();
                }
            },
        );
    }
}

/// The `rows` × `cols` matrix `m` (row-major) transposed, each value mapped by `f`.
fn transpose<T: Copy, U: Copy + Default>(
    m: &[T],
    rows: usize,
    cols: usize,
    f: impl Fn(T) -> U,
) -> Vec<U> {
    let mut t = vec![U::default(); rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = f(m[r * cols + c]);
        }
    }
    t
}

/// The accumulator widths of one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerAccumulator {
    /// Layer name.
    pub name: String,
    /// Dot-product length D.
    pub d: usize,
    /// Width the cost model assumes, B_A + B_W + ⌈log2 D⌉.
    pub assumed_bits: u32,
    /// Width of the worst case max|k_a| · max_row Σ|k_w|.
    pub worst_case_bits: u32,
    /// Width reached by the final sums on the calibration images.
    pub reached_bits: u32,
    /// Width reached by any partial sum (in the saturation order) on the calibration images.
    pub reached_partial_bits: u32,
    /// The largest |final sum| seen.
    pub max_abs_sum: u64,
}

/// Accuracy with every layer's accumulator cut to `bits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccumulatorPoint {
    /// Accumulator width W (all layers).
    pub bits: u32,
    /// Test accuracy (%) with wrap-around.
    pub wrap_accuracy: f64,
    /// Test accuracy (%) with saturation.
    pub saturate_accuracy: f64,
}

/// The accumulator analysis of one network at one precision assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccumulatorAnalysis {
    /// Network name.
    pub network: String,
    /// The precisions analysed.
    pub precisions: Vec<LayerPrecision>,
    /// Per-layer widths.
    pub layers: Vec<LayerAccumulator>,
    /// Test accuracy (%) with exact (wide) accumulators.
    pub exact_accuracy: f64,
    /// Accuracy at each accumulator width.
    pub points: Vec<AccumulatorPoint>,
    /// Calibration images behind the reached widths.
    pub calibration_images: usize,
    /// Test images behind the accuracies.
    pub test_images: usize,
}

/// Runs the analysis: reached widths over `calibration`, accuracies over `test` with exact
/// accumulators and with every width of `widths` (wrap and saturate).
#[allow(clippy::too_many_arguments)] // one entry point of a study: network, ranges, precisions, both image sets, widths, batch, progress
pub fn analyze(
    model: &Model,
    ranges: &Ranges,
    precisions: &[LayerPrecision],
    calibration: &CifarSet,
    test: &CifarSet,
    widths: &[u32],
    batch: usize,
    progress: &dyn Progress,
) -> Result<AccumulatorAnalysis> {
    let exact = ReferenceModel::new(model, ranges, precisions, Accumulator::Exact)?;
    evaluate(model, &exact, calibration, batch, &Silent)?;
    let (fin, partial, worst) = (exact.max_final(), exact.max_partial(), exact.worst_case());
    let names = model.weight_layer_names();
    let layers = (0..names.len())
        .map(|l| LayerAccumulator {
            name: names[l].clone(),
            d: exact.layers[l].d,
            assumed_bits: nn_cost::metrics::accumulator_bits(
                exact.layers[l].d as u64,
                precisions[l],
            ),
            worst_case_bits: bits_for(worst[l]),
            reached_bits: bits_for(fin[l]),
            reached_partial_bits: bits_for(partial[l]),
            max_abs_sum: fin[l],
        })
        .collect();
    let accuracy = |acc: Accumulator| -> Result<f64> {
        let m = ReferenceModel::new(model, ranges, precisions, acc)?;
        Ok(evaluate(model, &m, test, batch, progress)?.accuracy)
    };
    progress.begin(
        "accumulator widths",
        (test.len() * (1 + 2 * widths.len())) as u64,
    );
    let exact_accuracy = accuracy(Accumulator::Exact)?;
    let points = widths
        .iter()
        .map(|&bits| {
            Ok(AccumulatorPoint {
                bits,
                wrap_accuracy: accuracy(Accumulator::Wrap(bits))?,
                saturate_accuracy: accuracy(Accumulator::Saturate(bits))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    progress.end();
    Ok(AccumulatorAnalysis {
        network: model.name.clone(),
        precisions: precisions.to_vec(),
        layers,
        exact_accuracy,
        points,
        calibration_images: calibration.len(),
        test_images: test.len(),
    })
}

/// What the i32 row loop does after each addition.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Nothing (wrap-around is applied to the final sums).
    Plain,
    /// Tracks the largest |partial sum| (exact accumulators).
    Peak,
    /// Clamps to the limits (saturation).
    Clamp(i32, i32),
}

/// The i32 row loop of the reference, compiled for AVX-512 or AVX2 when the CPU has them
/// (the same integer operations in any case: the same sums).
mod simd {
    use super::Mode;

    /// `out[j] = Σ_r w[r]·cols[r·hw + j]` in the row order r, per [`Mode`]; returns
    /// (max |final|, max |partial| (0 unless `Mode::Peak`)).
    #[inline(always)]
    fn body(w: &[i32], cols: &[i32], hw: usize, out: &mut [i32], mode: Mode) -> (i32, i32) {
        out.fill(0);
        let mut peak = 0i32;
        for (r, &k) in w.iter().enumerate() {
            if k == 0 {
                continue;
            }
            let col = &cols[r * hw..(r + 1) * hw];
            match mode {
                Mode::Plain => {
                    for (o, &a) in out.iter_mut().zip(col) {
                        *o += k * a;
                    }
                }
                Mode::Peak => {
                    let mut m = 0i32;
                    for (o, &a) in out.iter_mut().zip(col) {
                        *o += k * a;
                        m = m.max(o.abs());
                    }
                    peak = peak.max(m);
                }
                Mode::Clamp(lo, hi) => {
                    for (o, &a) in out.iter_mut().zip(col) {
                        *o = (*o + k * a).clamp(lo, hi);
                    }
                }
            }
        }
        let fin = out.iter().fold(0i32, |m, v| m.max(v.abs()));
        (fin, peak)
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl")]
    unsafe fn avx512(w: &[i32], c: &[i32], hw: usize, o: &mut [i32], m: Mode) -> (i32, i32) {
        body(w, c, hw, o, m)
    }

    #[target_feature(enable = "avx2")]
    unsafe fn avx2(w: &[i32], c: &[i32], hw: usize, o: &mut [i32], m: Mode) -> (i32, i32) {
        body(w, c, hw, o, m)
    }

    /// [`body`] on the widest vectors the CPU has.
    pub(super) fn dot_rows(
        w: &[i32],
        cols: &[i32],
        hw: usize,
        out: &mut [i32],
        mode: Mode,
    ) -> (i32, i32) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the CPU has the features the function is compiled for.
                return unsafe { avx512(w, cols, hw, out, mode) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: as above.
                return unsafe { avx2(w, cols, hw, out, mode) };
            }
        }
        body(w, cols, hw, out, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_wrap() {
        assert_eq!(bits_for(0), 1);
        assert_eq!(bits_for(1), 2);
        assert_eq!(bits_for(127), 8);
        assert_eq!(bits_for(128), 9);
        assert_eq!(wrap(127, 8), 127);
        assert_eq!(wrap(128, 8), -128);
        assert_eq!(wrap(-129, 8), 127);
        assert_eq!(wrap(300, 8), 44);
        assert_eq!(limits(8), (-128, 127));
    }
}
