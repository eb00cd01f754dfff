//! Integer kernel path: u8 × i8 products accumulated in i32, for B_A ≤ 16 and B_W ≤ 16.
//!
//! **Codes.** Unsigned activation codes k_a ∈ [0, 2^B_A − 1] are used as they are; signed ones
//! (the image) are offset by o = 2^(B_A−1) into [0, 2^B_A − 1], and the offset is removed exactly
//! at the end: Σ k_a·k_w = Σ (k_a + o)·k_w − o·Σ k_w. Weight codes lie in [−2^(B_W−1), 2^(B_W−1) − 1].
//!
//! **Digits.** For B ≤ 8 a code is a single u8 (activation) or i8 (weight) digit. For 8 < B ≤ 16
//! it is split into base-256 digits: activations k = 256·hi + lo with hi, lo ∈ [0, 255];
//! weights in balanced form k = Σ_j 256^j·w_j with w_j ∈ [−128, 127] (two digits up to 15 bits,
//! three at 16 bits). Then Σ k_a·k_w = Σ_{i,j} 256^(i+j) · S_ij with S_ij = Σ a_i·w_j, one u8×i8
//! dot product per digit pair (1 to 6 of them).
//!
//! **Exactness.** |a_i·w_j| ≤ 255·128, so a dot product of D ≤ 65,536 terms stays below 2^31 and
//! every S_ij is exact in i32; the digit sums are combined in i64 (|S| < 2^56). The results are
//! the exact integer dot products, identical for every kernel.
//!
//! **Kernels.** AVX-512 VNNI (`vpdpbusd`: 64 multiply-accumulates per instruction) when the CPU
//! has it (run-time detection), with weights packed once per precision in the VNNI layout
//! (blocks of 64 output rows × groups of 4 inputs) and a 4 × 64 register-blocked micro-kernel;
//! otherwise a portable scalar loop over the same layout.
#![allow(clippy::incompatible_msrv)]
use crate::error::{InferError, Result};
use crate::ops::ConvGeom;
use fxp_core::{Quantizer, Signedness};
use rayon::prelude::*;

/// Output rows per packed block (4 AVX-512 registers of 16 i32 lanes).
const NR: usize = 64;
/// Positions per micro-kernel call.
const MR: usize = 4;
/// Largest precision of the integer path.
pub const MAX_BITS: u32 = 16;

/// The SIMD level the integer kernel uses on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimdLevel {
    /// AVX-512 F/BW + VNNI.
    Avx512Vnni,
    /// Portable scalar code.
    Portable,
}

/// The best kernel this CPU supports.
pub fn simd_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vnni")
        {
            return SimdLevel::Avx512Vnni;
        }
    }
    SimdLevel::Portable
}

/// Whether the integer path applies to a layer (B_A ≤ 16, B_W ≤ 16, signed weights, D ≤ 65,536)
/// *and* is fast on this CPU (a SIMD kernel exists).
pub fn applies(act: &Quantizer, weight: &Quantizer, d: usize) -> bool {
    act.bits() <= MAX_BITS
        && weight.bits() <= MAX_BITS
        && weight.signedness() == Signedness::Signed
        && d <= 1 << 16
        && simd_level() != SimdLevel::Portable
}

fn act_offset(act: &Quantizer) -> i64 {
    match act.signedness() {
        Signedness::Signed => -act.min_level(),
        Signedness::Unsigned => 0,
    }
}

/// Base-256 digits of an unsigned activation code of `bits` bits.
fn act_digits_of(bits: u32) -> usize {
    bits.div_ceil(8) as usize
}

/// Balanced base-256 digits (each in [−128, 127]) of a signed code of `bits` bits: one up to 8
/// bits, two up to 15 bits, three for 16 bits (2^15 − 1 = 256·128 − 1 needs a third digit).
fn weight_digits_of(bits: u32) -> usize {
    match bits {
        0..=8 => 1,
        9..=15 => 2,
        _ => 3,
    }
}

