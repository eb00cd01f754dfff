//! The profiler's passes over the one network representation ([`Model`]): the forward pass of a
//! chunk of images with the tape the backward pass needs, and the backward pass from seed
//! gradients at the logits to every conv/linear layer — through ReLU/ReLU6, max, average and
//! adaptive pooling, batch norm kept in float, flatten/dropout and residual blocks (the gradient
//! of a sum flows to both branches and is added at the block's input).
use super::backprop::{
    adaptive_avgpool_backward, avgpool_backward, batch_norm_backward, conv2d_backward_input,
    conv2d_forward_cols, gemm, linear_backward_input, maxpool_backward, maxpool_forward, patches,
    relu6_mask, relu_backward, relu_mask, Mat,
};
use super::sparse;
use crate::error::{InferError, Result};
use crate::net::model::{ConvLayer, Model, Op};
use crate::net::ops::{self, ConvGeom};
use std::cell::OnceCell;

/// Checks that the profiler can differentiate `model`: a consistent network
/// ([`Model::check`]) with at least two outputs.
///
/// # Errors
/// The first problem found, naming the layer.
pub fn check_profilable(model: &Model) -> Result<()> {
    model.check()?;
    if model.classes < 2 {
        return Err(InferError::Invalid(format!(
            "{} output(s); the profiler needs at least 2 (logit differences)",
            model.classes
        )));
    }
    Ok(())
}

/// What the backward pass needs from the forward pass of one op (for a chunk of images).
#[derive(Debug, Clone)]
enum Tape {
    /// The conv input, `images × in_len` (its patch matrices are made again when the backward
    /// pass needs them: a tenth of the memory, so a whole course batch can keep its tape).
    Conv(Vec<f32>),
    /// Linear input, `images × in`.
    Linear(Vec<f32>),
    /// ReLU / ReLU6 mask (where the gradient passes), `images × len`.
    Mask(Vec<bool>),
    /// Pooling argmax of each image.
    MaxPool(Vec<Vec<u32>>),
    /// The tapes of a residual block's body and shortcut.
    Residual(Vec<Tape>, Vec<Tape>),
    /// Nothing.
    None,
}

/// The forward pass of a chunk of images: logits and the tape.
#[derive(Debug, Clone)]
pub struct Forward {
    /// Images in the chunk.
    pub images: usize,
    /// The logits, `images × classes` (f32, as the network computes them).
    pub logits: Vec<f32>,
    tape: Vec<Tape>,
}

/// Runs a chunk of images (`images × model.input_len()` values, preprocessed) forward, keeping
/// the tape. Convolutions run image by image; linear layers as one GEMM over the chunk (so that
/// their large weight matrices are read once per chunk, not once per image). The model must
/// pass [`check_profilable`].
pub fn forward(model: &Model, images: &[f32]) -> Forward {
    let in_len = model.input_len();
    assert_eq!(images.len() % in_len, 0, "forward: input length");
    let n = images.len() / in_len;
    let (logits, tape) = forward_seq(&model.ops, images.to_vec(), n);
    Forward {
        images: n,
        logits,
        tape,
    }
}

fn forward_seq(ops: &[Op], mut x: Vec<f32>, n: usize) -> (Vec<f32>, Vec<Tape>) {
    let mut tape = Vec::with_capacity(ops.len());
    for op in ops {
        let (y, t) = forward_op(op, x, n);
        x = y;
        tape.push(t);
    }
    (x, tape)
}

