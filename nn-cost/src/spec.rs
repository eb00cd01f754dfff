//! The network description format: one JSON file describes a network for both its costs
//! (this crate) and its inference (`cifar-infer`).
//!
//! A description lists layers, not numbers: every shape is inferred from the input size by
//! [`NetworkSpec::analyze`](crate::NetworkSpec::analyze). Example (a small CIFAR network):
//!
//! ```json
//! {
//!   "name": "tiny",
//!   "input": [3, 32, 32],
//!   "preprocess": { "scale": 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
//!   "layers": [
//!     { "type": "conv", "name": "features.0", "out_channels": 16, "kernel": 3, "padding": 1 },
//!     { "type": "batch_norm", "name": "features.1" },
//!     { "type": "relu" },
//!     { "type": "max_pool", "kernel": 2 },
//!     { "type": "residual",
//!       "body": [ { "type": "conv", "name": "block.conv", "out_channels": 32, "kernel": 3,
//!                   "stride": 2, "padding": 1, "bias": false } ],
//!       "shortcut": [ { "type": "conv", "name": "block.down", "out_channels": 32, "kernel": 1,
//!                       "stride": 2, "bias": false } ] },
//!     { "type": "adaptive_avg_pool", "output": 1 },
//!     { "type": "flatten" },
//!     { "type": "dropout" },
//!     { "type": "linear", "name": "fc", "out_features": 10 }
//!   ]
//! }
//! ```
//!
//! Layer types: `conv` (`out_channels`, `kernel`, `stride` = 1, `padding` = 0, `bias` = true,
//! `groups` = 1, `dilation` = 1), `linear` (`out_features`, `bias` = true), `batch_norm`
//! (`eps` = 1e-5), `relu`, `relu6` (ReLU clipped at 6),
//! `max_pool` / `avg_pool` (`kernel`, `stride` = kernel, `padding` = 0; floor mode),
//! `adaptive_avg_pool` (`output`), `flatten`, `dropout` (identity at inference) and
//! `residual` (`body`, `shortcut` = identity). Unknown types and fields are errors that name the
//! layer and the field.
use crate::error::{CostError, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

/// A network: its input shape, optional input preprocessing and its layers in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Name of the network (shown in tables).
    pub name: String,
    /// Input shape (channels, height, width).
    pub input: [usize; 3],
    /// Input preprocessing: x = (pixel / scale − mean_c) / std_c. Course: scale 255, mean 0.5, std 0.5.
    #[serde(default)]
    pub preprocess: Option<Preprocess>,
    /// The layers, applied in order.
    pub layers: Vec<LayerSpec>,
}

/// Per-channel input normalisation x = (pixel / scale − mean_c) / std_c.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Divisor of the raw pixel value (255 for 8-bit images).
    pub scale: f32,
    /// Per-channel mean subtracted after scaling.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by.
    pub std: Vec<f32>,
}

/// Replacements of a description's input normalisation (`--scale`, `--mean`, `--std`): each
/// given field replaces the description's; a single mean or std applies to every channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreprocessOverride {
    /// New scale.
    pub scale: Option<f32>,
    /// New means (empty = keep).
    pub mean: Vec<f32>,
    /// New standard deviations (empty = keep).
    pub std: Vec<f32>,
}

impl PreprocessOverride {
    /// Whether nothing is replaced.
    pub fn is_empty(&self) -> bool {
        self.scale.is_none() && self.mean.is_empty() && self.std.is_empty()
    }

    /// Applies the replacements to `spec` (a description without `preprocess` starts from
    /// x = pixel: scale 1, mean 0, std 1) and checks the result.
    pub fn apply(&self, spec: &mut NetworkSpec) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let c = spec.input[0];
        let mut p = spec.preprocess.clone().unwrap_or(Preprocess {
            scale: 1.0,
            mean: vec![0.0; c],
            std: vec![1.0; c],
        });
        let per_channel = |flag: &str, v: &[f32]| match v.len() {
            1 => Ok(vec![v[0]; c]),
            n if n == c => Ok(v.to_vec()),
            n => Err(CostError::Network {
                field: "preprocess".into(),
                message: format!(
                    "{flag} has {n} values; the network has {c} input channels: give 1 or {c}"
                ),
            }),
        };
        if let Some(s) = self.scale {
            p.scale = s;
        }
        if !self.mean.is_empty() {
            p.mean = per_channel("--mean", &self.mean)?;
        }
        if !self.std.is_empty() {
            p.std = per_channel("--std", &self.std)?;
        }
        spec.preprocess = Some(p);
        spec.validate()
    }
}