/// Offset activation codes k_a + o (in [0, 2^B_A − 1]) of a buffer.
pub fn activation_codes_u16(act: &Quantizer, x: &[f32]) -> Vec<u16> {
    let o = act_offset(act);
    let mut out = vec![0u16; x.len()];
    out.par_chunks_mut(8192)
        .zip(x.par_chunks(8192))
        .for_each(|(c, x)| {
            for (c, &v) in c.iter_mut().zip(x) {
                *c = (act.level(v as f64) + o) as u16;
            }
        });
    out
}

/// Weight codes of a layer packed for the kernel (once per precision).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedWeights {
    /// Output rows (channels or features).
    pub rows: usize,
    /// Dot-product length D.
    pub d: usize,
    /// D padded to a multiple of 4.
    pub kp: usize,
    /// Rows padded to a multiple of 64.
    pub rows_pad: usize,
    /// Offset o of the activation codes (2^(B_A−1) for signed activations, else 0).
    pub offset: i64,
    /// Number of activation digits (1 or 2).
    pub act_digits: usize,
    /// One packed i8 matrix per weight digit, least significant first.
    digits: Vec<Vec<i8>>,
    /// o·Σ_j k_w of each row.
    correction: Vec<i64>,
}

impl PackedWeights {
    /// Packs `codes` (rows × d, row-major, signed weight codes) for activations quantized by `act`.
    pub fn new(
        codes: &[i64],
        rows: usize,
        d: usize,
        act: &Quantizer,
        weight: &Quantizer,
    ) -> Result<Self> {
        if codes.len() != rows * d {
            return Err(InferError::Invalid("integer pack: code count".into()));
        }
        if act.bits() > MAX_BITS || weight.bits() > MAX_BITS || d > 1 << 16 {
            return Err(InferError::Invalid(format!(
                "integer path needs B_A, B_W ≤ 16 and D ≤ 65536 (B_A = {}, B_W = {}, D = {d})",
                act.bits(),
                weight.bits()
            )));
        }
        let kp = d.div_ceil(4) * 4;
        let rows_pad = rows.div_ceil(NR) * NR;
        let wd = weight_digits_of(weight.bits());
        let mut digits = vec![vec![0i8; rows_pad * kp]; wd];
        for r in 0..rows {
            for k in 0..d {
                let c = codes[r * d + k];
                // Balanced base-256 digits: c = Σ_j 256^j·d_j with d_j ∈ [−128, 127].
                let idx = packed_index(r, k, kp);
                let mut rest = c;
                for digit in digits.iter_mut() {
                    let lo = (rest + 128).rem_euclid(256) - 128;
                    digit[idx] = lo as i8;
                    rest = (rest - lo) / 256;
                }
                if rest != 0 {
                    return Err(InferError::Invalid(format!(
                        "weight code {c} does not fit {} bits",
                        weight.bits()
                    )));
                }
            }
        }
        let o = act_offset(act);
        let correction = (0..rows)
            .map(|r| o * codes[r * d..(r + 1) * d].iter().sum::<i64>())
            .collect();
        Ok(Self {
            rows,
            d,
            kp,
            rows_pad,
            offset: o,
            act_digits: act_digits_of(act.bits()),
            digits,
            correction,
        })
    }
}

/// Position of weight (row r, input k) in the VNNI layout: blocks of 64 rows, then groups of 4
/// inputs, then the 64 rows × 4 bytes of the group.
fn packed_index(r: usize, k: usize, kp: usize) -> usize {
    (r / NR) * NR * kp + (k / 4) * NR * 4 + (r % NR) * 4 + k % 4
}

/// c[b][p][o] (b = row block of 64, o < 64) = Σ_k a[p][k]·w[b·64 + o][k] for `n` activation
/// rows of `kp` bytes and row blocks `b0..b1`; `c` holds (b1 − b0)·n·64 values.
type Kernel = fn(&[u8], usize, usize, &[i8], usize, usize, &mut [i32]);

