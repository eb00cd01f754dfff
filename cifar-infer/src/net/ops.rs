//! Forward kernels over NCHW buffers with PyTorch semantics, as pure public functions.
//!
//! Every tensor is a flat row-major slice: a batch of `n` feature maps of shape (C, H, W) is
//! `n·C·H·W` values in NCHW order; a batch of vectors is `n·F` values. The kernels allocate
//! their output and never modify their input (except the `_inplace` ones). Convolutions and
//! linear layers are generic over [`GemmScalar`] (f32 or f64) and run in parallel with rayon
//! (convolutions over images, linear layers over blocks of output features). Results do not
//! depend on the number of threads.
use crate::gemm::{gemm, GemmScalar, Mat};
use rayon::prelude::*;

/// Geometry of a 2-D convolution on one image: square kernel, equal stride and zero padding on
/// both axes (PyTorch `Conv2d(in_c, out_c, k, stride, padding)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub in_c: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub pad: usize,
}

impl ConvGeom {
    /// Output height ⌊(H + 2p − k)/s⌋ + 1.
    pub fn out_h(&self) -> usize {
        (self.in_h + 2 * self.pad - self.k) / self.stride + 1
    }
    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.in_w + 2 * self.pad - self.k) / self.stride + 1
    }
    /// Dot-product length D = C_in·k·k.
    pub fn d(&self) -> usize {
        self.in_c * self.k * self.k
    }
    /// Input elements per image.
    pub fn in_len(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }
    /// Output elements per image.
    pub fn out_len(&self) -> usize {
        self.out_c * self.out_h() * self.out_w()
    }
}

/// Unfolds one image (C, H, W) into the im2col matrix of shape (C·k·k) × (OH·OW), row-major:
/// row (c, i, j) holds x[c, oy·s + i − p, ox·s + j − p] for every output position, padding = `T::default()`
/// (zero). `cols` must hold `d()·out_h()·out_w()` values.
pub fn im2col<T: Copy + Default>(x: &[T], g: &ConvGeom, cols: &mut [T]) {
    let hw = g.out_h() * g.out_w();
    assert!(
        x.len() >= g.in_len() && cols.len() >= g.d() * hw,
        "im2col: buffer sizes"
    );
    for c in 0..g.in_c {
        let plane = &x[c * g.in_h * g.in_w..(c + 1) * g.in_h * g.in_w];
        for i in 0..g.k {
            for j in 0..g.k {
                im2col_row(
                    plane,
                    g,
                    (i, j),
                    0,
                    &mut cols[((c * g.k + i) * g.k + j) * hw..][..hw],
                );
            }
        }
    }
}

/// Row (c, i, j) of the im2col matrix of one image from its channel-c `plane` (H × W), output
/// positions `p0..p0 + row.len()` (in (oy, ox) order): plane\[oy·s + i − p\]\[ox·s + j − p\]
/// or zero (padding).
pub(crate) fn im2col_row<T: Copy + Default>(
    plane: &[T],
    g: &ConvGeom,
    (i, j): (usize, usize),
    p0: usize,
    row: &mut [T],
) {
    let ow = g.out_w();
    let p1 = p0 + row.len();
    if ow == 0 || row.is_empty() {
        return;
    }
    // Output columns whose input column lies inside the image.
    let (lo, hi, off) = inside(ow, g.stride, j, g.pad, g.in_w);
    for oy in p0 / ow..p1.div_ceil(ow) {
        // The positions of output row oy asked for: columns a..b.
        let (a, b) = (p0.max(oy * ow) - oy * ow, p1.min(oy * ow + ow) - oy * ow);
        let dst = &mut row[oy * ow + a - p0..oy * ow + b - p0];
        let y = (oy * g.stride + i) as isize - g.pad as isize;
        if y < 0 || y >= g.in_h as isize {
            dst.fill(T::default());
            continue;
        }
        let src = &plane[y as usize * g.in_w..(y as usize + 1) * g.in_w];
        let (l, h) = (lo.clamp(a, b), hi.clamp(a, b).max(lo.clamp(a, b)));
        dst[..l - a].fill(T::default());
        dst[h - a..].fill(T::default());
        let inner = &mut dst[l - a..h - a];
        if g.stride == 1 && h > l {
            // Input column ox + off for ox in l..h (≥ 0 since l ≥ lo).
            let s0 = (l as isize + off) as usize;
            inner.copy_from_slice(&src[s0..s0 + (h - l)]);
        } else {
            for (ox, d) in (l..h).zip(inner) {
                *d = src[((ox * g.stride) as isize + off) as usize];
            }
        }
    }
}

