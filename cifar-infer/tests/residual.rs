//! Residual networks in the one network representation: a small random network with every kind
//! of op (residual blocks with identity and 1×1 downsampling shortcuts, batch norm after convs
//! and after a ReLU, ReLU6, a depthwise and a dilated convolution, average and adaptive average
//! pooling, dropout), built from a description with weights drawn from a seed, against an independent
//! straightforward f64 interpreter of the description written here:
//! - the float forward pass (batch norm folded) equals the reference to 1e-5 relative;
//! - exact fixed point (every kernel path) equals an f64 reference kernel bit for bit;
//! - the profiler's gradients (through residual adds, batch norm in float, pooling, ReLU6)
//!   equal central finite differences of the reference.
use cifar_infer::backprop::{conv2d_backward_weight, linear_backward_weight};
use cifar_infer::model::{BatchNormMode, ConvLayer, LayerKernel, LinearLayer, Model};
use cifar_infer::profile::{
    argmax, backward, difference_seeds, forward, noise_gains, Estimator, LayerInput,
};
use cifar_infer::quantized::{PathPolicy, QuantizedModel, Ranges};
use cifar_infer::weights::{Tensor, Weights};
use fxp_core::rng::stream;
use fxp_core::LayerPrecision;
use ndarray::ArrayView4;
use nn_cost::spec::{LayerSpec, NetworkSpec};
use rand::Rng;
use std::collections::BTreeMap;

/// The test network on 3×8×8 inputs; `groups` is the group count of the body's second conv of
/// the first block (6 = depthwise).
fn spec(groups: usize) -> NetworkSpec {
    NetworkSpec::from_json_str(&format!(
        r#"{{"name": "res-test", "input": [3, 8, 8], "layers": [
  {{"type": "conv", "name": "c0", "out_channels": 6, "kernel": 3, "padding": 1, "bias": false}},
  {{"type": "batch_norm", "name": "bn0"}}, {{"type": "relu"}},
  {{"type": "residual", "body": [
    {{"type": "conv", "name": "b1.c1", "out_channels": 6, "kernel": 3, "padding": 1, "bias": false}},
    {{"type": "batch_norm", "name": "b1.bn1"}}, {{"type": "relu6"}},
    {{"type": "conv", "name": "b1.c2", "out_channels": 6, "kernel": 3, "padding": 1, "groups": {groups}}},
    {{"type": "batch_norm", "name": "b1.bn2"}}]}},
  {{"type": "relu"}},
  {{"type": "residual", "body": [
    {{"type": "conv", "name": "b2.c1", "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1}},
    {{"type": "relu"}},
    {{"type": "conv", "name": "b2.c2", "out_channels": 8, "kernel": 3, "padding": 2, "dilation": 2}}],
   "shortcut": [
    {{"type": "conv", "name": "b2.down", "out_channels": 8, "kernel": 1, "stride": 2, "bias": false}},
    {{"type": "batch_norm", "name": "b2.dbn"}}]}},
  {{"type": "relu"}},
  {{"type": "avg_pool", "kernel": 3, "stride": 1, "padding": 1}},
  {{"type": "batch_norm", "name": "bn3"}},
  {{"type": "adaptive_avg_pool", "output": 2}}, {{"type": "flatten"}}, {{"type": "dropout"}},
  {{"type": "linear", "name": "fc", "out_features": 5}}]}}"#
    ))
    .expect("valid test description")
}

/// Parameters drawn from `seed` for every tensor the description needs.
fn weights(spec: &NetworkSpec, seed: u64) -> Weights {
    let mut rng = stream(seed, 0);
    let mut out = BTreeMap::new();
    for t in cifar_infer::model::expected_tensors(spec).unwrap() {
        let len: usize = t.shape.iter().product();
        let fan_in: usize = t.shape.iter().skip(1).product::<usize>().max(1);
        let scale = 1.5 / (fan_in as f32).sqrt();
        let (lo, hi) = match t.name.rsplit('.').next().unwrap() {
            "running_var" => (0.5, 1.5),
            "weight" if t.shape.len() == 1 => (0.5, 1.5), // batch-norm γ
            "weight" => (-scale, scale),
            _ => (-0.2, 0.2), // biases, β, running means
        };
        let data = (0..len).map(|_| rng.gen_range(lo..hi)).collect();
        out.insert(
            t.name.clone(),
            Tensor::from_shape_vec(t.shape, data).unwrap(),
        );
    }
    out
}

