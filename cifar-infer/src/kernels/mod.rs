//! The compute kernels of inference and of the profiler:
//! * [`gemm`]: the one dense GEMM front end (f32 or f64, [`gemm::Mat`] views, backed by the
//!   `gemm` crate), used by the float/exact-float layers and by the profiler's backward pass;
//! * [`float`]: the float inference kernel of conv and linear layers (AVX-512F micro-kernel,
//!   im2col fused into packing; the GEMM front end where AVX-512F is absent);
//! * [`int8`]: the exact u8×i8→i32 integer path, in parts: CPU detection and kernel values,
//!   weight packing, im2row, the portable / AVX-512 VNNI / AMX micro-kernels, the layer drivers.
pub mod float;
pub mod gemm;
pub mod int8;