/// For kernel column `j`: the output columns `lo..hi` (of `ow`) whose input column
/// `ox·stride + off` (`off = j − pad`) lies in `0..in_w`, and `off`.
pub(crate) fn inside(
    ow: usize,
    stride: usize,
    j: usize,
    pad: usize,
    in_w: usize,
) -> (usize, usize, isize) {
    let off = j as isize - pad as isize;
    let s = stride.max(1) as isize;
    // Smallest ox with ox·s + off ≥ 0.
    let lo = if off >= 0 { 0 } else { (-off + s - 1) / s };
    // One past the largest ox with ox·s + off ≤ in_w − 1.
    let last = in_w as isize - 1 - off;
    let hi = if last < 0 { 0 } else { last / s + 1 };
    let lo = (lo as usize).min(ow);
    let hi = (hi as usize).clamp(lo, ow);
    (lo, hi, off)
}

/// Convolution without bias of a batch of `n` images: im2col, then one GEMM per image
/// W (O × C·k·k) · cols; images in parallel. Returns n×O×OH×OW values.
pub fn conv2d_nobias<T: GemmScalar>(x: &[T], n: usize, g: &ConvGeom, weight: &[T]) -> Vec<T> {
    assert_eq!(x.len(), n * g.in_len(), "conv2d: input length");
    assert_eq!(weight.len(), g.out_c * g.d(), "conv2d: weight length");
    let hw = g.out_h() * g.out_w();
    let mut out = vec![T::ZERO; n * g.out_len()];
    out.par_chunks_mut(g.out_len().max(1))
        .zip(x.par_chunks(g.in_len().max(1)))
        .for_each_init(
            || vec![T::ZERO; g.d() * hw],
            |cols, (y, xi)| {
                im2col(xi, g, cols);
                gemm(
                    Mat::new(weight, g.out_c, g.d()),
                    Mat::new(cols, g.d(), hw),
                    T::ZERO,
                    y,
                );
            },
        );
    out
}

/// PyTorch `Conv2d` forward in f32: [`conv2d_nobias`] plus the per-channel bias.
pub fn conv2d(x: &[f32], n: usize, g: &ConvGeom, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    let mut y = conv2d_nobias(x, n, g, weight);
    if let Some(b) = bias {
        add_channel_bias(&mut y, g.out_c, g.out_h() * g.out_w(), b);
    }
    y
}

/// Adds `bias[c]` to every element of channel c of an NCHW buffer with `hw` elements per plane.
pub fn add_channel_bias(y: &mut [f32], channels: usize, hw: usize, bias: &[f32]) {
    assert_eq!(bias.len(), channels, "bias length");
    for (i, plane) in y.chunks_mut(hw.max(1)).enumerate() {
        let b = bias[i % channels];
        for v in plane {
            *v += b;
        }
    }
}

/// Direct (seven-loop) convolution in f64, the reference the im2col kernel is tested against.
pub fn conv2d_naive(
    x: &[f64],
    n: usize,
    g: &ConvGeom,
    weight: &[f64],
    bias: Option<&[f64]>,
) -> Vec<f64> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut out = vec![0.0; n * g.out_len()];
    for b in 0..n {
        for o in 0..g.out_c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = bias.map_or(0.0, |bb| bb[o]);
                    for c in 0..g.in_c {
                        for i in 0..g.k {
                            for j in 0..g.k {
                                let y = (oy * g.stride + i) as isize - g.pad as isize;
                                let xx = (ox * g.stride + j) as isize - g.pad as isize;
                                if y < 0 || xx < 0 || y >= g.in_h as isize || xx >= g.in_w as isize
                                {
                                    continue;
                                }
                                let xv = x[b * g.in_len()
                                    + (c * g.in_h + y as usize) * g.in_w
                                    + xx as usize];
                                s += xv * weight[((o * g.in_c + c) * g.k + i) * g.k + j];
                            }
                        }
                    }
                    out[b * g.out_len() + (o * oh + oy) * ow + ox] = s;
                }
            }
        }
    }
    out
}

/// Output features per parallel work unit of [`linear_nobias`] (fixed, so that the results do not
/// depend on the number of threads).
pub const LINEAR_BLOCK_ROWS: usize = 256;

