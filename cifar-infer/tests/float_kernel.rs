//! The float inference kernel ([`cifar_infer::float`]) against its definition: every output is
//! one fused multiply-add chain over its inputs in increasing order, started at zero, plus the
//! bias. On a CPU with AVX-512F the kernel must match that chain bit for bit, on odd shapes
//! (outputs not a multiple of the tile rows, positions not a multiple of the tile columns,
//! inputs not a multiple of the slab, stride 2, padding) and whatever the number of threads;
//! without it (the GEMM front end) within a relative 1e-5 of the f64 sum.
use cifar_infer::float::{self, FloatLevel};
use cifar_infer::ops::{self, ConvGeom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// The fma chain Σ_k a\[k\]·b\[k\] in order from zero, plus `bias`, and the f64 sum of the
/// same terms (for the GEMM fallback's tolerance).
fn chain(a: impl Iterator<Item = (f32, f32)>, bias: Option<f32>) -> (f32, f64) {
    let (mut s, mut s64) = (0f32, 0f64);
    for (x, w) in a {
        s = x.mul_add(w, s);
        s64 += f64::from(x) * f64::from(w);
    }
    match bias {
        Some(b) => (s + b, s64 + f64::from(b)),
        None => (s, s64),
    }
}

/// Compares the kernel's outputs with the chains: bit for bit on the AVX-512F level, within
/// 1e-5 relative (of the sum of |terms|, at least 1) on the GEMM level.
fn check(what: &str, got: &[f32], want: &[(f32, f64)]) {
    assert_eq!(got.len(), want.len(), "{what}: output length");
    for (i, (&g, &(w, w64))) in got.iter().zip(want).enumerate() {
        match float::float_level() {
            FloatLevel::Avx512 => assert_eq!(
                g.to_bits(),
                w.to_bits(),
                "{what}: output {i} is {g:e}, the fma chain {w:e}"
            ),
            FloatLevel::Gemm => assert!(
                (f64::from(g) - w64).abs() <= 1e-5 * w64.abs().max(1.0),
                "{what}: output {i} is {g:e}, the f64 sum {w64:e} (tolerance 1e-5 relative)"
            ),
        }
    }
}

/// The chains of a convolution: over the im2col rows (c, i, j) in order.
fn conv_chains(
    x: &[f32],
    n: usize,
    g: &ConvGeom,
    w: &[f32],
    bias: Option<&[f32]>,
) -> Vec<(f32, f64)> {
    let (p, d) = (g.out_h() * g.out_w(), g.d());
    let mut cols = vec![0f32; d * p];
    let mut out = Vec::with_capacity(n * g.out_len());
    for img in x.chunks_exact(g.in_len()) {
        ops::im2col(img, g, &mut cols);
        for o in 0..g.out_c {
            for pos in 0..p {
                let terms = (0..d).map(|k| (w[o * d + k], cols[k * p + pos]));
                out.push(chain(terms, bias.map(|b| b[o])));
            }
        }
    }
    out
}

fn conv_geoms() -> Vec<ConvGeom> {
    let g = |in_c, in_h, in_w, out_c, k, stride, pad| ConvGeom {
        in_c,
        in_h,
        in_w,
        out_c,
        k,
        stride,
        pad,
    };
    vec![
        // 81 positions per image (units span images), 13 outputs (a partial row block), D = 135.
        g(15, 9, 9, 13, 3, 1, 1),
        // Stride 2, padding 2, D = 7·25 = 175 (a partial slab), 5 outputs (fewer than a tile).
        g(7, 11, 10, 5, 5, 2, 2),
        // Many positions (several units per image), D = 27.
        g(3, 34, 33, 16, 3, 1, 2),
        // A 1 × 1 convolution over 300 inputs (three slabs), one position per image.
        g(300, 1, 1, 9, 1, 1, 0),
    ]
}

#[test]
fn conv2d_is_the_fma_chain_on_odd_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    for g in conv_geoms() {
        for n in [1, 3] {
            let x = random(n * g.in_len(), &mut rng);
            let w = random(g.out_c * g.d(), &mut rng);
            let b = random(g.out_c, &mut rng);
            for bias in [None, Some(b.as_slice())] {
                let got = float::conv2d(&x, n, &g, &w, bias);
                let what = format!("conv {g:?}, {n} images, bias {}", bias.is_some());
                check(&what, &got, &conv_chains(&x, n, &g, &w, bias));
            }
        }
    }
}

