//! Codes and packing: offset activation codes, and weight codes split into balanced base-256
//! digits and packed in the VNNI layout ([`PackedWeights`], once per precision).
use super::{MAX_BITS, NR};
use crate::error::{InferError, Result};
use crate::net::ops::ConvGeom;
use fxp_core::{Quantizer, Signedness};
use rayon::prelude::*;

/// Offset o of a layer's activation codes: 2^(B_A−1) for signed activations, else 0.
pub(super) fn act_offset(act: &Quantizer) -> i64 {
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
    /// D padded to a multiple of 64 on AMX CPUs (one tile row), else of 4 (one VNNI group).
    pub kp: usize,
    /// Rows padded to a multiple of 64.
    pub rows_pad: usize,
    /// Offset o of the activation codes (2^(B_A−1) for signed activations, else 0).
    pub offset: i64,
    /// Number of activation digits (1 or 2).
    pub act_digits: usize,
    /// One packed i8 matrix per weight digit, least significant first.
    pub(super) digits: Vec<Vec<i8>>,
    /// o·Σ_j k_w of each row.
    pub(super) correction: Vec<i64>,
    /// For 8 < B (see `pairs_of`) on an AVX-512 VNNI CPU without AMX: the codes as i16 in
    /// pairs of inputs (`vpdpwssd` layout: blocks of 64 rows, groups of 2 inputs, 64 rows × 2),
    /// one pass per [`PackedWeights::pair_digits`] instead of the digit passes; with the number
    /// of input pairs whose i32 sum is exact ([`exact_chunk`]).
    pub(super) pairs: Option<(Vec<i16>, usize)>,
    /// The largest value a `pairs` pass multiplies: the largest code, or 255 (digits).
    pair_a_max: i64,
    /// Largest activation code (2^B_A − 1).
    a_max: i64,
    /// The same weights with the inputs of a convolution in (i, j, c) order instead of
    /// (c, i, j), made on the first convolution (see [`PackedWeights::for_conv`]).
    hwc: HwcCache,
}

/// The (i, j, c)-ordered copy of a convolution's packed weights, made once; a cache, so it
/// takes no part in comparisons.
#[derive(Debug, Clone, Default)]
struct HwcCache(std::sync::OnceLock<Box<(ConvGeom, PackedWeights)>>);

impl PartialEq for HwcCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
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
        let kp = d.div_ceil(super::kp_align()) * super::kp_align();
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
        let (pairs, pair_a_max) = match pairs_of(codes, rows, d, kp, rows_pad, act, weight.bits()) {
            Some((p, m)) => (Some(p), m),
            None => (None, 0),
        };
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
            pairs,
            pair_a_max,
            a_max: (1i64 << act.bits()) - 1,
            hwc: HwcCache::default(),
        })
    }

    /// These weights, packed for a convolution of geometry `g` whose patches list their inputs
    /// in (i, j, c) order (the order of an image stored (H, W, C), so a patch row is k runs of
    /// k·C contiguous codes): made on the first call and kept. `None` when `g` does not match
    /// (D ≠ C·k·k) or the cache holds another geometry.
    pub(super) fn for_conv(&self, g: &ConvGeom) -> Option<&PackedWeights> {
        if g.d() != self.d {
            return None;
        }
        let (geom, pw) = &**self.hwc.0.get_or_init(|| Box::new((*g, self.to_hwc(g))));
        (geom == g).then_some(pw)
    }

    /// The activation passes of the `pairs` kernel: 1 (whole codes, which fit i16) or 2
    /// (base-256 digits in i16 lanes: see `pairs_of`).
    pub(super) fn pair_digits(&self) -> usize {
        if self.pair_a_max < self.a_max {
            2
        } else {
            1
        }
    }

    /// The (i, j, c)-ordered copy (same codes, same correction).
    fn to_hwc(&self, g: &ConvGeom) -> PackedWeights {
        let digits = self
            .digits
            .iter()
            .map(|dig| self.permuted_to_hwc(g, dig, packed_index))
            .collect();
        let pairs = self.pairs.as_ref().map(|(w, _)| {
            let w = self.permuted_to_hwc(g, w, pair_index);
            let chunk = exact_chunk(&w, self.rows, self.kp, self.pair_a_max);
            (w, chunk)
        });
        PackedWeights {
            digits,
            pairs,
            correction: self.correction.clone(),
            hwc: HwcCache::default(),
            ..*self
        }
    }

    /// `src` (packed by `index` in (c, i, j) input order) with its inputs moved to (i, j, c)
    /// order, the layout kept.
    fn permuted_to_hwc<T: Copy + Default>(
        &self,
        g: &ConvGeom,
        src: &[T],
        index: fn(usize, usize, usize) -> usize,
    ) -> Vec<T> {
        let (c_in, k) = (g.in_c, g.k);
        let mut out = vec![T::default(); src.len()];
        for r in 0..self.rows {
            for c in 0..c_in {
                for i in 0..k {
                    for j in 0..k {
                        let chw = (c * k + i) * k + j;
                        let hwc = (i * k + j) * c_in + c;
                        out[index(r, hwc, self.kp)] = src[index(r, chw, self.kp)];
                    }
                }
            }
        }
        out
    }
}

