//! Kernel correctness: im2col convolution against a direct convolution, the integer kernels
//! against each other, and the exact quantized layer against a slow f64 reference.
use cifar_infer::int8::{self, IntKernel, PackedWeights, SimdLevel};
use cifar_infer::model::{LayerKernel, LinearLayer};
use cifar_infer::ops::{self, ConvGeom};
use cifar_infer::quantized::activation_codes;
use fxp_core::Quantizer;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn geoms() -> Vec<ConvGeom> {
    vec![
        ConvGeom {
            in_c: 3,
            in_h: 8,
            in_w: 8,
            out_c: 5,
            k: 3,
            stride: 1,
            pad: 2,
        },
        ConvGeom {
            in_c: 4,
            in_h: 9,
            in_w: 7,
            out_c: 6,
            k: 3,
            stride: 2,
            pad: 1,
        },
        ConvGeom {
            in_c: 2,
            in_h: 5,
            in_w: 5,
            out_c: 3,
            k: 1,
            stride: 1,
            pad: 0,
        },
        // 49 positions = one AMX pair, one single tile and a VNNI leftover; two row blocks.
        ConvGeom {
            in_c: 16,
            in_h: 7,
            in_w: 7,
            out_c: 70,
            k: 3,
            stride: 1,
            pad: 1,
        },
        // k = 2: the generic im2row.
        ConvGeom {
            in_c: 3,
            in_h: 6,
            in_w: 5,
            out_c: 4,
            k: 2,
            stride: 2,
            pad: 1,
        },
        ConvGeom {
            in_c: 7,
            in_h: 6,
            in_w: 6,
            out_c: 9,
            k: 5,
            stride: 1,
            pad: 0,
        },
        // Direct convolution (k·C a multiple of 4, B ≤ 8, VNNI): blocks of 4 positions that
        // span output lines of odd width, two row blocks, and a short last block.
        ConvGeom {
            in_c: 8,
            in_h: 5,
            in_w: 7,
            out_c: 65,
            k: 3,
            stride: 1,
            pad: 1,
        },
        // Direct, k = 5 (runs of 20 codes) with padding.
        ConvGeom {
            in_c: 4,
            in_h: 6,
            in_w: 5,
            out_c: 7,
            k: 5,
            stride: 1,
            pad: 2,
        },
        // Direct at stride 2 with a wide padding.
        ConvGeom {
            in_c: 12,
            in_h: 7,
            in_w: 6,
            out_c: 3,
            k: 3,
            stride: 2,
            pad: 2,
        },
        // Direct with the border skipped (unsigned codes): padding 2 on a 3 × 3 kernel, odd
        // sizes, so the border classes have 1 or 2 taps per axis and 1–3 positions.
        ConvGeom {
            in_c: 8,
            in_h: 7,
            in_w: 5,
            out_c: 66,
            k: 3,
            stride: 1,
            pad: 2,
        },
        // Direct, k = 1 with padding: the border positions have no tap inside the image.
        ConvGeom {
            in_c: 12,
            in_h: 3,
            in_w: 4,
            out_c: 5,
            k: 1,
            stride: 1,
            pad: 1,
        },
        // Direct on C = 3 (k·C = 12): kernel lines skipped at the border, columns not (a
        // column of 3 codes is not whole groups of 4).
        ConvGeom {
            in_c: 3,
            in_h: 6,
            in_w: 7,
            out_c: 4,
            k: 4,
            stride: 1,
            pad: 2,
        },
        // Direct on the pairs kernel only (B > 8, VNNI): k·C = 6 is whole pairs, not groups of
        // 4; two row blocks; C odd, so no column is skipped.
        ConvGeom {
            in_c: 3,
            in_h: 6,
            in_w: 5,
            out_c: 65,
            k: 2,
            stride: 1,
            pad: 1,
        },
        // Pairs kernel, D = 576: at B = 12 and 16 (random codes) an exact chunk holds one or two
        // kernel lines of 192 inputs, not the row, so the lines go by groups.
        ConvGeom {
            in_c: 64,
            in_h: 4,
            in_w: 5,
            out_c: 3,
            k: 3,
            stride: 1,
            pad: 1,
        },
        // Pairs kernel with the border columns skipped on C = 6 (whole pairs, not groups of 4).
        ConvGeom {
            in_c: 6,
            in_h: 5,
            in_w: 6,
            out_c: 5,
            k: 2,
            stride: 1,
            pad: 1,
        },
    ]
}

