//! The layer drivers of the `vpdpwssd` pass (`PackedWeights::pairs`): exact sums of 16-bit
//! code rows (whole codes, or one pass per base-256 activation digit), unfolded or read straight
//! from the padded image ([`super::direct::pair_sums`]), then pooled and written as the digit
//! passes' are.
use super::epilogue::{write_sums, Emit, OutLayout, Staged};
use super::layers::Scratch;
use super::pack::PackedWeights;
use super::pool::pooled;
use super::NR;
use crate::net::ops::{ConvGeom, PoolGeom};

/// The exact sums of `n` rows of 16-bit codes `a` against row blocks `b0..b1` on the pairs
/// kernel, pooled and written as in `dot_rows`.
///
/// # Safety
/// AVX-512 F/BW/DQ/VL/VNNI present; `pw.pairs` is some.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
// Allowed: as for `dot_rows` (operands kept in registers).
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn pair_rows<T: Staged>(
    a: &[u16],
    n: usize,
    pw: &PackedWeights,
    (b0, b1): (usize, usize),
    pool: Option<&PoolGeom>,
    out: &mut [T],
    lay: OutLayout,
    sc: &mut Scratch,
    emit: &impl Emit<T>,
) {
    let Some((w, chunk)) = &pw.pairs else {
        unreachable!("pair_rows needs the pairs packing")
    };
    // One vpdpwssd pass (per activation digit: `PackedWeights::pair_digits`) instead of the
    // digit passes.
    let len = (b1 - b0) * n * NR;
    if pw.pair_digits() == 2 {
        sc.total.resize(len, 0);
        sc.digit16.resize(n * pw.kp, 0);
        for ai in 0..2 {
            // SAFETY: AVX-512 F/BW/DQ/VL/VNNI present (this function's contract); the sizes are
            // those `pairs_block` asserts.
            unsafe { byte_digits(a, 8 * ai as u32, &mut sc.digit16) };
            let into = super::vnni::Into64 {
                shift: 8 * ai as u32,
                add: ai > 0,
            };
            for b in b0..b1 {
                let tot = &mut sc.total[(b - b0) * n * NR..][..n * NR];
                let w = &w[b * NR * pw.kp..];
                // SAFETY: as above.
                unsafe { super::vnni::pairs_block(&sc.digit16, n, pw.kp, w, *chunk, tot, into) };
            }
        }
        let (sums, m) = pooled(&sc.total[..len], n, b1 - b0, pool, &mut sc.pooled64);
        write_sums(sums, m, pw, b0, b1, out, lay, emit);
        return;
    }
    if 2 * chunk >= pw.kp {
        // One chunk per row: the i32 sums are the totals.
        sc.acc.resize(len, 0);
        for b in b0..b1 {
            let acc = &mut sc.acc[(b - b0) * n * NR..][..n * NR];
            // SAFETY: as above; one chunk covers the row, so its i32 sum is exact.
            unsafe { super::vnni::pairs_block_i32(a, n, pw.kp, &w[b * NR * pw.kp..], acc) };
        }
        let (sums, m) = pooled(&sc.acc[..len], n, b1 - b0, pool, &mut sc.pooled32);
        write_sums(sums, m, pw, b0, b1, out, lay, emit);
        return;
    }
    sc.total.resize(len, 0);
    for b in b0..b1 {
        let tot = &mut sc.total[(b - b0) * n * NR..][..n * NR];
        let into = super::vnni::Into64 {
            shift: 0,
            add: false,
        };
        let w = &w[b * NR * pw.kp..];
        // SAFETY: as above.
        unsafe { super::vnni::pairs_block(a, n, pw.kp, w, *chunk, tot, into) };
    }
    let (sums, m) = pooled(&sc.total[..len], n, b1 - b0, pool, &mut sc.pooled64);
    write_sums(sums, m, pw, b0, b1, out, lay, emit);
}

/// The base-256 digit `shift / 8` of each code of `src`, into `dst` (compiled for AVX-512).
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn byte_digits(src: &[u16], shift: u32, dst: &mut [u16]) {
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = (v >> shift) & 0xff;
    }
}

/// `direct_rows` (of `layers`) on the pairs kernel ([`super::direct::pair_sums`]): one pass on the padded
/// image `xp` of codes up to B_A = 15, or one per base-256 digit of 16-bit codes (the digit
/// images made in `digits`), each over groups of kernel lines that fit the exact chunk; the
/// i32 sums kept as they are when one group and one pass cover the row, else added (shifted
/// by the digit) into i64 totals.
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
// Allowed: as for `dot_rows`.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn direct_pair_rows<T: Staged>(
    (xp, pad): (&[u16], u16),
    g: &ConvGeom,
    pw: &PackedWeights,
    pool: Option<&PoolGeom>,
    out: &mut [T],
    lay: OutLayout,
    (digits, sc): (&mut Vec<u16>, &mut Scratch),
    emit: &impl Emit<T>,
) {
    let Some((w, chunk)) = &pw.pairs else {
        unreachable!("direct_pair_rows needs the pairs packing")
    };
    let blocks = pw.rows_pad / NR;
    let n = g.out_h() * g.out_w();
    let len = blocks * n * NR;
    sc.acc.resize(len, 0);
    let sums = super::direct::pair_sums;
    // Kernel lines per exact chunk (at least 1, as `conv2d_into` checked).
    let per = (2 * chunk / (g.k * g.in_c)).clamp(1, g.k);
    if pw.pair_digits() == 1 && per == g.k {
        sums((xp, pad), g, w, pw.kp, (0, g.k), &mut sc.acc);
        let (s, m) = pooled(&sc.acc[..len], n, blocks, pool, &mut sc.pooled32);
        write_sums(s, m, pw, 0, blocks, out, lay, emit);
        return;
    }
    sc.total.clear();
    sc.total.resize(len, 0);
    for ai in 0..pw.pair_digits() as u32 {
        let (img, pad) = if pw.pair_digits() == 1 {
            (xp, pad)
        } else {
            digits.resize(xp.len(), 0);
            byte_digits(xp, 8 * ai, digits);
            (&digits[..], (pad >> (8 * ai)) & 0xff)
        };
        for l0 in (0..g.k).step_by(per) {
            let lines = (l0, (l0 + per).min(g.k));
            sums((img, pad), g, w, pw.kp, lines, &mut sc.acc);
            for (t, &s) in sc.total.iter_mut().zip(&sc.acc[..len]) {
                *t += (s as i64) << (8 * ai);
            }
        }
    }
    let (s, m) = pooled(&sc.total[..len], n, blocks, pool, &mut sc.pooled64);
    write_sums(s, m, pw, 0, blocks, out, lay, emit);
}
