//! Direct f32 convolution (stride 1, no im2col rows): per image, the input spatially padded
//! (C × (H + 2p) × (W + 2p)); tiles of up to 7 output positions of one class (below) × 64
//! output channels (up to 28 accumulators), per input (c, i, j) four loads of the weights
//! (packed once per call as 64-channel panels, input by input) and a broadcast of each of the
//! positions' input values, read in place at one offset from each position's window.
//!
//! The zero border is not multiplied: the output positions are grouped by the taps their
//! window reads inside the image ([`Plan`]: per run of output rows and run of output columns),
//! each group's tiles running only those taps.
//!
//! Numerics: the inputs run in the weights' order (c, i, j), slab after slab, each output one
//! fused multiply-add chain from +0: the im2col path's chain (`super::layers::conv2d`) without
//! its border taps, and the same bits. A border tap adds 0·w = ±0 (the weights finite, checked
//! per call, else no tap is skipped). Adding ±0 leaves every value but −0 unchanged, and the
//! full chain is never −0 where the shortened one is not: by induction over the taps, the two
//! are equal or the full one is +0 where the shortened one is −0 (a tap both run rounds
//! a·w + (±0) the same unless a·w is exactly zero, when the +0 side stays +0). So every
//! output of the shortened chain is the full chain's, except a −0, which is computed again
//! with every tap (in practice never: −0 takes an underflowing product).
use super::KC;
use crate::kernels::tap_runs;
use crate::ops::ConvGeom;
use rayon::prelude::*;
use std::arch::x86_64::*;
use std::ops::Range;

