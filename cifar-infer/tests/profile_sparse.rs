//! The profiler's sparse backward products (`profile::sparse`, the zeros of ReLU and max-pooling
//! skipped) against the dense kernels and a direct f64 sum, with 9 seeds (the AVX-512 path on a
//! CPU that has it) and 3 (the portable path).
use cifar_infer::backprop::{conv2d_backward_input, conv2d_backward_weight, positions};
use cifar_infer::ops::ConvGeom;
use cifar_infer::profile::sparse::{
    active_mask, add_weighted_rows, conv2d_backward_input_sparse, conv_weight_grad_sparse,
    set_weighted_rows, tap_major, transpose,
};
use fxp_core::rng::stream;
use rand::Rng;

/// `len` values in [−1, 1), about `zeros` of them set to exactly zero.
fn values(len: usize, zeros: f64, seed: u64) -> Vec<f32> {
    let mut rng = stream(seed, 0);
    (0..len)
        .map(|_| {
            if rng.gen_bool(zeros) {
                0.0
            } else {
                rng.gen_range(-1.0f32..1.0)
            }
        })
        .collect()
}

/// Output gradients `seeds × C_out·P` zero wherever a shared mask (as ReLU/pooling make it) is.
fn masked_grads(len: usize, seeds: usize, seed: u64) -> Vec<f32> {
    let mask = values(len, 0.7, seed);
    let g = values(seeds * len, 0.0, seed + 1);
    g.chunks_exact(len)
        .flat_map(|gs| {
            gs.iter()
                .zip(&mask)
                .map(|(&v, &m)| if m == 0.0 { 0.0 } else { v })
        })
        .collect()
}

/// Largest |got − want| relative to the largest |want| (1 when `want` is all zero).
fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "lengths");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (f64::from(g) - w).abs())
        .fold(0.0, f64::max)
        / scale
}

#[test]
fn weighted_rows_match_a_direct_sum() {
    // Column counts around the 48-wide blocks and the 16-wide masked tail.
    for (case, &k) in [1usize, 5, 16, 47, 48, 49, 100, 144].iter().enumerate() {
        for seeds in [9usize, 3] {
            let n_rows = 7;
            let rows = values(n_rows * k, 0.0, 10 + case as u64);
            let idx: Vec<u32> = vec![3, 0, 6, 3, 1];
            let coefs = values(idx.len() * seeds, 0.2, 20 + case as u64);
            let stride = k + 3;
            let init = values((seeds - 1) * stride + k, 0.0, 30 + case as u64);
            let mut out = init.clone();
            add_weighted_rows(&mut out, stride, seeds, k, &rows, &idx, &coefs);
            let mut want: Vec<f64> = init.iter().map(|&v| f64::from(v)).collect();
            for (j, &r) in idx.iter().enumerate() {
                for s in 0..seeds {
                    for i in 0..k {
                        want[s * stride + i] +=
                            f64::from(coefs[j * seeds + s]) * f64::from(rows[r as usize * k + i]);
                    }
                }
            }
            // Reference: the f64 sum; tolerance 1e-6 of the largest value (f32 rounding of a
            // six-term sum).
            let e = rel_err(&out, &want);
            assert!(e < 1e-6, "k {k}, {seeds} seeds: relative error {e:e}");
            // Into zeros: the same sums without the initial values; the gaps between the
            // rows (stride > k) keep theirs.
            let mut set = init.clone();
            set_weighted_rows(&mut set, stride, seeds, k, &rows, &idx, &coefs);
            for (i, (&v, &w0)) in set.iter().zip(&init).enumerate() {
                let sum = want[i] - f64::from(w0);
                let (s, c) = (i / stride, i % stride);
                if s < seeds && c < k {
                    assert!(
                        (f64::from(v) - sum).abs() <= 1e-6 * (1.0 + sum.abs()),
                        "set, k {k}"
                    );
                } else {
                    assert_eq!(v, w0, "set wrote outside the rows");
                }
            }
        }
    }
}