#[test]
fn linear_is_the_fma_chain_on_odd_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    // (images, inputs, outputs): partial tiles both ways, several slabs, several work units,
    // fewer outputs than a tile row block.
    for (n, in_f, out_f) in [(1, 5, 3), (7, 300, 13), (50, 129, 300), (33, 1, 600)] {
        let x = random(n * in_f, &mut rng);
        let w = random(out_f * in_f, &mut rng);
        let b = random(out_f, &mut rng);
        for bias in [None, Some(b.as_slice())] {
            let got = float::linear(&x, n, in_f, out_f, &w, bias);
            let want: Vec<(f32, f64)> = (0..n)
                .flat_map(|i| (0..out_f).map(move |o| (i, o)))
                .map(|(i, o)| {
                    let terms = (0..in_f).map(|k| (w[o * in_f + k], x[i * in_f + k]));
                    chain(terms, bias.map(|b| b[o]))
                })
                .collect();
            let what = format!("linear {n} × {in_f} → {out_f}, bias {}", bias.is_some());
            check(&what, &got, &want);
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let mut rng = ChaCha8Rng::seed_from_u64(20);
    let g = conv_geoms()[0];
    let n = 11;
    let x = random(n * g.in_len(), &mut rng);
    let w = random(g.out_c * g.d(), &mut rng);
    let (lin_in, lin_out) = (g.out_len(), 700);
    let wl = random(lin_out * lin_in, &mut rng);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool");
        pool.install(|| {
            let y = float::conv2d(&x, n, &g, &w, None);
            let z = float::linear(&y, n, lin_in, lin_out, &wl, None);
            (y, z)
        })
    };
    let one = run(1);
    for threads in [2, 3, 5] {
        let (y, z) = run(threads);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&one.0), "conv, {threads} threads vs 1");
        assert_eq!(bits(&z), bits(&one.1), "linear, {threads} threads vs 1");
    }
}

/// A linear layer keeps its weights packed for the float kernel after the first call; changing
/// them through `params_mut` must drop that copy: the layer then gives what a new layer with
/// the changed weights gives, bit for bit (a stale copy would give the old weights' outputs).
#[test]
fn packed_linear_weights_follow_a_change_of_the_weights() {
    use cifar_infer::model::{FloatKernel, LayerKernel, LinearLayer};
    use ndarray::{Array1, Array2};
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (n, in_f, out_f) = (50, 130, 70);
    let x = random(n * in_f, &mut rng);
    let w = Array2::from_shape_vec((out_f, in_f), random(out_f * in_f, &mut rng)).unwrap();
    let b = Array1::from(random(out_f, &mut rng));
    let mut layer = LinearLayer::new("fc", w.clone(), Some(b.clone()));
    let first = FloatKernel.linear(0, &layer, &x, n);
    assert_eq!(
        FloatKernel.linear(0, &layer, &x, n),
        first,
        "second call (packed weights kept) vs first"
    );
    layer.params_mut().0.mapv_inplace(|v| -0.5 * v);
    let changed = LinearLayer::new("fc", w.mapv(|v| -0.5 * v), Some(b));
    let want = FloatKernel.linear(0, &changed, &x, n);
    let got = FloatKernel.linear(0, &layer, &x, n);
    assert_ne!(got, first, "the weights changed, so must the outputs");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&got),
        bits(&want),
        "changed layer vs a new layer with its weights"
    );
}