fn gemm_portable(a: &[u8], n: usize, kp: usize, w: &[i8], b0: usize, b1: usize, c: &mut [i32]) {
    assert!(a.len() >= n * kp && c.len() >= (b1 - b0) * n * NR && w.len() >= b1 * NR * kp);
    for b in b0..b1 {
        let panel = &w[b * NR * kp..(b + 1) * NR * kp];
        for p in 0..n {
            let row = &a[p * kp..(p + 1) * kp];
            let out = &mut c[((b - b0) * n + p) * NR..][..NR];
            out.fill(0);
            for (g, quad) in row.chunks_exact(4).enumerate() {
                let wg = &panel[g * NR * 4..(g + 1) * NR * 4];
                for (o, acc) in out.iter_mut().enumerate() {
                    for t in 0..4 {
                        *acc += quad[t] as i32 * wg[o * 4 + t] as i32;
                    }
                }
            }
        }
    }
}

fn gemm_best(a: &[u8], n: usize, kp: usize, w: &[i8], b0: usize, b1: usize, c: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if simd_level() == SimdLevel::Avx512Vnni {
        assert!(
            a.len() >= n * kp
                && c.len() >= (b1 - b0) * n * NR
                && w.len() >= b1 * NR * kp
                && kp.is_multiple_of(4)
        );
        // SAFETY: the CPU features were detected at run time and the bounds checked above.
        unsafe { vnni::gemm(a, n, kp, w, b0, b1, c) };
        return;
    }
    gemm_portable(a, n, kp, w, b0, b1, c)
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{MR, NR};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn gemm(
        a: &[u8],
        n: usize,
        kp: usize,
        w: &[i8],
        b0: usize,
        b1: usize,
        c: &mut [i32],
    ) {
        for b in b0..b1 {
            let panel = w.as_ptr().add(b * NR * kp);
            let mut p = 0;
            while p < n {
                let out = c.as_mut_ptr().add(((b - b0) * n + p) * NR);
                let ap = a.as_ptr().add(p * kp);
                match n - p {
                    1 => block::<1>(ap, kp, panel, out),
                    2 => block::<2>(ap, kp, panel, out),
                    3 => block::<3>(ap, kp, panel, out),
                    _ => block::<MR>(ap, kp, panel, out),
                }
                p += MR;
            }
        }
    }

    /// M positions × 64 rows: per group of 4 inputs, 4 weight loads, M broadcasts, 4·M vpdpbusd.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    #[inline]
    unsafe fn block<const M: usize>(a: *const u8, kp: usize, panel: *const i8, out: *mut i32) {
        let mut acc = [[_mm512_setzero_si512(); 4]; M];
        let mut k = 0;
        while k < kp {
            let wp = panel.add(k * NR);
            let w0 = _mm512_loadu_si512(wp as *const _);
            let w1 = _mm512_loadu_si512(wp.add(64) as *const _);
            let w2 = _mm512_loadu_si512(wp.add(128) as *const _);
            let w3 = _mm512_loadu_si512(wp.add(192) as *const _);
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_epi32((a.add(i * kp + k) as *const i32).read_unaligned());
                row[0] = _mm512_dpbusd_epi32(row[0], av, w0);
                row[1] = _mm512_dpbusd_epi32(row[1], av, w1);
                row[2] = _mm512_dpbusd_epi32(row[2], av, w2);
                row[3] = _mm512_dpbusd_epi32(row[3], av, w3);
            }
            k += 4;
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                _mm512_storeu_si512(out.add(i * NR + j * 16) as *mut _, *v);
            }
        }
    }
}

/// Reusable buffers of [`dot_rows`].
#[derive(Default)]
struct Scratch {
    acc: Vec<i32>,
    total: Vec<i64>,
    digit: Vec<u8>,
}

/// Activation rows for [`dot_rows`]: single u8 digits, or u16 codes split into digits there.
#[derive(Clone, Copy)]
enum Rows<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
}

/// Where [`dot_rows`] writes S(p, r): `out[p·ld + r − col0]`, or transposed `out[(r − col0)·ld + p]`.
#[derive(Clone, Copy)]
struct OutLayout {
    ld: usize,
    col0: usize,
    transposed: bool,
}

