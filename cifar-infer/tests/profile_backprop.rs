//! Gradient checks of the profiler's backward pass against central finite differences of a naive
//! f64 reference forward, on a small random network with every kind of stage (conv with stride
//! and padding, ReLU, max pooling with and without overlap, flatten, linear).
use cifar_infer::backprop::{
    conv2d_backward_weight, conv_weight_grad_sq_norms_direct, conv_weight_grad_sq_norms_gram,
    linear_backward_weight, maxpool_forward,
};
use cifar_infer::model::{ConvLayer, LinearLayer, Model, Op};
use cifar_infer::ops::{conv2d_naive, max_pool2d, ConvGeom, PoolGeom};
use cifar_infer::profile::{
    argmax, backward, check_profilable, difference_seeds, forward, noise_gains, offsets, Estimator,
    Gains, LayerInput, COURSE_BATCH,
};
use cifar_infer::Ranges;
use fxp_core::rng::stream;
use ndarray::{Array1, Array2, Array4};
use rand::Rng;

/// Parameters of the test network, owned.
struct Params {
    w: Vec<Vec<f32>>,
    b: Vec<Vec<f32>>,
}

fn conv1() -> ConvGeom {
    ConvGeom {
        in_c: 2,
        in_h: 7,
        in_w: 7,
        out_c: 3,
        k: 3,
        stride: 1,
        pad: 2,
    }
}
fn pool1() -> PoolGeom {
    PoolGeom {
        c: 3,
        h: 9,
        w: 9,
        k: 2,
        stride: 2,
        pad: 0,
    }
}
fn conv2() -> ConvGeom {
    ConvGeom {
        in_c: 3,
        in_h: 4,
        in_w: 4,
        out_c: 4,
        k: 3,
        stride: 2,
        pad: 1,
    }
}
fn pool2() -> PoolGeom {
    // Overlapping windows (k3 s1 p1): one input can be the argmax of several outputs.
    PoolGeom {
        c: 4,
        h: 2,
        w: 2,
        k: 3,
        stride: 1,
        pad: 1,
    }
}
const FC1: (usize, usize) = (16, 6);
const FC2: (usize, usize) = (6, 5);

fn params(seed: u64) -> Params {
    let mut rng = stream(seed, 0);
    let sizes = [
        (conv1().out_c * conv1().d(), conv1().out_c),
        (conv2().out_c * conv2().d(), conv2().out_c),
        (FC1.0 * FC1.1, FC1.1),
        (FC2.0 * FC2.1, FC2.1),
    ];
    let mut w = Vec::new();
    let mut b = Vec::new();
    for (nw, nb) in sizes {
        w.push((0..nw).map(|_| rng.gen_range(-0.6f32..0.6)).collect());
        b.push((0..nb).map(|_| rng.gen_range(-0.1f32..0.3)).collect());
    }
    Params { w, b }
}

fn conv(name: &str, geom: ConvGeom, w: &[f32], b: &[f32]) -> Op {
    Op::Conv(ConvLayer {
        name: name.into(),
        geom,
        groups: 1,
        dilation: 1,
        weight: Array4::from_shape_vec((geom.out_c, geom.in_c, geom.k, geom.k), w.to_vec())
            .unwrap(),
        bias: Some(Array1::from(b.to_vec())),
    })
}

fn linear(name: &str, (i, o): (usize, usize), w: &[f32], b: Option<&[f32]>) -> Op {
    Op::Linear(LinearLayer::new(
        name,
        Array2::from_shape_vec((o, i), w.to_vec()).unwrap(),
        b.map(|b| Array1::from(b.to_vec())),
    ))
}

fn model(input: [usize; 3], ops: Vec<Op>, classes: usize) -> Model {
    Model {
        name: "test".into(),
        input,
        preprocess: None,
        ops,
        classes,
    }
}

