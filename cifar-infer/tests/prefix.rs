//! Passes that start at the first changed layer (issue 18, the designer's evaluations): a pass of
//! an assignment started at layer s from the input that reached s in the pass of another
//! assignment gives the same logits, bit for bit, as its full pass whenever
//! `QuantizedModel::same_input` says so — on the course network (data/) at precisions on every
//! kernel path — and the judge, which starts from its base's kept inputs, measures what a judge
//! without a base measures, on the course network, on the test network with batch norm and on a
//! network with a residual block (where no pass can start past it).
use cifar_infer::model::{Activation, ConvLayer, LayerKernel, LinearLayer, Model, Op, Residual};
use cifar_infer::ops::{ConvGeom, PoolGeom};
use cifar_infer::quantized::{PathPolicy, QuantizedModel, Ranges};
use cifar_infer::search::Judge;
use cifar_infer::{CifarSet, Setup, Sources};
use fxp_core::rng::stream;
use fxp_core::LayerPrecision;
use ndarray::{Array1, Array2, Array4};
use rand::Rng;
use std::path::PathBuf;

/// Images per pass in the logits tests.
const N: usize = 6;

fn course() -> (Setup, Ranges) {
    let s = Setup::load(&Sources {
        limit: Some(40),
        ..Default::default()
    })
    .expect("the bundled homework data (data/)");
    let r = Ranges::from_npy(&s.paths, s.model.num_weight_layers()).expect("the course ranges");
    (s, r)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The float input of the first `N` test images and the inputs that reached every weight
/// layer in the pass of `q` (by layer; layer 0's is the input).
fn kept_inputs(
    model: &Model,
    q: &QuantizedModel,
    images: &CifarSet,
) -> (Vec<f32>, Vec<Activation>) {
    let x: Vec<f32> = model
        .input_of(images.slice(0, N))
        .unwrap()
        .iter()
        .copied()
        .collect();
    let layers = model.num_weight_layers();
    let later: Vec<bool> = (0..layers).map(|l| l > 0).collect();
    let full = model.forward_from(q, 0, Activation::Float(x.clone()), N, &later);
    // Keeping the inputs changes nothing: the logits of the plain pass.
    let plain = model.forward_with(q, model.input_of(images.slice(0, N)).unwrap().view());
    assert_eq!(bits(&full.logits), bits(plain.as_slice().unwrap()));
    let mut inputs = vec![Activation::Float(x.clone())];
    assert_eq!(
        full.kept.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        (1..layers).collect::<Vec<_>>()
    );
    inputs.extend(full.kept.into_iter().map(|(_, a)| a));
    (x, inputs)
}

/// The deepest layer a pass of `c` can start at from `base`'s inputs, after checking that
/// every start up to it gives `c`'s full-pass logits bit for bit.
fn deepest_start(
    model: &Model,
    images: &CifarSet,
    base: &QuantizedModel,
    c: &QuantizedModel,
) -> usize {
    let (x, inputs) = kept_inputs(model, base, images);
    let full = model
        .forward_from(c, 0, Activation::Float(x), N, &[])
        .logits;
    let deepest = (1..inputs.len())
        .take_while(|&s| model.can_start_at(s) && c.same_input(base, s))
        .last()
        .unwrap_or(0);
    for (s, input) in inputs.iter().enumerate().take(deepest + 1).skip(1) {
        let from = model.forward_from(c, s, input.clone(), N, &[]).logits;
        assert_eq!(bits(&from), bits(&full), "start at layer {s}");
    }
    deepest
}

fn uniform_random(rng: &mut impl Rng, layers: usize, lo: u32, hi: u32) -> Vec<LayerPrecision> {
    (0..layers)
        .map(|_| LayerPrecision {
            b_w: rng.gen_range(lo..=hi),
            b_a: rng.gen_range(lo..=hi),
        })
        .collect()
}

/// `p` with one bit less on layer `l`'s weights (`weight`) or input.
fn less(p: &[LayerPrecision], l: usize, weight: bool) -> Vec<LayerPrecision> {
    let mut c = p.to_vec();
    if weight {
        c[l].b_w -= 1;
    } else {
        c[l].b_a -= 1;
    }
    c
}

#[test]
fn starts_at_the_first_changed_layer_give_the_full_pass_logits_on_every_kernel_path() {
    let (s, r) = course();
    let (model, layers) = (&s.model, s.model.num_weight_layers());
    let mut rng = stream(18, 1);
    // (lowest, highest precision, policy): one-byte codes, two-byte codes, float codes.
    let cases = [
        (2, 8, PathPolicy::Auto),
        (9, 16, PathPolicy::Auto),
        (2, 12, PathPolicy::FloatCodes),
    ];
    for (lo, hi, policy) in cases {
        for _ in 0..2 {
            let p = uniform_random(&mut rng, layers, lo + 1, hi);
            let base = QuantizedModel::new(model, &r, &p, policy).unwrap();
            let l = rng.gen_range(1..layers);
            for weight in [true, false] {
                let c = QuantizedModel::new(model, &r, &less(&p, l, weight), policy).unwrap();
                let deepest = deepest_start(model, &s.test, &base, &c);
                // B_W,l: layer l's input is unchanged; B_A,l: the codes layer l − 1 writes
                // change (on the integer path), not its input.
                let codes = policy == PathPolicy::Auto && base.emits_codes(l - 1);
                let expected = if weight || !codes { l } else { l - 1 };
                assert_eq!(
                    deepest, expected,
                    "{lo}..{hi} {policy:?}: layer {l}, weight {weight}"
                );
            }
            // Two layers changed: the pass starts below the first.
            let (a, b) = (rng.gen_range(1..layers - 1), layers - 1);
            let two = less(&less(&p, a, true), b, false);
            let c = QuantizedModel::new(model, &r, &two, policy).unwrap();
            assert!(deepest_start(model, &s.test, &base, &c) <= a);
        }
    }
}

#[test]
fn an_input_precision_change_started_at_its_own_layer_gives_other_logits() {
    // The check same_input makes is needed: layer l − 1 requantizes its output to layer l's
    // input quantizer, so starting a B_A,l change at l from the base's codes is wrong.
    let (s, r) = course();
    let (model, layers) = (&s.model, s.model.num_weight_layers());
    let p = vec![LayerPrecision { b_w: 8, b_a: 8 }; layers];
    let base = QuantizedModel::new(model, &r, &p, PathPolicy::Auto).unwrap();
    let l = (1..layers)
        .find(|&l| base.emits_codes(l - 1) && model.codes_may_reach(l))
        .expect("the course network hands codes between some layers at 8 bits");
    let mut cp = p.clone();
    cp[l].b_a = 4;
    let c = QuantizedModel::new(model, &r, &cp, PathPolicy::Auto).unwrap();
    assert!(!c.same_input(&base, l));
    assert!(c.same_input(&base, l - 1));
    let (x, inputs) = kept_inputs(model, &base, &s.test);
    let full = model
        .forward_from(&c, 0, Activation::Float(x), N, &[])
        .logits;
    let wrong = model.forward_from(&c, l, inputs[l].clone(), N, &[]).logits;
    assert_ne!(bits(&wrong), bits(&full));
}

/// Measures a walk of assignments with a judge told its base (as the greedy does) and with
/// fresh judges without one: the same accuracy, standard error and verdicts; returns the
/// fraction of the MACs the judge with a base skipped.
fn judge_agrees(
    model: &Model,
    r: &Ranges,
    images: &CifarSet,
    batch: usize,
    p: &[LayerPrecision],
) -> f64 {
    let layers = p.len();
    let judge = Judge::new(model, r, images, batch, 5.0, 0.0).unwrap();
    let mut rng = stream(18, 2);
    let mut base = p.to_vec();
    judge.set_base(&base).unwrap();
    for step in 0..6 {
        let l = rng.gen_range(0..layers);
        let weight = step % 2 == 0;
        let c = less(&base, l, weight);
        let fresh = Judge::new(model, r, images, batch, 5.0, 0.0).unwrap();
        // Every third: an evaluation that stops early (few images kept), as the search's.
        if step % 3 == 2 {
            assert_eq!(
                judge.verdict(&c).unwrap(),
                fresh.verdict(&c).unwrap(),
                "step {step}"
            );
        }
        let (m, f) = (
            judge.measure_all(&c).unwrap(),
            fresh.measure_all(&c).unwrap(),
        );
        assert_eq!(m, f, "step {step}: layer {l}, weight {weight}");
        if step % 2 == 1 {
            base = c;
            judge.set_base(&base).unwrap();
        }
    }
    let (run, skipped, _) = judge.pass_work();
    skipped / (run + skipped)
}

#[test]
fn the_judge_from_its_base_measures_what_a_fresh_judge_measures() {
    let (s, r) = course();
    let p = vec![LayerPrecision { b_w: 7, b_a: 7 }; s.model.num_weight_layers()];
    let skipped = judge_agrees(&s.model, &r, &s.test.take(40), 10, &p);
    assert!(skipped > 0.0, "the judge never started past layer 0");
}

#[test]
fn on_a_network_with_batch_norm_the_judge_is_still_right() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testnets/bn-after-relu");
    let s = Setup::load(&Sources {
        spec: Some(dir.join("net.json")),
        model: Some(dir.join("model.safetensors")),
        limit: Some(60),
        ..Default::default()
    })
    .expect("the bundled data and test network");
    let r = Ranges::compute(&s.model, &s.test, 20).unwrap();
    let p = vec![LayerPrecision { b_w: 6, b_a: 6 }; s.model.num_weight_layers()];
    assert!(judge_agrees(&s.model, &r, &s.test, 20, &p) > 0.0);
}

