//! Backward kernels of the layers the precision profiler differentiates through (convolution,
//! linear, ReLU, ReLU6, max, average and adaptive average pooling, batch norm in float; flatten
//! and dropout are the identity on NCHW buffers), as pure functions over row-major `f32` buffers.
//!
//! The convolution, linear and max-pooling kernels work on ONE image (the profiler parallelises
//! over images); the element-wise and average-pooling ones on any number of planes. "Seeds" are
//! several gradients flowing back through the same image at once (one per logit difference),
//! stored one after the other (`seeds × len`). Geometry and `im2col` are those of the forward
//! kernels in [`crate::ops`]; the tape a backward step needs (layer input or its patch matrix,
//! ReLU mask, pooling argmax) comes from [`crate::ops`] or from [`maxpool_forward`] here. GEMMs
//! go through [`crate::gemm`], the crate's one GEMM front end ([`gemm`](fn@gemm) on [`Mat`]
//! views, re-exported here; single-threaded, deterministic for given shapes).
pub use crate::gemm::{gemm, Mat};
use crate::net::model::AdaptiveGeom;
use crate::ops::{im2col, inside, ConvGeom, PoolGeom};

/// Output positions per channel (`P = OH·OW`) of a convolution.
pub fn positions(g: &ConvGeom) -> usize {
    g.out_h() * g.out_w()
}

/// The `K×P` patch matrix of one image (`K = C_in·k·k`), as [`crate::ops::im2col`] makes it.
pub fn patches(g: &ConvGeom, input: &[f32]) -> Vec<f32> {
    let mut cols = vec![0.0f32; g.d() * positions(g)];
    im2col(input, g, &mut cols);
    cols
}

/// Folds a `K×P` patch-gradient matrix back onto the image, ADDING into `grad_in` (`C×H×W`):
/// the adjoint of `im2col`.
pub fn col2im(g: &ConvGeom, cols: &[f32], grad_in: &mut [f32]) {
    let p = positions(g);
    assert_eq!(cols.len(), g.d() * p, "col2im: patch matrix length");
    col2im_strided(g, cols, p, grad_in);
}

/// [`col2im`] of the `K×P` matrix whose row `r` is `cols[r·row_stride..][..P]` (one column block
/// of a wider matrix).
fn col2im_strided(g: &ConvGeom, cols: &[f32], row_stride: usize, grad_in: &mut [f32]) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let p = oh * ow;
    assert_eq!(grad_in.len(), g.in_len(), "col2im: gradient length");
    if g.d() > 0 {
        assert!(
            cols.len() >= (g.d() - 1) * row_stride + p,
            "col2im: patch matrix length"
        );
    }
    for c in 0..g.in_c {
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = &cols[((c * g.k + ky) * g.k + kx) * row_stride..][..p];
                // Output columns whose input column lies inside the image (the others fall in
                // the padding and are dropped).
                let (lo, hi, off) = inside(ow, g.stride, kx, g.pad, g.in_w);
                for oy in 0..oh {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.in_h as isize {
                        continue;
                    }
                    let dst = &mut grad_in[(c * g.in_h + iy as usize) * g.in_w..][..g.in_w];
                    let src = &row[oy * ow + lo..oy * ow + hi];
                    if g.stride == 1 {
                        let a = (lo as isize + off) as usize;
                        for (d, s) in dst[a..a + src.len()].iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (ox, s) in (lo..hi).zip(src) {
                            dst[((ox * g.stride) as isize + off) as usize] += s;
                        }
                    }
                }
            }
        }
    }
}

/// Convolution of one image from its patch matrix: `out (C_out×P) = W · cols + bias`.
pub fn conv2d_forward_cols(
    g: &ConvGeom,
    cols: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let p = positions(g);
    let mut out = vec![0.0f32; g.out_len()];
    let beta = match bias {
        Some(b) => {
            for (row, &bo) in out.chunks_exact_mut(p).zip(b) {
                row.fill(bo);
            }
            1.0
        }
        None => 0.0,
    };
    gemm(
        Mat::new(weight, g.out_c, g.d()),
        Mat::new(cols, g.d(), p),
        beta,
        &mut out,
    );
    out
}

