//! The precision profiler of Sakr, Kim & Shanbhag (ICML 2017), "Analytical Guarantees on
//! Numerical Precision of Deep Neural Networks", as the course used it (NOTES.md, Problem 3).
//!
//! * **Dynamic ranges**: per conv/linear layer, `r_W = 2^⌈log2 max|w|⌉` over its weights and
//!   `r_A = 2^⌈log2 max|a|⌉` over its input on a calibration set.
//! * **Noise gains**: with `ŷ = argmax Z` and, for every `i ≠ ŷ`,
//!   `E_A,l += Σ_h |∂(Z_ŷ − Z_i)/∂a_h|² / (24 (Z_ŷ − Z_i)²)` over the layer inputs `a_h`, and
//!   `E_W,l` likewise over the layer weights. Two [`Estimator`]s: `PerImage` (the paper's
//!   definition, averaged over images) and `Course` (the course script: logits summed over
//!   batches of 500 images, in file order, before the argmax and the differences; averaged over
//!   batches — the gradient of a batch sum is the sum of the per-image gradients, so the weight
//!   gradients are accumulated over the batch before squaring, while the activation gradients
//!   of different images stay separate variables).
//! * **Offsets**: normalised gains `E_W,l·r_W,l²`, `E_A,l·r_A,l²`; with `m` the smallest of all
//!   of them, `offset = round(½·log2(gain/m))` (ties to even, as `numpy.round`), so that
//!   `B_l = B_min + offset_l` equalises the layers' contributions to the mismatch bound.
//!
//! Every gradient is `∂(Z_ŷ − Z_i)` directly: the backward pass starts from the seeds
//! `e_ŷ − e_i` (one per `i ≠ ŷ`, `C − 1` seeds), so a per-image evaluation costs `C − 1`
//! backward passes. Work is split into fixed units (images, or chunks of a course batch) whose
//! results are reduced in file order, so the numbers do not depend on the number of threads.
//!
//! Cost, per image, about 19× a forward pass (249 M multiply-adds) when computed densely: the
//! forward, 9 backward passes to the layer inputs, and the weight gradients (the course
//! estimator keeps the forward passes of a batch's chunks, made for the batch's logits, for
//! its backward passes). Within a unit the linear layers run as
//! one GEMM over its images (their 64 MB weight matrices are read once per unit). Per image,
//! `‖∂/∂W‖²` of a convolution goes through the Gram matrix of its patches when that is cheaper,
//! and of a linear layer through `‖g xᵀ‖² = ‖g‖²‖x‖²`; for a course batch, the conv weight
//! gradients are one GEMM over the stacked images of a unit, and the linear ones use
//! `‖Σ_n g_n x_nᵀ‖² = Σ_{n,m} (g_n·g_m)(x_n·x_m)` (two 500×500 Gram matrices instead of
//! 9 × 16.8 M-element gradients).
//!
//! ReLU and max-pooling leave most of a conv layer's output gradient zero (a 2×2 pool passes one
//! entry in four, the 3×3 stride-2 pool of the course network one in five, ReLU drops the rest
//! where the activation was zero), in a pattern shared by the seeds of an image. When fewer than
//! half of the entries are active, the conv input gradients and the course estimator's conv
//! weight gradients are computed from the active entries only ([`sparse`]: the 9 seeds'
//! products of one weight or patch row at once, in AVX-512 registers). The input gradients are
//! the same products summed channel by channel as the GEMM sums them (E_A came out bit for bit
//! the same as the dense path's on 100 images); the weight gradients, summed over the chunk in
//! another order, agree to rounding.
//!
//! Reproduction of the homework's files: `cifar-infer profile --estimator course --out DIR`
//! (all 10,000 calibration images) writes the four npy files byte-identical to those of the
//! data folder; the offsets before rounding agree with the data README to its 3 decimals.
//!
//! The parts: [`backprop`] (backward kernels), [`sparse`] (the products that skip the zeros), the passes over the one network representation
//! [`crate::model::Model`] ([`forward`], [`backward`]: through residual blocks, batch norm,
//! pooling and ReLU6 as well), the estimators, offsets and the profiler run
//! ([`noise_gains`], [`offsets()`], [`profile()`]), and two uses of the result: [`offset_sweep`]
//! (accuracy against B_min with the offsets, Problem 3.2) and [`mismatch`] (the mismatch bound
//! against the measured mismatch).
pub mod backprop;
mod estimators;
pub mod mismatch;
pub mod offset_sweep;
mod passes;
pub mod sparse;

pub use estimators::*;
pub use passes::*;
