//! The forward walk of a [`Model`](super::model::Model): ops in order, residual blocks as body +
//! shortcut, the weight layers through a [`LayerKernel`], and between two weight layers linked by
//! ReLU, max-pooling, flatten and dropout only, the next layer's input codes instead of floats
//! where the kernel makes them ([`Activation::Codes`]). A pass can also start at a top-level
//! weight layer from the activation that reached it in another pass, and keep the inputs of
//! chosen layers ([`Model::forward_from`]).
use super::model::{LayerKernel, Model, Op};
use crate::ops::{self, PoolGeom};

/// The values passed from op to op in a forward pass: float activations, or — between two
/// weight layers linked by ReLU, max-pooling, flatten and dropout only — the input codes of
/// the second layer (offset codes, as the integer kernel takes them), written by the first
/// layer's kernel (see [`LayerKernel::emits_codes`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// Float values (NCHW or N × features).
    Float(Vec<f32>),
    /// Input codes of the next weight layer.
    Codes {
        /// The codes, NCHW (or N × features), or NHWC when `channels_last`.
        codes: Codes,
        /// Channels last: each position's channels contiguous (between two convolutions).
        channels_last: bool,
    },
}

/// Offset input codes of a weight layer: one byte each up to 8 bits, two up to 16.
#[derive(Debug, Clone, PartialEq)]
pub enum Codes {
    /// B_A ≤ 8.
    U8(Vec<u8>),
    /// 8 < B_A ≤ 16.
    U16(Vec<u16>),
}

/// What a weight layer writes: floats, or the next layer's input codes (in the layout asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Float values, NCHW (or N × features).
    Float,
    /// Input codes of the next weight layer ([`Activation::Codes`]).
    Codes {
        /// NHWC instead of NCHW (only asked of a convolution feeding a convolution).
        channels_last: bool,
        /// The max-pooling that follows the convolution, for it to do on its exact sums (the
        /// forward pass then skips it): see `fused_pool`.
        pool: Option<PoolGeom>,
    },
}

impl Activation {
    /// The float values.
    ///
    /// # Panics
    /// On codes: only a kernel whose [`LayerKernel::emits_codes`] is true receives codes, and it
    /// implements [`LayerKernel::conv_act`] and [`LayerKernel::linear_act`] for them.
    pub fn float(&self) -> &[f32] {
        match self {
            Activation::Float(x) => x,
            Activation::Codes { .. } => panic!("codes reach only a kernel that emits them"),
        }
    }
}

/// Whether the ops after weight layer `op` (`rest`, in its sequence) lead to another weight
/// layer through ReLU, max-pooling, flatten and dropout only — the ops under which the next
/// layer's input codes can be made from this layer's output and carried in its place — and
/// then whether the codes can be channels last: a convolution feeding a convolution through
/// no flatten, every shape in between the one the next op expects.
fn codes_link(op: &Op, rest: &[Op]) -> Option<bool> {
    let linked = |op: &Op| matches!(op, Op::Relu | Op::MaxPool(_) | Op::Flatten | Op::Dropout);
    let next = rest.iter().find(|op| !linked(op))?;
    if !matches!(next, Op::Conv(_) | Op::Linear(_)) {
        return None;
    }
    let (Op::Conv(c), Op::Conv(next)) = (op, next) else {
        return Some(false);
    };
    let between = rest.iter().take_while(|op| linked(op));
    let mut shape = (c.geom.out_c, c.geom.out_h(), c.geom.out_w());
    for op in between {
        match op {
            Op::MaxPool(g) if (g.c, g.h, g.w) == shape => shape = (g.c, g.out_h(), g.out_w()),
            Op::Relu | Op::Dropout => {}
            _ => return Some(false),
        }
    }
    Some(shape == (next.geom.in_c, next.geom.in_h, next.geom.in_w))
}

/// The max-pooling a convolution that emits codes can do on its exact sums (the code of the
/// largest sum is the largest code): the first op after it past ReLU and dropout (the identity
/// on codes, see [`Run::on_codes`]) when it is a max-pooling of the convolution's output shape;
/// with the number of ops of `rest` it stands for.
fn fused_pool(op: &Op, rest: &[Op]) -> Option<(PoolGeom, usize)> {
    let Op::Conv(c) = op else {
        return None;
    };
    let i = rest
        .iter()
        .position(|op| !matches!(op, Op::Relu | Op::Dropout))?;
    match &rest[i] {
        Op::MaxPool(g) if (g.c, g.h, g.w) == (c.geom.out_c, c.geom.out_h(), c.geom.out_w()) => {
            Some((*g, i + 1))
        }
        _ => None,
    }
}