/// Linear layer without bias of a batch: Y (n × out) = X (n × in) · Wᵀ, W of shape (out × in).
/// Computed as Yᵀ = W · Xᵀ over blocks of [`LINEAR_BLOCK_ROWS`] output features in parallel,
/// then transposed. The blocks do not depend on the number of threads (the GEMM's blocking, and
/// so its rounding, depends on the shapes it is given).
pub fn linear_nobias<T: GemmScalar>(
    x: &[T],
    n: usize,
    in_f: usize,
    out_f: usize,
    weight: &[T],
) -> Vec<T> {
    assert_eq!(x.len(), n * in_f, "linear: input length");
    assert_eq!(weight.len(), out_f * in_f, "linear: weight length");
    if n == 0 || out_f == 0 {
        return Vec::new();
    }
    let mut yt = vec![T::ZERO; out_f * n];
    let rows = LINEAR_BLOCK_ROWS;
    yt.par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(bi, yb)| {
            let r0 = bi * rows;
            let m = yb.len() / n;
            gemm(
                Mat::new(&weight[r0 * in_f..(r0 + m) * in_f], m, in_f),
                Mat::new(x, n, in_f).t(),
                T::ZERO,
                yb,
            );
        });
    let mut y = vec![T::ZERO; n * out_f];
    for o in 0..out_f {
        for b in 0..n {
            y[b * out_f + o] = yt[o * n + b];
        }
    }
    y
}

/// PyTorch `Linear` forward in f32: [`linear_nobias`] plus the bias.
pub fn linear(
    x: &[f32],
    n: usize,
    in_f: usize,
    out_f: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut y = linear_nobias(x, n, in_f, out_f, weight);
    if let Some(b) = bias {
        add_channel_bias(&mut y, out_f, 1, b);
    }
    y
}

/// ReLU in place.
pub fn relu_inplace(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}

/// Geometry of a pooling window on one image of shape (C, H, W).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeom {
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Implicit padding on every side.
    pub pad: usize,
}

impl PoolGeom {
    /// Output height in floor mode: ⌊(H + 2p − k)/s⌋ + 1.
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.k) / self.stride + 1
    }
    /// Output width in floor mode.
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.k) / self.stride + 1
    }
}

/// A value max-pooling takes: f32 activations, or u8/u16 codes of a monotone quantizer (whose
/// maximum is the code of the maximum, so pooling commutes with quantizing).
pub trait PoolValue: Copy + Send + Sync {
    /// The value below every other (the padding).
    const LOWEST: Self;
    /// The larger of two values (for f32, a NaN loses, as in `f32::max`).
    fn max_of(self, other: Self) -> Self;
}

impl PoolValue for f32 {
    const LOWEST: f32 = f32::NEG_INFINITY;
    #[inline(always)]
    fn max_of(self, other: f32) -> f32 {
        self.max(other)
    }
}

impl PoolValue for u8 {
    const LOWEST: u8 = 0;
    #[inline(always)]
    fn max_of(self, other: u8) -> u8 {
        self.max(other)
    }
}

impl PoolValue for u16 {
    const LOWEST: u16 = 0;
    #[inline(always)]
    fn max_of(self, other: u16) -> u16 {
        self.max(other)
    }
}