/// Flat NCHW inputs as the model's (N, C, H, W) batch.
fn batch<'a>(model: &Model, x: &'a [f32]) -> ArrayView4<'a, f32> {
    let [c, h, w] = model.input;
    ArrayView4::from_shape((x.len() / model.input_len(), c, h, w), x).unwrap()
}

fn images(n: usize, len: usize, seed: u64) -> Vec<f32> {
    let mut rng = stream(seed, 0);
    (0..n * len).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

// ---------------------------------------------------------------------------------------------
// The reference: a direct f64 interpreter of the description.

#[derive(Clone, Copy)]
enum Shape {
    Map(usize, usize, usize),
    Flat(usize),
}

/// A perturbation of the reference: `delta` added to element `at` of the weights of weight
/// layer `layer`, or of its input.
#[derive(Clone, Copy)]
enum Nudge {
    None,
    Weight { layer: usize, at: usize, delta: f64 },
    Input { layer: usize, at: usize, delta: f64 },
}

struct Reference<'a> {
    w: &'a BTreeMap<String, Vec<f64>>,
    nudge: Nudge,
    layer: usize,
}

impl Reference<'_> {
    fn param(&self, name: &str, suffix: &str) -> Vec<f64> {
        self.w[&format!("{name}.{suffix}")].clone()
    }

    /// The weights of the current weight layer, nudged, and its input, nudged.
    fn weight_layer(&mut self, name: &str, x: &mut [f64]) -> Vec<f64> {
        let mut w = self.param(name, "weight");
        match self.nudge {
            Nudge::Weight { layer, at, delta } if layer == self.layer => w[at] += delta,
            Nudge::Input { layer, at, delta } if layer == self.layer => x[at] += delta,
            _ => {}
        }
        self.layer += 1;
        w
    }

    fn seq(&mut self, layers: &[LayerSpec], mut x: Vec<f64>, mut s: Shape) -> (Vec<f64>, Shape) {
        for l in layers {
            (x, s) = self.layer(l, x, s);
        }
        (x, s)
    }

    fn layer(&mut self, l: &LayerSpec, mut x: Vec<f64>, s: Shape) -> (Vec<f64>, Shape) {
        let map = |s: Shape| match s {
            Shape::Map(c, h, w) => (c, h, w),
            Shape::Flat(_) => panic!("feature map expected"),
        };
        match l {
            LayerSpec::Conv {
                name,
                out_channels: o,
                kernel: k,
                stride: st,
                padding: p,
                bias,
                groups: g,
                dilation: dl,
            } => {
                let (c, h, w) = map(s);
                let wt = self.weight_layer(name, &mut x);
                let b = bias.then(|| self.param(name, "bias"));
                let span = dl * (k - 1) + 1;
                let (oh, ow) = ((h + 2 * p - span) / st + 1, (w + 2 * p - span) / st + 1);
                let (cg, og) = (c / g, o / g);
                let mut y = vec![0.0; o * oh * ow];
                for oc in 0..*o {
                    let grp = oc / og;
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut acc = b.as_ref().map_or(0.0, |b| b[oc]);
                            for ci in 0..cg {
                                let ic = grp * cg + ci;
                                for i in 0..*k {
                                    for j in 0..*k {
                                        let yy = (oy * st + i * dl) as isize - *p as isize;
                                        let xx = (ox * st + j * dl) as isize - *p as isize;
                                        if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize
                                        {
                                            continue;
                                        }
                                        acc += wt[((oc * cg + ci) * k + i) * k + j]
                                            * x[(ic * h + yy as usize) * w + xx as usize];
                                    }
                                }
                            }
                            y[(oc * oh + oy) * ow + ox] = acc;
                        }
                    }
                }
                (y, Shape::Map(*o, oh, ow))
            }
            LayerSpec::Linear {
                name,
                out_features: o,
                bias,
            } => {
                let wt = self.weight_layer(name, &mut x);
                let b = bias.then(|| self.param(name, "bias"));
                let i = x.len();
                let y = (0..*o)
                    .map(|r| {
                        b.as_ref().map_or(0.0, |b| b[r])
                            + (0..i).map(|c| wt[r * i + c] * x[c]).sum::<f64>()
                    })
                    .collect();
                (y, Shape::Flat(*o))
            }
            LayerSpec::BatchNorm { name, eps } => {
                let (c, plane) = match s {
                    Shape::Map(c, h, w) => (c, h * w),
                    Shape::Flat(f) => (f, 1),
                };
                let [g, b, m, v] = ["weight", "bias", "running_mean", "running_var"]
                    .map(|sfx| self.param(name, sfx));
                for (i, a) in x.iter_mut().enumerate() {
                    let ch = (i / plane) % c;
                    *a = (*a - m[ch]) / (v[ch] + eps).sqrt() * g[ch] + b[ch];
                }
                (x, s)
            }
            LayerSpec::Relu => (x.into_iter().map(|a| a.max(0.0)).collect(), s),
            LayerSpec::Relu6 => (x.into_iter().map(|a| a.clamp(0.0, 6.0)).collect(), s),
            LayerSpec::MaxPool {
                kernel: k,
                stride,
                padding: p,
            }
            | LayerSpec::AvgPool {
                kernel: k,
                stride,
                padding: p,
            } => {
                let max = matches!(l, LayerSpec::MaxPool { .. });
                let (c, h, w) = map(s);
                let st = stride.unwrap_or(*k);
                let (oh, ow) = ((h + 2 * p - k) / st + 1, (w + 2 * p - k) / st + 1);
                let mut y = Vec::new();
                for ch in 0..c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                            for i in 0..*k {
                                for j in 0..*k {
                                    let yy = (oy * st + i) as isize - *p as isize;
                                    let xx = (ox * st + j) as isize - *p as isize;
                                    if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                                        continue;
                                    }
                                    let v = x[(ch * h + yy as usize) * w + xx as usize];
                                    acc = if max { acc.max(v) } else { acc + v };
                                }
                            }
                            y.push(if max { acc } else { acc / (k * k) as f64 });
                        }
                    }
                }
                (y, Shape::Map(c, oh, ow))
            }
            LayerSpec::AdaptiveAvgPool { output: o } => {
                let (c, h, w) = map(s);
                let mut y = Vec::new();
                for ch in 0..c {
                    for oy in 0..*o {
                        let (y0, y1) = (oy * h / o, ((oy + 1) * h).div_ceil(*o));
                        for ox in 0..*o {
                            let (x0, x1) = (ox * w / o, ((ox + 1) * w).div_ceil(*o));
                            let mut acc = 0.0;
                            for yy in y0..y1 {
                                for xx in x0..x1 {
                                    acc += x[(ch * h + yy) * w + xx];
                                }
                            }
                            y.push(acc / ((y1 - y0) * (x1 - x0)) as f64);
                        }
                    }
                }
                (y, Shape::Map(c, *o, *o))
            }
            LayerSpec::Flatten => {
                let n = x.len();
                (x, Shape::Flat(n))
            }
            LayerSpec::Dropout => (x, s),
            LayerSpec::Residual { body, shortcut } => {
                let (mut y, sb) = self.seq(body, x.clone(), s);
                let (z, _) = self.seq(shortcut, x, s);
                y.iter_mut().zip(&z).for_each(|(a, b)| *a += b);
                (y, sb)
            }
        }
    }
}

