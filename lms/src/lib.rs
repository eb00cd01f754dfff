//! # lms — Problems 5, 6 and 7 of the homework
//!
//! A 3-tap linear predictor of a time series in fixed point (Problem 5), its LMS (stochastic
//! gradient) version (Problem 6) and the LMS with delayed updates (Problem 7), with the
//! architectures as data-flow graphs (critical path, latency, throughput, retiming).
//!
//! Modules: [`series`] (the fitted AR(3) generator), [`wiener`] (optimal predictor),
//! [`precision`] (Problem 5), [`adaptive`] (LMS / DLMS ensembles, stability bounds),
//! [`dfg`] (data-flow graphs and Leiserson–Saxe retiming), [`problems`] (the assembled results
//! of Problems 5–7 that the binary and the report print). Dense linear algebra comes from
//! `fxp_core::linalg`.
pub mod adaptive;
pub mod dfg;
pub mod error;
pub mod precision;
pub mod problems;
pub mod series;
pub mod wiener;

pub use error::{LmsError, Result};
