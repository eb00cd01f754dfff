//! The network: [`model`] is the one network representation (the [`model::Model`] of
//! [`model::Op`]s, sequential with residual blocks, with `forward` and `forward_traced`),
//! [`build`] makes it from its nn-cost description and parameters (batch norm folded), [`ops`]
//! holds its float forward kernels over NCHW buffers (im2col + GEMM convolution, linear, ReLU,
//! pooling, batch norm); `forward` walks the ops (floats, or integer codes between linked integer
//! layers).
pub mod build;
mod forward;
pub mod model;
pub mod ops;
