//! Typed errors of the fixed-point core.
use std::path::PathBuf;

/// Everything that can go wrong in `fxp-core`.
#[derive(Debug, thiserror::Error)]
pub enum FxpError {
    /// A precision outside the supported 1..=32 bits.
    #[error("precision of {bits} bits is out of range: use 1 to 32 bits")]
    BitsOutOfRange { bits: i64 },
    /// A dynamic range that is zero, negative or not finite.
    #[error("dynamic range {range} is invalid: it must be finite and > 0")]
    InvalidRange { range: f64 },
    /// A NaN or infinite value where a number was expected.
    #[error("{what}: non-finite value {value} at index {index}")]
    NonFinite {
        what: String,
        index: usize,
        value: f64,
    },
    /// An empty input where data was required.
    #[error("{what} is empty")]
    Empty { what: String },
    /// An invalid argument, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// A linear system without a unique solution (a vanishing pivot).
    #[error("singular system: {0}")]
    Singular(String),
    /// A matrix that should be positive definite but is not (Cholesky pivot ≤ 0).
    #[error("matrix is not positive definite (Cholesky pivot {pivot})")]
    NotPositiveDefinite { pivot: usize },
    /// A fixed-point value that does not fit its format.
    #[error("value {value} overflows the fixed-point format {format}")]
    Overflow { value: f64, format: String },
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON serialization error.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result alias of the fixed-point core.
pub type Result<T, E = FxpError> = std::result::Result<T, E>;

/// Checks that `bits` lies in 1..=32.
pub fn check_bits(bits: i64) -> Result<u32> {
    if (1..=32).contains(&bits) {
        Ok(bits as u32)
    } else {
        Err(FxpError::BitsOutOfRange { bits })
    }
}

/// Checks that every value is finite; `what` names the data in the error.
pub fn check_finite(what: &str, values: impl IntoIterator<Item = f64>) -> Result<()> {
    for (index, value) in values.into_iter().enumerate() {
        if !value.is_finite() {
            return Err(FxpError::NonFinite {
                what: what.to_string(),
                index,
                value,
            });
        }
    }
    Ok(())
}