fn forward_op(op: &Op, mut x: Vec<f32>, n: usize) -> (Vec<f32>, Tape) {
    match op {
        Op::Conv(c) => {
            // Group by group within each image (one group: the whole layer).
            let (wg, groups) = (c.weight_geom(), c.groups.max(1));
            let (og, dg) = (wg.out_c, wg.out_c * wg.d());
            let mut y = Vec::with_capacity(n * c.geom.out_len());
            for xi in x.chunks_exact(c.geom.in_len()) {
                for j in 0..groups {
                    let b = c.biases().map(|b| &b[j * og..][..og]);
                    let cols = group_cols(c, xi, j);
                    y.extend(conv2d_forward_cols(
                        &wg,
                        &cols,
                        &c.weights()[j * dg..][..dg],
                        b,
                    ));
                }
            }
            (y, Tape::Conv(x))
        }
        Op::Linear(l) => {
            let (in_f, out_f) = (l.in_features, l.out_features);
            // Yᵀ (out × n) = W · Xᵀ: with few images, the orientation the GEMM runs fastest
            // in (more than twice as fast as X · Wᵀ); then transposed, plus the bias.
            let mut yt = vec![0.0f32; out_f * n];
            gemm(
                Mat::new(l.weights(), out_f, in_f),
                Mat::new(&x, n, in_f).t(),
                0.0,
                &mut yt,
            );
            let mut y = vec![0.0f32; n * out_f];
            for (o, row) in yt.chunks_exact(n.max(1)).enumerate() {
                let b = l.biases().map_or(0.0, |b| b[o]);
                for (i, &v) in row.iter().enumerate() {
                    y[i * out_f + o] = v + b;
                }
            }
            (y, Tape::Linear(x))
        }
        Op::Relu => {
            ops::relu_inplace(&mut x);
            let m = relu_mask(&x);
            (x, Tape::Mask(m))
        }
        Op::Relu6 => {
            ops::relu6_inplace(&mut x);
            let m = relu6_mask(&x);
            (x, Tape::Mask(m))
        }
        Op::MaxPool(g) => {
            let len = g.c * g.h * g.w;
            let mut y = Vec::with_capacity(n * g.c * g.out_h() * g.out_w());
            let mut args = Vec::with_capacity(n);
            for xi in x.chunks_exact(len) {
                let (yi, arg) = maxpool_forward(g, xi);
                y.extend(yi);
                args.push(arg);
            }
            (y, Tape::MaxPool(args))
        }
        Op::AvgPool(g) => (ops::avg_pool2d(&x, n, g), Tape::None),
        Op::AdaptiveAvgPool(g) => (
            ops::adaptive_avg_pool2d(&x, n, g.c, g.h, g.w, g.out),
            Tape::None,
        ),
        Op::BatchNorm(b) => {
            b.apply(&mut x);
            (x, Tape::None)
        }
        Op::Flatten | Op::Dropout => (x, Tape::None),
        Op::Residual(r) => {
            let (mut y, tb) = forward_seq(&r.body, x.clone(), n);
            let (s, ts) = forward_seq(&r.shortcut, x, n);
            for (y, s) in y.iter_mut().zip(&s) {
                *y += s;
            }
            (y, Tape::Residual(tb, ts))
        }
    }
}

/// The patch matrix (`K×P`) of group `j` of a convolution's input `xi` (one image); a dilated
/// conv keeps the patch rows of its real taps only.
fn group_cols(c: &ConvLayer, xi: &[f32], j: usize) -> Vec<f32> {
    let gg = c.group_geom();
    c.tap_rows(patches(&gg, &xi[j * gg.in_len()..][..gg.in_len()]))
}

/// The patch matrices of every group and image of a chunk's conv input: `[group][image]`.
fn conv_cols(c: &ConvLayer, x: &[f32]) -> Vec<Vec<Vec<f32>>> {
    (0..c.groups.max(1))
        .map(|j| {
            x.chunks_exact(c.geom.in_len())
                .map(|xi| group_cols(c, xi, j))
                .collect()
        })
        .collect()
}

/// The input gradient of a convolution (one image): from the active entries of `grad_out`
/// when ReLU and pooling left few ([`sparse`]), else dense.
/// `weight_tm` holds the weights in [`sparse::tap_major`] order once made (per chunk).
fn input_grad(
    g: &ConvGeom,
    weight: &[f32],
    weight_tm: &OnceCell<Vec<f32>>,
    grad_out: &[f32],
    seeds: usize,
) -> Vec<f32> {
    let tm = || weight_tm.get_or_init(|| sparse::tap_major(weight, g));
    let (mask, active) = sparse::active_mask(grad_out, seeds, g.out_len());
    if sparse::worth_sparse(active, mask.len()) {
        return sparse::conv2d_backward_input_sparse(g, tm(), grad_out, &mask, seeds);
    }
    conv2d_backward_input(g, weight, grad_out, seeds)
}