fn params64(w: &Weights) -> BTreeMap<String, Vec<f64>> {
    w.iter()
        .map(|(k, t)| (k.clone(), t.iter().map(|&v| f64::from(v)).collect()))
        .collect()
}

/// Reference logits of one image.
fn reference(
    spec: &NetworkSpec,
    w: &BTreeMap<String, Vec<f64>>,
    x: &[f32],
    nudge: Nudge,
) -> Vec<f64> {
    let [c, h, ww] = spec.input;
    let mut r = Reference { w, nudge, layer: 0 };
    let x = x.iter().map(|&v| f64::from(v)).collect();
    r.seq(&spec.layers, x, Shape::Map(c, h, ww)).0
}

// ---------------------------------------------------------------------------------------------

#[test]
fn weight_layers_follow_nn_costs_table_and_signs_come_from_the_graph() {
    let spec = spec(6);
    let model = Model::from_weights(&spec, &weights(&spec, 1)).unwrap();
    let rows: Vec<String> = spec
        .analyze()
        .unwrap()
        .rows
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(model.weight_layer_names(), rows);
    // c0: image; b1.c1: after ReLU; b1.c2: after ReLU6; b2.c1 and b2.down: after ReLU;
    // b2.c2: after ReLU; fc: after a batch norm kept in float (signed).
    assert_eq!(
        model.nonnegative_inputs(),
        vec![false, true, true, true, true, true, false]
    );
}

