//! The AVX-512 VNNI micro-kernel (`vpdpbusd`: 64 multiply-accumulates per instruction): a 4 × 64
//! register-blocked kernel over one packed panel.
use super::cpu::{detected_level, SimdLevel};
use super::portable::check_kernel_args;
use super::{MR, NR};
use std::arch::x86_64::*;

/// The VNNI micro-kernel behind the [`Kernel`](super::portable::Kernel) contract.
pub(super) fn gemm_vnni(
    a: &[u8],
    n: usize,
    kp: usize,
    w: &[i8],
    b0: usize,
    b1: usize,
    c: &mut [i32],
) {
    assert!(detected_level() >= SimdLevel::Avx512Vnni);
    check_kernel_args(a, n, kp, w, b0, b1, c);
    // SAFETY: the CPU features were detected and the bounds checked above.
    unsafe { gemm(a, n, kp, w, b0, b1, c) };
}

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
        positions(a, n, 0, kp, w, b, b0, c);
    }
}

/// Positions `p0..n` of row block `b` (the AMX kernel's leftovers use it too).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
// Allowed: the operands of a micro-kernel called per row block in the hot loop (also by the
// AMX kernel); as plain scalars and slices they stay in registers, like those of `dot_rows`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn positions(
    a: &[u8],
    n: usize,
    p0: usize,
    kp: usize,
    w: &[i8],
    b: usize,
    b0: usize,
    c: &mut [i32],
) {
    let len = NR * kp;
    let panel = w.as_ptr().add(b * len);
    // The next block's panel, if any, is prefetched into L2 over the first 4 passes, a line per
    // step (16 of its kp bytes per input group): a linear layer's weights come from memory once
    // per batch, which alone would hold its first pass at memory speed.
    let next = (w.len() >= (b + 2) * len).then(|| panel.add(len));
    let mut p = p0;
    let mut pass = 0;
    while p < n {
        let out = c.as_mut_ptr().add(((b - b0) * n + p) * NR);
        let ap = a.as_ptr().add(p * kp);
        let pf = next.filter(|_| pass < 4).map(|nx| nx.add(pass * 16 * kp));
        match n - p {
            1 => block::<1>(ap, kp, panel, out, pf),
            2 => block::<2>(ap, kp, panel, out, pf),
            3 => block::<3>(ap, kp, panel, out, pf),
            _ => block::<MR>(ap, kp, panel, out, pf),
        }
        p += MR;
        pass += 1;
    }
}

/// M positions × 64 rows: per group of 4 inputs, 4 weight loads, M broadcasts, 4·M vpdpbusd;
/// and the line at `pf` + 16·k prefetched into L2, if given.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn block<const M: usize>(
    a: *const u8,
    kp: usize,
    panel: *const i8,
    out: *mut i32,
    pf: Option<*const i8>,
) {
    let mut acc = [[_mm512_setzero_si512(); 4]; M];
    let mut k = 0;
    while k < kp {
        if let Some(pf) = pf {
            _mm_prefetch::<_MM_HINT_T1>(pf.add(16 * k));
        }
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

/// How [`pairs_block`] leaves its sums in `c`: stored (`add` false) or added to what is there,
/// shifted left by `shift` bits (a base-256 activation digit's weight).
#[derive(Clone, Copy)]
pub(super) struct Into64 {
    pub(super) shift: u32,
    pub(super) add: bool,
}

/// The exact sums of 16-bit codes (B_A ≤ 15, or one base-256 digit of 16-bit codes) against
/// the `vpdpwssd` packing of row block `b` (see [`PackedWeights::pairs`](super::PackedWeights)):
/// i32 sums of `chunk` input pairs at a time (exact by the choice of `chunk`), added to i64
/// totals. `c` receives (or, per `into`, has added) n × 64 totals shifted by `into.shift`.
///
/// # Safety
/// AVX-512 F/BW/VNNI present; `a` holds n rows of `kp` codes, `w` the block's 64 × kp values,
/// `c` n × 64 values; `kp` even, `chunk` ≥ 1.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn pairs_block(
    a: &[u16],
    n: usize,
    kp: usize,
    w: &[i16],
    chunk: usize,
    c: &mut [i64],
    into: Into64,
) {
    assert!(a.len() >= n * kp && w.len() >= NR * kp && c.len() >= n * NR && kp.is_multiple_of(2));
    let mut p = 0;
    while p < n {
        let (ap, out) = (a.as_ptr().add(p * kp), c.as_mut_ptr().add(p * NR));
        match n - p {
            1 => pairs::<1>(ap, kp, w.as_ptr(), chunk, out, into),
            2 => pairs::<2>(ap, kp, w.as_ptr(), chunk, out, into),
            3 => pairs::<3>(ap, kp, w.as_ptr(), chunk, out, into),
            _ => pairs::<MR>(ap, kp, w.as_ptr(), chunk, out, into),
        }
        p += MR;
    }
}

/// M positions × 64 rows of [`pairs_block`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn pairs<const M: usize>(
    a: *const u16,
    kp: usize,
    panel: *const i16,
    chunk: usize,
    out: *mut i64,
    Into64 { shift, add }: Into64,
) {
    // The i64 totals live in `out` (M × 8 registers more than the 32 would push an accumulator
    // to the stack: a store-to-load chain per step, measured 2× slower).
    let sh = _mm_cvtsi32_si128(shift as i32);
    let mut first = !add;
    let mut k = 0;
    while k < kp {
        let end = (k + 2 * chunk).min(kp);
        let acc = pair_steps::<M>(a, kp, panel, k, end);
        k = end;
        for (i, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let lo = _mm512_sll_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(*v)), sh);
                let hi = _mm512_sll_epi64(
                    _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(*v)),
                    sh,
                );
                let t = out.add(i * NR + j * 16);
                if first {
                    _mm512_storeu_si512(t as *mut _, lo);
                    _mm512_storeu_si512(t.add(8) as *mut _, hi);
                } else {
                    let (t0, t1) = (
                        _mm512_loadu_si512(t as *const _),
                        _mm512_loadu_si512(t.add(8) as *const _),
                    );
                    _mm512_storeu_si512(t as *mut _, _mm512_add_epi64(t0, lo));
                    _mm512_storeu_si512(t.add(8) as *mut _, _mm512_add_epi64(t1, hi));
                }
            }
        }
        first = false;
    }
    if first {
        for i in 0..M * NR {
            *out.add(i) = 0;
        }
    }
}

