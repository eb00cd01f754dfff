//! The network the profiler differentiates through ([`DiffNet`]: the stages of a [`Model`],
//! borrowing its parameters), its forward pass with the tape the backward pass needs, and the
//! backward pass from seed gradients at the logits to every conv/linear layer.
use super::backprop::{
    conv2d_backward_input, conv2d_forward_cols, gemm, linear_backward_input, maxpool_backward,
    maxpool_forward, patches, relu_backward, relu_mask, Mat,
};
use crate::error::{InferError, Result};
use crate::net::model::{Model, Op};
use crate::net::ops::{ConvGeom, PoolGeom};

/// One step of a sequential network, borrowing the parameters of a conv/linear layer.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    /// 2-D convolution: weight `C_out×C_in·k·k` (OIHW), optional bias.
    Conv {
        geom: ConvGeom,
        weight: &'a [f32],
        bias: Option<&'a [f32]>,
    },
    /// Fully connected: weight `out×in`, optional bias.
    Linear {
        in_f: usize,
        out_f: usize,
        weight: &'a [f32],
        bias: Option<&'a [f32]>,
    },
    /// ReLU.
    Relu,
    /// Max pooling (floor mode).
    MaxPool(PoolGeom),
    /// Flatten, dropout at inference: the identity on an NCHW buffer.
    Identity,
}

/// A sequential network the profiler can differentiate: its stages, in order.
#[derive(Debug, Clone)]
pub struct DiffNet<'a> {
    pub(super) stages: Vec<Stage<'a>>,
    pub(super) in_len: usize,
    pub(super) classes: usize,
}

