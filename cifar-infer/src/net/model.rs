//! A runnable sequential network built from its description ([`NetworkSpec`]) and its
//! parameters, and the forward pass shared by the float and the fixed-point kernels.
use crate::data::{preprocess, CifarSlice};
use crate::error::{InferError, Result};
use crate::ops::{self, ConvGeom, PoolGeom};
use crate::weights::{load_safetensors, ExpectedTensor, Weights};
use nn_cost::spec::{LayerSpec, NetworkSpec, Preprocess};
use std::path::Path;

/// A convolution layer with its parameters (weights OIHW, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// Parameter prefix (state-dict name).
    pub name: String,
    /// Geometry on one image.
    pub geom: ConvGeom,
    /// Weights, O×I×k×k.
    pub weight: Vec<f32>,
    /// Bias per output channel.
    pub bias: Option<Vec<f32>>,
}

/// A fully connected layer with its parameters (weights out×in, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearLayer {
    /// Parameter prefix (state-dict name).
    pub name: String,
    /// Input features.
    pub in_features: usize,
    /// Output features.
    pub out_features: usize,
    /// Weights, out×in.
    pub weight: Vec<f32>,
    /// Bias per output feature.
    pub bias: Option<Vec<f32>>,
}

/// A batch-norm layer (inference form).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormLayer {
    /// Parameter prefix.
    pub name: String,
    /// Channels.
    pub channels: usize,
    /// Elements per channel plane (H·W, or 1 after flatten).
    pub plane: usize,
    /// γ.
    pub gamma: Vec<f32>,
    /// β.
    pub beta: Vec<f32>,
    /// Running mean.
    pub mean: Vec<f32>,
    /// Running variance.
    pub var: Vec<f32>,
    /// ε.
    pub eps: f64,
}

/// One executable operation of the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Convolution (a weight layer).
    Conv(ConvLayer),
    /// Fully connected (a weight layer).
    Linear(LinearLayer),
    /// Batch normalisation.
    BatchNorm(BatchNormLayer),
    /// ReLU.
    Relu,
    /// Max pooling (floor mode).
    MaxPool(PoolGeom),
    /// Average pooling (floor mode, padding counted).
    AvgPool(PoolGeom),
    /// Adaptive average pooling of a (c, h, w) input to (c, out, out).
    AdaptiveAvgPool {
        /// Input shape.
        c: usize,
        /// Input height.
        h: usize,
        /// Input width.
        w: usize,
        /// Output size.
        out: usize,
    },
    /// Flatten: a no-op on NCHW buffers.
    Flatten,
    /// Dropout: identity at inference.
    Dropout,
}

/// The conv/linear layers are computed by a kernel: the float one ([`FloatKernel`]) or the exact
/// fixed-point one ([`crate::quantized::QuantizedModel`]). `layer` is the index of the layer among
/// the weight layers (0 for the first conv).
pub trait LayerKernel: Sync {
    /// Output (with bias) of convolution `layer` on a batch of `n` NCHW inputs.
    fn conv(&self, layer: usize, conv: &ConvLayer, x: &[f32], n: usize) -> Vec<f32>;
    /// Output (with bias) of linear layer `layer` on a batch of `n` input rows.
    fn linear(&self, layer: usize, lin: &LinearLayer, x: &[f32], n: usize) -> Vec<f32>;
}

/// The float (f32, PyTorch semantics) kernel.
#[derive(Debug, Clone, Copy, Default)]
pub struct FloatKernel;

impl LayerKernel for FloatKernel {
    fn conv(&self, _layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        ops::conv2d(x, n, &c.geom, &c.weight, c.bias.as_deref())
    }
    fn linear(&self, _layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        ops::linear(
            x,
            n,
            l.in_features,
            l.out_features,
            &l.weight,
            l.bias.as_deref(),
        )
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

/// A sequential network ready to run.
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

/// Shape of the activation between operations.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Map(usize, usize, usize),
    Vec(usize),
}

impl Shape {
    /// `[C, H, W]` → a feature map, anything else → a flat vector of its elements.
    fn from_dims(d: &[usize]) -> Self {
        match *d {
            [c, h, w] => Shape::Map(c, h, w),
            _ => Shape::Vec(d.iter().product()),
        }
    }