/// Exact sums of one batch of activation rows: `codes` is n rows of `kp` offset codes (u16);
/// computes S(p, r) = Σ_k k_a·k_w (offset removed) for the rows of blocks `b0..b1`.
#[allow(clippy::too_many_arguments)]
fn dot_rows(
    codes: Rows<'_>,
    n: usize,
    pw: &PackedWeights,
    kernel: Kernel,
    b0: usize,
    b1: usize,
    out: &mut [i64],
    lay: OutLayout,
    sc: &mut Scratch,
) {
    let kp = pw.kp;
    let len = (b1 - b0) * n * NR;
    sc.acc.resize(len, 0);
    let single = pw.act_digits == 1 && pw.digits.len() == 1;
    if !single {
        sc.total.clear();
        sc.total.resize(len, 0);
    }
    for ai in 0..pw.act_digits {
        let digit: &[u8] = match codes {
            Rows::U8(d) => d,
            Rows::U16(c) => {
                sc.digit.resize(n * kp, 0);
                for (d, v) in sc.digit.iter_mut().zip(c) {
                    *d = (v >> (8 * ai)) as u8;
                }
                &sc.digit
            }
        };
        for (wj, w) in pw.digits.iter().enumerate() {
            kernel(digit, n, kp, w, b0, b1, &mut sc.acc);
            if !single {
                let shift = 8 * (ai + wj);
                for (t, &s) in sc.total.iter_mut().zip(&sc.acc) {
                    *t += (s as i64) << shift;
                }
            }
        }
    }
    let get = |i: usize| {
        if single {
            sc.acc[i] as i64
        } else {
            sc.total[i]
        }
    };
    for b in b0..b1 {
        let rmax = (pw.rows - b * NR).min(NR);
        let base = (b - b0) * n * NR;
        if lay.transposed {
            // Contiguous writes along positions.
            for o in 0..rmax {
                let r = b * NR + o;
                let dst = &mut out[(r - lay.col0) * lay.ld..][..n];
                for (p, d) in dst.iter_mut().enumerate() {
                    *d = get(base + p * NR + o) - pw.correction[r];
                }
            }
        } else {
            for p in 0..n {
                let dst = &mut out[p * lay.ld + b * NR - lay.col0..][..rmax];
                for (o, d) in dst.iter_mut().enumerate() {
                    *d = get(base + p * NR + o) - pw.correction[b * NR + o];
                }
            }
        }
    }
}

/// Unfolds one image of codes into rows of patches: row p (an output position) holds the
/// D = C·k·k inputs of that position in (c, i, j) order, then zeros up to `kp`. Positions in the
/// zero padding of the image hold `pad` (the code of the value 0).
pub fn im2row<T: Copy + Default>(x: &[T], g: &ConvGeom, kp: usize, pad: T, rows: &mut [T]) {
    let (oh, ow) = (g.out_h(), g.out_w());
    assert!(rows.len() >= oh * ow * kp && x.len() >= g.in_len());
    let k = g.k;
    for oy in 0..oh {
        for ox in 0..ow {
            let row = &mut rows[(oy * ow + ox) * kp..][..kp];
            let x0 = (ox * g.stride) as isize - g.pad as isize;
            let inside_x = x0 >= 0 && x0 as usize + k <= g.in_w;
            let mut t = 0;
            for c in 0..g.in_c {
                for i in 0..k {
                    let y = (oy * g.stride + i) as isize - g.pad as isize;
                    let dst = &mut row[t..t + k];
                    t += k;
                    if y < 0 || y >= g.in_h as isize {
                        dst.fill(pad);
                        continue;
                    }
                    let line = &x[(c * g.in_h + y as usize) * g.in_w..][..g.in_w];
                    if inside_x {
                        dst.copy_from_slice(&line[x0 as usize..x0 as usize + k]);
                    } else {
                        for (j, d) in dst.iter_mut().enumerate() {
                            let xx = x0 + j as isize;
                            *d = if xx < 0 || xx >= g.in_w as isize {
                                pad
                            } else {
                                line[xx as usize]
                            };
                        }
                    }
                }
            }
            row[t..].fill(T::default());
        }
    }
}

/// Exact integer sums Σ k_a·k_w of a convolution on a batch of offset codes (images in
/// parallel): n × O × OH × OW, NCHW.
pub fn conv2d(codes: &[u16], n: usize, g: &ConvGeom, pw: &PackedWeights) -> Vec<i64> {
    conv2d_with(codes, n, g, pw, gemm_best)
}

