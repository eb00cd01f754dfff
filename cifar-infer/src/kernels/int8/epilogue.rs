//! The epilogue of the layer drivers: the exact sums of a row block, offset-corrected, turned
//! into the layer's output ([`Exact`] sums or [`Dequantize`]d floats) and written in its layout
//! (the transposed one through a staging block and 16 × 16 AVX-512 transposes).
use super::pack::PackedWeights;
use super::NR;
use fxp_core::quant::F32Leveler;
use fxp_core::Quantizer;

/// Where the layer drivers writes S(p, r): `out[p·ld + r − col0]`, or transposed `out[(r − col0)·ld + p]`.
#[derive(Clone, Copy)]
pub(super) struct OutLayout {
    pub(super) ld: usize,
    pub(super) col0: usize,
    pub(super) transposed: bool,
}

/// Writes `emit`'s values of S − correction for the kernel output `sums` (layout c[b][p][o])
/// of row blocks `b0..b1` where `lay` says. The values are made a position at a time over
/// consecutive rows (vectorised), the transposed layout through a staging block.
// Allowed: bundling these arguments in a struct made the B = 8 layers 6 % slower (measured
// in the performance work); kept separate, they stay in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn write_sums<S: Copy + Into<i64>, T: Staged>(
    sums: &[S],
    n: usize,
    pw: &PackedWeights,
    b0: usize,
    b1: usize,
    out: &mut [T],
    lay: OutLayout,
    emit: &impl Emit<T>,
) {
    /// Positions per pass of the transposed write: their staged values stay in L1.
    const PC: usize = 32;
    for b in b0..b1 {
        let r0 = b * NR;
        let rmax = (pw.rows - r0).min(NR);
        let corr = &pw.correction[r0..r0 + rmax];
        let blk = &sums[(b - b0) * n * NR..][..n * NR];
        if lay.transposed {
            let mut stage = [T::default(); PC * NR];
            for p0 in (0..n).step_by(PC) {
                let p1 = (p0 + PC).min(n);
                for (p, st) in (p0..p1).zip(stage.chunks_exact_mut(NR)) {
                    emit.row(&blk[p * NR..][..rmax], corr, r0, &mut st[..rmax]);
                }
                let first = (r0 - lay.col0) * lay.ld + p0;
                T::unstage(&stage, p1 - p0, rmax, &mut out[first..], lay.ld);
            }
        } else {
            for p in 0..n {
                let dst = &mut out[p * lay.ld + r0 - lay.col0..][..rmax];
                emit.row(&blk[p * NR..][..rmax], corr, r0, dst);
            }
        }
    }
}

/// An output value type: copies a staging block (`np` positions × `rows` rows at a stride of
/// 64) transposed into `dst` (row o at `o·ld`).
pub(crate) trait Staged: Copy + Default {
    /// `dst[o·ld + j] = stage[j·64 + o]` for j < np, o < rows.
    fn unstage(stage: &[Self], np: usize, rows: usize, dst: &mut [Self], ld: usize) {
        for o in 0..rows {
            for (d, st) in dst[o * ld..][..np].iter_mut().zip(stage.chunks_exact(NR)) {
                *d = st[o];
            }
        }
    }
}

impl Staged for i64 {}

impl Staged for u8 {}

impl Staged for u16 {}

impl Staged for f32 {
    /// Full 16 × 16 tiles through [`transpose16`] on AVX-512 CPUs, the edges one by one.
    fn unstage(stage: &[f32], np: usize, rows: usize, dst: &mut [f32], ld: usize) {
        #[cfg(target_arch = "x86_64")]
        if super::cpu::detected_level() >= super::SimdLevel::Avx512Vnni {
            let (np16, rows16) = (np / 16 * 16, rows / 16 * 16);
            assert!(stage.len() >= np * NR && dst.len() >= (rows.max(1) - 1) * ld + np);
            for o in (0..rows16).step_by(16) {
                for j in (0..np16).step_by(16) {
                    // SAFETY: AVX-512 F was detected; the tile's 16 source rows (j..j+16 at
                    // stride 64, 16 values from o) and 16 destination rows (o..o+16 at
                    // stride ld, 16 values from j) lie inside the slices (checked above).
                    unsafe {
                        transpose16(
                            stage.as_ptr().add(j * NR + o),
                            NR,
                            dst.as_mut_ptr().add(o * ld + j),
                            ld,
                        )
                    };
                }
                for o in o..o + 16 {
                    for j in np16..np {
                        dst[o * ld + j] = stage[j * NR + o];
                    }
                }
            }
            for o in rows16..rows {
                for j in 0..np {
                    dst[o * ld + j] = stage[j * NR + o];
                }
            }
            return;
        }
        for o in 0..rows {
            for (d, st) in dst[o * ld..][..np].iter_mut().zip(stage.chunks_exact(NR)) {
                *d = st[o];
            }
        }
    }
}

