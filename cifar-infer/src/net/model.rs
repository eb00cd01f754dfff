//! The one network representation: a runnable network ([`Model`]) of [`Op`]s — sequential, with
//! residual blocks ([`Residual`]: body and shortcut, added) — and its forward pass, shared by the
//! float kernel, the exact fixed-point kernel and the profiler. [`super::build`] makes it from a
//! description ([`nn_cost::spec::NetworkSpec`]) and its parameters.
//!
//! The conv/linear layers ("weight layers") are numbered depth-first, body before shortcut — the
//! order of the rows of nn-cost's per-layer table — so per-layer precisions, ranges and offsets
//! line up with nn-cost's. A residual add is computed in float, on the (dequantized) outputs of
//! the two branches.
use crate::data::{preprocess, CifarSlice};
use crate::error::{InferError, Result};
use crate::kernels::float;
use crate::ops::{self, ConvGeom, PoolGeom};
use ndarray::{Array1, Array2, Array4, ArrayBase, ArrayView4, Axis, Data, Dimension};
use nn_cost::spec::Preprocess;

pub use super::build::{expected_tensors, BatchNormMode};

/// A convolution layer with its parameters (weights OIHW, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// Parameter prefix (state-dict name).
    pub name: String,
    /// Geometry of the whole layer on one image (all channels); with dilation, `k` is the span
    /// of the dilated kernel, d·(k − 1) + 1.
    pub geom: ConvGeom,
    /// Channel groups (1: a dense convolution; `in_c`: depthwise). Group j maps input channels
    /// `j·in_c/groups..` to output channels `j·out_c/groups..`.
    pub groups: usize,
    /// Kernel dilation d (1: none). A dilated kernel runs as the undilated kernel of its span
    /// with zeros between the taps ([`ConvLayer::expand`]): the zero taps add exact zeros, so
    /// fixed-point sums are unchanged; ranges, weight counts and noise gains use the real taps.
    pub dilation: usize,
    /// Weights, O × (I/groups) × k × k (the real taps), in standard layout.
    pub weight: Array4<f32>,
    /// Bias per output channel.
    pub bias: Option<Array1<f32>>,
}

/// The elements of a parameter array in row-major order, as the kernels take them.
fn flat<S: Data<Elem = f32>, D: Dimension>(a: &ArrayBase<S, D>) -> &[f32] {
    a.as_slice()
        .expect("parameters are built in standard layout (Model::check refuses others)")
}

impl ConvLayer {
    /// The weights as a flat OIHW slice (the kernels' view).
    pub fn weights(&self) -> &[f32] {
        flat(&self.weight)
    }

    /// The bias as a slice, if the layer has one.
    pub fn biases(&self) -> Option<&[f32]> {
        self.bias.as_ref().map(flat)
    }

    /// Geometry of one group (the whole layer when `groups` = 1), kernel = the span.
    pub fn group_geom(&self) -> ConvGeom {
        let g = self.groups.max(1);
        ConvGeom {
            in_c: self.geom.in_c / g,
            out_c: self.geom.out_c / g,
            ..self.geom
        }
    }

    /// Kernel size k of the real taps.
    pub fn taps(&self) -> usize {
        (self.geom.k - 1) / self.dilation.max(1) + 1
    }

    /// The geometry of one group's weights and patches as the profiler sees them: `d()` is the
    /// number of real taps C_in/groups·k·k and the output size that of the layer (for a dilated
    /// conv, an undilated stand-in with those sizes; the group geometry otherwise).
    pub fn weight_geom(&self) -> ConvGeom {
        let gg = self.group_geom();
        if self.dilation <= 1 {
            return gg;
        }
        let k = self.taps();
        ConvGeom {
            in_h: gg.out_h() + k - 1,
            in_w: gg.out_w() + k - 1,
            k,
            stride: 1,
            pad: 0,
            ..gg
        }
    }

