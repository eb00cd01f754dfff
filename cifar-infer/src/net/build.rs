//! A [`Model`] from its description ([`NetworkSpec`]) and parameters: the tensors a description
//! needs, the ops with their shapes (from nn-cost's shape inference: one inference serves costs
//! and inference), and batch norm folded into the weight layer before it.
//!
//! # Batch norm
//! By default ([`BatchNormMode::Fold`]) a batch norm that directly follows a conv or linear
//! layer (in the same branch) is folded into it before anything is quantized:
//! `w' = w·γ/√(var+ε)` per output channel and `b' = (b − mean)·γ/√(var+ε) + β` (computed in f64,
//! rounded once to f32). That is what inference hardware does — the folded weights are the ones
//! stored in fixed point, and no separate multiply remains — so ranges, precisions and noise
//! gains describe the layer the hardware computes. A batch norm elsewhere (after a ReLU, at the
//! start of a branch) stays a float op. [`BatchNormMode::Float`] keeps every batch norm in float.
//! The course network has no batch norm, so its numbers do not depend on the choice.
use super::model::{AdaptiveGeom, BatchNormLayer, ConvLayer, LinearLayer, Model, Op, Residual};
use crate::error::{InferError, Result};
use crate::ops::{ConvGeom, PoolGeom};
use crate::weights::{load_safetensors, ExpectedTensor, Weights};
use ndarray::{Array, Array1, Axis, Dimension, Ix1, Ix2, Ix4, RemoveAxis};
use nn_cost::spec::{LayerSpec, NetworkSpec};
use std::path::Path;

/// What happens to a batch norm that follows a conv or linear layer (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchNormMode {
    /// Folded into the weights and bias of the layer before it (the default, as hardware does).
    #[default]
    Fold,
    /// Kept as a float op between the layers.
    Float,
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

    /// Channels and elements per channel (a vector: one channel per feature).
    fn channels(self) -> (usize, usize) {
        match self {
            Shape::Map(c, h, w) => (c, h * w),
            Shape::Vec(f) => (f, 1),
        }
    }
}

/// Walks the layers of a description depth-first (body before shortcut) with the input shape of
/// each non-residual layer, as inferred by nn-cost; returns the network's output shape.
fn walk(spec: &NetworkSpec, mut f: impl FnMut(&LayerSpec, Shape)) -> Result<Shape> {
    let table = spec.analyze()?;
    let mut shapes = table.leaf_inputs.iter();
    fn go(
        layers: &[LayerSpec],
        shapes: &mut std::slice::Iter<'_, Vec<usize>>,
        f: &mut impl FnMut(&LayerSpec, Shape),
    ) {
        for l in layers {
            match l {
                LayerSpec::Residual { body, shortcut } => {
                    go(body, shapes, f);
                    go(shortcut, shapes, f);
                }
                _ => f(
                    l,
                    Shape::from_dims(shapes.next().expect("one shape per layer")),
                ),
            }
        }
    }
    go(&spec.layers, &mut shapes, &mut f);
    Ok(Shape::from_dims(&table.output))
}

/// The parameter tensors a description needs, with their shapes (in layer order).
pub fn expected_tensors(spec: &NetworkSpec) -> Result<Vec<ExpectedTensor>> {
    let mut out = Vec::new();
    walk(spec, |layer, shape| {
        let mut t = |name: &str, suffix: &str, shape: Vec<usize>| {
            out.push(ExpectedTensor {
                name: format!("{name}.{suffix}"),
                shape,
            })
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
                t(
                    name,
                    "weight",
                    vec![*out_channels, c / groups, *kernel, *kernel],
                );
                if *bias {
                    t(name, "bias", vec![*out_channels]);
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
                t(name, "weight", vec![*out_features, s.len()]);
                if *bias {
                    t(name, "bias", vec![*out_features]);
                }
            }
            (LayerSpec::BatchNorm { name, .. }, s) => {
                for suffix in ["weight", "bias", "running_mean", "running_var"] {
                    t(name, suffix, vec![s.channels().0]);
                }
            }
            _ => {}
        }
    })?;
    Ok(out)
}