#[test]
fn im2col_conv_equals_naive_conv() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for g in geoms() {
        let n = 3;
        let x: Vec<f32> = (0..n * g.in_len())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let w: Vec<f32> = (0..g.out_c * g.d())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let b: Vec<f32> = (0..g.out_c).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let y = ops::conv2d(&x, n, &g, &w, Some(&b));
        let to64 = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<_>>();
        let r = ops::conv2d_naive(&to64(&x), n, &g, &to64(&w), Some(&to64(&b)));
        assert_eq!(y.len(), r.len());
        for (a, e) in y.iter().zip(&r) {
            assert!((*a as f64 - e).abs() < 1e-4, "{g:?}: {a} vs {e}");
        }
    }
}

#[test]
fn integer_conv_kernels_equal_the_exact_sum() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for g in geoms() {
        // B = 15, 16: base-256 activation digits on the pairs kernel (VNNI level), signed
        // (offset codes up to 2^B − 1) and unsigned.
        let cases = [
            (false, 8),
            (true, 8),
            (false, 16),
            (true, 16),
            (true, 12),
            (false, 3),
        ];
        for (signed_act, bits) in cases {
            let n = 2;
            let act = if signed_act {
                Quantizer::signed(1.0, bits).unwrap()
            } else {
                Quantizer::unsigned(4.0, bits).unwrap()
            };
            let wq = Quantizer::signed(1.0, bits).unwrap();
            let x: Vec<f32> = (0..n * g.in_len())
                .map(|_| rng.gen_range(-1.0..4.0))
                .collect();
            let kw: Vec<i64> = (0..g.out_c * g.d())
                .map(|_| rng.gen_range(wq.min_level()..=wq.max_level()))
                .collect();
            let ka: Vec<f64> = activation_codes::<f64>(&act, &x);
            let exact = ops::conv2d_naive(
                &ka,
                n,
                &g,
                &kw.iter().map(|&k| k as f64).collect::<Vec<_>>(),
                None,
            );
            let pw = PackedWeights::new(&kw, g.out_c, g.d(), &act, &wq).unwrap();
            let codes = int8::activation_codes_u16(&act, &x);
            let exact_i: Vec<i64> = exact.iter().map(|&v| v as i64).collect();
            for kernel in IntKernel::available() {
                let got = int8::conv2d_on(kernel, &codes, n, &g, &pw);
                assert_eq!(got, exact_i, "{kernel:?} {g:?} signed={signed_act}");
            }
            assert_eq!(int8::conv2d(&codes, n, &g, &pw), exact_i);
        }
    }
}

#[test]
fn integer_linear_kernels_equal_the_exact_sum() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (n, i, o, bits, act_bits) in [
        (5, 100, 7, 8, 8),
        (3, 128, 10, 5, 5),
        (9, 4096, 13, 8, 8),
        (6, 130, 70, 16, 16),
        (7, 64, 65, 11, 11),
        // AMX tiles: 50 = 32 + 16 + 2 positions, 17 = 16 + 1.
        (50, 576, 100, 8, 8),
        (17, 130, 65, 16, 16),
        (32, 64, 64, 2, 2),
        // AMX digit pairs (2 × 2, 1 × 2, 2 × 1 digits) with leftover positions.
        (50, 576, 100, 12, 12),
        (33, 300, 70, 12, 6),
        (19, 200, 64, 7, 14),
        (40, 4096, 64, 15, 16),
    ] {
        let act = Quantizer::unsigned(8.0, act_bits).unwrap();
        let wq = Quantizer::signed(1.0, bits).unwrap();
        let x: Vec<f32> = (0..n * i).map(|_| rng.gen_range(0.0..9.0)).collect();
        let kw: Vec<i64> = (0..o * i)
            .map(|_| rng.gen_range(wq.min_level()..=wq.max_level()))
            .collect();
        let ka: Vec<i64> = x.iter().map(|&v| act.level(v as f64)).collect();
        let exact: Vec<i64> = (0..n)
            .flat_map(|b| {
                let (ka, kw) = (&ka, &kw);
                (0..o).map(move |r| (0..i).map(|j| ka[b * i + j] * kw[r * i + j]).sum::<i64>())
            })
            .collect();
        let pw = PackedWeights::new(&kw, o, i, &act, &wq).unwrap();
        let u = int8::activation_codes_u16(&act, &x);
        assert_linear_on_every_kernel(
            &u,
            n,
            &pw,
            &exact,
            &format!("n={n} i={i} o={o} B_W={bits} B_A={act_bits}"),
        );
        assert_eq!(int8::linear(&u, n, &pw), exact);
    }
}