    /// Weights (or codes) of the real taps, O × I/groups × k × k, as the kernel of the span
    /// with zeros between the taps (borrowed as is without dilation).
    pub fn expand<'w, T: Copy + Default>(&self, w: &'w [T]) -> std::borrow::Cow<'w, [T]> {
        let d = self.dilation.max(1);
        if d == 1 {
            return std::borrow::Cow::Borrowed(w);
        }
        let (k, span) = (self.taps(), self.geom.k);
        let mut out = vec![T::default(); w.len() / (k * k) * span * span];
        for (plane, dst) in w.chunks_exact(k * k).zip(out.chunks_exact_mut(span * span)) {
            for i in 0..k {
                for j in 0..k {
                    dst[i * d * span + j * d] = plane[i * k + j];
                }
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// The rows of the real taps of a span patch matrix (`C·span² × P` → `C·k² × P`); the
    /// matrix itself without dilation.
    pub fn tap_rows(&self, cols: Vec<f32>) -> Vec<f32> {
        let d = self.dilation.max(1);
        if d == 1 {
            return cols;
        }
        let (k, span) = (self.taps(), self.geom.k);
        let c = self.group_geom().in_c;
        let p = cols.len() / (c * span * span).max(1);
        let mut out = Vec::with_capacity(c * k * k * p);
        for ch in 0..c {
            for i in 0..k {
                for j in 0..k {
                    out.extend_from_slice(&cols[((ch * span + i * d) * span + j * d) * p..][..p]);
                }
            }
        }
        out
    }

    /// Runs a batch of `n` images through the layer group by group: `f(j, geom, x_j)` returns
    /// group j's output (n × O/groups × OH × OW) for its input channels `x_j`; the outputs are
    /// assembled channel-wise. With one group, `f` gets `x` itself (no copy).
    pub fn per_group(
        &self,
        x: &[f32],
        n: usize,
        f: impl Fn(usize, &ConvGeom, &[f32]) -> Vec<f32>,
    ) -> Vec<f32> {
        let gg = self.group_geom();
        if self.groups <= 1 {
            return f(0, &gg, x);
        }
        let (in_g, out_g) = (gg.in_len(), gg.out_len());
        let (in_all, out_all) = (self.geom.in_len(), self.geom.out_len());
        let mut y = vec![0f32; n * out_all];
        for j in 0..self.groups {
            let xj: Vec<f32> = (0..n)
                .flat_map(|b| &x[b * in_all + j * in_g..][..in_g])
                .copied()
                .collect();
            let yj = f(j, &gg, &xj);
            for b in 0..n {
                y[b * out_all + j * out_g..][..out_g].copy_from_slice(&yj[b * out_g..][..out_g]);
            }
        }
        y
    }
}

/// A fully connected layer with its parameters (weights out×in, row-major). The parameters are
/// private so that the float kernel's packed copy of the weights ([`float::LinearPack`], made
/// on first use) cannot go stale: [`LinearLayer::params_mut`], their only mutable access,
/// drops it.
#[derive(Debug, Clone)]
pub struct LinearLayer {
    /// Parameter prefix (state-dict name).
    pub name: String,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Weights, out×in, in standard layout.
    weight: Array2<f32>,
    /// Bias per output feature.
    bias: Option<Array1<f32>>,
    /// The weights packed for the float kernel (empty until its first call).
    pack: float::LinearPack,
}

impl PartialEq for LinearLayer {
    /// The parameters (the packed copy is derived from them).
    fn eq(&self, o: &Self) -> bool {
        (
            &self.name,
            self.in_features,
            self.out_features,
            &self.weight,
            &self.bias,
        ) == (&o.name, o.in_features, o.out_features, &o.weight, &o.bias)
    }
}

impl LinearLayer {
    /// A layer of weights out×in (`in_features` and `out_features` from their shape) and an
    /// optional bias per output feature ([`Model::check`] checks the sizes).
    pub fn new(name: impl Into<String>, weight: Array2<f32>, bias: Option<Array1<f32>>) -> Self {
        let (out_features, in_features) = weight.dim();
        Self {
            name: name.into(),
            in_features,
            out_features,
            weight,
            bias,
            pack: float::LinearPack::default(),
        }
    }

    /// The weights, out×in.
    pub fn weight_array(&self) -> &Array2<f32> {
        &self.weight
    }

    /// The bias, if the layer has one.
    pub fn bias_array(&self) -> Option<&Array1<f32>> {
        self.bias.as_ref()
    }

    /// Weights and bias to change (e.g. folding a batch norm into them); drops the float
    /// kernel's packed copy of the weights, which the next float call makes anew.
    pub fn params_mut(&mut self) -> (&mut Array2<f32>, &mut Option<Array1<f32>>) {
        self.pack = float::LinearPack::default();
        (&mut self.weight, &mut self.bias)
    }

    /// The weights as a flat row-major out×in slice (the kernels' view).
    pub fn weights(&self) -> &[f32] {
        flat(&self.weight)
    }

    /// The bias as a slice, if the layer has one.
    pub fn biases(&self) -> Option<&[f32]> {
        self.bias.as_ref().map(flat)
    }
}

/// A batch-norm layer (inference form), kept in float.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormLayer {
    /// Parameter prefix.
    pub name: String,
    /// Channels.
    pub channels: usize,
    /// Elements per channel plane (H·W, or 1 after flatten).
    pub plane: usize,
    /// γ (standard layout, as every parameter array).
    pub gamma: Array1<f32>,
    /// β.
    pub beta: Array1<f32>,
    /// Running mean.
    pub mean: Array1<f32>,
    /// Running variance.
    pub var: Array1<f32>,
    /// ε.
    pub eps: f64,
}

