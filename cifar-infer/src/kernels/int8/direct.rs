//! Direct convolution on the VNNI level: the 4 × 64 micro-kernel reads its activation rows
//! straight from the padded (H, W, C) image of single-digit codes — a position's patch is k
//! runs of k·C contiguous codes, already the order of the (i, j, c)-packed weights — so no
//! patch rows are unfolded. Same exact i32 sums as the unfolded path.
use super::{MR, NR};
use crate::net::ops::ConvGeom;
use std::arch::x86_64::*;

/// Whether [`sums`] applies: a run of k·C codes is whole groups of 4 inputs (then the packed
/// length is D, with no padding inside or after the runs).
pub(super) fn applies(g: &ConvGeom, kp: usize) -> bool {
    (g.k * g.in_c).is_multiple_of(4) && kp == g.d()
}

/// The exact sums of every output position of `g` against row blocks `b0..b1` of the
/// (i, j, c)-packed single-digit weights `w` (`kp` inputs per row), from the padded image `xp`
/// ((H + 2p) × (W + 2p) × C codes, border holding the code of 0): `c` receives
/// c[b − b0][p][o], as the unfolded kernels write it.
///
/// # Safety
/// AVX-512 F/BW/VNNI present.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) unsafe fn sums(
    xp: &[u8],
    g: &ConvGeom,
    w: &[i8],
    kp: usize,
    (b0, b1): (usize, usize),
    c: &mut [i32],
) {
    let (ch, wp) = (g.in_c, g.in_w + 2 * g.pad);
    let (oh, ow) = (g.out_h(), g.out_w());
    let n = oh * ow;
    let run = g.k * ch;
    assert!(applies(g, kp) && run > 0);
    assert!(xp.len() >= (g.in_h + 2 * g.pad) * wp * ch);
    assert!(w.len() >= b1 * NR * kp && c.len() >= (b1 - b0) * n * NR);
    // Position p = (oy, ox) reads run i at ((oy·s + i)·Wp + ox·s)·C, inside xp. Blocks of
    // MR consecutive positions may span two output lines (so only the last block is short).
    let line = wp * ch;
    let base = |p: usize| xp.as_ptr().add((p / ow * line + p % ow * ch) * g.stride);
    for b in b0..b1 {
        let panel = w.as_ptr().add(b * NR * kp);
        let mut p = 0;
        while p < n {
            let out = c.as_mut_ptr().add(((b - b0) * n + p) * NR);
            let geo = (line, g.k, run);
            match n - p {
                1 => block::<1>([base(p)], geo, panel, out),
                2 => block::<2>([base(p), base(p + 1)], geo, panel, out),
                3 => block::<3>(std::array::from_fn(|m| base(p + m)), geo, panel, out),
                _ => block::<MR>(std::array::from_fn(|m| base(p + m)), geo, panel, out),
            }
            p += MR;
        }
    }
}

/// M positions (their windows' first codes at `a`) × 64 rows: per kernel line i (`line` codes
/// apart), per group of 4 of its `run` inputs, 4 weight loads, M broadcasts, 4·M vpdpbusd.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn block<const M: usize>(
    a: [*const u8; M],
    (line, k, run): (usize, usize, usize),
    panel: *const i8,
    out: *mut i32,
) {
    let mut acc = [[_mm512_setzero_si512(); 4]; M];
    for i in 0..k {
        let ai: [*const u8; M] = std::array::from_fn(|m| a[m].add(i * line));
        let pi = panel.add(i * run * NR);
        let mut kk = 0;
        while kk < run {
            let wp = pi.add(kk * NR);
            let w0 = _mm512_loadu_si512(wp as *const _);
            let w1 = _mm512_loadu_si512(wp.add(64) as *const _);
            let w2 = _mm512_loadu_si512(wp.add(128) as *const _);
            let w3 = _mm512_loadu_si512(wp.add(192) as *const _);
            for (m, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_epi32((ai[m].add(kk) as *const i32).read_unaligned());
                row[0] = _mm512_dpbusd_epi32(row[0], av, w0);
                row[1] = _mm512_dpbusd_epi32(row[1], av, w1);
                row[2] = _mm512_dpbusd_epi32(row[2], av, w2);
                row[3] = _mm512_dpbusd_epi32(row[3], av, w3);
            }
            kk += 4;
        }
    }
    for (m, row) in acc.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            _mm512_storeu_si512(out.add(m * NR + j * 16) as *mut _, *v);
        }
    }
}