/// Transposes the 16 × 16 tile of 32-bit values at `src` (row stride `ss`) into `dst` (row
/// stride `ds`): four rounds of unpacks and 128-bit lane shuffles.
///
/// # Safety
/// AVX-512 F present; 16 rows of 16 values readable at `src`, writable at `dst`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose16(src: *const f32, ss: usize, dst: *mut f32, ds: usize) {
    use std::arch::x86_64::*;
    let r: [__m512i; 16] = std::array::from_fn(|i| _mm512_loadu_si512(src.add(i * ss) as *const _));
    // Rows 2i, 2i+1 interleaved by 32 bits, then rows of a group of 4 by 64 bits: u[4g + m]
    // holds, in 128-bit lane L, column 4L + m of rows 4g..4g+4.
    let t: [__m512i; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_epi32(a, b)
        } else {
            _mm512_unpackhi_epi32(a, b)
        }
    });
    let u: [__m512i; 16] = std::array::from_fn(|i| {
        let (g, m) = (i / 4, i % 4);
        let (a, b) = (t[4 * g + (m >> 1)], t[4 * g + 2 + (m >> 1)]);
        if m % 2 == 0 {
            _mm512_unpacklo_epi64(a, b)
        } else {
            _mm512_unpackhi_epi64(a, b)
        }
    });
    for m in 0..4 {
        // Groups 0,1 and 2,3: lanes (0, 2) give columns m and 8 + m, lanes (1, 3) 4 + m, 12 + m.
        let lo01 = _mm512_shuffle_i32x4::<0x88>(u[m], u[4 + m]);
        let hi01 = _mm512_shuffle_i32x4::<0xdd>(u[m], u[4 + m]);
        let lo23 = _mm512_shuffle_i32x4::<0x88>(u[8 + m], u[12 + m]);
        let hi23 = _mm512_shuffle_i32x4::<0xdd>(u[8 + m], u[12 + m]);
        let cols = [
            (m, _mm512_shuffle_i32x4::<0x88>(lo01, lo23)),
            (8 + m, _mm512_shuffle_i32x4::<0xdd>(lo01, lo23)),
            (4 + m, _mm512_shuffle_i32x4::<0x88>(hi01, hi23)),
            (12 + m, _mm512_shuffle_i32x4::<0xdd>(hi01, hi23)),
        ];
        for (c, v) in cols {
            _mm512_storeu_si512(dst.add(c * ds) as *mut _, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstage_transposes_every_tile_and_edge() {
        // 37 positions × 50 rows: full tiles, a partial column and a partial row of tiles.
        let (np, rows, ld) = (37, 50, 41);
        let stage: Vec<f32> = (0..np * NR).map(|i| i as f32).collect();
        let mut dst = vec![-1.0f32; rows * ld];
        f32::unstage(&stage, np, rows, &mut dst, ld);
        for o in 0..rows {
            for j in 0..np {
                assert_eq!(dst[o * ld + j], stage[j * NR + o], "row {o}, position {j}");
            }
            assert!(dst[o * ld + np..(o + 1) * ld].iter().all(|&v| v == -1.0));
        }
    }
}

/// What a layer driver writes for its exact sums.
pub(crate) trait Emit<T>: Sync {
    /// `out[o]` = the value of the sum `sums[o] − corr[o]` of row `r0 + o`, for every o.
    fn row<S: Copy + Into<i64>>(&self, sums: &[S], corr: &[i64], r0: usize, out: &mut [T]);
}

/// The exact sums themselves.
pub(super) struct Exact;

impl Emit<i64> for Exact {
    #[inline(always)]
    fn row<S: Copy + Into<i64>>(&self, sums: &[S], corr: &[i64], _r0: usize, out: &mut [i64]) {
        for ((d, &s), &c) in out.iter_mut().zip(sums).zip(corr) {
            *d = s.into() - c;
        }
    }
}

/// y = (S·scale + bias) rounded once to f32, with S the exact integer sum: the dequantizing
/// output of a layer.
#[derive(Clone, Copy)]
pub struct Dequantize<'a> {
    /// Δ_A·Δ_W.
    pub scale: f64,
    /// Per-row bias (float), if any.
    pub bias: Option<&'a [f32]>,
}

impl Dequantize<'_> {
    /// `out[o] = f(y)` for the value y of each row's sum: (S·scale + bias) in f64, rounded once
    /// to f32; the same operations in the same order for every row (no fused multiply-add), so
    /// vectorising them changes no bit.
    #[inline(always)]
    fn map_row<S: Copy + Into<i64>, T>(
        &self,
        sums: &[S],
        corr: &[i64],
        r0: usize,
        out: &mut [T],
        f: impl Fn(f32) -> T,
    ) {
        let scale = self.scale;
        match self.bias {
            Some(bias) => {
                let bias = &bias[r0..r0 + out.len()];
                for (((d, &s), &c), &b) in out.iter_mut().zip(sums).zip(corr).zip(bias) {
                    *d = f(((s.into() - c) as f64 * scale + b as f64) as f32);
                }
            }
            None => {
                for ((d, &s), &c) in out.iter_mut().zip(sums).zip(corr) {
                    *d = f(((s.into() - c) as f64 * scale + 0.0) as f32);
                }
            }
        }
    }
}