/// [`pairs_block`] when one chunk covers the whole row (`kp` ≤ 2·chunk): the i32 sums are the
/// exact totals, written as they are (no i64 widening). `c` receives n × 64 sums.
///
/// # Safety
/// As [`pairs_block`]; and every row's sum is exact in i32 (one chunk).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn pairs_block_i32(a: &[u16], n: usize, kp: usize, w: &[i16], c: &mut [i32]) {
    assert!(a.len() >= n * kp && w.len() >= NR * kp && c.len() >= n * NR && kp.is_multiple_of(2));
    let mut p = 0;
    while p < n {
        let (ap, out) = (a.as_ptr().add(p * kp), c.as_mut_ptr().add(p * NR));
        match n - p {
            1 => pairs_i32::<1>(ap, kp, w.as_ptr(), out),
            2 => pairs_i32::<2>(ap, kp, w.as_ptr(), out),
            3 => pairs_i32::<3>(ap, kp, w.as_ptr(), out),
            _ => pairs_i32::<MR>(ap, kp, w.as_ptr(), out),
        }
        p += MR;
    }
}

/// M positions × 64 rows of [`pairs_block_i32`].
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn pairs_i32<const M: usize>(a: *const u16, kp: usize, panel: *const i16, out: *mut i32) {
    let acc = pair_steps::<M>(a, kp, panel, 0, kp);
    for (i, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            _mm512_storeu_si512(out.add(i * NR + j * 16) as *mut _, *v);
        }
    }
}

/// The i32 sums of M positions × 64 rows over inputs `k0..k1` (pairs): per pair, 4 weight
/// loads, M broadcasts, 4·M vpdpwssd.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn pair_steps<const M: usize>(
    a: *const u16,
    kp: usize,
    panel: *const i16,
    k0: usize,
    k1: usize,
) -> [[__m512i; 4]; M] {
    let mut acc = [[_mm512_setzero_si512(); 4]; M];
    let mut k = k0;
    while k < k1 {
        let wp = panel.add(k * NR);
        let w0 = _mm512_loadu_si512(wp as *const _);
        let w1 = _mm512_loadu_si512(wp.add(32) as *const _);
        let w2 = _mm512_loadu_si512(wp.add(64) as *const _);
        let w3 = _mm512_loadu_si512(wp.add(96) as *const _);
        for (i, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_epi32((a.add(i * kp + k) as *const i32).read_unaligned());
            row[0] = _mm512_dpwssd_epi32(row[0], av, w0);
            row[1] = _mm512_dpwssd_epi32(row[1], av, w1);
            row[2] = _mm512_dpwssd_epi32(row[2], av, w2);
            row[3] = _mm512_dpwssd_epi32(row[3], av, w3);
        }
        k += 2;
    }
    acc
}
