//! Typed errors of the `lms` crate.
use fxp_core::FxpError;

/// Everything that can go wrong in Problems 5–7.
#[derive(Debug, thiserror::Error)]
pub enum LmsError {
    /// An argument outside its valid domain (μ ≤ 0, NaN, zero taps, ...), with the reason.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The argument.
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A model fit that found no admissible solution.
    #[error("fit failed: {0}")]
    Fit(String),
    /// A malformed data-flow graph (zero-delay cycle, bad node index, ...).
    #[error("data-flow graph: {0}")]
    Graph(String),
    /// An error of the fixed-point core.
    #[error(transparent)]
    Core(#[from] FxpError),
}

/// Result alias of the crate.
pub type Result<T, E = LmsError> = std::result::Result<T, E>;

/// `Err(Invalid)` unless `x` is finite and strictly positive.
pub fn check_positive(what: &'static str, x: f64) -> Result<f64> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(LmsError::Invalid {
            what,
            reason: format!("{x} is not a finite number > 0"),
        })
    }
}

/// `Err(Invalid)` when `n` is zero.
pub fn check_nonzero(what: &'static str, n: usize) -> Result<usize> {
    if n == 0 {
        Err(LmsError::Invalid {
            what,
            reason: "must be at least 1".into(),
        })
    } else {
        Ok(n)
    }
}