/// The linear layer of 16-bit codes `u` (`n` images) against `pw` gives `exact` on every
/// integer kernel this CPU runs (`what`: the case, for the failure message).
fn assert_linear_on_every_kernel(
    u: &[u16],
    n: usize,
    pw: &PackedWeights,
    exact: &[i64],
    what: &str,
) {
    for kernel in IntKernel::available() {
        assert_eq!(
            int8::linear_on(kernel, u, n, pw),
            exact,
            "{kernel:?} {what}"
        );
    }
}

/// Sums at the exactness bound of the `vpdpwssd` chunks (B = 12…15, and B = 16 whose passes
/// multiply activation digits up to 255): every activation at its largest code and one weight
/// in `gap` at the most negative code (gap 1: all of them, so chunks shorter than the row), the
/// rest 0 or (mixed signs) the largest, so a chunk's sum comes close to −2^31 (the chunk is cut
/// from the weights' L1 norm per run of inputs); the sums equal the exact i64 ones on every
/// kernel.
#[test]
fn integer_kernels_are_exact_at_the_chunk_bound() {
    let (n, i, o) = (6, 1000, 70);
    for bits in [12, 14, 15, 16] {
        let act = Quantizer::unsigned(1.0, bits).unwrap();
        let wq = Quantizer::signed(1.0, bits).unwrap();
        let x = vec![2.0f32; n * i];
        let ka = act.level(2.0);
        assert_eq!(ka, act.max_level(), "the activations saturate");
        for (gap, mixed) in [(40, false), (7, false), (40, true), (1, false)] {
            let kw: Vec<i64> = (0..o * i)
                .map(|t| match (t % gap, mixed) {
                    (0, _) => wq.min_level(),
                    (1, true) => wq.max_level() / 64,
                    _ => 0,
                })
                .collect();
            let exact: Vec<i64> = (0..n)
                .flat_map(|_| (0..o).map(|r| kw[r * i..(r + 1) * i].iter().sum::<i64>() * ka))
                .collect();
            let pw = PackedWeights::new(&kw, o, i, &act, &wq).unwrap();
            let u = int8::activation_codes_u16(&act, &x);
            assert_linear_on_every_kernel(
                &u,
                n,
                &pw,
                &exact,
                &format!("B = {bits}, gap {gap}, mixed {mixed}"),
            );
        }
    }
}

/// The exact quantized linear layer (integer codes, every kernel path) equals a slow f64
/// reference Σ q(a)·q(w) + b rounded once to f32, bit for bit.
#[test]
fn quantized_layer_equals_slow_f64_reference() {
    use cifar_infer::model::{Model, Op};
    use cifar_infer::quantized::{reference_linear, PathPolicy, QuantizedModel, Ranges};
    use fxp_core::LayerPrecision;
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (n, i, o) = (4, 300, 11);
    let lin = LinearLayer::new(
        "fc",
        Array2::from_shape_simple_fn((o, i), || rng.gen_range(-0.6..0.6)),
        Some(Array1::from_shape_simple_fn(o, || rng.gen_range(-1.0..1.0))),
    );
    let model = Model {
        name: "one-layer".into(),
        input: [i, 1, 1],
        preprocess: None,
        ops: vec![Op::Relu, Op::Flatten, Op::Linear(lin.clone())],
        classes: o,
    };
    let x: Vec<f32> = (0..n * i)
        .map(|_| rng.gen_range(-1.0f32..3.0).max(0.0))
        .collect();
    let ranges = Ranges {
        weight: vec![0.5],
        activation: vec![2.0],
    };
    for bits in [3, 6, 8, 11, 16] {
        let p = [LayerPrecision {
            b_w: bits,
            b_a: bits,
        }];
        let act = Quantizer::unsigned(2.0, bits).unwrap();
        let wq = Quantizer::signed(0.5, bits).unwrap();
        let r: Vec<f32> = reference_linear(&x, n, &lin, &act, &wq)
            .iter()
            .map(|&v| v as f32)
            .collect();
        for policy in [
            PathPolicy::Auto,
            PathPolicy::FloatCodes,
            PathPolicy::F64Only,
        ] {
            let q = QuantizedModel::new(&model, &ranges, &p, policy).unwrap();
            assert!(model.nonnegative_inputs()[0]);
            let y = q.linear(0, &lin, &x, n);
            assert_eq!(y, r, "B = {bits}, {policy:?}, paths {:?}", q.paths());
        }
    }
}