/// Output positions per tile, at most (a class of positions is split in tiles as even as can be).
const MR: usize = 7;
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
    // 0·w is ±0 only for a finite w: else every tap runs.
    let plan = Plan::new(g, weight.iter().all(|v| v.is_finite()));
    out.par_chunks_mut(g.out_len())
        .zip(x.par_chunks(g.in_len()))
        .for_each_init(Scratch::default, |s, (y, img)| {
            pad_image(img, g, &mut s.xp);
            grow(&mut s.c, p * NR);
            for (b, panel) in w.chunks_exact(d * NR).enumerate() {
                // SAFETY: the caller checked the CPU; `xp` is the padded image of `g`.
                unsafe { panel_sums(&s.xp, g, &plan, panel, &mut s.c) };
                let (o0, o1) = (b * NR, o.min(b * NR + NR));
                // SAFETY: as above.
                unsafe {
                    write_nchw(
                        (&s.c, &plan.rows),
                        p,
                        (o0, o1),
                        &mut y[o0 * p..o1 * p],
                        bias,
                    )
                };
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

/// One input tap: its offset in the padded image from a window's start, and its weights' offset
/// in a panel (input index × [`NR`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tap {
    x: usize,
    w: usize,
}

/// Output positions whose windows read the same taps inside the image: slots `slots` of
/// [`Plan::order`], their taps in (c, i, j) order.
#[derive(Debug)]
struct Class {
    slots: Range<usize>,
    taps: Vec<Tap>,
    /// Taps per input channel.
    per_channel: usize,
}

/// The positions of a geometry grouped by the taps they read inside the image (one group of
/// every tap when the border is not skipped), for every image of a call.
#[derive(Debug)]
struct Plan {
    classes: Vec<Class>,
    /// The output position of each slot (the classes' positions in turn, row-major in each).
    order: Vec<usize>,
    /// Per output position (padded to a multiple of 16) its slot × [`NR`]: its row of sums.
    rows: Vec<i32>,
    /// Every tap, the border's included: the full chain (see the module's numerics).
    all: Vec<Tap>,
}

impl Plan {
    /// The plan of `g`, skipping the border's taps if `skip`.
    fn new(g: &ConvGeom, skip: bool) -> Plan {
        let (oh, ow) = (g.out_h(), g.out_w());
        let wp = g.in_w + 2 * g.pad;
        let plane = (g.in_h + 2 * g.pad) * wp;
        let taps = |(i0, i1): (usize, usize), (j0, j1): (usize, usize)| {
            let mut t = Vec::with_capacity(g.in_c * (i1 - i0) * (j1 - j0));
            for c in 0..g.in_c {
                for i in i0..i1 {
                    t.extend((j0..j1).map(|j| Tap {
                        x: c * plane + i * wp + j,
                        w: ((c * g.k + i) * g.k + j) * NR,
                    }));
                }
            }
            t
        };
        let (mut classes, mut order) = (Vec::new(), Vec::with_capacity(oh * ow));
        let cols = tap_runs(ow, g.in_w, (g.k, 1, g.pad), skip);
        for (ys, is) in tap_runs(oh, g.in_h, (g.k, 1, g.pad), skip) {
            for (xs, js) in &cols {
                let s0 = order.len();
                order.extend(ys.clone().flat_map(|y| xs.clone().map(move |x| y * ow + x)));
                let slots = s0..order.len();
                classes.push(Class {
                    slots,
                    taps: taps(is, *js),
                    per_channel: (is.1 - is.0) * (js.1 - js.0),
                });
            }
        }
        let mut rows = vec![0i32; order.len().next_multiple_of(16)];
        for (slot, &q) in order.iter().enumerate() {
            rows[q] = i32::try_from(slot * NR).expect("direct conv2d: positions × 64 fit in i32");
        }
        Plan {
            classes,
            order,
            rows,
            all: taps((0, g.k), (0, g.k)),
        }
    }
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

/// The sums of every output position against one weight panel, into `c` (slot by slot of
/// `plan`, [`NR`] channels each): slab by slab of input channels, class by class, the tiles
/// continuing their chains through `c`; a −0 of a shortened chain computed again in full.
///
/// # Safety
/// AVX-512F present; `xp` the padded image of `g`, `plan` the plan of `g`, `panel` D × [`NR`]
/// weights, `c` at least positions × [`NR`] values.
#[target_feature(enable = "avx512f")]
unsafe fn panel_sums(xp: &[f32], g: &ConvGeom, plan: &Plan, panel: &[f32], c: &mut [f32]) {
    let (ow, wp, nr) = (g.out_w(), g.in_w + 2 * g.pad, NR);
    let p = g.out_h() * ow;
    assert!(xp.len() >= g.in_c * (g.in_h + 2 * g.pad) * wp && plan.order.len() == p);
    assert!(panel.len() == g.d() * nr && c.len() >= p * nr);
    // Position q's window starts at row q / ow, column q % ow of the padded image.
    let start = |q: usize| q / ow * wp + q % ow;
    let base = |slot: usize| xp.as_ptr().add(start(plan.order[slot]));
    // Slabs of whole input channels (about KC taps): a slab's weights stay in L1 while every
    // class's tiles pass over them.
    let per_channel = g.k * g.k;
    let step = (KC / per_channel).max(1);
    for c0 in (0..g.in_c).step_by(step) {
        let c1 = g.in_c.min(c0 + step);
        for class in &plan.classes {
            let (s0, s1, per) = (class.slots.start, class.slots.end, class.per_channel);
            if per == 0 {
                c[s0 * nr..s1 * nr].fill(0.0);
                continue;
            }
            let slab = &class.taps[c0 * per..c1 * per];
            let (t, w, first) = (slab.as_ptr(), panel.as_ptr(), c0 == 0);
            // The class's positions in tiles of at most MR rows, as even as can be.
            let tiles = (s1 - s0).div_ceil(MR);
            let (rows, extra) = ((s1 - s0) / tiles, (s1 - s0) % tiles);
            let mut s = s0;
            for n in 0..tiles {
                let r = rows + usize::from(n < extra);
                let cs = c.as_mut_ptr().add(s * nr);
                macro_rules! tile {
                    ($($r:literal)*) => {
                        match r {
                            $($r => tile::<$r, NV>(slab.len(), &std::array::from_fn(|m| base(s + m)), t, w, cs, first),)*
                            _ => unreachable!("tiles of 1 to MR rows"),
                        }
                    };
                }
                tile!(1 2 3 4 5 6 7);
                s += r;
            }
        }
    }
    for class in plan.classes.iter().filter(|k| k.per_channel < per_channel) {
        let (s0, s1) = (class.slots.start, class.slots.end);
        for (slot, sums) in (s0..s1).zip(c[s0 * nr..s1 * nr].chunks_exact_mut(nr)) {
            for (ch, v) in sums.iter_mut().enumerate() {
                if v.to_bits() == (-0f32).to_bits() {
                    let at = start(plan.order[slot]);
                    *v = (plan.all.iter())
                        .fold(0f32, |acc, t| xp[at + t.x].mul_add(panel[t.w + ch], acc));
                }
            }
        }
    }
}

/// One tile: R positions (windows at `a`) × 16·NV channels, taps `taps[..kk]` (inputs at
/// `a[m] + x`, weights at `w + w`), continuing the sums in `c` (R × 16·NV) unless `first`.
///
/// # Safety
/// AVX-512F present; every `a[m] + taps[t].x` inside the padded image, `w + taps[t].w` 16·NV
/// values, `c` R × 16·NV values.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile<const R: usize, const NV: usize>(
    kk: usize,
    a: &[*const f32; R],
    taps: *const Tap,
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
        let tap = *taps.add(t);
        let mut wv = [_mm512_setzero_ps(); NV];
        for (v, x) in wv.iter_mut().enumerate() {
            *x = _mm512_loadu_ps(w.add(tap.w + 16 * v));
        }
        for (row, &am) in acc.iter_mut().zip(a) {
            let av = _mm512_set1_ps(*am.add(tap.x));
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
/// `c` (slot by slot, [`NR`] channels; position q's at `rows[q]`), plus the bias: per channel,
/// 16 positions by one masked gather (their 16 rows of `c` stay in L1 across the channels), the bias added as a
/// vector (the same rounding as one by one), one masked store.
///
/// # Safety
/// AVX-512F present.
#[target_feature(enable = "avx512f")]
unsafe fn write_nchw(
    (c, rows): (&[f32], &[i32]),
    p: usize,
    (o0, o1): (usize, usize),
    y: &mut [f32],
    bias: Option<&[f32]>,
) {
    assert!(o1 - o0 <= NR && c.len() >= p * NR && y.len() == (o1 - o0) * p);
    assert!(rows.len() >= p.next_multiple_of(16));
    for q0 in (0..p).step_by(16) {
        let mask = ((1u32 << (p - q0).min(16)) - 1) as __mmask16;
        let idx = _mm512_loadu_si512(rows.as_ptr().add(q0).cast());
        for (j, row) in y.chunks_exact_mut(p).enumerate() {
            // Lanes q read c[rows[q0 + q] + j], only for the positions that exist.
            let src = c.as_ptr().add(j);
            let mut v = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, idx, src.cast());
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