fn one() -> usize {
    1
}
fn is_one(v: &usize) -> bool {
    *v == 1
}
fn yes() -> bool {
    true
}
fn bn_eps() -> f64 {
    1e-5
}

/// One layer of a description, tagged by `"type"` (snake case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// 2-D convolution; parameter tensors `{name}.weight` (O,I,k,k) and `{name}.bias` (O).
    Conv {
        /// Parameter prefix (PyTorch state-dict name).
        name: String,
        /// Output channels O.
        out_channels: usize,
        /// Square kernel size k.
        kernel: usize,
        /// Stride (default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding on each side (default 0).
        #[serde(default)]
        padding: usize,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
        /// Channel groups (default 1; `groups` = input channels = depthwise). The weight is
        /// (O, I/groups, k, k); both channel counts must be multiples of it.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        groups: usize,
        /// Kernel dilation (default 1): the window spans dilation·(k − 1) + 1 pixels.
        #[serde(default = "one", skip_serializing_if = "is_one")]
        dilation: usize,
    },
    /// Fully connected; `{name}.weight` (out, in), `{name}.bias` (out).
    Linear {
        /// Parameter prefix (PyTorch state-dict name).
        name: String,
        /// Output features.
        out_features: usize,
        /// Whether the layer has a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Batch norm (inference form); `{name}.weight/.bias/.running_mean/.running_var`.
    BatchNorm {
        /// Parameter prefix (PyTorch state-dict name).
        name: String,
        /// Variance epsilon (default 1e-5).
        #[serde(default = "bn_eps")]
        eps: f64,
    },
    /// Rectified linear unit.
    Relu,
    /// ReLU clipped at 6 (ONNX `Clip(0, 6)`, PyTorch `ReLU6`).
    Relu6,
    /// Max pooling, floor mode (PyTorch default); stride defaults to kernel.
    MaxPool {
        /// Square window size.
        kernel: usize,
        /// Stride (default: the kernel size).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding on each side (default 0, at most kernel/2).
        #[serde(default)]
        padding: usize,
    },
    /// Average pooling, floor mode, padding counted in the average (PyTorch default).
    AvgPool {
        /// Square window size.
        kernel: usize,
        /// Stride (default: the kernel size).
        #[serde(default)]
        stride: Option<usize>,
        /// Padding on each side (default 0, at most kernel/2).
        #[serde(default)]
        padding: usize,
    },
    /// Adaptive average pooling to output×output.
    AdaptiveAvgPool {
        /// Output height and width.
        output: usize,
    },
    /// Flatten (C,H,W) → C·H·W in NCHW order.
    Flatten,
    /// Identity at inference.
    Dropout,
    /// y = body(x) + shortcut(x) (empty shortcut = identity; a 1×1 conv + batch norm = downsample).
    Residual {
        /// The main branch.
        body: Vec<LayerSpec>,
        /// The shortcut branch (empty = identity).
        #[serde(default)]
        shortcut: Vec<LayerSpec>,
    },
}

impl LayerSpec {
    /// The `type` tag of the layer (`conv`, `linear`, `batch_norm`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Conv { .. } => "conv",
            Self::Linear { .. } => "linear",
            Self::BatchNorm { .. } => "batch_norm",
            Self::Relu => "relu",
            Self::Relu6 => "relu6",
            Self::MaxPool { .. } => "max_pool",
            Self::AvgPool { .. } => "avg_pool",
            Self::AdaptiveAvgPool { .. } => "adaptive_avg_pool",
            Self::Flatten => "flatten",
            Self::Dropout => "dropout",
            Self::Residual { .. } => "residual",
        }
    }

    /// The parameter name of the layer, if it has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Conv { name, .. } | Self::Linear { name, .. } | Self::BatchNorm { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }
}

/// A human-readable label of a layer for error messages: `layers[3] (conv features.0)`.
pub(crate) fn layer_label(path: &str, layer: &LayerSpec) -> String {
    match layer.name() {
        Some(n) => format!("{path} ({} {n})", layer.type_name()),
        None => format!("{path} ({})", layer.type_name()),
    }
}

/// The built-in networks, each shipped as a description file in `nn-cost/nets/`.
pub const BUILTINS: [(&str, &str); 3] = [
    ("resnet18", include_str!("../nets/resnet18.json")),
    ("vgg11", include_str!("../nets/vgg11.json")),
    ("cifar-alexnet", include_str!("../nets/cifar-alexnet.json")),
];

