//! # cifar-infer
//!
//! Float and exact fixed-point inference of a sequential CIFAR-10 network described in the
//! nn-cost format (Problem 3 of the homework). The source is laid out in folders, one per part:
//! * [`data`] (`data/`): the data folder and its manifest, the CIFAR-10 loaders and input
//!   preprocessing, and [`data::weights`], safetensors parameters checked against the description;
//! * [`net`] (`net/`): the float network — [`net::model`], the network built from its description
//!   (`forward`, `forward_traced`), and [`net::ops`], its forward kernels over NCHW f32 buffers;
//! * [`kernels`] (`kernels/`): [`kernels::gemm`], the one f32/f64 GEMM front end (used by the
//!   float and exact-float layers and by the profiler), and [`kernels::int8`], the exact
//!   u8×i8→i32 integer path (CPU detection and kernel values, packing, im2row, the portable,
//!   AVX-512 VNNI and AMX micro-kernels, the layer drivers);
//! * [`quant`] (`quant/`): exact fixed-point inference, [`quant::quantized`] (the quantized model,
//!   the dynamic ranges);
//! * [`profile`] (`profile/`): the noise-gain precision profiler — backward kernels, the
//!   differentiable network, the estimators and offsets — and its uses: the offsets sweep and the
//!   mismatch bound;
//! * [`eval`]: accuracy over a data set; [`sweep`]: Problem 3.1, the uniform-precision sweep;
//!   [`bench`](mod@bench): throughput measurements; [`setup`]: the network, data and ranges of a run;
//!   [`error`]: the error type;
//! * [`problem3`]: the whole of Problem 3 as one result ([`problem3::run`]);
//! * [`search`]: budgeted per-layer precision search (greedy, measured) and the bound-optimal
//!   allocation (analytical), over the costs of nn-cost.
//!
//! The flat module paths of the earlier layout stay available as re-exports (`cifar_infer::int8`,
//! `cifar_infer::model`, `cifar_infer::quantized`, `cifar_infer::offsets`, …), so code written
//! against them keeps compiling.
pub mod bench;
pub mod data;
pub mod error;
pub mod eval;
pub mod kernels;
pub mod net;
pub mod problem3;
pub mod profile;
pub mod quant;
pub mod search;
pub mod setup;
pub mod sweep;

pub use data::weights;
pub use kernels::{gemm, int8};
pub use net::{model, ops};
pub use profile::{backprop, mismatch, offset_sweep as offsets};
pub use quant::quantized;

pub use data::{resolve_data_dir, CifarSet, DataPaths};
pub use error::{InferError, Result};
pub use eval::{evaluate, EvalResult};
pub use model::{FloatKernel, LayerKernel, Model, Trace};
pub use quantized::{KernelPath, PathPolicy, QuantizedModel, Ranges};
pub use setup::{RangeSource, Setup, Sources};