fn net(p: &Params) -> Model {
    let m = model(
        [2, 7, 7],
        vec![
            conv("c1", conv1(), &p.w[0], &p.b[0]),
            Op::Relu,
            Op::MaxPool(pool1()),
            conv("c2", conv2(), &p.w[1], &p.b[1]),
            Op::Relu,
            Op::MaxPool(pool2()),
            Op::Flatten,
            linear("fc1", FC1, &p.w[2], Some(&p.b[2])),
            Op::Relu,
            Op::Dropout,
            linear("fc2", FC2, &p.w[3], Some(&p.b[3])),
        ],
        FC2.1,
    );
    check_profilable(&m).expect("valid test network");
    m
}

fn relu64(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|a| a.max(0.0)).collect()
}

fn pool64(v: &[f64], g: &PoolGeom) -> Vec<f64> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut out = Vec::new();
    for c in 0..g.c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f64::NEG_INFINITY;
                for i in 0..g.k {
                    for j in 0..g.k {
                        let y = (oy * g.stride + i) as isize - g.pad as isize;
                        let xx = (ox * g.stride + j) as isize - g.pad as isize;
                        if y >= 0 && xx >= 0 && (y as usize) < g.h && (xx as usize) < g.w {
                            m = m.max(v[(c * g.h + y as usize) * g.w + xx as usize]);
                        }
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

fn lin64(v: &[f64], w: &[f64], b: &[f64], (i, o): (usize, usize)) -> Vec<f64> {
    (0..o)
        .map(|r| b[r] + (0..i).map(|c| w[r * i + c] * v[c]).sum::<f64>())
        .collect()
}

/// Naive f64 forward of conv/linear layer `l` and what follows it up to the next layer's input.
fn naive_step(l: usize, v: &[f64], w: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<f64> {
    match l {
        0 => pool64(
            &relu64(conv2d_naive(v, 1, &conv1(), &w[0], Some(&b[0]))),
            &pool1(),
        ),
        1 => pool64(
            &relu64(conv2d_naive(v, 1, &conv2(), &w[1], Some(&b[1]))),
            &pool2(),
        ),
        2 => relu64(lin64(v, &w[2], &b[2], FC1)),
        _ => lin64(v, &w[3], &b[3], FC2),
    }
}

/// Naive forward from the input `x` of layer `from` to the logits.
fn naive_from(from: usize, x: &[f64], w: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<f64> {
    (from..4).fold(x.to_vec(), |v, l| naive_step(l, &v, w, b))
}

/// Inputs of the four layers in the naive forward.
fn naive_inputs(x: &[f64], w: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut v = vec![x.to_vec()];
    for l in 0..3 {
        let next = naive_step(l, &v[l], w, b);
        v.push(next);
    }
    v
}

fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&a| f64::from(a)).collect()
}

#[test]
fn forward_matches_naive_reference_and_pool_matches_ops() {
    let p = params(1);
    let n = net(&p);
    let mut rng = stream(2, 0);
    let x: Vec<f32> = (0..n.input_len())
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let f = forward(&n, &x);
    assert_eq!(f.images, 1);
    let w: Vec<Vec<f64>> = p.w.iter().map(|v| to64(v)).collect();
    let b: Vec<Vec<f64>> = p.b.iter().map(|v| to64(v)).collect();
    let z = naive_from(0, &to64(&x), &w, &b);
    for (a, r) in f.logits.iter().zip(&z) {
        assert!(
            (f64::from(*a) - r).abs() < 1e-5,
            "logit {a} vs reference {r}"
        );
    }
    let input: Vec<f32> = (0..pool1().c * 81)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let (y, arg) = maxpool_forward(&pool1(), &input);
    assert_eq!(y, max_pool2d(&input, 1, &pool1()));
    for (v, &a) in y.iter().zip(&arg) {
        assert_eq!(*v, input[a as usize]);
    }
}

/// Gradients of the profiler for every layer input and weight of one image, for the seeds
/// `e_top − e_i`: `[layer][seed][element]`.
struct Grads {
    act: Vec<Vec<Vec<f64>>>,
    wt: Vec<Vec<Vec<f64>>>,
}

/// Runs a chunk of images through the profiler's forward and backward passes (each image with its
/// own `top`) and returns the gradients of each image.
fn profiler_grads(n: &Model, x: &[f32], tops: &[usize]) -> Vec<Grads> {
    let f = forward(n, x);
    assert_eq!(f.images, tops.len());
    let seeds = n.classes - 1;
    let layers = n.num_weight_layers();
    let mut out: Vec<Grads> = tops
        .iter()
        .map(|_| Grads {
            act: vec![Vec::new(); layers],
            wt: vec![Vec::new(); layers],
        })
        .collect();
    let rows: Vec<f32> = tops
        .iter()
        .flat_map(|&t| difference_seeds(n.classes, t))
        .collect();
    backward(n, &f, &rows, seeds, |lg| {
        let split = |v: &[f32]| {
            v.chunks_exact(v.len() / seeds)
                .map(to64)
                .collect::<Vec<_>>()
        };
        let (gi_len, go_len) = (lg.grad_in.len() / lg.images, lg.grad_out.len() / lg.images);
        for (j, g) in out.iter_mut().enumerate() {
            let go = &lg.grad_out[j * go_len..][..go_len];
            g.act[lg.layer] = split(&lg.grad_in[j * gi_len..][..gi_len]);
            let wgrad = match lg.input {
                LayerInput::Conv { geom, cols } => {
                    conv2d_backward_weight(&geom, &cols[j], go, seeds)
                }
                LayerInput::Linear { input } => {
                    let in_f = input.len() / lg.images;
                    linear_backward_weight(&input[j * in_f..][..in_f], go, seeds)
                }
            };
            g.wt[lg.layer] = split(&wgrad);
        }
    });
    out
}

#[test]
fn weight_and_input_gradients_match_finite_differences() {
    let p = params(7);
    let n = net(&p);
    let mut rng = stream(8, 0);
    let w: Vec<Vec<f64>> = p.w.iter().map(|v| to64(v)).collect();
    let b: Vec<Vec<f64>> = p.b.iter().map(|v| to64(v)).collect();
    let eps = 1e-5;
    let images = 3;
    let x: Vec<f32> = (0..images * n.input_len())
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    // Each image differentiated for a different logit as ŷ (not only the argmax: the kernels do
    // not care, and this covers more seeds).
    let tops: Vec<usize> = (0..images).map(|j| (2 * j + 1) % n.classes).collect();
    let grads = profiler_grads(&n, &x, &tops);
    let mut checked = 0;
    for (j, g) in grads.iter().enumerate() {
        let top = tops[j];
        let x64 = to64(&x[j * n.input_len()..][..n.input_len()]);
        let others: Vec<usize> = (0..n.classes).filter(|&i| i != top).collect();
        let diff = |z: &[f64], s: usize| z[top] - z[others[s]];
        let mut check = |what: &str, zp: &[f64], zm: &[f64], an: &dyn Fn(usize) -> f64| {
            for s in 0..others.len() {
                let fd = (diff(zp, s) - diff(zm, s)) / (2.0 * eps);
                let a = an(s);
                assert!(
                    (fd - a).abs() < 1e-4 * (1.0 + fd.abs()),
                    "{what} seed {s}: finite difference {fd} vs {a}"
                );
                checked += 1;
            }
        };
        // Weights of every layer: every element, every seed.
        for l in 0..4 {
            for e in 0..w[l].len() {
                let mut wp = w.clone();
                wp[l][e] += eps;
                let zp = naive_from(0, &x64, &wp, &b);
                wp[l][e] -= 2.0 * eps;
                let zm = naive_from(0, &x64, &wp, &b);
                check(&format!("image {j} dW{l}[{e}]"), &zp, &zm, &|s| {
                    g.wt[l][s][e]
                });
            }
        }
        // The input of every layer (perturb it, run the rest of the network): every element.
        for (l, a) in naive_inputs(&x64, &w, &b).iter().enumerate() {
            for e in 0..a.len() {
                let mut ap = a.clone();
                ap[e] += eps;
                let zp = naive_from(l, &ap, &w, &b);
                ap[e] -= 2.0 * eps;
                let zm = naive_from(l, &ap, &w, &b);
                check(&format!("image {j} da{l}[{e}]"), &zp, &zm, &|s| {
                    g.act[l][s][e]
                });
            }
        }
    }
    assert!(checked > 5000, "only {checked} comparisons");
}

#[test]
fn conv_weight_norms_gram_equals_direct() {
    let mut rng = stream(3, 0);
    let g = ConvGeom {
        in_c: 5,
        in_h: 6,
        in_w: 6,
        out_c: 7,
        k: 3,
        stride: 1,
        pad: 1,
    };
    let p = g.out_h() * g.out_w();
    let cols: Vec<f32> = (0..g.d() * p)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let seeds = 4;
    let go: Vec<f32> = (0..seeds * g.out_c * p)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect();
    let a = conv_weight_grad_sq_norms_direct(&g, &cols, &go, seeds);
    let b = conv_weight_grad_sq_norms_gram(&g, &cols, &go, seeds);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-4 * x.abs(), "{x} vs {y}");
    }
}

