//! # nonlinear-sgd — Problem 4: back-propagation through a non-linear system
//!
//! The system (three weights w = (w1, w2, w3), input (x1, x2) uniform on the unit circle):
//!
//! ```text
//! ỹ1 = w1·x1 + w2·x2,   y1 = ỹ1²,   ỹ2 = w3·y1,   y2 = ln(1 + ỹ2²)
//! target y = atan2(x2, x1) ∈ (−π, π],   cost C(w) = E[(y − y2)²]
//! ```
//!
//! * [`model`]: forward pass, instantaneous loss e², its closed-form gradient (parts 1–2) and
//!   closed-form Hessian.
//! * [`quadrature`]: C, ∇C and the 3×3 Hessian of C as integrals over θ ∈ [−π, π] (LOTUS,
//!   x = (cos θ, sin θ)) by composite Gauss–Legendre, with an error estimate.
//! * [`sgd`]: seeded SGD (part 3) with a configurable step-size schedule and convergence curves.
//! * [`precision`]: bits of w1 (parts 4–5): first- and second-order models against C with w1
//!   quantized.
//! * [`minima`]: local minima (part 6): the symmetries of C (w3 → −w3, (w1, w2) → −(w1, w2) and
//!   the scaling (s·w1, s·w2, w3/s²)), a non-convexity check and a seeded multi-start search.
//! * [`problem`]: Problem 4 as data (`problem::run`): all of the above at our SGD weights and at
//!   the seed's, with the seed's printed values as computed comparisons.
pub mod error;
pub mod minima;
pub mod model;
pub mod precision;
pub mod problem;
pub mod quadrature;
pub mod sgd;

pub use error::{Error, Result};
pub use model::Weights;
pub use quadrature::{Expectation, Quadrature};

/// The seed's final SGD weights (comparison values from the seed, part 3).
pub const SEED_WEIGHTS: [f64; 3] = [0.9547247, -0.8316406, 0.7071791];
