//! Shape inference and per-layer counts of a [`NetworkSpec`].
//!
//! Counting convention (NOTES.md, Problem 2): every conv and fully-connected layer is a layer
//! (1×1 downsample convs included, batch norm not); R_W = weights + biases; R_A = elements of
//! the layer's input; N = output elements (dot products); D = C_in·k·k or in_features.
use crate::error::{CostError, Result};
use crate::spec::{layer_label, validate_layers, LayerSpec, NetworkSpec};
use fxp_core::LayerCounts;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One conv or linear layer (the layers that carry precisions), in description order
/// (depth-first through residual blocks: body before shortcut).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRow {
    /// Parameter name of the layer.
    pub name: String,
    /// `conv` or `linear`.
    pub kind: String,
    /// Input shape (`[C, H, W]` or `[features]`).
    pub in_shape: Vec<usize>,
    /// Output shape (`[C, H, W]` or `[features]`).
    pub out_shape: Vec<usize>,
    /// Number of weights.
    pub weights: u64,
    /// Number of biases (0 without bias).
    pub biases: u64,
    /// Input elements R_A.
    pub r_a: u64,
    /// Output elements = dot products N.
    pub n: u64,
    /// Dot-product length D.
    pub d: u64,
    /// Multiply-accumulates N·D.
    pub macs: u64,
}

impl LayerRow {
    /// The counts the cost model needs (R_W = weights + biases).
    pub fn counts(&self) -> LayerCounts {
        LayerCounts {
            r_w: self.weights + self.biases,
            r_a: self.r_a,
            n: self.n,
            d: self.d,
        }
    }
}

/// The per-layer table of a network and its totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkTable {
    /// Name of the network.
    pub name: String,
    /// Input shape `[C, H, W]`.
    pub input: Vec<usize>,
    /// Output shape of the network.
    pub output: Vec<usize>,
    /// The conv and linear layers.
    pub rows: Vec<LayerRow>,
    /// Learnable batch-norm parameters (weight and bias, 2 per channel); not part of the cost
    /// model's R_W, but part of the usual parameter count.
    pub batch_norm_params: u64,
    /// Input shape of every top-level layer of the description, in order (`[C, H, W]` or
    /// `[F]`): what an inference engine of a sequential network needs. Not serialized.
    #[serde(skip)]
    pub layer_inputs: Vec<Vec<usize>>,
    /// Input shape of every layer other than `residual`, at any depth, in description order
    /// (depth-first, body before shortcut): what an inference engine of a residual network
    /// needs. Not serialized.
    #[serde(skip)]
    pub leaf_inputs: Vec<Vec<usize>>,
}

impl NetworkTable {
    /// The counts of every conv/linear layer, in order.
    pub fn counts(&self) -> Vec<LayerCounts> {
        self.rows.iter().map(LayerRow::counts).collect()
    }

    /// All learnable parameters (conv/linear weights and biases, batch-norm weights and biases),
    /// the number torchvision reports.
    pub fn total_params(&self) -> u64 {
        self.cost_params() + self.batch_norm_params
    }

    /// Conv/linear weights and biases: Σ R_W of the cost model.
    pub fn cost_params(&self) -> u64 {
        self.rows.iter().map(|r| r.weights + r.biases).sum()
    }

    /// Σ R_A: activations entering the conv/linear layers.
    pub fn total_activations(&self) -> u64 {
        self.rows.iter().map(|r| r.r_a).sum()
    }

    /// Multiply-accumulates of the conv/linear layers.
    pub fn total_macs(&self) -> u64 {
        self.rows.iter().map(|r| r.macs).sum()
    }

    /// Names of the conv/linear layers, in order.
    pub fn layer_names(&self) -> Vec<&str> {
        self.rows.iter().map(|r| r.name.as_str()).collect()
    }
}

/// Shape of the tensor flowing between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Feature map (C, H, W).
    Map(usize, usize, usize),
    /// Flat vector of features.
    Flat(usize),
}

impl Shape {
    fn dims(self) -> Vec<usize> {
        match self {
            Shape::Map(c, h, w) => vec![c, h, w],
            Shape::Flat(n) => vec![n],
        }
    }
    /// Number of elements, or `None` when it does not fit in 64 bits.
    fn elements(self) -> Option<u64> {
        self.dims()
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
    }
    fn describe(self) -> String {
        let d: Vec<String> = self.dims().iter().map(ToString::to_string).collect();
        format!("[{}]", d.join("×"))
    }
}

/// Output size of a sliding window, or `None` when the window does not fit.
fn window_out(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = padding.checked_mul(2)?.checked_add(size)?;
    (padded >= kernel).then(|| (padded - kernel) / stride + 1)
}