/// Gradient with respect to the input of a convolution for `seeds` gradients at once:
/// `grad_out` is `seeds × C_out·P`, the result `seeds × C·H·W` (`col2im(Wᵀ · grad_out_s)`).
/// The seeds are placed side by side, so that one GEMM `Wᵀ (K×C_out) · [grad_out_1 … grad_out_S]
/// (C_out × S·P)` serves them all (a wide product runs much closer to the peak of the machine
/// than `S` narrow ones when `P` is small, as in the deep layers).
pub fn conv2d_backward_input(
    g: &ConvGeom,
    weight: &[f32],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f32> {
    assert_eq!(
        grad_out.len(),
        seeds * g.out_len(),
        "conv backward: gradient length"
    );
    let (d, p, o) = (g.d(), positions(g), g.out_c);
    let width = seeds * p;
    let mut stacked = vec![0.0f32; o * width];
    if p > 0 {
        for (s, go) in grad_out.chunks_exact(g.out_len()).enumerate() {
            for (r, row) in go.chunks_exact(p).enumerate() {
                stacked[r * width + s * p..][..p].copy_from_slice(row);
            }
        }
    }
    let mut cols = vec![0.0f32; d * width];
    gemm(
        Mat::new(weight, o, d).t(),
        Mat::new(&stacked, o, width),
        0.0,
        &mut cols,
    );
    let mut grad_in = vec![0.0f32; seeds * g.in_len()];
    if p > 0 {
        for (s, gi) in grad_in.chunks_exact_mut(g.in_len().max(1)).enumerate() {
            col2im_strided(g, &cols[s * p..], width, gi);
        }
    }
    grad_in
}

/// Gradient with respect to the weights of a convolution for `seeds` gradients at once, from the
/// patch matrix of the input: `seeds × C_out·K`, each `grad_out_s (C_out×P) · colsᵀ`.
pub fn conv2d_backward_weight(
    g: &ConvGeom,
    cols: &[f32],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f32> {
    let p = positions(g);
    assert_eq!(
        grad_out.len(),
        seeds * g.out_len(),
        "conv backward: gradient length"
    );
    let mut gw = vec![0.0f32; seeds * g.out_c * g.d()];
    // Seeds stacked as rows: (seeds·C_out × P) · (P × K).
    gemm(
        Mat::new(grad_out, seeds * g.out_c, p),
        Mat::new(cols, g.d(), p).t(),
        0.0,
        &mut gw,
    );
    gw
}

/// Gradient with respect to the input of a linear layer `y = W x + b` (`W`: `out×in`) for
/// `seeds` gradients: `grad_out` is `seeds×out`, the result `seeds×in` (`grad_out · W`).
pub fn linear_backward_input(
    weight: &[f32],
    in_f: usize,
    out_f: usize,
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f32> {
    let mut gi = vec![0.0f32; seeds * in_f];
    gemm(
        Mat::new(grad_out, seeds, out_f),
        Mat::new(weight, out_f, in_f),
        0.0,
        &mut gi,
    );
    gi
}

/// Gradient with respect to the weights of a linear layer for `seeds` gradients: `seeds ×
/// out·in`, the outer products `grad_out_s · xᵀ` with the layer input `x`.
pub fn linear_backward_weight(input: &[f32], grad_out: &[f32], seeds: usize) -> Vec<f32> {
    let in_f = input.len();
    let out_f = grad_out.len() / seeds.max(1);
    let mut gw = vec![0.0f32; seeds * out_f * in_f];
    gemm(
        Mat::new(grad_out, seeds * out_f, 1),
        Mat::new(input, 1, in_f),
        0.0,
        &mut gw,
    );
    gw
}

/// The ReLU mask `x > 0` of a layer output after the ReLU (equal to the mask of its input).
pub fn relu_mask(y: &[f32]) -> Vec<bool> {
    y.iter().map(|&v| v > 0.0).collect()
}

/// The ReLU6 mask `0 < y < 6` of a layer output after the ReLU6 (where the gradient passes, as
/// PyTorch's `hardtanh_backward`).
pub fn relu6_mask(y: &[f32]) -> Vec<bool> {
    y.iter().map(|&v| v > 0.0 && v < 6.0).collect()
}

/// ReLU backward for `seeds` gradients in place: zero where the forward input was ≤ 0
/// (PyTorch's convention at 0).
pub fn relu_backward(mask: &[bool], grad: &mut [f32]) {
    for chunk in grad.chunks_exact_mut(mask.len().max(1)) {
        for (g, &on) in chunk.iter_mut().zip(mask) {
            if !on {
                *g = 0.0;
            }
        }
    }
}

/// Max pooling of one image `C×H×W` (floor mode, padding as −∞), the same values as
/// [`crate::ops::max_pool2d`], plus for every output element the flat input index it came from
/// (the first maximum in scan order, as PyTorch).
pub fn maxpool_forward(g: &PoolGeom, input: &[f32]) -> (Vec<f32>, Vec<u32>) {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert_eq!(input.len(), g.c * g.h * g.w, "max pool: input length");
    let mut out = Vec::with_capacity(g.c * oh * ow);
    let mut arg = Vec::with_capacity(g.c * oh * ow);
    for c in 0..g.c {
        let base = c * g.h * g.w;
        for oy in 0..oh {
            for ox in 0..ow {
                let (mut best, mut at) = (f32::NEG_INFINITY, None);
                for ky in 0..g.k {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize {
                        continue;
                    }
                    for kx in 0..g.k {
                        let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                        if ix < 0 || ix >= g.w as isize {
                            continue;
                        }
                        let idx = base + iy as usize * g.w + ix as usize;
                        let v = input[idx];
                        if at.is_none() || v > best || v.is_nan() {
                            best = v;
                            at = Some(idx);
                        }
                    }
                }
                out.push(best);
                // A window entirely in the padding has no input element (only for pad ≥ k,
                // which PyTorch rejects); it routes nowhere.
                arg.push(at.map_or(u32::MAX, |i| i as u32));
            }
        }
    }
    (out, arg)
}

/// Max-pool backward for `seeds` gradients: each output gradient is added to its argmax.
pub fn maxpool_backward(g: &PoolGeom, argmax: &[u32], grad_out: &[f32], seeds: usize) -> Vec<f32> {
    let in_len = g.c * g.h * g.w;
    let out_len = argmax.len();
    assert_eq!(
        grad_out.len(),
        seeds * out_len,
        "max pool backward: gradient length"
    );
    let mut gi = vec![0.0f32; seeds * in_len];
    for (go, dst) in grad_out
        .chunks_exact(out_len.max(1))
        .zip(gi.chunks_exact_mut(in_len.max(1)))
    {
        for (&a, &v) in argmax.iter().zip(go) {
            if a != u32::MAX {
                dst[a as usize] += v;
            }
        }
    }
    gi
}

/// Average-pool backward (`count_include_pad`, floor mode) of any number of planes: `grad_out`
/// is planes × OH·OW, the result planes × H·W; each output gradient is spread as `g/k²` over
/// the window's elements inside the image.
pub fn avgpool_backward(g: &PoolGeom, grad_out: &[f32]) -> Vec<f32> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let planes = grad_out.len() / (oh * ow).max(1);
    let mut gi = vec![0.0f32; planes * g.h * g.w];
    let area = (g.k * g.k) as f32;
    for (go, dst) in grad_out
        .chunks_exact((oh * ow).max(1))
        .zip(gi.chunks_exact_mut((g.h * g.w).max(1)))
    {
        for oy in 0..oh {
            for ox in 0..ow {
                let v = go[oy * ow + ox] / area;
                for i in 0..g.k {
                    for j in 0..g.k {
                        let y = (oy * g.stride + i) as isize - g.pad as isize;
                        let x = (ox * g.stride + j) as isize - g.pad as isize;
                        if y >= 0 && x >= 0 && y < g.h as isize && x < g.w as isize {
                            dst[y as usize * g.w + x as usize] += v;
                        }
                    }
                }
            }
        }
    }
    gi
}

/// Adaptive average-pool backward of any number of planes: each output gradient is spread
/// evenly over its window (the windows of [`crate::ops::adaptive_avg_pool2d`]).
pub fn adaptive_avgpool_backward(g: &AdaptiveGeom, grad_out: &[f32]) -> Vec<f32> {
    let (h, w, out) = (g.h, g.w, g.out);
    let planes = grad_out.len() / (out * out).max(1);
    let mut gi = vec![0.0f32; planes * h * w];
    for (go, dst) in grad_out
        .chunks_exact((out * out).max(1))
        .zip(gi.chunks_exact_mut((h * w).max(1)))
    {
        for oy in 0..out {
            let (y0, y1) = (oy * h / out, ((oy + 1) * h).div_ceil(out));
            for ox in 0..out {
                let (x0, x1) = (ox * w / out, ((ox + 1) * w).div_ceil(out));
                let v = go[oy * out + ox] / ((y1 - y0) * (x1 - x0)) as f32;
                for yy in y0..y1 {
                    for d in &mut dst[yy * w + x0..yy * w + x1] {
                        *d += v;
                    }
                }
            }
        }
    }
    gi
}

/// Batch-norm (inference form, kept in float) backward in place: the gradient of channel c is
/// multiplied by `scale[c]` = γ/√(var + ε); `plane` elements per channel, any number of
/// images and seeds.
pub fn batch_norm_backward(scale: &[f32], plane: usize, grad: &mut [f32]) {
    let c = scale.len().max(1);
    for (i, plane_g) in grad.chunks_mut(plane.max(1)).enumerate() {
        let s = scale[i % c];
        for v in plane_g {
            *v *= s;
        }
    }
}

/// Squared Euclidean norm, accumulated in `f64`.
pub fn sum_sq(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

/// Dot product, accumulated in `f64`.
pub fn dot64(x: &[f32], y: &[f32]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// Squared Frobenius norms of the weight gradients `grad_out_s · colsᵀ` (one per seed) of a
/// convolution on one image, without necessarily forming them: directly (`seeds·C_out·P·K`
/// multiply-adds) or through the Gram matrix `colsᵀ·cols` (`P²K + seeds·C_out·P²`), whichever is
/// cheaper. Both agree up to rounding (tested).
pub fn conv_weight_grad_sq_norms(
    g: &ConvGeom,
    cols: &[f32],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f64> {
    let (p, d, o) = (positions(g), g.d(), g.out_c);
    if p * p * d + seeds * o * p * p < seeds * o * p * d {
        conv_weight_grad_sq_norms_gram(g, cols, grad_out, seeds)
    } else {
        conv_weight_grad_sq_norms_direct(g, cols, grad_out, seeds)
    }
}

/// [`conv_weight_grad_sq_norms`] by forming each gradient.
pub fn conv_weight_grad_sq_norms_direct(
    g: &ConvGeom,
    cols: &[f32],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f64> {
    let gw = conv2d_backward_weight(g, cols, grad_out, seeds);
    gw.chunks_exact((g.out_c * g.d()).max(1))
        .map(sum_sq)
        .collect()
}

/// [`conv_weight_grad_sq_norms`] through the Gram matrix: `‖D Xᵀ‖² = Σ (D·M) ⊙ D`, `M = XᵀX`.
pub fn conv_weight_grad_sq_norms_gram(
    g: &ConvGeom,
    cols: &[f32],
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f64> {
    let (p, d, o) = (positions(g), g.d(), g.out_c);
    let x = Mat::new(cols, d, p);
    let mut m = vec![0.0f32; p * p];
    gemm(x.t(), x, 0.0, &mut m);
    let mut dm = vec![0.0f32; seeds * o * p];
    gemm(
        Mat::new(grad_out, seeds * o, p),
        Mat::new(&m, p, p),
        0.0,
        &mut dm,
    );
    dm.chunks_exact((o * p).max(1))
        .zip(grad_out.chunks_exact((o * p).max(1)))
        .map(|(a, b)| dot64(a, b))
        .collect()
}
