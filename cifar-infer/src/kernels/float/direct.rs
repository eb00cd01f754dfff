//! Direct f32 convolution (stride 1, no im2col rows): per image, the input spatially padded
//! (C × (H + 2p) × (W + 2p)); tiles of 8 consecutive output positions (which may span output
//! lines) × 32 output channels (16 accumulators), per input (c, i, j) two loads of the weights
//! (packed once per call as 32-channel panels, input by input) and 8 broadcasts of the
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
const MR: usize = 8;
/// Output channels per tile (a panel of the packed weights).
const NR: usize = 32;

/// Whether [`conv2d`] takes this geometry: stride 1 (other strides go through im2col rows).
pub(super) fn applies(g: &ConvGeom) -> bool {
    g.stride == 1
}

/// Scratch of one thread: the padded image and the sums of one panel (positions × 32).
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
            grow(&mut s.c, p.next_multiple_of(MR) * NR);
            for (b, panel) in w.chunks_exact(d * NR).enumerate() {
                // SAFETY: the caller checked the CPU; `xp` is the padded image of `g`.
                unsafe { panel_sums(&s.xp, g, &offs, panel, &mut s.c) };
                let (o0, o1) = (b * NR, o.min(b * NR + NR));
                write_nchw(&s.c, p, (o0, o1), &mut y[o0 * p..o1 * p], bias);
            }
        });
    out
}

/// The weights (O rows of D) as panels of 32 output channels (the last padded with zeros),
/// within a panel input by input the 32 channels' weights.
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
/// position, 32 channels each; positions past the last repeat it), slab by slab of [`KC`]
/// inputs, the tiles continuing their chains through `c`.
///
/// # Safety
/// AVX-512F present; `xp` the padded image of `g`, `panel` D × 32 weights, `c` at least
/// (positions rounded up to 8) × 32 values.
#[target_feature(enable = "avx512f")]
unsafe fn panel_sums(xp: &[f32], g: &ConvGeom, offs: &[usize], panel: &[f32], c: &mut [f32]) {
    let (ow, wp, d) = (g.out_w(), g.in_w + 2 * g.pad, g.d());
    let p = g.out_h() * ow;
    assert!(xp.len() >= g.in_c * (g.in_h + 2 * g.pad) * wp && offs.len() == d);
    assert!(panel.len() == d * NR && c.len() >= p.next_multiple_of(MR) * NR);
    // Position q's window starts at row q / ow, column q % ow of the padded image.
    let base = |q: usize| xp.as_ptr().add(q / ow * wp + q % ow);
    let mut k0 = 0;
    while k0 < d {
        let kk = KC.min(d - k0);
        for q in (0..p).step_by(MR) {
            let a: [*const f32; MR] = std::array::from_fn(|m| base((q + m).min(p - 1)));
            let w = panel.as_ptr().add(k0 * NR);
            tile(
                kk,
                &a,
                offs.as_ptr().add(k0),
                w,
                c.as_mut_ptr().add(q * NR),
                k0 == 0,
            );
        }
        k0 += kk;
    }
}

/// One tile: 8 positions (windows at `a`) × 32 channels, inputs `offs[..kk]` against the
/// weights `w` (kk × 32), continuing the sums in `c` (8 × 32) unless `first`.
///
/// # Safety
/// AVX-512F present; every `a[m] + offs[t]` inside the padded image, `w` kk × 32 values, `c`
/// 8 × 32 values.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile(
    kk: usize,
    a: &[*const f32; MR],
    offs: *const usize,
    w: *const f32,
    c: *mut f32,
    first: bool,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    if !first {
        for (m, row) in acc.iter_mut().enumerate() {
            row[0] = _mm512_loadu_ps(c.add(m * NR));
            row[1] = _mm512_loadu_ps(c.add(m * NR + 16));
        }
    }
    for t in 0..kk {
        let off = *offs.add(t);
        let w0 = _mm512_loadu_ps(w.add(t * NR));
        let w1 = _mm512_loadu_ps(w.add(t * NR + 16));
        for (row, &am) in acc.iter_mut().zip(a) {
            let av = _mm512_set1_ps(*am.add(off));
            row[0] = _mm512_fmadd_ps(av, w0, row[0]);
            row[1] = _mm512_fmadd_ps(av, w1, row[1]);
        }
    }
    for (m, row) in acc.iter().enumerate() {
        _mm512_storeu_ps(c.add(m * NR), row[0]);
        _mm512_storeu_ps(c.add(m * NR + 16), row[1]);
    }
}

/// Channels `o0..o1` of the image's NCHW output `y` (`p` positions each) from the panel's sums
/// `c` (position by position, 32 channels), plus the bias.
fn write_nchw(c: &[f32], p: usize, (o0, o1): (usize, usize), y: &mut [f32], bias: Option<&[f32]>) {
    // 16 positions at a time: their 16 rows of `c` stay in L1 across the channels.
    for q0 in (0..p).step_by(16) {
        let q1 = p.min(q0 + 16);
        for (j, row) in y.chunks_exact_mut(p).take(o1 - o0).enumerate() {
            let b = bias.map_or(0.0, |b| b[o0 + j]);
            for (q, v) in row[q0..q1].iter_mut().enumerate() {
                let s = c[(q0 + q) * NR + j];
                *v = if bias.is_some() { s + b } else { s };
            }
        }
    }
}

/// Grows a buffer to at least `len` values (never shrinks: reused).
fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}