impl NetworkSpec {
    /// Reads and validates a description from JSON text. Errors name the layer (its path in the
    /// description and its name) and the field at fault; shapes are checked by running
    /// [`NetworkSpec::analyze`].
    pub fn from_json_str(s: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(s)?;
        if let Some(e) = locate_error(&value) {
            return Err(e);
        }
        let spec = NetworkSpec::deserialize(&value)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads and validates a description file (JSON).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| CostError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text).map_err(|e| CostError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// A built-in network: `resnet18`, `vgg11` (torchvision, ImageNet 224×224) or
    /// `cifar-alexnet` (the course's CIFAR-10 network).
    pub fn builtin(name: &str) -> Result<Self> {
        let text = BUILTINS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| CostError::UnknownBuiltin {
                name: name.to_string(),
                choices: Self::builtin_names().join(", "),
            })?;
        Self::from_json_str(text)
    }

    /// Names of the built-in networks.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTINS.iter().map(|(n, _)| *n).collect()
    }

    /// The description as pretty JSON (the format [`NetworkSpec::from_json_str`] reads).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(self).expect("a NetworkSpec always serializes")
    }

    /// Checks the input size, preprocessing and (through [`NetworkSpec::analyze`]) layer sizes,
    /// names and shapes.
    pub fn validate(&self) -> Result<()> {
        let net = |field: &str, message: String| CostError::Network {
            field: field.into(),
            message,
        };
        if self.input.contains(&0) {
            return Err(net(
                "input",
                format!("{:?}: every size must be > 0", self.input),
            ));
        }
        if let Some(p) = &self.preprocess {
            let c = self.input[0];
            if !(p.scale.is_finite() && p.scale > 0.0) {
                return Err(net(
                    "preprocess.scale",
                    format!("{} must be finite and > 0", p.scale),
                ));
            }
            if p.mean.len() != c {
                return Err(net(
                    "preprocess.mean",
                    format!("{} values for {c} input channels", p.mean.len()),
                ));
            }
            if p.std.len() != c {
                return Err(net(
                    "preprocess.std",
                    format!("{} values for {c} input channels", p.std.len()),
                ));
            }
            if let Some(m) = p.mean.iter().find(|m| !m.is_finite()) {
                return Err(net("preprocess.mean", format!("{m} is not finite")));
            }
            if let Some(s) = p.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                return Err(net("preprocess.std", format!("{s} must be finite and > 0")));
            }
        }
        if self.layers.is_empty() {
            return Err(net("layers", "the network has no layers".into()));
        }
        self.analyze()?;
        Ok(())
    }
}

/// Checks the sizes of every layer (recursively) and that parameter names are unique.
pub(crate) fn validate_layers<'a>(
    layers: &'a [LayerSpec],
    prefix: &str,
    names: &mut HashSet<&'a str>,
) -> Result<()> {
    for (i, layer) in layers.iter().enumerate() {
        let path = format!("{prefix}[{i}]");
        let field = |field: &str, message: &str| CostError::Field {
            layer: layer_label(&path, layer),
            field: field.into(),
            message: message.into(),
        };
        if let Some(name) = layer.name() {
            if name.trim().is_empty() {
                return Err(field("name", "must not be empty"));
            }
            if !names.insert(name) {
                return Err(field(
                    "name",
                    "is used by an earlier layer: names must be unique",
                ));
            }
        }
        match layer {
            LayerSpec::Conv {
                out_channels,
                kernel,
                stride,
                groups,
                dilation,
                ..
            } => {
                for (f, v) in [
                    ("out_channels", out_channels),
                    ("kernel", kernel),
                    ("stride", stride),
                    ("groups", groups),
                    ("dilation", dilation),
                ] {
                    if *v == 0 {
                        return Err(field(f, "must be > 0"));
                    }
                }
            }
            LayerSpec::Linear { out_features, .. } => {
                if *out_features == 0 {
                    return Err(field("out_features", "must be > 0"));
                }
            }
            LayerSpec::BatchNorm { eps, .. } => {
                if !(eps.is_finite() && *eps > 0.0) {
                    return Err(field("eps", &format!("{eps} must be finite and > 0")));
                }
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
                if *kernel == 0 {
                    return Err(field("kernel", "must be > 0"));
                }
                if *stride == Some(0) {
                    return Err(field("stride", "must be > 0"));
                }
                if 2 * padding > *kernel {
                    return Err(field(
                        "padding",
                        &format!("{padding} is more than half the kernel size {kernel}"),
                    ));
                }
            }
            LayerSpec::AdaptiveAvgPool { output } => {
                if *output == 0 {
                    return Err(field("output", "must be > 0"));
                }
            }
            LayerSpec::Residual { body, shortcut } => {
                if body.is_empty() {
                    return Err(field("body", "a residual block needs at least one layer"));
                }
                validate_layers(body, &format!("{path}.body"), names)?;
                validate_layers(shortcut, &format!("{path}.shortcut"), names)?;
            }
            LayerSpec::Relu | LayerSpec::Relu6 | LayerSpec::Flatten | LayerSpec::Dropout => {}
        }
    }
    Ok(())
}