/// `a · b`, or an error naming the layer and the count that does not fit in 64 bits.
fn mul_u64(layer: &str, what: &str, a: u64, b: u64) -> Result<u64> {
    a.checked_mul(b).ok_or_else(|| CostError::Layer {
        layer: layer.to_string(),
        message: format!(
            "{what} = {} × {} does not fit in 64 bits: the layer is too large to count",
            fxp_core::text::group(a),
            fxp_core::text::group(b)
        ),
    })
}

/// The sum of `values`, or an error saying which network total does not fit in 64 bits.
fn sum_u64(what: &str, values: impl IntoIterator<Item = u64>) -> Result<u64> {
    values
        .into_iter()
        .try_fold(0u64, |acc, v| acc.checked_add(v))
        .ok_or_else(|| CostError::Network {
            field: "layers".into(),
            message: format!("the total {what} of the network does not fit in 64 bits"),
        })
}

/// Path prefix of the top-level layers in error messages.
const TOP: &str = "layers";

struct Walker {
    rows: Vec<LayerRow>,
    batch_norm_params: u64,
    /// Input shapes of the top-level layers.
    layer_inputs: Vec<Vec<usize>>,
    /// Input shapes of the non-residual layers, depth-first.
    leaf_inputs: Vec<Vec<usize>>,
}

impl Walker {
    fn walk(&mut self, layers: &[LayerSpec], prefix: &str, mut shape: Shape) -> Result<Shape> {
        for (i, layer) in layers.iter().enumerate() {
            let path = format!("{prefix}[{i}]");
            if prefix == TOP {
                self.layer_inputs.push(shape.dims());
            }
            if !matches!(layer, LayerSpec::Residual { .. }) {
                self.leaf_inputs.push(shape.dims());
            }
            shape = self.layer(layer, &path, shape)?;
        }
        Ok(shape)
    }

    fn layer(&mut self, layer: &LayerSpec, path: &str, shape: Shape) -> Result<Shape> {
        let label = layer_label(path, layer);
        let err = |field: &str, message: String| CostError::Field {
            layer: label.clone(),
            field: field.into(),
            message,
        };
        let too_large = |what: &str| CostError::Layer {
            layer: label.clone(),
            message: format!("{what} does not fit in 64 bits: the layer is too large to count"),
        };
        let need_map = |field: &str| match shape {
            Shape::Map(c, h, w) => Ok((c, h, w)),
            Shape::Flat(_) => Err(err(
                field,
                format!(
                    "needs a (C, H, W) feature map but its input is flat {}",
                    shape.describe()
                ),
            )),
        };
        Ok(match layer {
            LayerSpec::Conv {
                name,
                out_channels,
                kernel,
                stride,
                padding,
                bias,
                groups,
                dilation,
            } => {
                let (c, h, w) = need_map("type")?;
                if c % groups != 0 || out_channels % groups != 0 {
                    return Err(err(
                        "groups",
                        format!(
                            "{groups} groups do not divide the {c} input and {out_channels} output channels"
                        ),
                    ));
                }
                let span = kernel
                    .saturating_sub(1)
                    .checked_mul(*dilation)
                    .and_then(|s| s.checked_add(1))
                    .ok_or_else(|| too_large("the dilated kernel span"))?;
                let fit = |size| {
                    window_out(size, span, *stride, *padding).ok_or_else(|| {
                        err(
                            "kernel",
                            format!(
                                "kernel {kernel} (span {span}) is larger than the padded input {} (input {}, padding {padding})",
                                size.saturating_add(padding.saturating_mul(2)),
                                shape.describe()
                            ),
                        )
                    })
                };
                let out = Shape::Map(*out_channels, fit(h)?, fit(w)?);
                let kk = mul_u64(&label, "kernel size k·k", *kernel as u64, *kernel as u64)?;
                let d = mul_u64(
                    &label,
                    "dot-product length D = (C_in/groups)·k·k",
                    (c / groups) as u64,
                    kk,
                )?;
                let o = *out_channels as u64;
                let weights = mul_u64(&label, "weights D·C_out", d, o)?;
                self.push(
                    &label,
                    name,
                    "conv",
                    shape,
                    out,
                    weights,
                    if *bias { o } else { 0 },
                    d,
                )?;
                out
            }
            LayerSpec::Linear {
                name,
                out_features,
                bias,
            } => {
                let Shape::Flat(inp) = shape else {
                    return Err(err(
                        "type",
                        format!(
                            "needs a flat input but gets the feature map {}: add a flatten layer before it",
                            shape.describe()
                        ),
                    ));
                };
                let out = Shape::Flat(*out_features);
                let o = *out_features as u64;
                let d = inp as u64;
                let weights = mul_u64(&label, "weights in_features·out_features", d, o)?;
                self.push(
                    &label,
                    name,
                    "linear",
                    shape,
                    out,
                    weights,
                    if *bias { o } else { 0 },
                    d,
                )?;
                out
            }
            LayerSpec::BatchNorm { .. } => {
                let channels = match shape {
                    Shape::Map(c, _, _) => c,
                    Shape::Flat(n) => n,
                };
                self.batch_norm_params = (channels as u64)
                    .checked_mul(2)
                    .and_then(|p| self.batch_norm_params.checked_add(p))
                    .ok_or_else(|| too_large("batch-norm parameter count"))?;
                shape
            }
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
                let (c, h, w) = need_map("type")?;
                let s = stride.unwrap_or(*kernel);
                let fit = |size| {
                    window_out(size, *kernel, s, *padding).ok_or_else(|| {
                        err(
                            "kernel",
                            format!(
                                "pooling window {kernel} is larger than the padded input {} (input {})",
                                size.saturating_add(padding.saturating_mul(2)),
                                shape.describe()
                            ),
                        )
                    })
                };
                Shape::Map(c, fit(h)?, fit(w)?)
            }
            LayerSpec::AdaptiveAvgPool { output } => {
                let (c, _, _) = need_map("type")?;
                Shape::Map(c, *output, *output)
            }
            LayerSpec::Flatten => Shape::Flat(
                shape
                    .elements()
                    .and_then(|e| usize::try_from(e).ok())
                    .ok_or_else(|| too_large("the flattened size"))?,
            ),
            LayerSpec::Relu | LayerSpec::Relu6 | LayerSpec::Dropout => shape,
            LayerSpec::Residual { body, shortcut } => {
                let b = self.walk(body, &format!("{path}.body"), shape)?;
                let s = self.walk(shortcut, &format!("{path}.shortcut"), shape)?;
                if b != s {
                    return Err(err(
                        "shortcut",
                        format!(
                            "the body gives {} but the shortcut gives {}: they must match to be added",
                            b.describe(),
                            s.describe()
                        ),
                    ));
                }
                b
            }
        })
    }

    // Allowed: the columns of one table row (label, name, kind, shapes and counts), each
    // computed by the caller's match arm; a struct would only repeat the row's field list.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        label: &str,
        name: &str,
        kind: &str,
        inp: Shape,
        out: Shape,
        weights: u64,
        biases: u64,
        d: u64,
    ) -> Result<()> {
        let too_large = |what: &str| CostError::Layer {
            layer: label.to_string(),
            message: format!("{what} does not fit in 64 bits: the layer is too large to count"),
        };
        let n = out
            .elements()
            .ok_or_else(|| too_large("the output size N"))?;
        let r_a = inp
            .elements()
            .ok_or_else(|| too_large("the input size R_A"))?;
        let macs = mul_u64(label, "MACs N·D", n, d)?;
        weights
            .checked_add(biases)
            .ok_or_else(|| too_large("R_W = weights + biases"))?;
        self.rows.push(LayerRow {
            name: name.to_string(),
            kind: kind.to_string(),
            in_shape: inp.dims(),
            out_shape: out.dims(),
            weights,
            biases,
            r_a,
            n,
            d,
            macs,
        });
        Ok(())
    }
}

