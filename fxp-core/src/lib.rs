//! # fxp-core
//!
//! The shared fixed-point core of fxp-hw: the course's uniform quantizers ([`quant`]),
//! fixed-point formats with integer mantissas ([`fixed`]), signal statistics ([`stats`]),
//! the representational/computational cost model ([`cost`]), seeded random streams ([`rng`]),
//! crash-safe output ([`io`]), JSON rounding for snapshots ([`json`]), small dense linear
//! algebra on ndarray ([`linalg`]; [`array`] for slices in kernels), progress reporting without UI ([`progress`]), the allocator's handling of freed memory for the binaries ([`memory`]), text formatting for people
//! ([`text`]) and Problem 1, the SQNR of a dot product under output quantization ([`sqnr`]).
//!
//! No UI: the binaries' helpers (clap, progress bars, stdout handling) are in `fxp-cli`
//! (`fxp-core/cli`).
pub mod array;
pub mod compare;
pub mod cost;
pub mod error;
pub mod fixed;
pub mod io;
pub mod json;
pub mod linalg;
pub mod memory;
pub mod progress;
pub mod quant;
pub mod rng;
pub mod sqnr;
pub mod stats;
pub mod text;

pub use cost::{AccumulatorConvention, LayerCounts, LayerPrecision};
pub use error::{FxpError, Result};
pub use fixed::{Fixed, FixedFormat, Overflow};
pub use quant::{F32Leveler, Quantizer, Rounding, Signedness};
