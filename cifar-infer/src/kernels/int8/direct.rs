//! Direct convolution on the VNNI level: the 4 × 64 micro-kernel reads its activation rows
//! straight from the padded (H, W, C) image of single-digit codes — a position's patch is k
//! runs of k·C contiguous codes, already the order of the (i, j, c)-packed weights — so no
//! patch rows are unfolded. Same exact i32 sums as the unfolded path. The same for 16-bit codes
//! on the `vpdpwssd` kernel ([`pair_sums`]: whole codes up to B_A = 15, or one base-256 digit
//! of 16-bit codes per pass) where one exact i32 chunk covers the row.
//!
//! When the border holds the code 0 (unsigned activations: offset 0), its products are 0 and
//! the kernel skips them: positions are taken by classes of equal in-image taps (kernel lines
//! i0..i1, columns j0..j1; the border lines and columns of the output), 4 at a time, and a
//! block multiplies only its class's taps (columns only when C is a multiple of 4, or 2 on the
//! pairs kernel, so a column is whole groups of inputs). On the 9 × 9 layers with padding 1 that is (25/27)² = 86 % of
//! the multiplications, as PyTorch's int8 engine does them.
use super::{MR, NR};
use crate::kernels::tap_runs;
use crate::net::ops::ConvGeom;
use std::arch::x86_64::*;

/// Whether [`sums`] (`pairs` false) or [`pair_sums`] (`pairs` true) applies: a run of k·C
/// codes is whole groups of inputs (4 for `vpdpbusd`, 2 for `vpdpwssd`; then the packed length
/// is D, with no padding inside or after the runs).
pub(super) fn applies(g: &ConvGeom, kp: usize, pairs: bool) -> bool {
    (g.k * g.in_c).is_multiple_of(group(pairs)) && kp == g.d()
}

/// Inputs per 32-bit broadcast: 4 u8 codes, or 2 u16 ones on the pairs kernel.
fn group(pairs: bool) -> usize {
    if pairs {
        2
    } else {
        4
    }
}

/// The exact sums of every output position of `g` against row blocks `b0..b1` of the
/// (i, j, c)-packed single-digit weights `w` (`kp` inputs per row), from the padded image `xp`
/// ((H + 2p) × (W + 2p) × C codes, the border holding the code `pad`; when it is 0 the border's
/// taps are skipped): `c` receives c[b − b0][p][o], as the unfolded kernels write it.
///
/// # Safety
/// AVX-512 F/BW/VNNI present.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn sums(
    (xp, pad): (&[u8], u8),
    g: &ConvGeom,
    w: &[i8],
    kp: usize,
    (b0, b1): (usize, usize),
    c: &mut [i32],
) {
    assert!(applies(g, kp, false));
    assert!(xp.len() >= padded_len(g) && w.len() >= b1 * NR * kp);
    let (xp, w) = (xp.as_ptr(), w.as_ptr());
    sums_on::<1>((xp, pad == 0), g, w, kp, (b0, b1), (0, g.k), c);
}

/// [`sums`] on the `vpdpwssd` kernel: 16-bit codes up to 2^15 − 1 (whole codes, or base-256
/// digits) against the i16 pairs packing of the weights (see `PackedWeights::pairs`), over the
/// kernel lines `lines` only (the taps of other lines count 0).
///
/// # Safety
/// AVX-512 F/BW/VNNI present; every row's i32 sum over those lines exact (within one chunk).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn pair_sums(
    (xp, pad): (&[u16], u16),
    g: &ConvGeom,
    w: &[i16],
    kp: usize,
    lines: (usize, usize),
    c: &mut [i32],
) {
    assert!(applies(g, kp, true));
    assert!(xp.len() >= padded_len(g) && w.len() >= g.out_c.div_ceil(NR) * NR * kp);
    let (xp, w) = (xp.as_ptr() as *const u8, w.as_ptr() as *const i8);
    let blocks = g.out_c.div_ceil(NR);
    sums_on::<2>((xp, pad == 0), g, w, kp, (0, blocks), lines, c);
}

/// Codes of the padded image of `g`.
fn padded_len(g: &ConvGeom) -> usize {
    (g.in_h + 2 * g.pad) * (g.in_w + 2 * g.pad) * g.in_c
}