impl<'a> DiffNet<'a> {
    /// Checks that the stages chain (each stage's input length is the previous output length).
    ///
    /// # Errors
    /// Stages that do not chain, no conv/linear layer, or fewer than two outputs.
    pub fn new(in_len: usize, stages: Vec<Stage<'a>>) -> Result<Self> {
        let mut len = in_len;
        for (i, s) in stages.iter().enumerate() {
            let (need, out) = match s {
                Stage::Conv { geom, weight, bias } => {
                    if weight.len() != geom.out_c * geom.d()
                        || bias.is_some_and(|b| b.len() != geom.out_c)
                    {
                        return Err(InferError::Invalid(format!(
                            "stage {i}: conv parameter sizes"
                        )));
                    }
                    (Some(geom.in_len()), geom.out_len())
                }
                Stage::Linear {
                    in_f,
                    out_f,
                    weight,
                    bias,
                } => {
                    if weight.len() != in_f * out_f || bias.is_some_and(|b| b.len() != *out_f) {
                        return Err(InferError::Invalid(format!(
                            "stage {i}: linear parameter sizes"
                        )));
                    }
                    (Some(*in_f), *out_f)
                }
                Stage::MaxPool(g) => (Some(g.c * g.h * g.w), g.c * g.out_h() * g.out_w()),
                Stage::Relu | Stage::Identity => (None, len),
            };
            if let Some(need) = need.filter(|&n| n != len) {
                return Err(InferError::Invalid(format!(
                    "stage {i} expects {need} inputs, gets {len}"
                )));
            }
            len = out;
        }
        let net = DiffNet {
            stages,
            in_len,
            classes: len,
        };
        if net.layers() == 0 {
            return Err(InferError::Invalid(
                "the network has no conv or linear layer to profile".into(),
            ));
        }
        if net.classes < 2 {
            return Err(InferError::Invalid(format!(
                "{} output(s); need at least 2",
                net.classes
            )));
        }
        Ok(net)
    }
    /// The differentiable view of a [`Model`] (its parameters borrowed).
    ///
    /// # Errors
    /// A batch-norm or average-pooling layer (no backward kernel yet), or stages that do not
    /// chain.
    pub fn from_model(model: &'a Model) -> Result<Self> {
        let stages = model
            .ops
            .iter()
            .map(|op| match op {
                Op::Conv(c) => Ok(Stage::Conv { geom: c.geom, weight: &c.weight, bias: c.bias.as_deref() }),
                Op::Linear(l) => Ok(Stage::Linear {
                    in_f: l.in_features,
                    out_f: l.out_features,
                    weight: &l.weight,
                    bias: l.bias.as_deref(),
                }),
                Op::Relu => Ok(Stage::Relu),
                Op::MaxPool(g) => Ok(Stage::MaxPool(*g)),
                Op::Flatten | Op::Dropout => Ok(Stage::Identity),
                Op::BatchNorm(_) | Op::AvgPool(_) | Op::AdaptiveAvgPool { .. } => Err(InferError::Unsupported(
                    "the precision profiler back-propagates through conv, linear, ReLU, max pooling, flatten \
                     and dropout only"
                        .into(),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        DiffNet::new(model.input_len(), stages)
    }

    /// Input elements per image.
    pub fn in_len(&self) -> usize {
        self.in_len
    }
    /// Number of outputs (logits).
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Number of conv/linear layers (the layers that carry precisions).
    pub fn layers(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| matches!(s, Stage::Conv { .. } | Stage::Linear { .. }))
            .count()
    }
    /// The stages.
    pub fn stages(&self) -> &[Stage<'a>] {
        &self.stages
    }
    /// The weights of each conv/linear layer, in order.
    pub fn layer_weights(&self) -> Vec<&'a [f32]> {
        self.stages
            .iter()
            .filter_map(|s| match s {
                Stage::Conv { weight, .. } | Stage::Linear { weight, .. } => Some(*weight),
                _ => None,
            })
            .collect()
    }
}

/// What the backward pass needs from the forward pass of one stage (for a chunk of images).
#[derive(Debug, Clone)]
enum TapeEntry {
    /// Patch matrix (`K×P`) of the conv input of each image.
    Conv(Vec<Vec<f32>>),
    /// Linear input, `images × in`.
    Linear(Vec<f32>),
    /// ReLU mask, `images × len`.
    Relu(Vec<bool>),
    /// Pooling argmax of each image.
    MaxPool(Vec<Vec<u32>>),
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
    tape: Vec<TapeEntry>,
}

/// Runs a chunk of images (`images × net.in_len()` values, preprocessed) forward, keeping the
/// tape. Convolutions run image by image; linear layers as one GEMM over the chunk (so that
/// their large weight matrices are read once per chunk, not once per image).
pub fn forward(net: &DiffNet<'_>, images: &[f32]) -> Forward {
    assert_eq!(images.len() % net.in_len, 0, "forward: input length");
    let n = images.len() / net.in_len;
    let mut x = images.to_vec();
    let mut tape = Vec::with_capacity(net.stages.len());
    for s in &net.stages {
        match s {
            Stage::Conv { geom, weight, bias } => {
                let mut y = Vec::with_capacity(n * geom.out_len());
                let mut all_cols = Vec::with_capacity(n);
                for xi in x.chunks_exact(geom.in_len()) {
                    let cols = patches(geom, xi);
                    y.extend(conv2d_forward_cols(geom, &cols, weight, *bias));
                    all_cols.push(cols);
                }
                x = y;
                tape.push(TapeEntry::Conv(all_cols));
            }
            Stage::Linear {
                in_f,
                out_f,
                weight,
                bias,
            } => {
                // Yᵀ (out × n) = W · Xᵀ: with few images, the orientation the GEMM runs fastest
                // in (more than twice as fast as X · Wᵀ); then transposed, plus the bias.
                let mut yt = vec![0.0f32; out_f * n];
                gemm(
                    Mat::new(weight, *out_f, *in_f),
                    Mat::new(&x, n, *in_f).t(),
                    0.0,
                    &mut yt,
                );
                let mut y = vec![0.0f32; n * out_f];
                for (o, row) in yt.chunks_exact(n.max(1)).enumerate() {
                    let b = bias.map_or(0.0, |b| b[o]);
                    for (i, &v) in row.iter().enumerate() {
                        y[i * out_f + o] = v + b;
                    }
                }
                tape.push(TapeEntry::Linear(std::mem::replace(&mut x, y)));
            }
            Stage::Relu => {
                crate::ops::relu_inplace(&mut x);
                tape.push(TapeEntry::Relu(relu_mask(&x)));
            }
            Stage::MaxPool(g) => {
                let len = g.c * g.h * g.w;
                let mut y = Vec::with_capacity(n * g.c * g.out_h() * g.out_w());
                let mut args = Vec::with_capacity(n);
                for xi in x.chunks_exact(len) {
                    let (yi, arg) = maxpool_forward(g, xi);
                    y.extend(yi);
                    args.push(arg);
                }
                x = y;
                tape.push(TapeEntry::MaxPool(args));
            }
            Stage::Identity => tape.push(TapeEntry::None),
        }
    }
    Forward {
        images: n,
        logits: x,
        tape,
    }
}

/// The input side of a layer, as [`backward`] hands it out.
#[derive(Debug, Clone, Copy)]
pub enum LayerInput<'t> {
    /// A convolution and the patch matrix (`K×P`) of its input, per image.
    Conv {
        geom: ConvGeom,
        cols: &'t [Vec<f32>],
    },
    /// A linear layer and its inputs, `images × in`.
    Linear { input: &'t [f32] },
}

/// The gradients of one layer for every image and seed, handed out by [`backward`].
#[derive(Debug, Clone, Copy)]
pub struct LayerGrads<'t> {
    /// Index of the layer among the conv/linear layers.
    pub layer: usize,
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
/// logits being differentiated). Calls `sink` at every conv/linear layer (last layer first).
pub fn backward(
    net: &DiffNet<'_>,
    fwd: &Forward,
    seed_rows: &[f32],
    seeds: usize,
    mut sink: impl FnMut(LayerGrads<'_>),
) {
    let n = fwd.images;
    assert_eq!(
        seed_rows.len(),
        n * seeds * net.classes,
        "backward: seed length"
    );
    let mut g = seed_rows.to_vec();
    let mut layer = net.layers();
    for (s, entry) in net.stages.iter().zip(&fwd.tape).rev() {
        match (s, entry) {
            (Stage::Conv { geom, weight, .. }, TapeEntry::Conv(cols)) => {
                layer -= 1;
                let mut gi = Vec::with_capacity(n * seeds * geom.in_len());
                for go in g.chunks_exact(seeds * geom.out_len()) {
                    gi.extend(conv2d_backward_input(geom, weight, go, seeds));
                }
                let input = LayerInput::Conv { geom: *geom, cols };
                sink(LayerGrads {
                    layer,
                    input,
                    grad_out: &g,
                    grad_in: &gi,
                    images: n,
                    seeds,
                });
                g = gi;
            }
            (
                Stage::Linear {
                    in_f,
                    out_f,
                    weight,
                    ..
                },
                TapeEntry::Linear(input),
            ) => {
                layer -= 1;
                let gi = linear_backward_input(weight, *in_f, *out_f, &g, n * seeds);
                let input = LayerInput::Linear { input };
                sink(LayerGrads {
                    layer,
                    input,
                    grad_out: &g,
                    grad_in: &gi,
                    images: n,
                    seeds,
                });
                g = gi;
            }
            (Stage::Relu, TapeEntry::Relu(mask)) => {
                let len = mask.len() / n;
                for (gj, mj) in g.chunks_exact_mut(seeds * len).zip(mask.chunks_exact(len)) {
                    relu_backward(mj, gj);
                }
            }
            (Stage::MaxPool(pg), TapeEntry::MaxPool(args)) => {
                let out_len = seeds * args[0].len();
                let mut gi = Vec::with_capacity(n * seeds * pg.c * pg.h * pg.w);
                for (go, arg) in g.chunks_exact(out_len).zip(args) {
                    gi.extend(maxpool_backward(pg, arg, go, seeds));
                }
                g = gi;
            }
            (Stage::Identity, TapeEntry::None) => {}
            _ => unreachable!("tape does not match the network"),
        }
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