    fn len(self) -> usize {
        match self {
            Shape::Map(c, h, w) => c * h * w,
            Shape::Vec(f) => f,
        }
    }
}

/// The parameter tensors a description needs, with their shapes (in layer order).
pub fn expected_tensors(spec: &NetworkSpec) -> Result<Vec<ExpectedTensor>> {
    let mut out = Vec::new();
    walk(spec, |layer, shape| {
        let t = |name: &str, suffix: &str, shape: Vec<usize>| ExpectedTensor {
            name: format!("{name}.{suffix}"),
            shape,
        };
        match (layer, shape) {
            (
                LayerSpec::Conv {
                    name,
                    out_channels,
                    kernel,
                    bias,
                    groups,
                    ..
                },
                Shape::Map(c, _, _),
            ) => {
                out.push(t(
                    name,
                    "weight",
                    vec![*out_channels, c / groups, *kernel, *kernel],
                ));
                if *bias {
                    out.push(t(name, "bias", vec![*out_channels]));
                }
            }
            (
                LayerSpec::Linear {
                    name,
                    out_features,
                    bias,
                },
                s,
            ) => {
                out.push(t(name, "weight", vec![*out_features, s.len()]));
                if *bias {
                    out.push(t(name, "bias", vec![*out_features]));
                }
            }
            (LayerSpec::BatchNorm { name, .. }, s) => {
                let c = match s {
                    Shape::Map(c, _, _) => c,
                    Shape::Vec(f) => f,
                };
                for suffix in ["weight", "bias", "running_mean", "running_var"] {
                    out.push(t(name, suffix, vec![c]));
                }
            }
            _ => {}
        }
    })?;
    Ok(out)
}

/// Walks the top-level layers of a sequential description with the input shape of each, as
/// inferred by nn-cost (one shape inference serves costs and inference); errors for residual
/// blocks and for shapes that do not fit.
fn walk(spec: &NetworkSpec, mut f: impl FnMut(&LayerSpec, Shape)) -> Result<Shape> {
    if let Some(i) = spec
        .layers
        .iter()
        .position(|l| matches!(l, LayerSpec::Residual { .. }))
    {
        return Err(InferError::Unsupported(format!(
            "layers[{i}] (residual): residual blocks are unsupported for inference (sequential networks only)"
        )));
    }
    let table = spec.analyze()?;
    for (layer, dims) in spec.layers.iter().zip(&table.layer_inputs) {
        f(layer, Shape::from_dims(dims));
    }
    Ok(Shape::from_dims(&table.output))
}

impl Model {
    /// Builds the network of `spec` from the parameter file `path` (safetensors).
    pub fn load(spec: &NetworkSpec, path: &Path) -> Result<Self> {
        let expected = expected_tensors(spec)?;
        let weights = load_safetensors(path, &expected)?;
        Self::from_weights(spec, &weights)
    }