/// The input side of a layer, as [`backward`] hands it out.
#[derive(Debug, Clone, Copy)]
pub enum LayerInput<'t> {
    /// A convolution (one group of it) and the patch matrix (`K×P`) of its input, per image.
    Conv {
        geom: ConvGeom,
        cols: &'t [Vec<f32>],
    },
    /// A linear layer and its inputs, `images × in`.
    Linear { input: &'t [f32] },
}

/// The gradients of one layer for every image and seed, handed out by [`backward`]. A grouped
/// convolution is handed out group by group (same `layer`, `group` = 0, 1, …; its input,
/// gradients and weights split by channel groups, so squared norms add up over the groups).
#[derive(Debug, Clone, Copy)]
pub struct LayerGrads<'t> {
    /// Index of the layer among the conv/linear layers.
    pub layer: usize,
    /// The group of a grouped convolution (0 otherwise).
    pub group: usize,
    /// The layer's input (for its weight gradient).
    pub input: LayerInput<'t>,
    /// `images × seeds × out_len`: gradient with respect to the layer output (pre-activation).
    pub grad_out: &'t [f32],
    /// `images × seeds × in_len`: gradient with respect to the layer input `a`.
    pub grad_in: &'t [f32],
    /// Images in the chunk.
    pub images: usize,
    /// Seeds per image.
    pub seeds: usize,
}

/// Back-propagates `seeds` gradients of the logits per image through the tape of a chunk:
/// `seed_rows` is `images × seeds × classes` (row = the coefficients of the linear combination of
/// logits being differentiated). Calls `sink` at every conv/linear layer (last layer first; in a
/// residual block, the shortcut's layers before the body's).
pub fn backward(
    model: &Model,
    fwd: &Forward,
    seed_rows: &[f32],
    seeds: usize,
    mut sink: impl FnMut(LayerGrads<'_>),
) {
    let n = fwd.images;
    assert_eq!(
        seed_rows.len(),
        n * seeds * model.classes,
        "backward: seed length"
    );
    let mut back = Backward {
        n,
        seeds,
        layer: model.num_weight_layers(),
        sink: &mut sink,
    };
    back.seq(&model.ops, &fwd.tape, seed_rows.to_vec());
}

/// The state of one backward pass.
struct Backward<'s> {
    n: usize,
    seeds: usize,
    /// One past the index of the next weight layer met going backwards.
    layer: usize,
    sink: &'s mut dyn FnMut(LayerGrads<'_>),
}