// ---------------------------------------------------------------------------------------------
// The estimators against a brute-force reference built from explicit per-image gradients.

fn images(count: usize, seed: u64, len: usize) -> Vec<f32> {
    let mut rng = stream(seed, 0);
    (0..count * len)
        .map(|_| rng.gen_range(-1.0f32..1.0))
        .collect()
}

/// Explicit per-image gradients (one chunk per image) and logits.
fn explicit(n: &Model, x: &[f32], top: impl Fn(&[f64]) -> usize) -> Vec<(Vec<f64>, usize, Grads)> {
    x.chunks_exact(n.input_len())
        .map(|img| {
            let z: Vec<f64> = forward(n, img)
                .logits
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let t = top(&z);
            let g = profiler_grads(n, img, &[t]).pop().unwrap();
            (z, t, g)
        })
        .collect()
}

fn sq(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len());
    for (l, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rel * w.abs(),
            "{what}[{l}]: {g} vs reference {w}"
        );
    }
}

#[test]
fn per_image_estimator_matches_brute_force() {
    let p = params(11);
    let n = net(&p);
    // 23 images: chunks of 10, 10 and 3.
    let x = images(23, 12, n.input_len());
    let gains = noise_gains(&n, &x, Estimator::PerImage, &fxp_core::progress::Silent).unwrap();
    let (mut ea, mut ew) = (vec![0.0; 4], vec![0.0; 4]);
    for (z, t, g) in explicit(&n, &x, argmax) {
        let others: Vec<usize> = (0..z.len()).filter(|&i| i != t).collect();
        for l in 0..4 {
            for (s, &i) in others.iter().enumerate() {
                let d2 = 24.0 * (z[t] - z[i]).powi(2);
                ea[l] += sq(&g.act[l][s]) / d2 / 23.0;
                ew[l] += sq(&g.wt[l][s]) / d2 / 23.0;
            }
        }
    }
    assert_eq!((gains.units, gains.images, gains.ties), (23, 23, 0));
    assert_close("E_A", &gains.e_a, &ea, 1e-4);
    assert_close("E_W", &gains.e_w, &ew, 1e-4);
}