impl BatchNormLayer {
    /// The per-channel factor γ/√(var + ε) of the float kernel (f32, as it computes it).
    pub fn scale(&self) -> Vec<f32> {
        self.gamma
            .iter()
            .zip(&self.var)
            .map(|(g, v)| g / (v + self.eps as f32).sqrt())
            .collect()
    }

    /// Normalizes a batch of flat NCHW (or N × features) inputs in place (the float kernel).
    pub fn apply(&self, a: &mut [f32]) {
        ops::batch_norm_inplace(
            a,
            self.channels,
            self.plane,
            flat(&self.gamma),
            flat(&self.beta),
            flat(&self.mean),
            flat(&self.var),
            self.eps,
        );
    }
}

/// A residual block: `y = body(x) + shortcut(x)`; an empty shortcut is the identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    /// The main branch.
    pub body: Vec<Op>,
    /// The shortcut branch (empty = identity).
    pub shortcut: Vec<Op>,
}

/// Adaptive average pooling of a (c, h, w) input to (c, out, out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveGeom {
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output size.
    pub out: usize,
}

/// One executable operation of the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Convolution (a weight layer).
    Conv(ConvLayer),
    /// Fully connected (a weight layer).
    Linear(LinearLayer),
    /// Batch normalisation kept in float (one not folded into a preceding weight layer).
    BatchNorm(BatchNormLayer),
    /// ReLU.
    Relu,
    /// ReLU clipped at 6.
    Relu6,
    /// Max pooling (floor mode).
    MaxPool(PoolGeom),
    /// Average pooling (floor mode, padding counted).
    AvgPool(PoolGeom),
    /// Adaptive average pooling.
    AdaptiveAvgPool(AdaptiveGeom),
    /// Flatten: a no-op on NCHW buffers.
    Flatten,
    /// Dropout: identity at inference.
    Dropout,
    /// A residual block.
    Residual(Residual),
}

/// A weight layer of a [`Model`], as [`Model::weight_layers`] lists them.
#[derive(Debug, Clone, Copy)]
pub enum WeightLayer<'a> {
    /// A convolution.
    Conv(&'a ConvLayer),
    /// A fully connected layer.
    Linear(&'a LinearLayer),
}

impl<'a> WeightLayer<'a> {
    /// Parameter prefix.
    pub fn name(&self) -> &'a str {
        match self {
            WeightLayer::Conv(c) => &c.name,
            WeightLayer::Linear(l) => &l.name,
        }
    }
    /// The weights (OIHW or out×in).
    pub fn weight(&self) -> &'a [f32] {
        match self {
            WeightLayer::Conv(c) => c.weights(),
            WeightLayer::Linear(l) => l.weights(),
        }
    }
    /// Output channels or features (rows of the weight matrix).
    pub fn rows(&self) -> usize {
        match self {
            WeightLayer::Conv(c) => c.geom.out_c,
            WeightLayer::Linear(l) => l.out_features,
        }
    }
}

use super::forward::Run;
pub use super::forward::{Activation, Codes as ActCodes, Output, Resumed};

/// The conv/linear layers are computed by a kernel: the float one ([`FloatKernel`]) or the exact
/// fixed-point one ([`crate::quantized::QuantizedModel`]). `layer` is the index of the layer among
/// the weight layers (0 for the first conv, depth-first).
pub trait LayerKernel: Sync {
    /// Output (with bias) of convolution `layer` on a batch of `n` NCHW inputs.
    fn conv(&self, layer: usize, conv: &ConvLayer, x: &[f32], n: usize) -> Vec<f32>;
    /// Output (with bias) of linear layer `layer` on a batch of `n` input rows.
    fn linear(&self, layer: usize, lin: &LinearLayer, x: &[f32], n: usize) -> Vec<f32>;