impl Model {
    /// Builds the network of `spec` from the parameter file `path` (safetensors), batch norm
    /// folded ([`BatchNormMode::Fold`]).
    pub fn load(spec: &NetworkSpec, path: &Path) -> Result<Self> {
        Self::load_with(spec, path, BatchNormMode::default())
    }

    /// [`Model::load`] with a choice of batch-norm treatment.
    pub fn load_with(spec: &NetworkSpec, path: &Path, bn: BatchNormMode) -> Result<Self> {
        let expected = expected_tensors(spec)?;
        let weights = load_safetensors(path, &expected)?;
        Self::from_weights_with(spec, &weights, bn)
    }

    /// Builds the network of `spec` from tensors already loaded (and checked) with the names and
    /// shapes of [`expected_tensors`], batch norm folded.
    pub fn from_weights(spec: &NetworkSpec, weights: &Weights) -> Result<Self> {
        Self::from_weights_with(spec, weights, BatchNormMode::default())
    }

    /// [`Model::from_weights`] with a choice of batch-norm treatment.
    pub fn from_weights_with(
        spec: &NetworkSpec,
        weights: &Weights,
        bn: BatchNormMode,
    ) -> Result<Self> {
        // Leaf ops in depth-first order; then assembled into the tree of the description.
        let mut leaves = Vec::new();
        let mut err = None;
        let last = walk(spec, |layer, shape| {
            if err.is_none() {
                match leaf_op(layer, shape, weights) {
                    Ok(op) => leaves.push(op),
                    Err(e) => err = Some(e),
                }
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
        let mut leaves = leaves.into_iter();
        let mut ops = assemble(&spec.layers, &mut leaves);
        if bn == BatchNormMode::Fold {
            fold_batch_norm(&mut ops);
        }
        let model = Self {
            name: spec.name.clone(),
            input: spec.input,
            preprocess: spec.preprocess.clone(),
            ops,
            classes,
        };
        model.check()?;
        Ok(model)
    }
}

/// The tree of ops of `layers`, taking the leaf ops in depth-first order.
fn assemble(layers: &[LayerSpec], leaves: &mut impl Iterator<Item = Op>) -> Vec<Op> {
    layers
        .iter()
        .map(|l| match l {
            LayerSpec::Residual { body, shortcut } => Op::Residual(Residual {
                body: assemble(body, leaves),
                shortcut: assemble(shortcut, leaves),
            }),
            _ => leaves.next().expect("one op per layer"),
        })
        .collect()
}

/// The op of one non-residual layer with input shape `shape`.
fn leaf_op(layer: &LayerSpec, shape: Shape, weights: &Weights) -> Result<Op> {
    // A parameter as an owned array of dimension D in standard layout (the kernels' slices).
    fn param<D: Dimension>(weights: &Weights, name: &str, suffix: &str) -> Result<Array<f32, D>> {
        let key = format!("{name}.{suffix}");
        let t = weights
            .get(&key)
            .ok_or_else(|| InferError::Invalid(format!("tensor {key} missing")))?;
        t.as_standard_layout()
            .into_owned()
            .into_dimensionality::<D>()
            .map_err(|_| {
                InferError::Invalid(format!(
                    "tensor {key} has shape {:?}, expected {} dimensions",
                    t.shape(),
                    D::NDIM.unwrap_or(0)
                ))
            })
    }
    let get = |name: &str, suffix: &str| param::<Ix1>(weights, name, suffix);
    let bias = |name: &str, has: bool| -> Result<Option<Array1<f32>>> {
        has.then(|| get(name, "bias")).transpose()
    };
    let map = |what: &str| match shape {
        Shape::Map(c, h, w) => Ok((c, h, w)),
        Shape::Vec(_) => Err(InferError::Invalid(format!("{what} on a flat input"))),
    };
    Ok(match layer {
        LayerSpec::Conv {
            name,
            out_channels,
            kernel,
            stride,
            padding,
            bias: has_bias,
            groups,
            dilation,
        } => {
            let (c, h, w) = map("conv")?;
            Op::Conv(ConvLayer {
                name: name.clone(),
                geom: ConvGeom {
                    in_c: c,
                    in_h: h,
                    in_w: w,
                    out_c: *out_channels,
                    // The span of the dilated kernel (nn-cost's shape inference checked it).
                    k: dilation * (kernel - 1) + 1,
                    stride: *stride,
                    pad: *padding,
                },
                groups: *groups,
                dilation: *dilation,
                weight: param::<Ix4>(weights, name, "weight")?,
                bias: bias(name, *has_bias)?,
            })
        }
        LayerSpec::Linear {
            name,
            out_features,
            bias: has_bias,
        } => {
            let w = param::<Ix2>(weights, name, "weight")?;
            let mut l = LinearLayer::new(name.clone(), w, bias(name, *has_bias)?);
            // As declared (`Model::check` compares them with the weights' shape).
            (l.in_features, l.out_features) = (shape.len(), *out_features);
            Op::Linear(l)
        }
        LayerSpec::BatchNorm { name, eps } => {
            let (channels, plane) = shape.channels();
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
        LayerSpec::Relu => Op::Relu,
        LayerSpec::Relu6 => Op::Relu6,
        LayerSpec::MaxPool {
            kernel,
            stride,
            padding,
        }
        | LayerSpec::AvgPool {
            kernel,
            stride,
            padding,
        } => {
            let (c, h, w) = map("pooling")?;
            let g = PoolGeom {
                c,
                h,
                w,
                k: *kernel,
                stride: stride.unwrap_or(*kernel),
                pad: *padding,
            };
            if matches!(layer, LayerSpec::MaxPool { .. }) {
                Op::MaxPool(g)
            } else {
                Op::AvgPool(g)
            }
        }
        LayerSpec::AdaptiveAvgPool { output } => {
            let (c, h, w) = map("adaptive pooling")?;
            Op::AdaptiveAvgPool(AdaptiveGeom {
                c,
                h,
                w,
                out: *output,
            })
        }
        LayerSpec::Flatten => Op::Flatten,
        LayerSpec::Dropout => Op::Dropout,
        LayerSpec::Residual { .. } => unreachable!("residual blocks are not leaves"),
    })
}

/// Folds every batch norm that directly follows a conv or linear layer in the same sequence
/// into that layer (recursively into residual branches).
fn fold_batch_norm(ops: &mut Vec<Op>) {
    let mut out: Vec<Op> = Vec::with_capacity(ops.len());
    for op in ops.drain(..) {
        match (out.last_mut(), op) {
            (Some(Op::Conv(c)), Op::BatchNorm(b)) => fold_into(&mut c.weight, &mut c.bias, &b),
            (Some(Op::Linear(l)), Op::BatchNorm(b)) => {
                let (w, bias) = l.params_mut();
                fold_into(w, bias, &b)
            }
            (_, Op::Residual(mut r)) => {
                fold_batch_norm(&mut r.body);
                fold_batch_norm(&mut r.shortcut);
                out.push(Op::Residual(r));
            }
            (_, op) => out.push(op),
        }
    }
    *ops = out;
}

/// `w' = w·s`, `b' = (b − mean)·s + β` per output row (axis 0), `s = γ/√(var + ε)`, in f64.
fn fold_into<D: RemoveAxis>(
    weight: &mut Array<f32, D>,
    bias: &mut Option<Array1<f32>>,
    bn: &BatchNormLayer,
) {
    let rows = weight.len_of(Axis(0));
    let mut b = bias.take().unwrap_or_else(|| Array1::zeros(rows));
    for (o, mut row) in weight.axis_iter_mut(Axis(0)).enumerate() {
        let s = f64::from(bn.gamma[o]) / (f64::from(bn.var[o]) + bn.eps).sqrt();
        row.mapv_inplace(|w| (f64::from(w) * s) as f32);
        b[o] = ((f64::from(b[o]) - f64::from(bn.mean[o])) * s + f64::from(bn.beta[o])) as f32;
    }
    *bias = Some(b);
}

/// Checks the statistics of a batch-norm layer: the running variances must be ≥ 0 and ε ≥ 0
/// finite with var + ε > 0, else the layer divides by the square root of a negative number or
/// zero and every logit after it is NaN or infinite.
fn check_batch_norm(name: &str, var: &Array1<f32>, eps: f64) -> Result<()> {
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