#[test]
fn course_estimator_matches_brute_force() {
    let p = params(13);
    let n = net(&p);
    // Two course batches: 500 images and 37.
    let total = COURSE_BATCH + 37;
    let x = images(total, 14, n.input_len());
    let gains = noise_gains(&n, &x, Estimator::Course, &fxp_core::progress::Silent).unwrap();
    let (mut ea, mut ew) = (vec![0.0; 4], vec![0.0; 4]);
    for batch in x.chunks(COURSE_BATCH * n.input_len()) {
        // ŷ and the differences from the batch-summed logits.
        let per = explicit(&n, batch, |_| 0);
        let mut z = vec![0.0; n.classes];
        for (zi, _, _) in &per {
            z.iter_mut().zip(zi).for_each(|(a, b)| *a += b);
        }
        let t = argmax(&z);
        let per = explicit(&n, batch, |_| t);
        let others: Vec<usize> = (0..z.len()).filter(|&i| i != t).collect();
        for l in 0..4 {
            for (s, &i) in others.iter().enumerate() {
                let d2 = 24.0 * (z[t] - z[i]).powi(2);
                // Activations: every image's input is its own variable.
                let act: f64 = per.iter().map(|(_, _, g)| sq(&g.act[l][s])).sum();
                // Weights: the gradient of the batch sum is the sum of the per-image gradients.
                let mut wsum = vec![0.0; per[0].2.wt[l][s].len()];
                for (_, _, g) in &per {
                    wsum.iter_mut().zip(&g.wt[l][s]).for_each(|(a, b)| *a += b);
                }
                ea[l] += act / d2 / 2.0;
                ew[l] += sq(&wsum) / d2 / 2.0;
            }
        }
    }
    assert_eq!((gains.units, gains.images), (2, total));
    assert_close("E_A", &gains.e_a, &ea, 1e-4);
    assert_close("E_W", &gains.e_w, &ew, 1e-4);
}