fn geoms() -> Vec<ConvGeom> {
    let g = |in_c, in_h, out_c, k, stride, pad| ConvGeom {
        in_c,
        in_h,
        in_w: in_h,
        out_c,
        k,
        stride,
        pad,
    };
    vec![
        g(16, 9, 20, 3, 1, 1),
        g(3, 8, 8, 3, 1, 2),
        g(5, 7, 6, 3, 2, 1),
        g(4, 6, 3, 1, 1, 0),
    ]
}

#[test]
fn sparse_input_gradient_equals_the_dense_one() {
    for (case, g) in geoms().into_iter().enumerate() {
        for seeds in [9usize, 3] {
            let seed = 100 + 10 * case as u64;
            let w = values(g.out_c * g.d(), 0.0, seed);
            let go = masked_grads(g.out_len(), seeds, seed + 2);
            let dense = conv2d_backward_input(&g, &w, &go, seeds);
            let (mask, active) = active_mask(&go, seeds, g.out_len());
            assert!(
                active > 0 && active < g.out_len(),
                "a partly active gradient"
            );
            let got = conv2d_backward_input_sparse(&g, &tap_major(&w, &g), &go, &mask, seeds);
            // Reference: the dense kernel (a GEMM and col2im); the same terms in the same
            // order of taps, so equal up to f32 rounding of the channel sums: 1e-5.
            let want: Vec<f64> = dense.iter().map(|&v| f64::from(v)).collect();
            let e = rel_err(&got, &want);
            assert!(e < 1e-5, "case {case}, {seeds} seeds: relative error {e:e}");
        }
    }
}

#[test]
fn sparse_weight_gradient_equals_the_dense_sum_over_images() {
    for (case, g) in geoms().into_iter().enumerate() {
        let (seeds, images) = (9, 3);
        let p = positions(&g);
        let seed = 200 + 10 * case as u64;
        let cols: Vec<Vec<f32>> = (0..images)
            .map(|n| values(g.d() * p, 0.1, seed + n as u64))
            .collect();
        let go: Vec<f32> = (0..images)
            .flat_map(|n| masked_grads(g.out_len(), seeds, seed + 50 + n as u64))
            .collect();
        let got = conv_weight_grad_sparse(g.d(), g.out_c, p, &cols, &go, seeds);
        let mut want = vec![0.0f64; seeds * g.out_c * g.d()];
        for (n, c) in cols.iter().enumerate() {
            let gw = conv2d_backward_weight(
                &g,
                c,
                &go[n * seeds * g.out_len()..][..seeds * g.out_len()],
                seeds,
            );
            for (w, v) in want.iter_mut().zip(gw) {
                *w += f64::from(v);
            }
        }
        // Reference: the dense per-image weight gradients summed in f64; 1e-5 (f32 sums).
        let e = rel_err(&got, &want);
        assert!(e < 1e-5, "case {case}: relative error {e:e}");
    }
}

#[test]
fn transpose_and_tap_major_reorder_exactly() {
    for (rows, cols) in [(1, 1), (3, 17), (8, 8), (19, 5), (33, 40)] {
        let m = values(rows * cols, 0.0, (rows * 100 + cols) as u64);
        let t = transpose(&m, rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(
                    t[c * rows + r],
                    m[r * cols + c],
                    "({r}, {c}) of {rows}×{cols}"
                );
            }
        }
    }
    let g = geoms()[0];
    let w = values(g.out_c * g.d(), 0.0, 7);
    let tm = tap_major(&w, &g);
    let kk = g.k * g.k;
    for o in 0..g.out_c {
        for c in 0..g.in_c {
            for t in 0..kk {
                assert_eq!(tm[(o * kk + t) * g.in_c + c], w[(o * g.in_c + c) * kk + t]);
            }
        }
    }
}