impl NetworkSpec {
    /// Infers every shape from the input size and counts each conv/linear layer. Errors name the
    /// layer and field whose shape does not fit (a kernel larger than its input, a linear layer
    /// on a feature map, a residual whose branches differ, ...).
    pub fn analyze(&self) -> Result<NetworkTable> {
        if self.input.contains(&0) {
            return Err(CostError::Network {
                field: "input".into(),
                message: format!("{:?}: every size must be > 0", self.input),
            });
        }
        validate_layers(&self.layers, "layers", &mut HashSet::new())?;
        let [c, h, w] = self.input;
        let mut walker = Walker {
            rows: Vec::new(),
            batch_norm_params: 0,
            layer_inputs: Vec::new(),
            leaf_inputs: Vec::new(),
        };
        let out = walker.walk(&self.layers, TOP, Shape::Map(c, h, w))?;
        // The totals of the table (parameters, activations, MACs) must fit as well.
        let rows = &walker.rows;
        let params = sum_u64("parameter count", rows.iter().map(|r| r.weights + r.biases))?;
        sum_u64("parameter count", [params, walker.batch_norm_params])?;
        sum_u64("activation count", rows.iter().map(|r| r.r_a))?;
        sum_u64("MAC count", rows.iter().map(|r| r.macs))?;
        sum_u64("weight count", rows.iter().map(|r| r.weights))?;
        sum_u64("bias count", rows.iter().map(|r| r.biases))?;
        sum_u64("output count", rows.iter().map(|r| r.n))?;
        if walker.rows.is_empty() {
            return Err(CostError::Network {
                field: "layers".into(),
                message: "the network has no conv or linear layer".into(),
            });
        }
        Ok(NetworkTable {
            name: self.name.clone(),
            input: self.input.to_vec(),
            output: out.dims(),
            rows: walker.rows,
            batch_norm_params: walker.batch_norm_params,
            layer_inputs: walker.layer_inputs,
            leaf_inputs: walker.leaf_inputs,
        })
    }
}