    /// Builds the network of `spec` from tensors already loaded (and checked) with the names and
    /// shapes of [`expected_tensors`].
    pub fn from_weights(spec: &NetworkSpec, weights: &Weights) -> Result<Self> {
        let missing = |name: &str| InferError::Invalid(format!("tensor {name} missing"));
        let get = |name: &str, suffix: &str| -> Result<Vec<f32>> {
            let key = format!("{name}.{suffix}");
            weights
                .get(&key)
                .map(|t| t.data.clone())
                .ok_or_else(|| missing(&key))
        };
        let mut ops_out = Vec::new();
        let mut err = None;
        let last = walk(spec, |layer, shape| {
            if err.is_some() {
                return;
            }
            let r: Result<Op> = (|| {
                Ok(match (layer, shape) {
                    (
                        LayerSpec::Conv {
                            name,
                            out_channels,
                            kernel,
                            stride,
                            padding,
                            bias,
                            groups,
                            dilation,
                        },
                        Shape::Map(c, h, w),
                    ) if *groups == 1 && *dilation == 1 => Op::Conv(ConvLayer {
                        name: name.clone(),
                        geom: ConvGeom {
                            in_c: c,
                            in_h: h,
                            in_w: w,
                            out_c: *out_channels,
                            k: *kernel,
                            stride: *stride,
                            pad: *padding,
                        },
                        weight: get(name, "weight")?,
                        bias: if *bias {
                            Some(get(name, "bias")?)
                        } else {
                            None
                        },
                    }),
                    (
                        LayerSpec::Linear {
                            name,
                            out_features,
                            bias,
                        },
                        s,
                    ) => Op::Linear(LinearLayer {
                        name: name.clone(),
                        in_features: s.len(),
                        out_features: *out_features,
                        weight: get(name, "weight")?,
                        bias: if *bias {
                            Some(get(name, "bias")?)
                        } else {
                            None
                        },
                    }),
                    (LayerSpec::BatchNorm { name, eps }, s) => {
                        let (channels, plane) = match s {
                            Shape::Map(c, h, w) => (c, h * w),
                            Shape::Vec(f) => (f, 1),
                        };
                        let var = get(name, "running_var")?;
                        check_batch_norm(name, &var, *eps)?;
                        Op::BatchNorm(BatchNormLayer {
                            name: name.clone(),
                            channels,
                            plane,
                            gamma: get(name, "weight")?,
                            beta: get(name, "bias")?,
                            mean: get(name, "running_mean")?,
                            var,
                            eps: *eps,
                        })
                    }
                    (LayerSpec::Relu, _) => Op::Relu,
                    (
                        LayerSpec::MaxPool {
                            kernel,
                            stride,
                            padding,
                        },
                        Shape::Map(c, h, w),
                    ) => Op::MaxPool(PoolGeom {
                        c,
                        h,
                        w,
                        k: *kernel,
                        stride: stride.unwrap_or(*kernel),
                        pad: *padding,
                    }),
                    (
                        LayerSpec::AvgPool {
                            kernel,
                            stride,
                            padding,
                        },
                        Shape::Map(c, h, w),
                    ) => Op::AvgPool(PoolGeom {
                        c,
                        h,
                        w,
                        k: *kernel,
                        stride: stride.unwrap_or(*kernel),
                        pad: *padding,
                    }),
                    (LayerSpec::AdaptiveAvgPool { output }, Shape::Map(c, h, w)) => {
                        Op::AdaptiveAvgPool {
                            c,
                            h,
                            w,
                            out: *output,
                        }
                    }
                    (LayerSpec::Flatten, _) => Op::Flatten,
                    (LayerSpec::Dropout, _) => Op::Dropout,
                    (LayerSpec::Conv { name, .. }, _) => {
                        return Err(InferError::Unsupported(format!(
                            "conv {name}: grouped or dilated convolutions (groups or dilation > 1)"
                        )))
                    }
                    (l, _) => {
                        return Err(InferError::Unsupported(format!(
                            "layer type {}",
                            l.type_name()
                        )))
                    }
                })
            })();
            match r {
                Ok(op) => ops_out.push(op),
                Err(e) => err = Some(e),
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        let classes = match last {
            Shape::Vec(f) => f,
            Shape::Map(..) => {
                return Err(InferError::Unsupported(
                    "the network must end with a vector of class scores (flatten + linear)".into(),
                ))
            }
        };
        if !ops_out
            .iter()
            .any(|o| matches!(o, Op::Conv(_) | Op::Linear(_)))
        {
            return Err(InferError::Invalid(
                "the network has no conv or linear layer".into(),
            ));
        }
        Ok(Self {
            name: spec.name.clone(),
            input: spec.input,
            preprocess: spec.preprocess.clone(),
            ops: ops_out,
            classes,
        })
    }

    /// Input elements per image.
    pub fn input_len(&self) -> usize {
        self.input.iter().product()
    }

    /// The conv/linear layers in order, with their index in `ops`.
    pub fn weight_layers(&self) -> Vec<(usize, &Op)> {
        self.ops
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Op::Conv(_) | Op::Linear(_)))
            .collect()
    }

    /// Number of conv/linear layers.
    pub fn num_weight_layers(&self) -> usize {
        self.weight_layers().len()
    }

    /// Names of the conv/linear layers in order.
    pub fn weight_layer_names(&self) -> Vec<String> {
        self.ops
            .iter()
            .filter_map(|o| match o {
                Op::Conv(c) => Some(c.name.clone()),
                Op::Linear(l) => Some(l.name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether the input of each conv/linear layer is non-negative by construction (it follows a
    /// ReLU, possibly through pooling, flatten or dropout): such inputs are quantized unsigned,
    /// the others (the image) signed.
    pub fn nonnegative_inputs(&self) -> Vec<bool> {
        let mut out = Vec::new();
        let mut nonneg = false;
        for op in &self.ops {
            match op {
                Op::Conv(_) | Op::Linear(_) => {
                    out.push(nonneg);
                    nonneg = false;
                }
                Op::Relu => nonneg = true,
                Op::MaxPool(_)
                | Op::AvgPool(_)
                | Op::AdaptiveAvgPool { .. }
                | Op::Flatten
                | Op::Dropout => {}
                Op::BatchNorm(_) => nonneg = false,
            }
        }
        out
    }

    /// Preprocessed network input (NCHW f32) of a run of images.
    pub fn input_of(&self, images: CifarSlice<'_>) -> Vec<f32> {
        preprocess(images.pixels, self.input, self.preprocess.as_ref())
    }

    /// Logits (n × classes) of a batch of `n` preprocessed inputs with a given layer kernel.
    pub fn forward_with(&self, kernel: &impl LayerKernel, x: &[f32], n: usize) -> Vec<f32> {
        self.run(kernel, x, n, false).logits
    }

    /// Float logits (n × classes) of a batch of `n` preprocessed inputs.
    pub fn forward(&self, x: &[f32], n: usize) -> Vec<f32> {
        self.forward_with(&FloatKernel, x, n)
    }

    /// Float forward pass that also returns the input activation of every conv/linear layer
    /// (for dynamic ranges and back-propagation).
    pub fn forward_traced(&self, x: &[f32], n: usize) -> Trace {
        self.run(&FloatKernel, x, n, true)
    }

    /// Forward pass with a given kernel, optionally tracing the weight-layer inputs.
    pub fn run(&self, kernel: &impl LayerKernel, x: &[f32], n: usize, trace: bool) -> Trace {
        assert_eq!(x.len(), n * self.input_len(), "forward: input length");
        let mut a = x.to_vec();
        let mut layer_inputs = Vec::new();
        let mut layer = 0;
        for op in &self.ops {
            a = match op {
                Op::Conv(c) => {
                    if trace {
                        layer_inputs.push(a.clone());
                    }
                    layer += 1;
                    kernel.conv(layer - 1, c, &a, n)
                }
                Op::Linear(l) => {
                    if trace {
                        layer_inputs.push(a.clone());
                    }
                    layer += 1;
                    kernel.linear(layer - 1, l, &a, n)
                }
                Op::BatchNorm(b) => {
                    ops::batch_norm_inplace(
                        &mut a, b.channels, b.plane, &b.gamma, &b.beta, &b.mean, &b.var, b.eps,
                    );
                    a
                }
                Op::Relu => {
                    ops::relu_inplace(&mut a);
                    a
                }
                Op::MaxPool(g) => ops::max_pool2d(&a, n, g),
                Op::AvgPool(g) => ops::avg_pool2d(&a, n, g),
                Op::AdaptiveAvgPool { c, h, w, out } => {
                    ops::adaptive_avg_pool2d(&a, n, *c, *h, *w, *out)
                }
                Op::Flatten | Op::Dropout => a,
            };
        }
        Trace {
            layer_inputs,
            logits: a,
        }
    }
}

/// Checks the statistics of a batch-norm layer: the running variances must be ≥ 0 and ε ≥ 0
/// finite with var + ε > 0, else the layer divides by the square root of a negative number or
/// zero and every logit after it is NaN or infinite.
fn check_batch_norm(name: &str, var: &[f32], eps: f64) -> Result<()> {
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(InferError::Invalid(format!(
            "batch-norm layer {name}: eps {eps} must be finite and ≥ 0"
        )));
    }
    if let Some((i, v)) = var
        .iter()
        .enumerate()
        .find(|(_, &v)| !(v >= 0.0 && (v as f64 + eps) > 0.0))
    {
        return Err(InferError::Invalid(format!(
            "batch-norm layer {name}: {name}.running_var[{i}] = {v} (with eps {eps}): \
             a variance must be ≥ 0 and var + eps > 0"
        )));
    }
    Ok(())
}