impl Backward<'_> {
    /// The gradient at the input of `ops` from the gradient `g` at their output.
    fn seq(&mut self, ops: &[Op], tape: &[Tape], mut g: Vec<f32>) -> Vec<f32> {
        for (op, entry) in ops.iter().zip(tape).rev() {
            g = self.op(op, entry, g);
        }
        g
    }

    fn op(&mut self, op: &Op, entry: &Tape, mut g: Vec<f32>) -> Vec<f32> {
        let (n, seeds) = (self.n, self.seeds);
        match (op, entry) {
            (Op::Conv(c), Tape::Conv(x)) => {
                self.layer -= 1;
                let cols = conv_cols(c, x);
                // Input gradients through the span kernel (zero taps add exact zeros), weight
                // gradients from the patches of the real taps (`weight_geom`).
                let (gg, geom) = (c.group_geom(), c.weight_geom());
                let dg = gg.out_c * gg.d();
                let weight = c.expand(c.weights());
                if cols.len() == 1 {
                    let mut gi = Vec::with_capacity(n * seeds * gg.in_len());
                    let tm = OnceCell::new();
                    for go in g.chunks_exact(seeds * gg.out_len()) {
                        gi.extend(input_grad(&gg, &weight, &tm, go, seeds));
                    }
                    let input = LayerInput::Conv {
                        geom,
                        cols: &cols[0],
                    };
                    self.emit(0, input, &g, &gi);
                    return gi;
                }
                // Grouped: each group's output gradient, back to its input channels.
                let (ig, og) = (gg.in_len(), gg.out_len());
                let (il, ol) = (c.geom.in_len(), c.geom.out_len());
                let mut gi = vec![0.0f32; n * seeds * il];
                for (j, cols_j) in cols.iter().enumerate() {
                    let go: Vec<f32> = g
                        .chunks_exact(ol)
                        .flat_map(|row| &row[j * og..][..og])
                        .copied()
                        .collect();
                    let mut gij = Vec::with_capacity(n * seeds * ig);
                    let tm = OnceCell::new();
                    for goi in go.chunks_exact(seeds * og) {
                        gij.extend(input_grad(&gg, &weight[j * dg..][..dg], &tm, goi, seeds));
                    }
                    let input = LayerInput::Conv { geom, cols: cols_j };
                    self.emit(j, input, &go, &gij);
                    for (dst, src) in gi.chunks_exact_mut(il).zip(gij.chunks_exact(ig)) {
                        dst[j * ig..][..ig].copy_from_slice(src);
                    }
                }
                gi
            }
            (Op::Linear(l), Tape::Linear(input)) => {
                self.layer -= 1;
                let (in_f, out_f) = (l.in_features, l.out_features);
                let gi = linear_backward_input(l.weights(), in_f, out_f, &g, n * seeds);
                self.emit(0, LayerInput::Linear { input }, &g, &gi);
                gi
            }
            (Op::Relu | Op::Relu6, Tape::Mask(mask)) => {
                let len = mask.len() / n;
                for (gj, mj) in g.chunks_exact_mut(seeds * len).zip(mask.chunks_exact(len)) {
                    relu_backward(mj, gj);
                }
                g
            }
            (Op::MaxPool(pg), Tape::MaxPool(args)) => {
                let out_len = seeds * args[0].len();
                let mut gi = Vec::with_capacity(n * seeds * pg.c * pg.h * pg.w);
                for (go, arg) in g.chunks_exact(out_len).zip(args) {
                    gi.extend(maxpool_backward(pg, arg, go, seeds));
                }
                gi
            }
            (Op::AvgPool(pg), Tape::None) => avgpool_backward(pg, &g),
            (Op::AdaptiveAvgPool(ag), Tape::None) => adaptive_avgpool_backward(ag, &g),
            (Op::BatchNorm(b), Tape::None) => {
                batch_norm_backward(&b.scale(), b.plane, &mut g);
                g
            }
            (Op::Flatten | Op::Dropout, Tape::None) => g,
            (Op::Residual(r), Tape::Residual(tb, ts)) => {
                // Layers are numbered body first: going backwards, the shortcut comes first.
                let gs = self.seq(&r.shortcut, ts, g.clone());
                let mut gb = self.seq(&r.body, tb, g);
                for (b, s) in gb.iter_mut().zip(&gs) {
                    *b += s;
                }
                gb
            }
            _ => unreachable!("tape does not match the network"),
        }
    }

    fn emit(&mut self, group: usize, input: LayerInput<'_>, grad_out: &[f32], grad_in: &[f32]) {
        (self.sink)(LayerGrads {
            layer: self.layer,
            group,
            input,
            grad_out,
            grad_in,
            images: self.n,
            seeds: self.seeds,
        });
    }
}

/// Seeds `e_ŷ − e_i` for every `i ≠ ŷ` (`(C−1) × C`), in order of `i`.
pub fn difference_seeds(classes: usize, top: usize) -> Vec<f32> {
    let mut rows = Vec::with_capacity((classes - 1) * classes);
    for i in (0..classes).filter(|&i| i != top) {
        let mut r = vec![0.0f32; classes];
        r[top] = 1.0;
        r[i] = -1.0;
        rows.extend(r);
    }
    rows
}

/// Index of the largest value (first on ties, as `torch.argmax`).
pub fn argmax(z: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in z.iter().enumerate() {
        if v > z[best] {
            best = i;
        }
    }
    best
}