/// The state of one forward pass.
pub(super) struct Run<'k, K> {
    pub(super) kernel: &'k K,
    pub(super) n: usize,
    /// Index of the next weight layer.
    pub(super) layer: usize,
    pub(super) trace: Option<Vec<Vec<f32>>>,
    /// Weight layers whose input to keep (as it reaches them: codes or floats), by index.
    pub(super) keep: &'k [bool],
    /// The inputs kept, with their layer.
    pub(super) kept: Vec<(usize, Activation)>,
}

/// The index in `ops` of weight layer `layer` when it is a top-level op with no residual block
/// before it (a pass can then start there from the activation that reaches it).
fn top_level_op(ops: &[Op], layer: usize) -> Option<usize> {
    let mut seen = 0;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Conv(_) | Op::Linear(_) if seen == layer => return Some(i),
            Op::Conv(_) | Op::Linear(_) => seen += 1,
            Op::Residual(_) => return None,
            _ => {}
        }
    }
    None
}

/// Whether the input of top-level weight layer `layer` (see [`top_level_op`]) can be the codes
/// layer `layer − 1` writes ([`codes_link`]), when the kernel emits them.
fn codes_may_reach(ops: &[Op], layer: usize) -> bool {
    let Some(i) = layer.checked_sub(1).and_then(|e| top_level_op(ops, e)) else {
        return false;
    };
    top_level_op(ops, layer).is_some() && codes_link(&ops[i], &ops[i + 1..]).is_some()
}

impl<K: LayerKernel> Run<'_, K> {
    pub(super) fn seq(&mut self, ops: &[Op], x: Vec<f32>) -> Vec<f32> {
        self.seq_from(ops, Activation::Float(x))
    }

    /// The ops of `ops` on `a` (the activation that reaches the first of them).
    pub(super) fn seq_from(&mut self, ops: &[Op], mut a: Activation) -> Vec<f32> {
        let mut i = 0;
        while let Some(op) = ops.get(i) {
            i += 1;
            a = match (op, a) {
                (Op::Conv(_) | Op::Linear(_), a) => {
                    let (a, fused) = self.weight_layer(op, a, &ops[i..]);
                    i += fused;
                    a
                }
                (op, Activation::Float(a)) => Activation::Float(self.op(op, a)),
                (
                    op,
                    Activation::Codes {
                        codes,
                        channels_last,
                    },
                ) => Activation::Codes {
                    codes: self.on_codes(op, codes, channels_last),
                    channels_last,
                },
            };
        }
        match a {
            Activation::Float(a) => a,
            Activation::Codes { .. } => unreachable!("a sequence never ends on codes (codes_link)"),
        }
    }

    /// A conv or linear op on `a`; `rest` are the ops after it in its sequence. Its output is
    /// the next layer's codes where [`codes_link`] and the kernel allow it, max-pooled where
    /// [`fused_pool`] allows it; with the number of ops of `rest` done with it.
    fn weight_layer(&mut self, op: &Op, a: Activation, rest: &[Op]) -> (Activation, usize) {
        if self.keep.get(self.layer).copied().unwrap_or(false) {
            self.kept.push((self.layer, a.clone()));
        }
        match &a {
            Activation::Float(x) => self.record(x),
            Activation::Codes { .. } => self.layer += 1,
        }
        let (l, n) = (self.layer - 1, self.n);
        let (out, fused) = match codes_link(op, rest) {
            Some(channels_last) if self.trace.is_none() && self.kernel.emits_codes(l) => {
                let pool = fused_pool(op, rest);
                let out = Output::Codes {
                    channels_last,
                    pool: pool.map(|(g, _)| g),
                };
                (out, pool.map_or(0, |(_, fused)| fused))
            }
            _ => (Output::Float, 0),
        };
        let y = match op {
            Op::Conv(c) => self.kernel.conv_act(l, c, &a, n, out),
            Op::Linear(lin) => self.kernel.linear_act(l, lin, &a, n, out),
            _ => unreachable!("weight_layer is called on conv and linear ops"),
        };
        (y, fused)
    }

    /// The ops [`codes_link`] admits, on codes: ReLU is already their clamp (the quantizer after
    /// a ReLU is unsigned), max-pooling commutes with quantizing.
    fn on_codes(&mut self, op: &Op, c: Codes, channels_last: bool) -> Codes {
        match c {
            Codes::U8(c) => Codes::U8(self.on_codes_of(op, c, channels_last)),
            Codes::U16(c) => Codes::U16(self.on_codes_of(op, c, channels_last)),
        }
    }

    fn on_codes_of<T: ops::PoolValue>(
        &mut self,
        op: &Op,
        c: Vec<T>,
        channels_last: bool,
    ) -> Vec<T> {
        match op {
            Op::MaxPool(g) if channels_last => ops::max_pool2d_channels_last(&c, self.n, g),
            Op::MaxPool(g) => ops::max_pool2d(&c, self.n, g),
            Op::Relu | Op::Flatten | Op::Dropout => c,
            _ => unreachable!("codes_link admits only ReLU, max-pooling, flatten and dropout"),
        }
    }

    /// One op other than conv/linear on float values.
    fn op(&mut self, op: &Op, mut a: Vec<f32>) -> Vec<f32> {
        let n = self.n;
        match op {
            Op::Conv(_) | Op::Linear(_) => unreachable!("weight layers go through weight_layer"),
            Op::BatchNorm(b) => {
                b.apply(&mut a);
                a
            }
            Op::Relu => {
                ops::relu_inplace(&mut a);
                a
            }
            Op::Relu6 => {
                ops::relu6_inplace(&mut a);
                a
            }
            Op::MaxPool(g) => ops::max_pool2d(&a, n, g),
            Op::AvgPool(g) => ops::avg_pool2d(&a, n, g),
            Op::AdaptiveAvgPool(g) => ops::adaptive_avg_pool2d(&a, n, g.c, g.h, g.w, g.out),
            Op::Flatten | Op::Dropout => a,
            Op::Residual(r) => {
                let mut y = self.seq(&r.body, a.clone());
                let s = self.seq(&r.shortcut, a);
                for (y, s) in y.iter_mut().zip(&s) {
                    *y += s;
                }
                y
            }
        }
    }

    /// Counts a weight layer and traces its input.
    fn record(&mut self, a: &[f32]) {
        self.layer += 1;
        if let Some(t) = &mut self.trace {
            t.push(a.to_vec());
        }
    }
}