/// Max pooling (the unrolled no-padding paths and the general one) against a naive loop.
#[test]
fn max_pool_equals_naive() {
    use cifar_infer::ops::{max_pool2d, max_pool2d_channels_last, PoolGeom};
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (h, w, k, stride, pad) in [
        (8, 8, 2, 2, 0),
        (9, 7, 3, 2, 0),
        (7, 6, 3, 1, 1),
        (5, 5, 4, 1, 0),
    ] {
        let g = PoolGeom {
            c: 3,
            h,
            w,
            k,
            stride,
            pad,
        };
        let n = 2;
        let x: Vec<f32> = (0..n * 3 * h * w)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let (oh, ow) = (g.out_h(), g.out_w());
        let mut want = Vec::new();
        for plane in x.chunks_exact(h * w) {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut m = f32::NEG_INFINITY;
                    for i in 0..k {
                        for j in 0..k {
                            let (y, xx) = (
                                (oy * stride + i) as isize - pad as isize,
                                (ox * stride + j) as isize - pad as isize,
                            );
                            if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < w {
                                m = m.max(plane[y as usize * w + xx as usize]);
                            }
                        }
                    }
                    want.push(m);
                }
            }
        }
        assert_eq!(max_pool2d(&x, n, &g), want, "{g:?}");
        // Channels last: the same maxima, NHWC.
        let nhwc = |v: &[f32], hh: usize, ww: usize| -> Vec<f32> {
            let mut out = vec![0f32; v.len()];
            for (i, &val) in v.iter().enumerate() {
                let (b, c, p) = (i / (3 * hh * ww), i / (hh * ww) % 3, i % (hh * ww));
                out[(b * hh * ww + p) * 3 + c] = val;
            }
            out
        };
        assert_eq!(
            max_pool2d_channels_last(&nhwc(&x, h, w), n, &g),
            nhwc(&want, oh, ow),
            "channels last {g:?}"
        );
        // On u8 codes of a monotone quantizer: the codes of the float maxima.
        let q = Quantizer::signed(1.0, 8).unwrap();
        let code = |v: &f32| (q.level(*v as f64) - q.min_level()) as u8;
        let codes: Vec<u8> = x.iter().map(code).collect();
        let want_codes: Vec<u8> = want.iter().map(code).collect();
        assert_eq!(max_pool2d(&codes, n, &g), want_codes, "codes {g:?}");
    }
}

/// Every small geometry: strides 1–3, padding up to beyond the kernel, kernels wider than the
/// image.
fn many_geoms() -> Vec<ConvGeom> {
    let mut v = Vec::new();
    for (in_h, in_w) in [(1, 1), (2, 5), (5, 2), (6, 7)] {
        for k in 1..=4 {
            for stride in 1..=3 {
                for pad in 0..=4 {
                    if in_h + 2 * pad < k || in_w + 2 * pad < k {
                        continue;
                    }
                    v.push(ConvGeom {
                        in_c: 2,
                        in_h,
                        in_w,
                        out_c: 3,
                        k,
                        stride,
                        pad,
                    });
                }
            }
        }
    }
    v
}