#[test]
fn float_forward_equals_the_reference() {
    for groups in [1, 6] {
        let spec = spec(groups);
        let w = weights(&spec, 2);
        let w64 = params64(&w);
        for mode in [BatchNormMode::Fold, BatchNormMode::Float] {
            let model = Model::from_weights_with(&spec, &w, mode).unwrap();
            let n = 4;
            let x = images(n, model.input_len(), 3);
            let logits = model.forward(batch(&model, &x));
            let logits = logits.as_slice().unwrap();
            for (j, img) in x.chunks_exact(model.input_len()).enumerate() {
                let r = reference(&spec, &w64, img, Nudge::None);
                for (a, b) in logits[j * 5..][..5].iter().zip(&r) {
                    // Tolerance: f32 arithmetic (and the folded batch norm) against f64.
                    assert!(
                        (f64::from(*a) - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "groups {groups} {mode:?} image {j}: {a} vs reference {b}"
                    );
                }
            }
        }
    }
}

/// The f64 reference of an exact fixed-point layer: Σ q(a)·q(w) + b over the quantized values
/// themselves (every sum is exact in f64 at these sizes), rounded once to f32.
struct ReferenceKernel<'q>(&'q QuantizedModel);

impl LayerKernel for ReferenceKernel<'_> {
    fn conv(&self, layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        let q = &self.0.layers[layer];
        let g = c.geom;
        let (oh, ow) = (g.out_h(), g.out_w());
        let (cg, og) = (g.in_c / c.groups, g.out_c / c.groups);
        // The real taps (g.k is the span of a dilated kernel).
        let (dl, k) = (c.dilation, (g.k - 1) / c.dilation + 1);
        let mut y = Vec::with_capacity(n * g.out_len());
        for img in x.chunks_exact(g.in_len()) {
            for oc in 0..g.out_c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = 0.0f64;
                        for ci in 0..cg {
                            let ic = (oc / og) * cg + ci;
                            for i in 0..k {
                                for j in 0..k {
                                    let yy = (oy * g.stride + i * dl) as isize - g.pad as isize;
                                    let xx = (ox * g.stride + j * dl) as isize - g.pad as isize;
                                    if yy < 0
                                        || xx < 0
                                        || yy >= g.in_h as isize
                                        || xx >= g.in_w as isize
                                    {
                                        continue;
                                    }
                                    let a = img[(ic * g.in_h + yy as usize) * g.in_w + xx as usize];
                                    let w = c.weight[[oc, ci, i, j]];
                                    acc += q.act.quantize(f64::from(a))
                                        * q.weight.quantize(f64::from(w));
                                }
                            }
                        }
                        let b = c.bias.as_ref().map_or(0.0, |b| f64::from(b[oc]));
                        y.push((acc + b) as f32);
                    }
                }
            }
        }
        y
    }

    fn linear(&self, layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        let q = &self.0.layers[layer];
        cifar_infer::quantized::reference_linear(x, n, l, &q.act, &q.weight)
            .into_iter()
            .map(|v| v as f32)
            .collect()
    }
}