/// PyTorch `MaxPool2d(k, stride, padding)` in floor mode (padding acts as −∞).
pub fn max_pool2d<T: PoolValue>(x: &[T], n: usize, g: &PoolGeom) -> Vec<T> {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(x.len(), n * g.c * g.h * g.w, "pool: input length");
    if g.pad == 0 {
        // Every window lies inside the plane: a fixed window size unrolls the loops.
        match g.k {
            2 => return max_pool_inside::<T, 2>(x, g),
            3 => return max_pool_inside::<T, 3>(x, g),
            _ => {}
        }
    }
    let mut out = Vec::with_capacity(n * g.c * oh * ow);
    for plane in x.chunks_exact((g.h * g.w).max(1)) {
        for oy in 0..oh {
            let y0 = (oy * g.stride) as isize - g.pad as isize;
            let (ya, yb) = (y0.max(0) as usize, ((y0 + g.k as isize) as usize).min(g.h));
            for ox in 0..ow {
                let x0 = (ox * g.stride) as isize - g.pad as isize;
                let (xa, xb) = (x0.max(0) as usize, ((x0 + g.k as isize) as usize).min(g.w));
                let mut m = T::LOWEST;
                for yy in ya..yb {
                    for &v in &plane[yy * g.w + xa..yy * g.w + xb] {
                        m = m.max_of(v);
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

/// [`max_pool2d`] without padding, K × K windows (all inside the plane in floor mode).
fn max_pool_inside<T: PoolValue, const K: usize>(x: &[T], g: &PoolGeom) -> Vec<T> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut out = Vec::with_capacity(x.len() / (g.h * g.w).max(1) * oh * ow);
    for plane in x.chunks_exact((g.h * g.w).max(1)) {
        for oy in 0..oh {
            let rows: [&[T]; K] =
                std::array::from_fn(|i| &plane[(oy * g.stride + i) * g.w..][..g.w]);
            for ox in 0..ow {
                let x0 = ox * g.stride;
                let mut m = T::LOWEST;
                for row in &rows {
                    for &v in &row[x0..x0 + K] {
                        m = m.max_of(v);
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

/// [`max_pool2d`] on channels-last (NHWC) values: the same maxima, each window's positions
/// compared a whole channel run at a time.
pub fn max_pool2d_channels_last<T: PoolValue>(x: &[T], n: usize, g: &PoolGeom) -> Vec<T> {
    let (oh, ow, c) = (g.out_h(), g.out_w(), g.c);
    assert_eq!(x.len(), n * c * g.h * g.w, "pool: input length");
    let mut out = vec![T::LOWEST; n * c * oh * ow];
    if c == 0 {
        return out;
    }
    let span = |o: usize, len: usize| {
        let start = (o * g.stride) as isize - g.pad as isize;
        start.max(0) as usize..((start + g.k as isize).max(0) as usize).min(len)
    };
    for (img, dst) in x
        .chunks_exact((g.h * g.w * c).max(1))
        .zip(out.chunks_exact_mut(oh * ow * c))
    {
        for (oy, dst) in dst.chunks_exact_mut(ow * c).enumerate() {
            for (ox, m) in dst.chunks_exact_mut(c).enumerate() {
                for y in span(oy, g.h) {
                    for xx in span(ox, g.w) {
                        let v = &img[(y * g.w + xx) * c..][..c];
                        for (m, &v) in m.iter_mut().zip(v) {
                            *m = m.max_of(v);
                        }
                    }
                }
            }
        }
    }
    out
}

/// PyTorch `AvgPool2d(k, stride, padding)` in floor mode with `count_include_pad=True`.
pub fn avg_pool2d(x: &[f32], n: usize, g: &PoolGeom) -> Vec<f32> {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(x.len(), n * g.c * g.h * g.w, "pool: input length");
    let mut out = Vec::with_capacity(n * g.c * oh * ow);
    for plane in x.chunks_exact((g.h * g.w).max(1)) {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = 0.0f32;
                for i in 0..g.k {
                    for j in 0..g.k {
                        let y = (oy * g.stride + i) as isize - g.pad as isize;
                        let xx = (ox * g.stride + j) as isize - g.pad as isize;
                        if y >= 0 && xx >= 0 && y < g.h as isize && xx < g.w as isize {
                            acc += plane[y as usize * g.w + xx as usize];
                        }
                    }
                }
                out.push(acc / (g.k * g.k) as f32);
            }
        }
    }
    out
}

/// PyTorch `AdaptiveAvgPool2d(out)`: window of output cell i spans ⌊i·H/out⌋ .. ⌈(i+1)·H/out⌉.
pub fn adaptive_avg_pool2d(
    x: &[f32],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    out: usize,
) -> Vec<f32> {
    assert_eq!(x.len(), n * c * h * w, "adaptive pool: input length");
    let mut y = Vec::with_capacity(n * c * out * out);
    for plane in x.chunks_exact((h * w).max(1)) {
        for oy in 0..out {
            let (y0, y1) = (oy * h / out, ((oy + 1) * h).div_ceil(out));
            for ox in 0..out {
                let (x0, x1) = (ox * w / out, ((ox + 1) * w).div_ceil(out));
                let mut s = 0.0f32;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        s += plane[yy * w + xx];
                    }
                }
                y.push(s / ((y1 - y0) * (x1 - x0)) as f32);
            }
        }
    }
    y
}

/// Batch normalisation in inference form, in place on an NCHW buffer with `hw` elements per
/// plane: y = (x − mean\[c\]) / √(var\[c\] + eps) · γ\[c\] + β\[c\].
// Allowed: the parameters of PyTorch's functional batch norm in its order; bundling them in
// `model::BatchNormLayer` would make these kernels depend on the model's layer types.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_inplace(
    x: &mut [f32],
    c: usize,
    hw: usize,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f64,
) {
    let scale: Vec<f32> = (0..c)
        .map(|i| gamma[i] / (var[i] + eps as f32).sqrt())
        .collect();
    // One plane at a time: no division per element (the same arithmetic on every value).
    for (p, plane) in x.chunks_mut(hw.max(1)).enumerate() {
        let ch = p % c;
        let (m, s, b) = (mean[ch], scale[ch], beta[ch]);
        for v in plane {
            *v = (*v - m) * s + b;
        }
    }
}

/// Index of the largest value of each row of a (n × classes) buffer (first index on ties,
/// like `torch.argmax`).
pub fn argmax_rows(logits: &[f32], classes: usize) -> Vec<usize> {
    logits
        .chunks_exact(classes.max(1))
        .map(|row| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect()
}

/// ReLU6 (PyTorch `ReLU6`, ONNX `Clip(0, 6)`) in place: min(max(x, 0), 6).
pub fn relu6_inplace(x: &mut [f32]) {
    for v in x {
        *v = v.clamp(0.0, 6.0);
    }
}