/// [`sums`] on codes of `E` bytes (1: u8 × i8 on `vpdpbusd`, 2: i16 pairs on `vpdpwssd`; either
/// way a weight group of 64 rows is 256 bytes); `skip`: the border is code 0; kernel lines
/// `lines` only.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn sums_on<const E: usize>(
    (xp, skip): (*const u8, bool),
    g: &ConvGeom,
    w: *const i8,
    kp: usize,
    (b0, b1): (usize, usize),
    (l0, l1): (usize, usize),
    c: &mut [i32],
) {
    let (ch, wp) = (g.in_c, g.in_w + 2 * g.pad);
    let (oh, ow) = (g.out_h(), g.out_w());
    let n = oh * ow;
    let run = g.k * ch;
    assert!(run > 0 && c.len() >= (b1 - b0) * n * NR);
    let kernel = (g.k, g.stride, g.pad);
    let line = wp * ch;
    // Position p = (oy, ox) reads run i at ((oy·s + i)·Wp + ox·s)·C, inside xp.
    let base = |p: usize| xp.add((p / ow * line + p % ow * ch) * g.stride * E);
    let rows = tap_runs(oh, g.in_h, kernel, skip);
    let cols = tap_runs(ow, g.in_w, kernel, skip && ch.is_multiple_of(4 / E));
    for b in b0..b1 {
        let panel = w.add(b * NR * kp * E);
        let cb = c.as_mut_ptr().add((b - b0) * n * NR);
        let out = |p: usize| cb.add(p * NR);
        for (ys, (i0, i1)) in &rows {
            for (xs, (j0, j1)) in &cols {
                // The class's positions in row-major order, MR at a time (spanning its lines).
                let (y0, x0, wc) = (ys.start, xs.start, xs.len());
                let count = ys.len() * wc;
                let pos = |t: usize| (y0 + t / wc) * ow + x0 + t % wc;
                let (i0, i1) = ((*i0).max(l0), (*i1).min(l1));
                let taps = (line, run, (i0, i1.max(i0)), (j0 * ch, j1 * ch));
                let mut t = 0;
                while t < count {
                    let ps: [usize; MR] = std::array::from_fn(|m| pos((t + m).min(count - 1)));
                    let (a, o) = (ps.map(base), ps.map(out));
                    match count - t {
                        1 => block::<1, E>([a[0]], [o[0]], taps, panel),
                        2 => block::<2, E>([a[0], a[1]], [o[0], o[1]], taps, panel),
                        3 => block::<3, E>([a[0], a[1], a[2]], [o[0], o[1], o[2]], taps, panel),
                        _ => block::<MR, E>(a, o, taps, panel),
                    }
                    t += MR;
                }
            }
        }
    }
}

/// M positions (their windows' first codes at `a`, their sums to `out`) × 64 rows, codes of
/// `E` bytes: per kernel line i in i0..i1 (`line` codes apart), per group of 4 / E of its inputs
/// k0..k1 (of `run`), 4 weight loads, M broadcasts, 4·M vpdpbusd (E = 1) or vpdpwssd (E = 2).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn block<const M: usize, const E: usize>(
    a: [*const u8; M],
    out: [*mut i32; M],
    (line, run, (i0, i1), (k0, k1)): (usize, usize, (usize, usize), (usize, usize)),
    panel: *const i8,
) {
    let mut acc = [[_mm512_setzero_si512(); 4]; M];
    for i in i0..i1 {
        let ai: [*const u8; M] = std::array::from_fn(|m| a[m].add(i * line * E));
        let pi = panel.add(i * run * NR * E);
        let mut kk = k0;
        while kk < k1 {
            let wp = pi.add(kk * NR * E);
            let w0 = _mm512_loadu_si512(wp as *const _);
            let w1 = _mm512_loadu_si512(wp.add(64) as *const _);
            let w2 = _mm512_loadu_si512(wp.add(128) as *const _);
            let w3 = _mm512_loadu_si512(wp.add(192) as *const _);
            for (m, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_epi32((ai[m].add(kk * E) as *const i32).read_unaligned());
                if E == 1 {
                    row[0] = _mm512_dpbusd_epi32(row[0], av, w0);
                    row[1] = _mm512_dpbusd_epi32(row[1], av, w1);
                    row[2] = _mm512_dpbusd_epi32(row[2], av, w2);
                    row[3] = _mm512_dpbusd_epi32(row[3], av, w3);
                } else {
                    row[0] = _mm512_dpwssd_epi32(row[0], av, w0);
                    row[1] = _mm512_dpwssd_epi32(row[1], av, w1);
                    row[2] = _mm512_dpwssd_epi32(row[2], av, w2);
                    row[3] = _mm512_dpwssd_epi32(row[3], av, w3);
                }
            }
            kk += 4 / E;
        }
    }
    for (m, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            _mm512_storeu_si512(out[m].add(j * 16) as *mut _, *v);
        }
    }
}