/// Stride-1 geometries of the direct convolution: positions not a multiple of its tiles (tiles
/// spanning output lines), output channels past one 64-channel panel (the last partial), inputs
/// past one slab, with and without padding (the border's taps skipped: classes of positions
/// down to one position, or to no tap), a 1 × 1 and a 5 × 5 kernel.
fn direct_geoms() -> Vec<ConvGeom> {
    let g = |in_c, in_h, in_w, out_c, k, pad| ConvGeom {
        in_c,
        in_h,
        in_w,
        out_c,
        k,
        stride: 1,
        pad,
    };
    vec![
        // 5 × 3 = 15 positions, 40 channels (panels of 32 and 8), D = 180, no padding.
        g(20, 7, 5, 40, 3, 0),
        // 7 × 6 = 42 positions, padding 2, D = 6·25 = 150, 33 channels.
        g(6, 7, 6, 33, 5, 2),
        // 1 × 1 kernel, 3 positions, D = 257 (three slabs, the last of one input), 64 channels.
        g(257, 1, 3, 64, 1, 0),
        // One position only (a 3 × 3 image, 3 × 3 kernel), 1 channel.
        g(4, 3, 3, 1, 3, 0),
        // The border's taps skipped: padding 1 on an odd shape (5 × 7 positions, 70 channels,
        // D = 19·9 = 171 past one slab of whole channels).
        g(19, 5, 7, 70, 3, 1),
        // 1 × 1 kernel, padding 1: the border's positions read only the padding (no tap).
        g(9, 3, 4, 17, 1, 1),
        // Windows mostly border: a 2 × 1 image, 5 × 5 kernel, padding 2 (2 × 1 positions).
        g(3, 2, 1, 5, 5, 2),
        // Padding 2 with a 3 × 3 kernel: a border line of positions reading one line of taps.
        g(5, 4, 3, 8, 3, 2),
    ]
}

/// One position of `g` (input `x`, one output channel) whose shortened chain (the border's taps
/// skipped) is −0 and the full one +0: a product underflowing to −0 (−1e-30 · 1e-30), the
/// border's taps after it adding +0 (positive weights).
#[test]
fn direct_conv2d_keeps_the_full_chains_zero_sign() {
    // 1 × 1 image, 3 × 3 kernel, padding 1: tap (1, 1) reads the image, the other 8 the border.
    let g = ConvGeom {
        in_c: 1,
        in_h: 1,
        in_w: 1,
        out_c: 1,
        k: 3,
        stride: 1,
        pad: 1,
    };
    let (x, w) = ([-1e-30f32], [1e-30f32; 9]);
    let want = conv_chains(&x, 1, &g, &w, None);
    assert_eq!(want[0].0.to_bits(), 0f32.to_bits(), "the full chain is +0");
    check(
        "a −0 shortened chain",
        &float::conv2d(&x, 1, &g, &w, None),
        &want,
    );
}

/// A non-finite weight on a border tap: 0·inf is NaN, so no tap may be skipped (the direct
/// convolution gives the im2col rows' bits).
#[test]
fn direct_conv2d_skips_no_tap_with_a_non_finite_weight() {
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let g = ConvGeom {
        in_c: 3,
        in_h: 4,
        in_w: 5,
        out_c: 6,
        k: 3,
        stride: 1,
        pad: 1,
    };
    let x = random(2 * g.in_len(), &mut rng);
    let mut w = random(g.out_c * g.d(), &mut rng);
    w[0] = f32::INFINITY; // channel 0, tap (c 0, i 0, j 0): the border for the first line
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let want = float::conv2d_im2col(&x, 2, &g, &w, None);
    assert!(
        want[0].is_nan(),
        "position (0, 0) multiplies inf by the border's 0"
    );
    assert_eq!(bits(&float::conv2d(&x, 2, &g, &w, None)), bits(&want));
}

#[test]
fn direct_conv2d_is_the_fma_chain_on_odd_shapes() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    for g in direct_geoms() {
        for n in [1, 2] {
            let x = random(n * g.in_len(), &mut rng);
            let w = random(g.out_c * g.d(), &mut rng);
            let b = random(g.out_c, &mut rng);
            for bias in [None, Some(b.as_slice())] {
                let got = float::conv2d(&x, n, &g, &w, bias);
                let what = format!("direct conv {g:?}, {n} images, bias {}", bias.is_some());
                check(&what, &got, &conv_chains(&x, n, &g, &w, bias));
            }
        }
    }
}

/// The direct convolution (stride 1) and the im2col rows give the same bits, on the shapes of
/// both tests and whatever the number of threads; stride 2 (the im2col rows in both calls)
/// included.
#[test]
fn direct_and_im2col_convolutions_agree_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for g in direct_geoms().into_iter().chain(conv_geoms()) {
        let n = 5;
        let x = random(n * g.in_len(), &mut rng);
        let w = random(g.out_c * g.d(), &mut rng);
        let b = random(g.out_c, &mut rng);
        let want = float::conv2d_im2col(&x, n, &g, &w, Some(&b));
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            let got = pool.install(|| float::conv2d(&x, n, &g, &w, Some(&b)));
            assert_eq!(
                bits(&got),
                bits(&want),
                "conv {g:?}: direct vs im2col, {threads} threads"
            );
        }
    }
}