/// Passes that start at a weight layer (the designer's evaluations from the first changed
/// layer).
impl Model {
    /// Whether a pass can start at weight layer `layer` ([`Model::forward_from`]): it is a
    /// top-level op with no residual block before it (layer 0 always can).
    pub fn can_start_at(&self, layer: usize) -> bool {
        top_level_op(&self.ops, layer).is_some()
    }

    /// Whether the input of weight layer `layer` (one [`Model::can_start_at`] accepts) is the
    /// codes of layer `layer − 1` when its kernel [emits](LayerKernel::emits_codes) them (else
    /// floats).
    pub fn codes_may_reach(&self, layer: usize) -> bool {
        codes_may_reach(&self.ops, layer)
    }

    /// The forward pass of `n` images from weight layer `layer` on `a`, the activation that
    /// reaches it (codes or floats, as another pass of the same images kept it; layer 0 and
    /// `Activation::Float` of the preprocessed NCHW images: the whole pass), keeping the input
    /// of every later weight layer `l` with `keep[l]`. Computes what [`Model::forward_with`]
    /// does (the same logits, bit for bit) when `a` is what reaches `layer` in that pass.
    ///
    /// # Panics
    /// If [`Model::can_start_at`] refuses `layer`, or `a` does not fit it.
    pub fn forward_from(
        &self,
        kernel: &impl LayerKernel,
        layer: usize,
        a: Activation,
        n: usize,
        keep: &[bool],
    ) -> Resumed {
        let i = top_level_op(&self.ops, layer)
            .expect("forward_from starts at a top-level weight layer before any residual block");
        let mut run = Run {
            kernel,
            n,
            layer,
            trace: None,
            keep,
            kept: Vec::new(),
        };
        let logits = run.seq_from(&self.ops[i..], a);
        Resumed {
            logits,
            kept: run.kept,
        }
    }
}

/// The result of [`Model::forward_from`].
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    /// Logits, n × classes.
    pub logits: Vec<f32>,
    /// The inputs kept, with their weight layer, in layer order.
    pub kept: Vec<(usize, Activation)>,
}
