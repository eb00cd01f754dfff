//! Typed errors of `nn-cost`.
use std::path::PathBuf;

/// Everything that can go wrong when reading a network description, analysing it or costing it.
#[derive(Debug, thiserror::Error)]
pub enum CostError {
    /// The description is not valid JSON, or a top-level field is wrong.
    #[error("network description: {0}")]
    Json(#[from] serde_json::Error),
    /// A layer entry that cannot be read (unknown type, unknown or missing field, wrong value type).
    /// `layer` is the layer's path in the description, e.g. `layers[4] (features.3)`.
    #[error("{layer}: {message}")]
    Layer { layer: String, message: String },
    /// A layer field with an invalid value (a zero size, a kernel larger than its input, ...).
    #[error("{layer}: field `{field}`: {message}")]
    Field {
        layer: String,
        field: String,
        message: String,
    },
    /// An invalid top-level field of the description (`input`, `preprocess`, `layers`).
    #[error("network description: field `{field}`: {message}")]
    Network { field: String, message: String },
    /// A name passed to [`crate::NetworkSpec::builtin`] that is not a built-in network.
    #[error("unknown built-in network {name:?}: choose one of {choices}")]
    UnknownBuiltin { name: String, choices: String },
    /// Precisions that do not fit the network (list length, range 1..=32, non-integral offset).
    #[error("precision: {0}")]
    Precision(String),
    /// An npy file that cannot be used (truncated, wrong dtype or shape, NaN, wrong length).
    #[error("{path}: {message}")]
    Npy { path: PathBuf, message: String },
    /// An ONNX file that cannot be imported as a whole (not ONNX, several inputs, …).
    #[error("ONNX: {message}")]
    Onnx { message: String },
    /// An ONNX node that cannot be converted; `node` names it, its operator and position,
    /// e.g. `node 7/31 "/features/features.0/Conv" (Conv)`.
    #[error("ONNX {node}: {message}")]
    OnnxNode { node: String, message: String },
    /// An error in a named description file.
    #[error("{path}: {source}")]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<CostError>,
    },
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An error of the shared fixed-point core.
    #[error(transparent)]
    Core(#[from] fxp_core::FxpError),
}

/// Result alias of `nn-cost`.
pub type Result<T, E = CostError> = std::result::Result<T, E>;