#[test]
fn gains_do_not_depend_on_the_number_of_threads() {
    let p = params(15);
    let n = net(&p);
    let x = images(COURSE_BATCH + 61, 16, n.input_len());
    for est in Estimator::ALL {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| noise_gains(&n, &x, est, &fxp_core::progress::Silent).unwrap())
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(one, two, "{est:?}: 1 thread vs 2 threads");
        assert!(one
            .e_a
            .iter()
            .chain(&one.e_w)
            .all(|v| v.is_finite() && *v > 0.0));
    }
}

#[test]
fn offsets_follow_the_definition() {
    // Normalised gains E·r²: weights [4, 64, 1·4], activations [16·1, 2, 1] → m = 1 (activation
    // of layer 3); offsets ½·log2(gain/m): [1, 3, 1], [2, 0.5, 0]; 0.5 rounds to even (0).
    let gains = Gains {
        e_w: vec![4.0, 16.0, 1.0],
        e_a: vec![16.0, 2.0, 1.0],
        units: 1,
        images: 1,
        ties: 0,
    };
    let ranges = Ranges {
        weight: vec![1.0, 2.0, 2.0],
        activation: vec![1.0, 1.0, 1.0],
    };
    let o = offsets(&gains, &ranges).unwrap();
    assert_eq!(o.w_raw, vec![1.0, 3.0, 1.0]);
    assert_eq!(o.a_raw, vec![2.0, 0.5, 0.0]);
    assert_eq!((o.w, o.a), (vec![1, 3, 1], vec![2, 0, 0]));
    let bad = Gains {
        e_a: vec![16.0, 0.0, 1.0],
        ..gains.clone()
    };
    assert!(offsets(&bad, &ranges).is_err());
    let short = Ranges {
        weight: vec![1.0],
        ..ranges
    };
    assert!(offsets(&gains, &short).is_err());
}

#[test]
fn networks_the_profiler_cannot_handle_are_rejected() {
    let p = params(1);
    // Ops that do not chain.
    let bad = model([10, 1, 1], vec![linear("fc", FC1, &p.w[2], None)], FC1.1);
    assert!(check_profilable(&bad).is_err());
    assert!(noise_gains(
        &bad,
        &[0.0; 10],
        Estimator::PerImage,
        &fxp_core::progress::Silent
    )
    .is_err());
    // A single output has no logit difference.
    let one = vec![0.5f32; 16];
    assert!(check_profilable(&model(
        [16, 1, 1],
        vec![linear("fc", (16, 1), &one, None)],
        1
    ))
    .is_err());
    let n = net(&p);
    assert!(noise_gains(&n, &[], Estimator::Course, &fxp_core::progress::Silent).is_err());
    assert!(noise_gains(
        &n,
        &[0.0; 5],
        Estimator::PerImage,
        &fxp_core::progress::Silent
    )
    .is_err());
}
