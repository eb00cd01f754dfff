//! The float convolution and linear layers on the blocked product ([`Tiles::product`]):
//! convolutions over ranges of output positions of the batch (the weights as A; B the im2col
//! rows of the range, slab by slab; the bias in the epilogue that writes NCHW), linear layers
//! over blocks of output features (the batch's inputs as A, so the images are the tile rows and
//! no column is padding; B the weights, packed once per layer: [`PackedB`]).
use super::driver::{PackedA, PackedB, Shape, SlabLayout, Tiles};
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
                    &a,
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

/// Linear layer of a batch: Y (n × out) = X (n × in) · Wᵀ (+ bias), with W (out × in) packed
/// as B ([`PackedB::transposed`], `nr` and `kc` of `shape`); work units of
/// [`LINEAR_UNIT_FEATURES`] output features.
///
/// # Safety
/// The CPU must run the shape's micro-kernel.
pub(super) unsafe fn linear(
    shape: Shape,
    x: &[f32],
    n: usize,
    (in_f, out_f): (usize, usize),
    w: &PackedB,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    assert_eq!(x.len(), n * in_f, "linear: input length");
    assert_eq!(
        w.panels(),
        out_f.div_ceil(shape.nr),
        "linear: packed weights"
    );
    let mut y = vec![0f32; n * out_f];
    if y.is_empty() || in_f == 0 {
        if let Some(b) = bias {
            crate::ops::add_channel_bias(&mut y, out_f, 1, b);
        }
        return y;
    }
    let a = PackedA::new(x, n, in_f, shape);
    let unit = LINEAR_UNIT_FEATURES.div_ceil(shape.nr);
    let dst = SharedOut(y.as_mut_ptr());
    (0..w.panels().div_ceil(unit))
        .into_par_iter()
        .for_each_init(Tiles::default, |t, u| {
            let (p0, p1) = (u * unit, w.panels().min((u + 1) * unit));
            // SAFETY: the caller checked the CPU.
            unsafe { t.product_packed(&a, w, (p0, p1)) };
            let (f0, f1) = (p0 * shape.nr, out_f.min(p1 * shape.nr));
            for img in 0..n {
                // SAFETY: features f0..f1 of the images belong to this unit only; `y` outlives
                // the units.
                let row = unsafe { dst.slice(img * out_f + f0, f1 - f0) };
                write_cols(t, img, row, bias.map(|b| &b[f0..f1]));
            }
        });
    y
}

/// Writes the sums of row `r`, columns `0..dst.len()`, plus the per-column `bias`, into `dst`.
fn write_cols(t: &Tiles, r: usize, dst: &mut [f32], bias: Option<&[f32]>) {
    let nr = t.nr();
    for (j, out) in dst.chunks_mut(nr).enumerate() {
        let src = t
            .row_run(r, j * nr, out.len())
            .expect("a run within one tile");
        match bias {
            Some(b) => {
                let b = &b[j * nr..j * nr + out.len()];
                for ((o, &s), &bb) in out.iter_mut().zip(src).zip(b) {
                    *o = s + bb;
                }
            }
            None => out.copy_from_slice(src),
        }
    }
}