/// The patch-matrix element (row `(c, i, j)`, column `(oy, ox)`) by its definition.
fn patch(x: &[f32], g: &ConvGeom, c: usize, i: usize, j: usize, oy: usize, ox: usize) -> f32 {
    let y = (oy * g.stride + i) as isize - g.pad as isize;
    let xx = (ox * g.stride + j) as isize - g.pad as isize;
    if y < 0 || xx < 0 || y >= g.in_h as isize || xx >= g.in_w as isize {
        0.0
    } else {
        x[(c * g.in_h + y as usize) * g.in_w + xx as usize]
    }
}

#[test]
fn im2col_and_col2im_follow_their_definitions() {
    use cifar_infer::backprop::{col2im, conv2d_backward_input};
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for g in many_geoms() {
        let (oh, ow) = (g.out_h(), g.out_w());
        let p = oh * ow;
        let x: Vec<f32> = (0..g.in_len()).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut cols = vec![f32::NAN; g.d() * p];
        ops::im2col(&x, &g, &mut cols);
        // col2im by its definition: every patch element added back where it came from, in the
        // same order as the kernel (so the sums are bit-identical).
        let m: Vec<f32> = (0..g.d() * p).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let mut want = vec![0.5f32; g.in_len()];
        for c in 0..g.in_c {
            for i in 0..g.k {
                for j in 0..g.k {
                    let r = (c * g.k + i) * g.k + j;
                    for oy in 0..oh {
                        for ox in 0..ow {
                            assert_eq!(
                                cols[r * p + oy * ow + ox],
                                patch(&x, &g, c, i, j, oy, ox),
                                "{g:?}"
                            );
                            let y = (oy * g.stride + i) as isize - g.pad as isize;
                            let xx = (ox * g.stride + j) as isize - g.pad as isize;
                            if y >= 0 && xx >= 0 && y < g.in_h as isize && xx < g.in_w as isize {
                                want[(c * g.in_h + y as usize) * g.in_w + xx as usize] +=
                                    m[r * p + oy * ow + ox];
                            }
                        }
                    }
                }
            }
        }
        let mut got = vec![0.5f32; g.in_len()];
        col2im(&g, &m, &mut got);
        assert_eq!(got, want, "{g:?}");
        // The input gradient of several seeds at once equals col2im(Wᵀ·g_s) seed by seed.
        let seeds = 3;
        let w: Vec<f32> = (0..g.out_c * g.d())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let go: Vec<f32> = (0..seeds * g.out_len())
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let gi = conv2d_backward_input(&g, &w, &go, seeds);
        for (s, gs) in go.chunks_exact(g.out_len()).enumerate() {
            let mut wt_g = vec![0.0f32; g.d() * p];
            for (r, out) in wt_g.chunks_exact_mut(p.max(1)).enumerate() {
                for (q, v) in out.iter_mut().enumerate() {
                    *v = (0..g.out_c)
                        .map(|o| f64::from(w[o * g.d() + r]) * f64::from(gs[o * p + q]))
                        .sum::<f64>() as f32;
                }
            }
            let mut want = vec![0.0f32; g.in_len()];
            col2im(&g, &wt_g, &mut want);
            for (a, b) in gi[s * g.in_len()..(s + 1) * g.in_len()].iter().zip(&want) {
                assert!((a - b).abs() < 1e-5, "{g:?} seed {s}: {a} vs {b}");
            }
        }
    }
}

/// A kernel value can only be had for a level the CPU runs: on a CPU without AMX (or without
/// AVX-512 VNNI) the constructor refuses it, so no safe call reaches an unsupported instruction.
#[test]
fn kernels_exist_only_for_levels_the_cpu_runs() {
    let available: Vec<SimdLevel> = IntKernel::available().iter().map(|k| k.level()).collect();
    assert_eq!(
        available[0],
        SimdLevel::Portable,
        "the portable kernel always exists"
    );
    for level in [SimdLevel::Portable, SimdLevel::Avx512Vnni, SimdLevel::Amx] {
        assert_eq!(IntKernel::new(level).is_some(), available.contains(&level));
    }
    // Levels are ordered: a CPU that runs one runs every slower one.
    assert!(available.windows(2).all(|w| w[0] < w[1]));
    let amx = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.contains("amx_int8"));
    if !amx {
        assert_eq!(IntKernel::new(SimdLevel::Amx), None, "no AMX on this CPU");
    }
    assert!(available.contains(&IntKernel::best().level()));
}
