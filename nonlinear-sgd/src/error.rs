//! Errors of the Problem 4 crate.
use fxp_core::FxpError;

/// Everything that can go wrong in `nonlinear-sgd`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A weight vector with the wrong number of entries.
    #[error("expected 3 weights w1,w2,w3, got {got}")]
    WeightCount {
        /// Number of weights given.
        got: usize,
    },
    /// A NaN or infinite weight.
    #[error("weight w{index} is not finite ({value})")]
    NonFiniteWeight {
        /// 1-based weight index.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// An invalid configuration value, with the reason.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// SGD produced a non-finite weight (step size too large).
    #[error(
        "SGD diverged at iteration {iteration}: weights became non-finite (reduce the step size)"
    )]
    Diverged {
        /// Iteration at which the weights became non-finite.
        iteration: usize,
    },
    /// A result that is NaN or infinite (the weights are too large for f64 arithmetic).
    #[error("the result is not finite ({0}): the weights are too large for the model to be evaluated in f64")]
    NonFiniteResult(String),
    /// An error from the fixed-point core (quantizer, dynamic range).
    #[error(transparent)]
    Fxp(#[from] FxpError),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
