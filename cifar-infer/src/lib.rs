//! # cifar-infer
//!
//! Float and exact fixed-point inference of a CIFAR-10 network described in the nn-cost format —
//! sequential or with residual blocks, batch norm, average pooling, ReLU6 (Problem 3 of the
//! homework). The source is laid out in folders, one per part:
//! * [`data`] (`data/`): the data folder and its manifest, the CIFAR-10 loaders and input
//!   preprocessing, and [`data::weights`], safetensors parameters checked against the description;
//! * [`net`] (`net/`): the network — [`net::model`], the one network representation
//!   (`forward`, `forward_traced`), [`net::build`], the network built from its description, and
//!   [`net::ops`], its float forward kernels over NCHW f32 buffers;
//! * [`kernels`] (`kernels/`): [`kernels::float`], the float inference kernel of conv and
//!   linear layers (an AVX-512F micro-kernel, the GEMM front end without it),
//!   [`kernels::gemm`], the one f32/f64 GEMM front end (used by the exact-float layers, the
//!   profiler and the float layers without AVX-512F), and [`kernels::int8`], the exact
//!   u8×i8→i32 integer path (CPU detection and kernel values, packing, im2row, the portable,
//!   AVX-512 VNNI and AMX micro-kernels, the layer drivers);
//! * [`quant`] (`quant/`): exact fixed-point inference, [`quant::quantized`] (the quantized model,
//!   the dynamic ranges);
//! * [`profile`] (`profile/`): the noise-gain precision profiler — backward kernels, the passes
//!   over the network, the estimators and offsets — and its uses: the offsets sweep and the
//!   mismatch bound;
//! * [`eval`]: accuracy over a data set; [`sweep`]: the sweep engine and Problem 3.1, the
//!   uniform-precision sweep;
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
pub use kernels::{float, gemm, int8};
pub use net::{model, ops};
pub use profile::{backprop, mismatch, offset_sweep as offsets};
pub use quant::quantized;

pub use data::{resolve_data_dir, CifarSet, DataPaths};
pub use error::{InferError, Result};
pub use eval::{evaluate, EvalResult};
pub use model::{FloatKernel, GemmFloatKernel, LayerKernel, Model, Trace};
pub use quantized::{KernelPath, PathPolicy, QuantizedModel, Ranges};
pub use setup::{RangeSource, Setup, Sources};
