//! The AVX-512F micro-kernel: one MR × (16·NV) tile of C from a packed slab of A (MR rows, k
//! major) and of B (16·NV columns of k rows), register-blocked: per k, NV vector loads of B,
//! MR broadcasts of A, MR·NV fused multiply-adds. B is read in place (rows `ldb` apart): the
//! im2col rows of a convolution, or the packed panels of a linear layer's weights.
//!
//! Numerics: every element of C is one fused multiply-add chain over k in increasing order
//! (`c = fma(a_k, b_k, c)`), continued across slabs through the tile in memory, so a result
//! depends neither on the blocking nor on the tile shape.
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// A tile routine: `(kc, a, b, ldb, c, first)` with `a` an MR-row slab (`kc·MR` values, k
/// major), `b` `kc` rows of NR columns `ldb` values apart, `c` the tile (`MR·NR` values,
/// row-major), `first` true to start the sums at zero instead of the tile's values.
pub(super) type TileFn = unsafe fn(usize, *const f32, *const f32, usize, *mut f32, bool);

/// MR × 16·NV tile: C = (first ? 0 : C) + Σ_k A\[k\]\[r\]·B\[k\]\[j\], one fma chain per element.
///
/// # Safety
/// AVX-512F must be available; `a` must hold `kc·MR` values, `b` rows `0..kc` of `ldb` values
/// (16·NV of them read), `c` `MR·16·NV` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tile<const MR: usize, const NV: usize>(
    kc: usize,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    first: bool,
) {
    let nr = 16 * NV;
    let mut acc = [[_mm512_setzero_ps(); NV]; MR];
    if !first {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(c.add(r * nr + 16 * v));
            }
        }
    }
    for k in 0..kc {
        let bk = b.add(k * ldb);
        let mut bv = [_mm512_setzero_ps(); NV];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = _mm512_loadu_ps(bk.add(16 * v));
        }
        let ak = a.add(k * MR);
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ak.add(r));
            for (x, &bx) in row.iter_mut().zip(&bv) {
                *x = _mm512_fmadd_ps(av, bx, *x);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            _mm512_storeu_ps(c.add(r * nr + 16 * v), *x);
        }
    }
}
