//! # cifar-infer
//!
//! Float and exact fixed-point inference of a sequential CIFAR-10 network described in the
//! nn-cost format (Problem 3 of the homework):
//! * [`data`]: the data folder, CIFAR-10 binary batches, input preprocessing;
//! * [`weights`]: safetensors parameters checked against the description;
//! * [`ops`]: forward kernels over NCHW f32 buffers (im2col + GEMM convolution, linear, ReLU,
//!   pooling, batch norm) on top of [`gemm`];
//! * [`model`]: the network built from its description, with `forward` and `forward_traced`;
//! * [`quantized`]: exact fixed-point inference (integer codes, exact f32/f64 GEMMs) and
//!   [`int8`], the u8×i8→i32 integer kernel (AVX-512 VNNI, portable fallback);
//! * [`eval`]: accuracy over a data set; [`sweep`]: Problem 3.1, the uniform-precision sweep;
//!   [`bench`]: throughput measurements;
//! * [`problem3`]: the whole of Problem 3 as one result ([`problem3::run`]).
pub mod backprop;
pub mod bench;
pub mod data;
pub mod error;
pub mod eval;
pub mod gemm;
pub mod int8;
pub mod mismatch;
pub mod model;
pub mod offsets;
pub mod ops;
pub mod problem3;
pub mod profile;
pub mod quantized;
pub mod setup;
pub mod sweep;
pub mod weights;

pub use data::{resolve_data_dir, CifarSet, DataPaths};
pub use error::{InferError, Result};
pub use eval::{evaluate, EvalResult};
pub use model::{FloatKernel, LayerKernel, Model, Trace};
pub use quantized::{KernelPath, PathPolicy, QuantizedModel, Ranges};
pub use setup::{RangeSource, Setup, Sources};