/// [`conv2d`] with the portable kernel.
pub fn conv2d_portable(codes: &[u16], n: usize, g: &ConvGeom, pw: &PackedWeights) -> Vec<i64> {
    conv2d_with(codes, n, g, pw, gemm_portable)
}

fn conv2d_with(
    codes: &[u16],
    n: usize,
    g: &ConvGeom,
    pw: &PackedWeights,
    kernel: Kernel,
) -> Vec<i64> {
    assert_eq!(codes.len(), n * g.in_len());
    assert_eq!((pw.rows, pw.d), (g.out_c, g.d()));
    let hw = g.out_h() * g.out_w();
    let pad = pw.offset as u16;
    let mut out = vec![0i64; n * g.out_len()];
    let lay = OutLayout {
        ld: hw,
        col0: 0,
        transposed: true,
    };
    let blocks = pw.rows_pad / NR;
    if pw.act_digits == 1 {
        out.par_chunks_mut(g.out_len().max(1))
            .zip(codes.par_chunks(g.in_len().max(1)))
            .for_each_init(
                || {
                    (
                        vec![0u8; g.in_len()],
                        vec![0u8; hw * pw.kp],
                        Scratch::default(),
                    )
                },
                |(x8, rows, sc), (y, xi)| {
                    for (a, &b) in x8.iter_mut().zip(xi) {
                        *a = b as u8;
                    }
                    im2row(x8, g, pw.kp, pad as u8, rows);
                    dot_rows(Rows::U8(rows), hw, pw, kernel, 0, blocks, y, lay, sc);
                },
            );
    } else {
        out.par_chunks_mut(g.out_len().max(1))
            .zip(codes.par_chunks(g.in_len().max(1)))
            .for_each_init(
                || (vec![0u16; hw * pw.kp], Scratch::default()),
                |(rows, sc), (y, xi)| {
                    im2row(xi, g, pw.kp, pad, rows);
                    dot_rows(Rows::U16(rows), hw, pw, kernel, 0, blocks, y, lay, sc);
                },
            );
    }
    out
}

/// Exact integer sums of a linear layer on n rows of offset codes: n × out (blocks of 64 output
/// features in parallel).
pub fn linear(codes: &[u16], n: usize, pw: &PackedWeights) -> Vec<i64> {
    linear_with(codes, n, pw, gemm_best)
}

/// [`linear`] with the portable kernel.
pub fn linear_portable(codes: &[u16], n: usize, pw: &PackedWeights) -> Vec<i64> {
    linear_with(codes, n, pw, gemm_portable)
}

fn linear_with(codes: &[u16], n: usize, pw: &PackedWeights, kernel: Kernel) -> Vec<i64> {
    assert_eq!(codes.len(), n * pw.d);
    let a: std::borrow::Cow<[u16]> = if pw.kp == pw.d {
        codes.into()
    } else {
        let mut a = vec![0u16; n * pw.kp];
        for (dst, src) in a.chunks_exact_mut(pw.kp).zip(codes.chunks_exact(pw.d)) {
            dst[..pw.d].copy_from_slice(src);
        }
        a.into()
    };
    let blocks = pw.rows_pad / NR;
    let parts: Vec<(usize, Vec<i64>)> = (0..blocks)
        .into_par_iter()
        .map(|b| {
            let cols = (pw.rows - b * NR).min(NR);
            let mut s = vec![0i64; n * cols];
            let lay = OutLayout {
                ld: cols,
                col0: b * NR,
                transposed: false,
            };
            dot_rows(
                Rows::U16(&a),
                n,
                pw,
                kernel,
                b,
                b + 1,
                &mut s,
                lay,
                &mut Scratch::default(),
            );
            (b, s)
        })
        .collect();
    let mut y = vec![0i64; n * pw.rows];
    for (b, s) in parts {
        let cols = (pw.rows - b * NR).min(NR);
        for p in 0..n {
            y[p * pw.rows + b * NR..][..cols].copy_from_slice(&s[p * cols..(p + 1) * cols]);
        }
    }
    y
}
