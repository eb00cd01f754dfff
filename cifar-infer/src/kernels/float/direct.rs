//! Direct f32 convolution (stride 1, no im2col rows): per image, the input spatially padded
//! (C × (H + 2p) × (W + 2p)); tiles of 6 consecutive output positions (which may span output
//! lines) × 64 output channels (24 accumulators), per input (c, i, j) four loads of the weights
//! (packed once per call as 64-channel panels, input by input) and 6 broadcasts of the
//! positions' input values, read in place at one offset from each position's window.
//!
//! Numerics: the inputs run in the weights' order (c, i, j), slab after slab, each output one
//! fused multiply-add chain from zero, the padding's zeros included: the same chain as the
//! im2col path (`super::layers::conv2d`), so the same bits.
use super::KC;
use crate::ops::ConvGeom;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Output positions per tile.
const MR: usize = 6;
/// Vectors of 16 output channels per tile: a weight panel of 64 channels. Measured on an AMD
/// EPYC (Zen 4), one thread, the course network's stride-1 convolutions but the first (9 × 9 to
/// 19 × 19 outputs), G FMA per CPU-second: 6 × 64 51.1-54.0, 4 × 64 51.1-53.3, 8 × 32
/// 51.7-53.7; before the short last tile (padding rows): 8 × 48 44.0-49.2, 12 × 32 26 (its 12
/// window pointers spill).
const NV: usize = 4;
/// Output channels per weight panel.
const NR: usize = 16 * NV;

/// Whether [`conv2d`] takes this geometry: stride 1 (other strides go through im2col rows).
pub(super) fn applies(g: &ConvGeom) -> bool {
    g.stride == 1
}

/// Scratch of one thread: the padded image and the sums of one panel (positions × [`NR`]).
#[derive(Default)]
struct Scratch {
    xp: Vec<f32>,
    c: Vec<f32>,
}

/// Convolution of `n` NCHW images with weights O × C·k·k (row-major) and an optional bias,
/// NCHW out; images in parallel.
///
/// # Safety
/// The CPU must have AVX-512F; `applies(g)`.
pub(super) unsafe fn conv2d(
    x: &[f32],
    n: usize,
    g: &ConvGeom,
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let (p, o, d) = (g.out_h() * g.out_w(), g.out_c, g.d());
    assert!(applies(g), "direct conv2d: stride 1 only");
    assert_eq!(x.len(), n * g.in_len(), "conv2d: input length");
    assert_eq!(weight.len(), o * d, "conv2d: weight length");
    let mut out = vec![0f32; n * g.out_len()];
    if out.is_empty() || d == 0 {
        if let Some(b) = bias {
            crate::ops::add_channel_bias(&mut out, o, p, b);
        }
        return out;
    }
    let w = pack_weights(weight, o, d);
    let offs = offsets(g);
    out.par_chunks_mut(g.out_len())
        .zip(x.par_chunks(g.in_len()))
        .for_each_init(Scratch::default, |s, (y, img)| {
            pad_image(img, g, &mut s.xp);
            grow(&mut s.c, p * NR);
            for (b, panel) in w.chunks_exact(d * NR).enumerate() {
                // SAFETY: the caller checked the CPU; `xp` is the padded image of `g`.
                unsafe { panel_sums(&s.xp, g, &offs, panel, &mut s.c) };
                let (o0, o1) = (b * NR, o.min(b * NR + NR));
                // SAFETY: as above.
                unsafe { write_nchw(&s.c, p, (o0, o1), &mut y[o0 * p..o1 * p], bias) };
            }
        });
    out
}

/// The weights (O rows of D) as panels of [`NR`] output channels (the last padded with zeros),
/// within a panel input by input the panel's channels' weights.
fn pack_weights(weight: &[f32], o: usize, d: usize) -> Vec<f32> {
    let panels = o.div_ceil(NR);
    let mut w = vec![0f32; panels * d * NR];
    for (oc, row) in weight.chunks_exact(d).enumerate() {
        let panel = &mut w[(oc / NR) * d * NR + oc % NR..];
        for (k, &v) in row.iter().enumerate() {
            panel[k * NR] = v;
        }
    }
    w
}

/// Per input k = (c, i, j) in order, its offset in the padded image from a position's window.
fn offsets(g: &ConvGeom) -> Vec<usize> {
    let wp = g.in_w + 2 * g.pad;
    let plane = (g.in_h + 2 * g.pad) * wp;
    let mut offs = Vec::with_capacity(g.d());
    for c in 0..g.in_c {
        for i in 0..g.k {
            offs.extend((0..g.k).map(|j| c * plane + i * wp + j));
        }
    }
    offs
}

/// Writes the image `img` (C × H × W) into `xp` with `g.pad` zeros on every side.
fn pad_image(img: &[f32], g: &ConvGeom, xp: &mut Vec<f32>) {
    let (wp, hp) = (g.in_w + 2 * g.pad, g.in_h + 2 * g.pad);
    xp.clear();
    xp.resize(g.in_c * hp * wp, 0.0);
    for (src, dst) in img
        .chunks_exact(g.in_h * g.in_w)
        .zip(xp.chunks_exact_mut(hp * wp))
    {
        for (s, d) in src
            .chunks_exact(g.in_w)
            .zip(dst[g.pad * wp..].chunks_exact_mut(wp))
        {
            d[g.pad..g.pad + g.in_w].copy_from_slice(s);
        }
    }
}

