//! Typed errors of cifar-infer.
use std::path::PathBuf;

/// Everything that can go wrong while loading data, building or running the network.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The data folder does not exist.
    #[error(
        "data folder {dir} not found{hint}",
        dir = .dir.display(),
        hint = match .origin {
            crate::data::DataOrigin::Flag => " (from --data): pass a folder laid out like the \
                repository's data/ (model.safetensors, cifar10/test_batch.bin, *.npy), or omit \
                --data and FXP_HW_DATA to use the bundled data",
            crate::data::DataOrigin::Env => " (from $FXP_HW_DATA): set it to a folder laid out \
                like the repository's data/, or unset it to use the bundled data",
            crate::data::DataOrigin::Bundled => ": the repository's bundled data is missing; \
                restore it with `git checkout -- data` or pass --data DIR",
        }
    )]
    DataDirNotFound {
        dir: PathBuf,
        origin: crate::data::DataOrigin,
    },
    /// A bundled data file that does not match the manifest.
    #[error(
        "{file}: {problem}. The bundled data must match {manifest}: restore it with \
         `git checkout -- data`, or pass --data DIR (or FXP_HW_DATA) to use your own files, \
         which are not checked",
        file = .file.display(),
        manifest = .manifest.display()
    )]
    DataIntegrity {
        file: PathBuf,
        manifest: PathBuf,
        problem: String,
    },
    /// A CIFAR-10 folder without the batch asked for.
    #[error(
        "{dir}: no CIFAR-10 batch {stem}.bin (official binary release, cifar-10-batches-bin/) \
         or {stem} (official Python release, cifar-10-batches-py/)",
        dir = .dir.display()
    )]
    CifarBatchNotFound { dir: PathBuf, stem: String },
    /// A malformed CIFAR-10 batch (binary or Python format).
    #[error("{path}: not a CIFAR-10 binary batch: {reason}")]
    Cifar { path: PathBuf, reason: String },
    /// A malformed or unreadable safetensors file.
    #[error("{path}: safetensors: {reason}")]
    Safetensors { path: PathBuf, reason: String },
    /// Tensors missing from the file, of the wrong shape or of an unsupported dtype.
    #[error(
        "{path}: the weights do not match the network description ({count} problem(s)):\n  {list}",
        count = .problems.len(),
        list = .problems.join("\n  ")
    )]
    TensorMismatch {
        path: PathBuf,
        problems: Vec<String>,
    },
    /// A NaN or infinite weight.
    #[error("{path}: tensor {tensor} has a non-finite value {value} at flat index {index}")]
    NonFiniteWeight {
        path: PathBuf,
        tensor: String,
        index: usize,
        value: f32,
    },
    /// A layer type or configuration the inference engine does not run.
    #[error("unsupported for inference: {0}")]
    Unsupported(String),
    /// Invalid arguments (precision lists of the wrong length, empty data, ...).
    #[error("{0}")]
    Invalid(String),
    /// An error from the network description (nn-cost).
    #[error(transparent)]
    Spec(#[from] nn_cost::CostError),
    /// An error from the fixed-point core (quantizer parameters, ...).
    #[error(transparent)]
    Fxp(#[from] fxp_core::FxpError),
}

/// Result alias of cifar-infer.
pub type Result<T, E = InferError> = std::result::Result<T, E>;

impl InferError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InferError::Io {
            path: path.into(),
            source,
        }
    }
}