#[test]
fn exact_fixed_point_equals_the_f64_reference_on_every_path() {
    for groups in [1, 6] {
        let spec = spec(groups);
        let model = Model::from_weights(&spec, &weights(&spec, 4)).unwrap();
        let n = 6;
        let x = images(n, model.input_len(), 5);
        let ranges = Ranges::compute_from_inputs(&model, batch(&model, &x)).unwrap();
        let layers = model.num_weight_layers();
        for (b_w, b_a) in [(8, 8), (5, 6), (12, 10)] {
            let p = vec![LayerPrecision { b_w, b_a }; layers];
            let mut all = Vec::new();
            for policy in [
                PathPolicy::Auto,
                PathPolicy::FloatCodes,
                PathPolicy::F64Only,
            ] {
                let q = QuantizedModel::new(&model, &ranges, &p, policy).unwrap();
                let got = model.forward_with(&q, batch(&model, &x));
                let want = model.forward_with(&ReferenceKernel(&q), batch(&model, &x));
                assert_eq!(
                    got,
                    want,
                    "groups {groups} B = ({b_w}, {b_a}) {policy:?} {:?}",
                    q.paths()
                );
                all.push(got);
            }
            assert!(all.windows(2).all(|w| w[0] == w[1]));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The profiler through residual blocks, batch norm in float, pooling and ReLU6.

#[test]
fn profiler_gradients_match_finite_differences() {
    for groups in [1, 6] {
        gradients_match_finite_differences(groups);
    }
}

fn gradients_match_finite_differences(groups: usize) {
    let spec = spec(groups);
    let w = weights(&spec, 6);
    let w64 = params64(&w);
    let model = Model::from_weights_with(&spec, &w, BatchNormMode::Float).unwrap();
    let classes = model.classes;
    let seeds = classes - 1;
    let names = model.weight_layer_names();
    let images_n = 2;
    let x = images(images_n, model.input_len(), 7);
    let tops = [1usize, 3];
    let grads = explicit_grads(&model, &x, &tops);
    let eps = 1e-5;
    let mut checked = 0;
    for (j, img) in x.chunks_exact(model.input_len()).enumerate() {
        let top = tops[j];
        let others: Vec<usize> = (0..classes).filter(|&i| i != top).collect();
        let fd = |nudge: &dyn Fn(f64) -> Nudge, s: usize| {
            let zp = reference(&spec, &w64, img, nudge(eps));
            let zm = reference(&spec, &w64, img, nudge(-eps));
            ((zp[top] - zp[others[s]]) - (zm[top] - zm[others[s]])) / (2.0 * eps)
        };
        for (l, name) in names.iter().enumerate() {
            let (gi, gw) = &grads[j][l];
            for (what, g) in [("input", gi), ("weight", gw)] {
                let per = g.len() / seeds;
                for at in 0..per {
                    for s in 0..seeds {
                        let nudge = |delta| match what {
                            "input" => Nudge::Input {
                                layer: l,
                                at,
                                delta,
                            },
                            _ => Nudge::Weight {
                                layer: l,
                                at,
                                delta,
                            },
                        };
                        let f = fd(&nudge, s);
                        let a = f64::from(g[s * per + at]);
                        // Tolerance: f32 gradients against f64 central differences.
                        assert!(
                            (f - a).abs() <= 1e-4 * (1.0 + f.abs()),
                            "groups {groups} image {j} {name} {what}[{at}] seed {s}: \
                             finite difference {f} vs {a}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} comparisons");
    // The estimators on it: per image, the squared norms of these gradients (checked above);
    // finite, positive gains for every layer with both estimators.
    for est in Estimator::ALL {
        let gains = noise_gains(&model, &x, est, &fxp_core::progress::Silent).unwrap();
        assert!(gains
            .e_a
            .iter()
            .chain(&gains.e_w)
            .all(|v| v.is_finite() && *v > 0.0));
    }
}

/// Type of [`explicit_grads`]: `[image][layer]` → (input gradients, weight gradients), each
/// seeds × elements.
type Grads = Vec<Vec<(Vec<f32>, Vec<f32>)>>;

/// The profiler's gradients of every image of `x` (ŷ of image j = `tops[j]`) for every layer,
/// gathered whole: a grouped conv is handed out group by group and placed at its channels.
fn explicit_grads(model: &Model, x: &[f32], tops: &[usize]) -> Grads {
    let classes = model.classes;
    let seeds = classes - 1;
    let images_n = tops.len();
    let layers = model.num_weight_layers();
    let fwd = forward(model, x);
    let rows: Vec<f32> = tops
        .iter()
        .flat_map(|&t| difference_seeds(classes, t))
        .collect();
    let in_lens: Vec<usize> = model
        .forward_traced(batch(model, &x[..model.input_len()]))
        .layer_inputs
        .iter()
        .map(Vec::len)
        .collect();
    let w_lens: Vec<usize> = model
        .weight_layers()
        .iter()
        .map(|l| l.weight().len())
        .collect();
    let mut grads: Vec<Vec<(Vec<f32>, Vec<f32>)>> = (0..images_n)
        .map(|_| {
            (0..layers)
                .map(|l| (vec![0.0; seeds * in_lens[l]], vec![0.0; seeds * w_lens[l]]))
                .collect()
        })
        .collect();
    backward(model, &fwd, &rows, seeds, |lg| {
        let (gi_len, go_len) = (lg.grad_in.len() / lg.images, lg.grad_out.len() / lg.images);
        for (j, g) in grads.iter_mut().enumerate() {
            let go = &lg.grad_out[j * go_len..][..go_len];
            let wg = match lg.input {
                LayerInput::Conv { geom, cols } => {
                    conv2d_backward_weight(&geom, &cols[j], go, seeds)
                }
                LayerInput::Linear { input } => {
                    let in_f = input.len() / lg.images;
                    linear_backward_weight(&input[j * in_f..][..in_f], go, seeds)
                }
            };
            let gi = &lg.grad_in[j * gi_len..][..gi_len];
            let (full_in, full_w) = &mut g[lg.layer];
            for (src, full) in [(gi, full_in), (&wg[..], full_w)] {
                let (part, whole) = (src.len() / seeds, full.len() / seeds);
                for s in 0..seeds {
                    full[s * whole + lg.group * part..][..part]
                        .copy_from_slice(&src[s * part..][..part]);
                }
            }
        }
    });
    grads
}

fn sq(v: &[f32]) -> f64 {
    v.iter().map(|&a| f64::from(a) * f64::from(a)).sum()
}

fn logits64(model: &Model, x: &[f32], n: usize) -> Vec<Vec<f64>> {
    model
        .forward(batch(model, &x[..n * model.input_len()]))
        .rows()
        .into_iter()
        .map(|z| z.iter().map(|&v| f64::from(v)).collect())
        .collect()
}

/// Both estimators on the grouped network against the definitions computed from the explicit
/// gradients (relative tolerance 1e-4: f32 gradients, sums in other orders).
#[test]
fn estimators_on_a_grouped_residual_network_match_brute_force() {
    let spec = spec(6);
    let model = Model::from_weights(&spec, &weights(&spec, 10)).unwrap();
    let (n, seeds, layers) = (30, model.classes - 1, model.num_weight_layers());
    let x = images(n, model.input_len(), 11);
    let zs = logits64(&model, &x, n);
    let close = |what: &str, got: &[f64], want: &[f64]| {
        for (l, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-4 * w.abs(), "{what}[{l}]: {g} vs {w}");
        }
    };
    // Per image: ŷ and the differences of each image.
    let tops: Vec<usize> = zs.iter().map(|z| argmax(z)).collect();
    let grads = explicit_grads(&model, &x, &tops);
    let (mut ea, mut ew) = (vec![0.0; layers], vec![0.0; layers]);
    for (j, z) in zs.iter().enumerate() {
        let others: Vec<usize> = (0..z.len()).filter(|&i| i != tops[j]).collect();
        for l in 0..layers {
            let (gi, gw) = &grads[j][l];
            let (pi, pw) = (gi.len() / seeds, gw.len() / seeds);
            for (s, &i) in others.iter().enumerate() {
                let d2 = 24.0 * (z[tops[j]] - z[i]).powi(2) * n as f64;
                ea[l] += sq(&gi[s * pi..][..pi]) / d2;
                ew[l] += sq(&gw[s * pw..][..pw]) / d2;
            }
        }
    }
    let g = noise_gains(&model, &x, Estimator::PerImage, &fxp_core::progress::Silent).unwrap();
    close("per-image E_A", &g.e_a, &ea);
    close("per-image E_W", &g.e_w, &ew);
    // Course (one batch of 30 images, two work units): ŷ from the summed logits; activation
    // gradients per image, weight gradients summed over the batch before squaring.
    let mut z = vec![0.0; model.classes];
    zs.iter()
        .for_each(|zi| z.iter_mut().zip(zi).for_each(|(a, b)| *a += b));
    let t = argmax(&z);
    let grads = explicit_grads(&model, &x, &vec![t; n]);
    let others: Vec<usize> = (0..z.len()).filter(|&i| i != t).collect();
    let (mut ea, mut ew) = (vec![0.0; layers], vec![0.0; layers]);
    for l in 0..layers {
        let (pi, pw) = (grads[0][l].0.len() / seeds, grads[0][l].1.len() / seeds);
        for (s, &i) in others.iter().enumerate() {
            let d2 = 24.0 * (z[t] - z[i]).powi(2);
            let act: f64 = grads.iter().map(|g| sq(&g[l].0[s * pi..][..pi])).sum();
            let mut wsum = vec![0.0f32; pw];
            for g in &grads {
                wsum.iter_mut()
                    .zip(&g[l].1[s * pw..][..pw])
                    .for_each(|(a, b)| *a += b);
            }
            ea[l] += act / d2;
            ew[l] += sq(&wsum) / d2;
        }
    }
    let g = noise_gains(&model, &x, Estimator::Course, &fxp_core::progress::Silent).unwrap();
    assert_eq!((g.units, g.images), (1, n));
    close("course E_A", &g.e_a, &ea);
    close("course E_W", &g.e_w, &ew);
}

/// The sign of a residual sum: non-negative when both branches end non-negative (a ReLU body
/// and an identity shortcut of a non-negative input), signed when one branch is a bare layer.
#[test]
fn a_residual_sum_is_unsigned_only_when_both_branches_are() {
    use cifar_infer::model::{Op, Residual};
    let lin = |name: &str| {
        Op::Linear(LinearLayer::new(
            name,
            ndarray::Array2::from_elem((4, 4), 0.5),
            None,
        ))
    };
    let net = |shortcut: Vec<Op>| Model {
        name: "sum".into(),
        input: [4, 1, 1],
        preprocess: None,
        ops: vec![
            Op::Flatten,
            Op::Relu,
            Op::Residual(Residual {
                body: vec![lin("body"), Op::Relu],
                shortcut,
            }),
            lin("out"),
        ],
        classes: 4,
    };
    let identity = net(Vec::new());
    identity.check().unwrap();
    assert_eq!(identity.nonnegative_inputs(), vec![true, true]);
    let projected = net(vec![lin("short")]);
    projected.check().unwrap();
    assert_eq!(projected.nonnegative_inputs(), vec![true, true, false]);
    assert_eq!(projected.weight_layer_names(), vec!["body", "short", "out"]);
}