    /// Whether layer `layer` can write its output directly as the u8 input codes of layer
    /// `layer + 1` when only ReLU, max-pooling, flatten and dropout lie between them (the
    /// forward pass checks that). Exact for a clamping monotone quantizer: quantizing commutes
    /// with max-pooling, and ReLU is the clamp of the unsigned quantizer that follows it. The
    /// default: never (every layer exchanges floats).
    fn emits_codes(&self, _layer: usize) -> bool {
        false
    }

    /// [`LayerKernel::conv`] on float values or codes (codes only after a layer `layer − 1`
    /// that [emits](LayerKernel::emits_codes) them), giving what `out` asks (codes only where
    /// `emits_codes(layer)`; max-pooled by `out`'s pool, when it names one: the forward pass
    /// then skips that pooling).
    fn conv_act(
        &self,
        layer: usize,
        conv: &ConvLayer,
        x: &Activation,
        n: usize,
        _out: Output,
    ) -> Activation {
        Activation::Float(self.conv(layer, conv, x.float(), n))
    }

    /// [`LayerKernel::linear`] on float values or codes, as [`LayerKernel::conv_act`].
    fn linear_act(
        &self,
        layer: usize,
        lin: &LinearLayer,
        x: &Activation,
        n: usize,
        _out: Output,
    ) -> Activation {
        Activation::Float(self.linear(layer, lin, x.float(), n))
    }
}

/// The float (f32, PyTorch semantics) kernel: [`float::conv2d`] and [`float::linear`] (the
/// AVX-512F kernel where the CPU has it).
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatKernel;

/// The float kernel through the GEMM front end ([`ops::conv2d`], [`ops::linear`]): the
/// profiler's traced forward pass ([`Model::forward_traced`]: ranges, back-propagation) stays on
/// it, so that its numbers (and the course estimator's npy files) do not move.
#[derive(Debug, Clone, Copy, Default)]
pub struct GemmFloatKernel;

/// A float convolution routine: `(x, n, geom, weight, bias)`.
type ConvFn = fn(&[f32], usize, &ConvGeom, &[f32], Option<&[f32]>) -> Vec<f32>;

/// A float convolution layer group by group (dilated kernels expanded) through `f`.
fn float_conv(c: &ConvLayer, x: &[f32], n: usize, f: ConvFn) -> Vec<f32> {
    let dg = c.group_geom().out_c * c.group_geom().d();
    let og = c.group_geom().out_c;
    let w = c.expand(c.weights());
    c.per_group(x, n, |j, g, xj| {
        let b = c.biases().map(|b| &b[j * og..][..og]);
        f(xj, n, g, &w[j * dg..][..dg], b)
    })
}

impl LayerKernel for FloatKernel {
    fn conv(&self, _layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        float_conv(c, x, n, float::conv2d)
    }
    fn linear(&self, _layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        let shape = (l.in_features, l.out_features);
        float::linear_packed(x, n, shape, l.weights(), l.biases(), &l.pack)
    }
}

impl LayerKernel for GemmFloatKernel {
    fn conv(&self, _layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        float_conv(c, x, n, ops::conv2d)
    }
    fn linear(&self, _layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        ops::linear(x, n, l.in_features, l.out_features, l.weights(), l.biases())
    }
}

/// The result of [`Model::forward_traced`].
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// For each conv/linear layer (in order), its input activation for the batch (NCHW or
    /// n×features, as the layer sees it, before any quantization).
    pub layer_inputs: Vec<Vec<f32>>,
    /// Logits, n × classes.
    pub logits: Vec<f32>,
}

/// A network ready to run: a sequence of ops, some of them residual blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Network name.
    pub name: String,
    /// Input shape (C, H, W).
    pub input: [usize; 3],
    /// Input preprocessing.
    pub preprocess: Option<Preprocess>,
    /// Operations in order.
    pub ops: Vec<Op>,
    /// Number of outputs (classes).
    pub classes: usize,
}

/// Visits the weight layers of `ops` depth-first (body before shortcut).
fn visit_weights<'a>(ops: &'a [Op], f: &mut impl FnMut(WeightLayer<'a>)) {
    for op in ops {
        match op {
            Op::Conv(c) => f(WeightLayer::Conv(c)),
            Op::Linear(l) => f(WeightLayer::Linear(l)),
            Op::Residual(r) => {
                visit_weights(&r.body, f);
                visit_weights(&r.shortcut, f);
            }
            _ => {}
        }
    }
}

