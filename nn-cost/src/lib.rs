//! # nn-cost
//!
//! Network complexity in fixed point (Problem 2, and the cost part of Problem 3). A network
//! description ([`spec`], JSON; built-in: `resnet18`, `vgg11`, `cifar-alexnet`) is turned into a
//! per-layer table by shape inference ([`analyze`]): weights, biases, R_A (input elements),
//! N (dot products), D (dot-product length) and MACs of every conv and linear layer. [`costs`]
//! prices it in fixed point — representational cost in bits and computational cost in full
//! adders under both accumulator conventions of `fxp_core::cost` — at a uniform precision, from
//! per-layer lists, or from npy offset files plus a B_min ([`npy`]); [`metrics`] adds the
//! hardware metrics — BOPs, weight memory, energy (Horowitz 45 nm model). [`table`] renders the
//! per-layer table as text. [`problem`] is Problem 2 as data (`problem::run`). [`onnx`] imports
//! an ONNX file as a description and its parameters.
pub mod analyze;
pub mod costs;
pub mod error;
pub mod metrics;
pub mod npy;
pub mod onnx;
pub mod problem;
pub mod spec;
pub mod table;

pub use analyze::{LayerRow, NetworkTable};
pub use costs::{
    network_costs, precisions_from_offsets, read_offsets_dir, read_offsets_for, CostReport,
    LayerCost,
};
pub use error::{CostError, Result};
pub use fxp_core::{AccumulatorConvention, LayerCounts, LayerPrecision};
pub use metrics::{hardware, HardwareReport, LayerHardware};
pub use onnx::{OnnxNetwork, Tensor};
pub use spec::{LayerSpec, NetworkSpec, Preprocess, PreprocessOverride};