impl Emit<f32> for Dequantize<'_> {
    #[inline(always)]
    fn row<S: Copy + Into<i64>>(&self, sums: &[S], corr: &[i64], r0: usize, out: &mut [f32]) {
        self.map_row(sums, corr, r0, out, |y| y);
    }
}

/// The input codes of the next layer: `next`'s offset code of the [`Dequantize`]d value (the same
/// f32 value, quantized as that layer quantizes its float input), one byte each up to 8 bits,
/// two up to 16.
#[derive(Clone, Copy)]
pub struct Requantize<'a> {
    de: Dequantize<'a>,
    next: &'a Quantizer,
    leveler: Option<F32Leveler>,
    offset: i32,
}

impl<'a> Requantize<'a> {
    /// `de`'s values quantized by `next` (at most 16 bits), offset as the integer kernel takes
    /// them: 2^(B−1) for a signed quantizer, 0 for an unsigned one.
    pub fn new(de: Dequantize<'a>, next: &'a Quantizer) -> Self {
        debug_assert!(next.bits() <= super::MAX_BITS);
        Self {
            de,
            next,
            leveler: next.f32_leveler(),
            offset: super::pack::act_offset(next) as i32,
        }
    }

    /// The [`Dequantize`]d f32 values of the row, then their codes, `cast` to the code type:
    /// `F32Leveler::level` equals `Quantizer::level` of the value, so these are the codes the
    /// next layer would make.
    #[inline(always)]
    fn codes<S: Copy + Into<i64>, T>(
        &self,
        sums: &[S],
        corr: &[i64],
        r0: usize,
        out: &mut [T],
        cast: impl Fn(i32) -> T,
    ) {
        let o = self.offset;
        match self.leveler {
            Some(lv) => self
                .de
                .map_row(sums, corr, r0, out, |y| cast(lv.level(y) + o)),
            None => self.de.map_row(sums, corr, r0, out, |y| {
                cast((self.next.level(y as f64) + o as i64) as i32)
            }),
        }
    }
}

impl Emit<u8> for Requantize<'_> {
    #[inline(always)]
    fn row<S: Copy + Into<i64>>(&self, sums: &[S], corr: &[i64], r0: usize, out: &mut [u8]) {
        self.codes(sums, corr, r0, out, |k| k as u8);
    }
}

impl Emit<u16> for Requantize<'_> {
    #[inline(always)]
    fn row<S: Copy + Into<i64>>(&self, sums: &[S], corr: &[i64], r0: usize, out: &mut [u16]) {
        self.codes(sums, corr, r0, out, |k| k as u16);
    }
}