/// Appends whether the input of each weight layer of `ops` is non-negative, given whether the
/// input of `ops` is; returns whether their output is.
fn nonneg_walk(ops: &[Op], mut nonneg: bool, out: &mut Vec<bool>) -> bool {
    for op in ops {
        nonneg = match op {
            Op::Conv(_) | Op::Linear(_) => {
                out.push(nonneg);
                false
            }
            Op::Relu | Op::Relu6 => true,
            Op::BatchNorm(_) => false,
            Op::MaxPool(_)
            | Op::AvgPool(_)
            | Op::AdaptiveAvgPool(_)
            | Op::Flatten
            | Op::Dropout => nonneg,
            // A sum of two non-negative branches is non-negative.
            Op::Residual(r) => {
                nonneg_walk(&r.body, nonneg, out) & nonneg_walk(&r.shortcut, nonneg, out)
            }
        };
    }
    nonneg
}

/// Output length per image of `op` on an input of `len` values, or why they do not fit.
fn op_out_len(op: &Op, len: usize) -> Result<usize> {
    let bad = |what: String| Err(InferError::Invalid(what));
    match op {
        Op::Conv(c) => {
            let wg = c.weight_geom();
            if c.groups == 0
                || c.dilation == 0
                || c.geom.in_c % c.groups != 0
                || c.geom.out_c % c.groups != 0
                || c.weight.dim() != (c.geom.out_c, wg.in_c, c.taps(), c.taps())
                || !c.weight.is_standard_layout()
                || c.bias.as_ref().is_some_and(|b| b.len() != c.geom.out_c)
            {
                return bad(format!("conv {}: parameter sizes or groups", c.name));
            }
            if c.geom.in_len() != len {
                return bad(format!(
                    "conv {} expects {} inputs, gets {len}",
                    c.name,
                    c.geom.in_len()
                ));
            }
            Ok(c.geom.out_len())
        }
        Op::Linear(l) => {
            if l.weight.dim() != (l.out_features, l.in_features)
                || !l.weight.is_standard_layout()
                || l.bias.as_ref().is_some_and(|b| b.len() != l.out_features)
            {
                return bad(format!("linear {}: parameter sizes", l.name));
            }
            if l.in_features != len {
                return bad(format!(
                    "linear {} expects {} inputs, gets {len}",
                    l.name, l.in_features
                ));
            }
            Ok(l.out_features)
        }
        Op::BatchNorm(b) => {
            let c = b.channels;
            let params = [&b.gamma, &b.beta, &b.mean, &b.var];
            if params
                .iter()
                .any(|p| p.len() != c || !p.is_standard_layout())
                || c * b.plane != len
            {
                return bad(format!("batch norm {}: sizes", b.name));
            }
            Ok(len)
        }
        Op::MaxPool(g) | Op::AvgPool(g) => {
            if g.c * g.h * g.w != len {
                return bad(format!(
                    "pooling expects {} inputs, gets {len}",
                    g.c * g.h * g.w
                ));
            }
            Ok(g.c * g.out_h() * g.out_w())
        }
        Op::AdaptiveAvgPool(g) => {
            if g.c * g.h * g.w != len || g.out == 0 {
                return bad(format!(
                    "adaptive pooling expects {} inputs, gets {len}",
                    g.c * g.h * g.w
                ));
            }
            Ok(g.c * g.out * g.out)
        }
        Op::Relu | Op::Relu6 | Op::Flatten | Op::Dropout => Ok(len),
        Op::Residual(r) => {
            let b = seq_out_len(&r.body, len)?;
            let s = seq_out_len(&r.shortcut, len)?;
            if b != s {
                return bad(format!(
                    "residual block: the body gives {b} values, the shortcut {s}"
                ));
            }
            Ok(b)
        }
    }
}

fn seq_out_len(ops: &[Op], len: usize) -> Result<usize> {
    ops.iter().try_fold(len, |l, op| op_out_len(op, l))
}

impl Model {
    /// Checks that the ops chain (each op's input length is the previous output length, the
    /// parameters have their shapes, in standard layout), that the output has `classes` values
    /// and that there is a weight layer: a model built by hand is checked before it is run.
    pub fn check(&self) -> Result<()> {
        let out = seq_out_len(&self.ops, self.input_len())?;
        if out != self.classes {
            return Err(InferError::Invalid(format!(
                "the network gives {out} outputs but declares {} classes",
                self.classes
            )));
        }
        if self.num_weight_layers() == 0 {
            return Err(InferError::Invalid(
                "the network has no conv or linear layer".into(),
            ));
        }
        Ok(())
    }