/// The `vpdpwssd` packing of the codes (see [`PackedWeights::pairs`]) where it applies and is
/// the kernel in use, with the largest value a pass multiplies (see
/// [`PackedWeights::pair_digits`]): more than one digit pass, the VNNI level, and at least 16
/// input pairs between flushes. One pass on the whole codes when they fit i16 and such chunks
/// exist; else, with 2 activation digits and 2–3 weight digits (4–6 `vpdpbusd` passes), one
/// pass per base-256 activation digit (2 passes of half `vpdpbusd`'s rate, chunks 2^7 times
/// longer or more: B = 15, whose whole-code chunks are 3–13 pairs on the course network, and
/// B_A = 16).
fn pairs_of(
    codes: &[i64],
    rows: usize,
    d: usize,
    kp: usize,
    rows_pad: usize,
    act: &Quantizer,
    weight_bits: u32,
) -> Option<((Vec<i16>, usize), i64)> {
    let (ad, wd) = (act_digits_of(act.bits()), weight_digits_of(weight_bits));
    if ad * wd == 1 || super::simd_level() != super::SimdLevel::Avx512Vnni {
        return None;
    }
    let mut w = vec![0i16; rows_pad * kp];
    for r in 0..rows {
        for k in 0..d {
            // |code| ≤ 2^15 − 1 or −2^15: fits i16 (B_W ≤ 16).
            w[pair_index(r, k, kp)] = codes[r * d + k] as i16;
        }
    }
    // Below 16 pairs the i64 flushes cost more than the digit passes save (measured: 7 pairs
    // no faster, 1 pair 1.7× slower, 128 pairs 1.38× faster than the digits); one chunk for
    // the whole row has no flush.
    let long = |chunk: usize| chunk >= 16 || 2 * chunk >= kp;
    let a_max = (1i64 << act.bits()) - 1;
    if a_max <= i16::MAX as i64 {
        let chunk = exact_chunk(&w, rows, kp, a_max);
        if long(chunk) {
            return Some(((w, chunk), a_max));
        }
    }
    if ad < 2 || wd < 2 {
        return None;
    }
    let chunk = exact_chunk(&w, rows, kp, 255);
    long(chunk).then_some(((w, chunk), 255))
}

/// The most input pairs whose i32 sum is exact in the pairs kernel, for packed weights `w` and
/// activation codes in [0, a_max]: the largest c such that every run of 2c consecutive inputs
/// of every row has a_max·Σ|k_w| ≤ 2^31 − 1. `vpdpwssd` adds modulo 2^32, so only each chunk's
/// total must fit i32, not its partial sums; the bound is per row (its weights' L1 norm), far
/// above the worst case c·2·a_max·max |k_w| when weights are not all at their extremes.
fn exact_chunk(w: &[i16], rows: usize, kp: usize, a_max: i64) -> usize {
    let limit = i32::MAX as i64;
    let mut prefix = vec![0i64; kp + 1];
    // Whether every window of `len` inputs of the row in `prefix` fits.
    let fits = |prefix: &[i64], len: usize| {
        let len = len.min(kp);
        (0..=kp - len).all(|s| a_max * (prefix[s + len] - prefix[s]) <= limit)
    };
    let mut chunk = (kp / 2).max(1);
    for r in 0..rows {
        for k in 0..kp {
            prefix[k + 1] = prefix[k] + (w[pair_index(r, k, kp)] as i64).abs();
        }
        if fits(&prefix, 2 * chunk) {
            continue;
        }
        // Largest fitting chunk below the current one (fitting is monotone in the length).
        let (mut lo, mut hi) = (0, chunk);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(&prefix, 2 * mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        chunk = lo.max(1);
    }
    chunk
}

/// Position of weight (row r, input k) in the `vpdpwssd` layout: blocks of 64 rows, then
/// groups of 2 inputs, then the 64 rows × 2 values of the group.
pub(super) fn pair_index(r: usize, k: usize, kp: usize) -> usize {
    (r / NR) * NR * kp + (k / 2) * NR * 2 + (r % NR) * 2 + k % 2
}

/// Position of weight (row r, input k) in the VNNI layout: blocks of 64 rows, then groups of 4
/// inputs, then the 64 rows × 4 bytes of the group.
fn packed_index(r: usize, k: usize, kp: usize) -> usize {
    (r / NR) * NR * kp + (k / 4) * NR * 4 + (r % NR) * 4 + k % 4
}