/// The sums of every output position against one weight panel, into `c` (position by
/// position, [`NR`] channels each), slab by slab of [`KC`]
/// inputs, the tiles continuing their chains through `c`.
///
/// # Safety
/// AVX-512F present; `xp` the padded image of `g`, `panel` D × [`NR`] weights, `c` at least
/// positions × [`NR`] values.
#[target_feature(enable = "avx512f")]
unsafe fn panel_sums(xp: &[f32], g: &ConvGeom, offs: &[usize], panel: &[f32], c: &mut [f32]) {
    let (ow, wp, d, nr) = (g.out_w(), g.in_w + 2 * g.pad, g.d(), NR);
    let p = g.out_h() * ow;
    assert!(xp.len() >= g.in_c * (g.in_h + 2 * g.pad) * wp && offs.len() == d);
    assert!(panel.len() == d * nr && c.len() >= p * nr);
    // Position q's window starts at row q / ow, column q % ow of the padded image.
    let base = |q: usize| xp.as_ptr().add(q / ow * wp + q % ow);
    let mut k0 = 0;
    while k0 < d {
        let kk = KC.min(d - k0);
        let (w, o, first) = (panel.as_ptr().add(k0 * nr), offs.as_ptr().add(k0), k0 == 0);
        let full = p - p % MR;
        for q in (0..full).step_by(MR) {
            let a: [*const f32; MR] = std::array::from_fn(|m| base(q + m));
            tile::<MR, NV>(kk, &a, o, w, c.as_mut_ptr().add(q * nr), first);
        }
        // The last positions, fewer than MR (≤ 7): a tile of as many rows.
        let cq = c.as_mut_ptr().add(full * nr);
        macro_rules! tail {
            ($($r:literal)*) => {
                match p - full {
                    $($r => tile::<$r, NV>(kk, &std::array::from_fn(|m| base(full + m)), o, w, cq, first),)*
                    _ => {}
                }
            };
        }
        tail!(1 2 3 4 5 6 7);
        k0 += kk;
    }
}

/// One tile: R positions (windows at `a`) × 16·NV channels, inputs `offs[..kk]` against the
/// weights `w` (kk × 16·NV), continuing the sums in `c` (R × 16·NV) unless `first`.
///
/// # Safety
/// AVX-512F present; every `a[m] + offs[t]` inside the padded image, `w` kk × 16·NV values,
/// `c` R × 16·NV values.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile<const R: usize, const NV: usize>(
    kk: usize,
    a: &[*const f32; R],
    offs: *const usize,
    w: *const f32,
    c: *mut f32,
    first: bool,
) {
    let nr = 16 * NV;
    let mut acc = [[_mm512_setzero_ps(); NV]; R];
    if !first {
        for (m, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = _mm512_loadu_ps(c.add(m * nr + 16 * v));
            }
        }
    }
    for t in 0..kk {
        let off = *offs.add(t);
        let mut wv = [_mm512_setzero_ps(); NV];
        for (v, x) in wv.iter_mut().enumerate() {
            *x = _mm512_loadu_ps(w.add(t * nr + 16 * v));
        }
        for (row, &am) in acc.iter_mut().zip(a) {
            let av = _mm512_set1_ps(*am.add(off));
            for (x, &wx) in row.iter_mut().zip(&wv) {
                *x = _mm512_fmadd_ps(av, wx, *x);
            }
        }
    }
    for (m, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            _mm512_storeu_ps(c.add(m * nr + 16 * v), *x);
        }
    }
}

/// Channels `o0..o1` of the image's NCHW output `y` (`p` positions each) from the panel's sums
/// `c` (position by position, [`NR`] channels), plus the bias: per channel, 16 positions by one
/// masked gather (their 16 rows of `c` stay in L1 across the channels), the bias added as a
/// vector (the same rounding as one by one), one masked store.
///
/// # Safety
/// AVX-512F present.
#[target_feature(enable = "avx512f")]
unsafe fn write_nchw(
    c: &[f32],
    p: usize,
    (o0, o1): (usize, usize),
    y: &mut [f32],
    bias: Option<&[f32]>,
) {
    assert!(o1 - o0 <= NR && c.len() >= p * NR && y.len() == (o1 - o0) * p);
    let rows = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(NR as i32),
    );
    for q0 in (0..p).step_by(16) {
        let mask = ((1u32 << (p - q0).min(16)) - 1) as __mmask16;
        for (j, row) in y.chunks_exact_mut(p).enumerate() {
            // Lanes q read c[(q0 + q)·NR + j], only for the positions that exist.
            let src = c.as_ptr().add(q0 * NR + j);
            let mut v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, rows, src.cast());
            if let Some(b) = bias {
                v = _mm512_add_ps(v, _mm512_set1_ps(b[o0 + j]));
            }
            _mm512_mask_storeu_ps(row.as_mut_ptr().add(q0), mask, v);
        }
    }
}

/// Grows a buffer to at least `len` values (never shrinks: reused).
fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}