    /// Input elements per image.
    pub fn input_len(&self) -> usize {
        self.input.iter().product()
    }

    /// The conv/linear layers in order (depth-first, body before shortcut: the rows of nn-cost's
    /// per-layer table).
    pub fn weight_layers(&self) -> Vec<WeightLayer<'_>> {
        let mut out = Vec::new();
        visit_weights(&self.ops, &mut |w| out.push(w));
        out
    }

    /// Number of conv/linear layers.
    pub fn num_weight_layers(&self) -> usize {
        let mut n = 0;
        visit_weights(&self.ops, &mut |_| n += 1);
        n
    }

    /// Names of the conv/linear layers in order.
    pub fn weight_layer_names(&self) -> Vec<String> {
        self.weight_layers()
            .iter()
            .map(|w| w.name().to_string())
            .collect()
    }

    /// Whether the input of each conv/linear layer is non-negative by construction, read from
    /// the graph: it directly follows a ReLU or ReLU6, possibly through pooling, flatten or
    /// dropout (or is a residual sum of two such branches). Such inputs are quantized unsigned,
    /// the others (the image, a batch-norm output, a residual sum with a signed branch) signed.
    pub fn nonnegative_inputs(&self) -> Vec<bool> {
        let mut out = Vec::new();
        nonneg_walk(&self.ops, false, &mut out);
        out
    }

    /// Preprocessed network input of a run of images: an (N, C, H, W) batch. Images whose
    /// size is not the network's input (C·H·W bytes each) are an error.
    pub fn input_of(&self, images: CifarSlice<'_>) -> Result<Array4<f32>> {
        let [c, h, w] = self.input;
        let n = images.labels.len();
        let x = preprocess(images.pixels, self.input, self.preprocess.as_ref());
        Array4::from_shape_vec((n, c, h, w), x).map_err(|_| {
            InferError::Invalid(format!(
                "{n} images of {} bytes each do not fit the input {c}×{h}×{w} ({} bytes) of the \
                 network {}: give images of that size, or a network whose input matches them",
                images.pixels.len() / n.max(1),
                c * h * w,
                self.name
            ))
        })
    }

    /// Logits (N × classes) of an (N, C, H, W) batch of preprocessed inputs with a given
    /// layer kernel.
    ///
    /// # Panics
    /// If a batch image is not of the input shape, or the model fails [`Model::check`].
    pub fn forward_with(&self, kernel: &impl LayerKernel, x: ArrayView4<'_, f32>) -> Array2<f32> {
        let n = x.len_of(Axis(0));
        let logits = self.run(kernel, &standard(&x), n, false).logits;
        Array2::from_shape_vec((n, self.classes), logits)
            .expect("a checked model gives `classes` outputs per image")
    }

    /// Float logits (N × classes) of an (N, C, H, W) batch of preprocessed inputs.
    pub fn forward(&self, x: ArrayView4<'_, f32>) -> Array2<f32> {
        self.forward_with(&FloatKernel, x)
    }

    /// Float forward pass of an (N, C, H, W) batch that also returns the input activation of
    /// every conv/linear layer (for dynamic ranges and back-propagation).
    pub fn forward_traced(&self, x: ArrayView4<'_, f32>) -> Trace {
        let n = x.len_of(Axis(0));
        self.run(&GemmFloatKernel, &standard(&x), n, true)
    }

    /// Forward pass with a given kernel on `n` flat NCHW inputs (the internal pass: layers
    /// exchange flat buffers), optionally tracing the weight-layer inputs.
    pub fn run(&self, kernel: &impl LayerKernel, x: &[f32], n: usize, trace: bool) -> Trace {
        assert_eq!(x.len(), n * self.input_len(), "forward: input length");
        let mut run = Run {
            kernel,
            n,
            layer: 0,
            trace: trace.then(Vec::new),
            keep: &[],
            kept: Vec::new(),
        };
        let logits = run.seq(&self.ops, x.to_vec());
        Trace {
            layer_inputs: run.trace.unwrap_or_default(),
            logits,
        }
    }
}

/// A batch's elements in row-major order: borrowed when the view is in standard layout, else
/// copied into it.
fn standard<'a>(x: &'a ArrayView4<'_, f32>) -> std::borrow::Cow<'a, [f32]> {
    match x.as_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(x.iter().copied().collect()),
    }
}