/// What a field's JSON value should be (for the message) and the check of it.
type FieldCheck = (&'static str, fn(&Value) -> bool);

/// Expected JSON kind of each layer field, for errors that name the field.
fn field_expectation(field: &str) -> Option<FieldCheck> {
    fn size(v: &Value) -> bool {
        v.as_u64().is_some()
    }
    fn opt_size(v: &Value) -> bool {
        v.is_null() || v.as_u64().is_some()
    }
    match field {
        "name" => Some(("a string", Value::is_string)),
        "out_channels" | "kernel" | "padding" | "out_features" | "output" | "groups"
        | "dilation" => Some(("a non-negative integer", size)),
        "stride" => Some(("a non-negative integer", opt_size)),
        "bias" => Some(("true or false", Value::is_boolean)),
        "eps" => Some(("a number", Value::is_number)),
        "body" | "shortcut" => Some(("a list of layers", Value::is_array)),
        _ => None,
    }
}

/// Finds the first entry of a description that cannot be read, and describes it by its path
/// (and, for a layer, its name) and field.
fn locate_error(v: &Value) -> Option<CostError> {
    let Some(obj) = v.as_object() else {
        return Some(CostError::Network {
            field: "(top level)".into(),
            message: "expected an object with `name`, `input`, `layers`".into(),
        });
    };
    if let Some(field) = obj
        .keys()
        .find(|k| !["name", "input", "preprocess", "layers"].contains(&k.as_str()))
    {
        return Some(CostError::Network {
            field: field.clone(),
            message: "unknown field: expected one of `name`, `input`, `preprocess`, `layers`"
                .into(),
        });
    }
    if let Some(input) = obj.get("input") {
        let ok = input
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|x| x.as_u64().is_some()));
        if !ok {
            return Some(CostError::Network {
                field: "input".into(),
                message: format!(
                    "{input}: expected [channels, height, width] of non-negative integers"
                ),
            });
        }
    }
    match obj.get("layers") {
        Some(Value::Array(layers)) => locate_in_layers(layers, "layers"),
        Some(other) => Some(CostError::Network {
            field: "layers".into(),
            message: format!("expected a list of layers, found {other}"),
        }),
        None => None,
    }
}

fn locate_in_layers(layers: &[Value], prefix: &str) -> Option<CostError> {
    layers
        .iter()
        .enumerate()
        .find_map(|(i, v)| locate_in_layer(v, &format!("{prefix}[{i}]")))
}

fn locate_in_layer(v: &Value, path: &str) -> Option<CostError> {
    let Some(obj) = v.as_object() else {
        return Some(CostError::Layer {
            layer: path.to_string(),
            message: format!("expected a layer object like {{\"type\": \"relu\"}}, found {v}"),
        });
    };
    let ty = obj.get("type").and_then(Value::as_str).unwrap_or("?");
    let label = match obj.get("name").and_then(Value::as_str) {
        Some(n) => format!("{path} ({ty} {n})"),
        None => format!("{path} ({ty})"),
    };
    // Field values of the wrong kind (e.g. a negative size) are reported with the field name.
    for (key, value) in obj {
        if let Some((expected, ok)) = field_expectation(key) {
            if !ok(value) {
                return Some(CostError::Field {
                    layer: label,
                    field: key.clone(),
                    message: format!("expected {expected}, found {value}"),
                });
            }
        }
    }
    if matches!(ty, "relu" | "relu6" | "flatten" | "dropout") {
        if let Some(key) = obj.keys().find(|k| *k != "type") {
            return Some(CostError::Field {
                layer: label,
                field: key.clone(),
                message: format!("unknown field: a `{ty}` layer has no fields besides `type`"),
            });
        }
    }
    if ty == "residual" {
        for branch in ["body", "shortcut"] {
            if let Some(Value::Array(inner)) = obj.get(branch) {
                if let Some(e) = locate_in_layers(inner, &format!("{path}.{branch}")) {
                    return Some(e);
                }
            }
        }
    }
    LayerSpec::deserialize(v).err().map(|e| CostError::Layer {
        layer: label,
        message: e.to_string(),
    })
}
