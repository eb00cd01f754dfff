//! The float network: [`model`] builds it from its nn-cost description and parameters (the
//! [`model::Model`] of [`model::Op`]s, with `forward` and `forward_traced`), [`ops`] holds its
//! float forward kernels over NCHW buffers (im2col + GEMM convolution, linear, ReLU, pooling,
//! batch norm).
pub mod model;
pub mod ops;
