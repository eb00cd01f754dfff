//! The im2col rows of a convolution work unit, written straight into the slab of B: whole
//! output rows of stride-1 convolutions by masked AVX-512 loads and stores (16 positions at a
//! time, padding as masked-off lanes), the rest through [`im2col_row`].
use crate::ops::{im2col_row, inside, ConvGeom};

/// Rows `k0..k0 + kk`, columns `c0..c1` of the im2col matrix of the batch `x` (columns: the
/// images' output positions in order), `ldb` values per row (the columns past `c1` zero).
///
/// # Safety
/// The CPU must have AVX-512F.
pub(super) unsafe fn im2col_cols(
    x: &[f32],
    g: &ConvGeom,
    (c0, c1): (usize, usize),
    (k0, kk): (usize, usize),
    ldb: usize,
    slab: &mut [f32],
) {
    let (ow, kw, plane) = (g.out_w(), g.k, g.in_h * g.in_w);
    let p = g.out_h() * ow;
    for (t, row) in slab.chunks_exact_mut(ldb).take(kk).enumerate() {
        let k = k0 + t;
        let (c, i, j) = (k / (kw * kw), (k / kw) % kw, k % kw);
        for img in c0 / p..c1.div_ceil(p) {
            let src = &x[img * g.in_len() + c * plane..][..plane];
            // This unit's positions q0..q1 of the image; whole output rows r0..r1 among them.
            let (q0, q1) = (c0.max(img * p) - img * p, c1.min(img * p + p) - img * p);
            let dst = &mut row[img * p + q0 - c0..img * p + q1 - c0];
            let (r0, r1) = (q0.div_ceil(ow), q1 / ow);
            if g.stride != 1 || r0 >= r1 {
                im2col_row(src, g, (i, j), q0, dst);
                continue;
            }
            let (head, rest) = dst.split_at_mut(r0 * ow - q0);
            let (body, tail) = rest.split_at_mut((r1 - r0) * ow);
            im2col_row(src, g, (i, j), q0, head);
            #[cfg(target_arch = "x86_64")]
            rows_stride1(src, g, (i, j), r0, body);
            #[cfg(not(target_arch = "x86_64"))]
            im2col_row(src, g, (i, j), r0 * ow, body);
            im2col_row(src, g, (i, j), r1 * ow, tail);
        }
        row[c1 - c0..].fill(0.0);
    }
}

/// Output rows `r0..` (as many as `dst` holds whole) of row (c, i, j) of a stride-1 im2col
/// matrix, from the channel's `plane`: per output row and 16 positions, one masked load (the
/// positions whose input column lies outside the image are masked off, so read as zero and
/// never addressed) and one masked store.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rows_stride1(
    plane: &[f32],
    g: &ConvGeom,
    (i, j): (usize, usize),
    r0: usize,
    dst: &mut [f32],
) {
    use std::arch::x86_64::*;
    let ow = g.out_w();
    let (lo, hi, off) = inside(ow, 1, j, g.pad, g.in_w);
    // Lanes s..s + 16 of an output row: those inside the row, those inside the image.
    let lanes = |s: usize, a: usize, b: usize| -> __mmask16 {
        let (a, b) = (a.clamp(s, s + 16) - s, b.clamp(s, s + 16) - s);
        (((1u32 << b) - 1) & !((1u32 << a) - 1)) as __mmask16
    };
    for (r, out) in dst.chunks_exact_mut(ow).enumerate() {
        let y = (r0 + r + i) as isize - g.pad as isize;
        let inside_rows = y >= 0 && y < g.in_h as isize;
        for s in (0..ow).step_by(16) {
            let v = if inside_rows {
                // Lane q reads plane[y][s + q + off], addressed only for the unmasked lanes.
                let base = plane
                    .as_ptr()
                    .wrapping_offset(y * g.in_w as isize + s as isize + off);
                _mm512_maskz_loadu_ps(lanes(s, lo, hi), base)
            } else {
                _mm512_setzero_ps()
            };
            _mm512_mask_storeu_ps(out.as_mut_ptr().add(s), lanes(s, 0, ow), v);
        }
    }
}