/// A small network on the CIFAR images with a residual block after its first conv: no pass
/// starts past layer 0.
fn residual_net() -> Model {
    let mut rng = stream(18, 3);
    let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-0.3f32..0.3)).collect() };
    let conv = |name: &str, in_c: usize, out_c: usize, draw: &mut dyn FnMut(usize) -> Vec<f32>| {
        let geom = ConvGeom {
            in_c,
            in_h: 32,
            in_w: 32,
            out_c,
            k: 3,
            stride: 1,
            pad: 1,
        };
        Op::Conv(ConvLayer {
            name: name.into(),
            geom,
            groups: 1,
            dilation: 1,
            weight: Array4::from_shape_vec((out_c, in_c, 3, 3), draw(out_c * in_c * 9)).unwrap(),
            bias: Some(Array1::from(draw(out_c))),
        })
    };
    let c0 = conv("c0", 3, 4, &mut draw);
    let c1 = conv("c1", 4, 4, &mut draw);
    let pool = PoolGeom {
        c: 4,
        h: 32,
        w: 32,
        k: 4,
        stride: 4,
        pad: 0,
    };
    let fc = LinearLayer::new(
        "fc",
        Array2::from_shape_vec((10, 4 * 8 * 8), draw(10 * 256)).unwrap(),
        Some(Array1::from(draw(10))),
    );
    let model = Model {
        name: "residual".into(),
        input: [3, 32, 32],
        preprocess: None,
        ops: vec![
            c0,
            Op::Relu,
            Op::Residual(Residual {
                body: vec![c1, Op::Relu],
                shortcut: vec![],
            }),
            Op::MaxPool(pool),
            Op::Flatten,
            Op::Linear(fc),
        ],
        classes: 10,
    };
    model.check().unwrap();
    model
}

#[test]
fn on_a_network_with_a_residual_block_the_judge_takes_full_passes_and_is_still_right() {
    let model = residual_net();
    assert!(model.can_start_at(0));
    assert!(!model.can_start_at(1) && !model.can_start_at(2));
    let s = Setup::load(&Sources {
        limit: Some(40),
        ..Default::default()
    })
    .unwrap();
    let r = Ranges::compute(&model, &s.test, 20).unwrap();
    let p = vec![LayerPrecision { b_w: 6, b_a: 6 }; 3];
    assert_eq!(judge_agrees(&model, &r, &s.test, 20, &p), 0.0);
}
