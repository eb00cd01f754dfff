//! The float convolution and linear layers on the blocked product ([`Tiles::product`]):
//! convolutions over ranges of output positions of the batch (the weights as A; B the im2col
//! rows of the range, slab by slab; the bias in the epilogue that writes NCHW), linear layers
//! over blocks of output features (the weights as A, read in place; B the batch's inputs, packed
//! slab by slab).
use super::driver::{PackedA, Shape, SlabLayout, Tiles, A};
use super::im2col::im2col_cols;
use crate::ops::ConvGeom;
use rayon::prelude::*;

/// Columns (output positions of the batch's images side by side) per convolution work unit:
/// the slab of B (128 inputs × 256 columns, 128 KiB) stays in L2; a unit's columns may span
/// images, so only the batch's last tile has padding columns.
const CONV_UNIT_COLS: usize = 256;

/// Output features per linear work unit.
const LINEAR_UNIT_FEATURES: usize = 256;

/// Convolution of `n` NCHW images with weights O × C·k·k (row-major) and an optional bias.
///
/// # Safety
/// The CPU must run the shapes' micro-kernels.
pub(super) unsafe fn conv2d(
    shape: Shape,
    x: &[f32],
    n: usize,
    g: &ConvGeom,
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let (p, o, d) = (g.out_h() * g.out_w(), g.out_c, g.d());
    let (in_len, out_len) = (g.in_len(), g.out_len());
    assert_eq!(x.len(), n * in_len, "conv2d: input length");
    assert_eq!(weight.len(), o * d, "conv2d: weight length");
    let mut out = vec![0f32; n * out_len];
    if out.is_empty() || d == 0 {
        if let Some(b) = bias {
            crate::ops::add_channel_bias(&mut out, o, p, b);
        }
        return out;
    }
    let a = PackedA::new(weight, o, d, shape);
    let cols = n * p;
    let unit = CONV_UNIT_COLS.next_multiple_of(shape.nr);
    let dst = SharedOut(out.as_mut_ptr());
    (0..cols.div_ceil(unit))
        .into_par_iter()
        .for_each_init(Tiles::default, |t, u| {
            let (c0, c1) = (u * unit, cols.min((u + 1) * unit));
            // One cache line more than the tiles' columns: with rows a power of two of bytes
            // apart, a B panel's rows would share a few L1 sets and not stay in L1.
            let ldb = (c1 - c0).next_multiple_of(shape.nr) + 16;
            // SAFETY: the caller checked the CPU (AVX-512F: the tiles and the im2col rows).
            unsafe {
                t.product(
                    A::Packed(&a),
                    c1 - c0,
                    |kk| kk * ldb,
                    |k0, kk, slab| {
                        im2col_cols(x, g, (c0, c1), (k0, kk), ldb, slab);
                        SlabLayout {
                            ldb,
                            panel: shape.nr,
                        }
                    },
                )
            };
            for img in c0 / p..c1.div_ceil(p) {
                let (p0, p1) = (c0.max(img * p) - img * p, c1.min(img * p + p) - img * p);
                for oc in 0..o {
                    // SAFETY: positions p0..p1 of image `img` are columns c0..c1 of this unit
                    // only: the units write disjoint parts of `out`, which outlives them.
                    let row = unsafe { dst.slice((img * o + oc) * p + p0, p1 - p0) };
                    write_row(t, oc, img * p + p0 - c0, row, bias.map(|b| b[oc]));
                }
            }
        });
    out
}

/// The output buffer of a layer, written by work units in disjoint parts.
struct SharedOut(*mut f32);

// SAFETY: the units write disjoint ranges (see `SharedOut::slice`'s callers).
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// `len` values from `start`.
    ///
    /// # Safety
    /// The range must lie in the buffer, which must outlive the slice, and no other slice of
    /// it may overlap the range while this one lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(start), len)
    }
}

/// Writes the sums of row `r`, columns `j0..j0 + dst.len()`, plus `bias`, into `dst`.
fn write_row(t: &Tiles, r: usize, j0: usize, dst: &mut [f32], bias: Option<f32>) {
    let nr = t.nr();
    let mut j = 0;
    while j < dst.len() {
        let len = (nr - (j0 + j) % nr).min(dst.len() - j);
        let src = t.row_run(r, j0 + j, len).expect("a run within one tile");
        let out = &mut dst[j..j + len];
        match bias {
            Some(b) => out.iter_mut().zip(src).for_each(|(o, &s)| *o = s + b),
            None => out.copy_from_slice(src),
        }
        j += len;
    }
}

/// Linear layer of a batch: Y (n × out) = X (n × in) · Wᵀ (+ bias), W out × in row-major,
/// computed as Yᵀ = W · Xᵀ with W read in place (no copy of the network's largest weights) and
/// Xᵀ packed slab by slab; work units of [`LINEAR_UNIT_FEATURES`] output features.
///
/// # Safety
/// The CPU must run the shape's micro-kernels.
pub(super) unsafe fn linear(
    shape: Shape,
    x: &[f32],
    n: usize,
    (in_f, out_f): (usize, usize),
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    assert_eq!(x.len(), n * in_f, "linear: input length");
    assert_eq!(weight.len(), out_f * in_f, "linear: weight length");
    let mut y = vec![0f32; n * out_f];
    if y.is_empty() || in_f == 0 {
        if let Some(b) = bias {
            crate::ops::add_channel_bias(&mut y, out_f, 1, b);
        }
        return y;
    }
    let panels = n.div_ceil(shape.nr);
    let units: Vec<Vec<f32>> = (0..out_f.div_ceil(LINEAR_UNIT_FEATURES))
        .into_par_iter()
        .map_init(Tiles::default, |t, u| {
            let f0 = u * LINEAR_UNIT_FEATURES;
            let m = LINEAR_UNIT_FEATURES.min(out_f - f0);
            let a = A::Rows {
                a: &weight[f0 * in_f..(f0 + m) * in_f],
                rows: m,
                d: in_f,
                shape,
            };
            // SAFETY: the caller checked the CPU.
            unsafe {
                t.product(
                    a,
                    n,
                    |kk| panels * kk * shape.nr,
                    |k0, kk, slab| {
                        pack_transposed(x, n, in_f, (k0, kk), shape.nr, slab);
                        SlabLayout {
                            ldb: shape.nr,
                            panel: kk * shape.nr,
                        }
                    },
                )
            };
            // Yᵀ rows: feature f0 + r over the images.
            let mut yu = vec![0f32; m * n];
            for (r, row) in yu.chunks_exact_mut(n).enumerate() {
                write_row(t, r, 0, row, bias.map(|b| b[f0 + r]));
            }
            yu
        })
        .collect();
    for (u, yu) in units.iter().enumerate() {
        let f0 = u * LINEAR_UNIT_FEATURES;
        for (r, row) in yu.chunks_exact(n).enumerate() {
            for (img, &v) in row.iter().enumerate() {
                y[img * out_f + f0 + r] = v;
            }
        }
    }
    y
}

/// Packs inputs `k0..k0 + kk` of the transpose of `w` (`m` rows of `d` values) into NR-column
/// panels: value (k0 + t, j) = w\[j\]\[k0 + t\].
fn pack_transposed(
    w: &[f32],
    m: usize,
    d: usize,
    (k0, kk): (usize, usize),
    nr: usize,
    slab: &mut [f32],
) {
    for j in 0..m {
        let dst = &mut slab[(j / nr) * kk * nr + j % nr..];
        for (t, &v) in w[j * d + k0..][..kk].iter().enumerate() {
            dst[t * nr] = v;
        }
    }
}
