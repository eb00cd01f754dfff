//! Integer kernel path: u8 × i8 products accumulated in i32, for B_A ≤ 16 and B_W ≤ 16.
//!
//! **Codes.** Unsigned activation codes k_a ∈ [0, 2^B_A − 1] are used as they are; signed ones
//! (the image) are offset by o = 2^(B_A−1) into [0, 2^B_A − 1], and the offset is removed exactly
//! at the end: Σ k_a·k_w = Σ (k_a + o)·k_w − o·Σ k_w. Weight codes lie in [−2^(B_W−1), 2^(B_W−1) − 1].
//!
//! **Digits.** For B ≤ 8 a code is a single u8 (activation) or i8 (weight) digit. For 8 < B ≤ 16
//! it is split into base-256 digits: activations k = 256·hi + lo with hi, lo ∈ [0, 255];
//! weights in balanced form k = Σ_j 256^j·w_j with w_j ∈ [−128, 127] (two digits up to 15 bits,
//! three at 16 bits). Then Σ k_a·k_w = Σ_{i,j} 256^(i+j) · S_ij with S_ij = Σ a_i·w_j, one u8×i8
//! dot product per digit pair (1 to 6 of them).
//!
//! **Exactness.** |a_i·w_j| ≤ 255·128, so a dot product of D ≤ 65,536 terms stays below 2^31 and
//! every S_ij is exact in i32; the digit sums are combined in i64 (|S| < 2^56). The results are
//! the exact integer dot products, identical for every kernel.
//!
//! **Kernels.** Weights are packed once per precision in the VNNI layout (blocks of 64 output
//! rows × groups of 4 inputs, inputs padded to a multiple of 64 on AMX CPUs, else of 4). Three kernels read it, chosen
//! at run time ([`simd_level`]):
//! - **AMX** (`tdpbusd`: 16 × 16 × 64 multiply-accumulates per instruction) on CPUs with AMX-INT8
//!   whose kernel grants the tile state: 2 × 2 tiles of 16 positions × 16 rows, K in steps of 64;
//!   positions left over (fewer than 16) go to the VNNI kernel;
//! - **AVX-512 VNNI** (`vpdpbusd`: 64 multiply-accumulates per instruction): a 4 × 64
//!   register-blocked micro-kernel;
//! - a portable scalar loop.
//!
//! On the VNNI level (no AMX), precisions above 8 skip the digits (when the exact chunk below
//! is at least 16 pairs or the whole row): the codes are packed as i16 input pairs and one
//! `vpdpwssd` pass (32 multiply-accumulates per instruction) replaces the 2–6 digit passes, its
//! i32 sums flushed to i64 often enough to stay exact — per chunk of inputs whose weights' L1
//! norm times the largest code fits i32 (the instruction adds modulo 2^32, so only a chunk's
//! total must fit) — or kept in i32 when one chunk covers the row ([`PackedWeights`]'
//! `pairs`). Where the codes do not fit i16 (B_A = 16) or their chunks are too short (B = 15),
//! and the weights take 2–3 digits, one such pass per base-256 activation digit.
//!
//! The environment variable `FXP_HW_INT_KERNEL` (`amx`, `vnni` or `portable`) caps the choice,
//! for benchmarks; all three give the same exact sums.
//!
//! The parts: CPU detection and the kernel values ([`IntKernel`]), the packing of weight codes
//! ([`PackedWeights`]; convolutions also get, once, a copy with their inputs in (i, j, c) order),
//! [`im2row`] (and its (i, j, c) form: the image laid out (H, W, C), each patch k runs of k·C
//! contiguous codes), the micro-kernels (portable, `vnni`, `amx`: exact sums of code rows
//! against one packed panel; `direct`: the VNNI one reading single-digit patches straight from
//! the padded (H, W, C) image when k·C is a multiple of 4, so no patch rows, and skipping the
//! taps on a border of code 0; the same on the `vpdpwssd` pass for 16-bit codes), the layer
//! drivers ([`conv2d`], [`linear`] and their dequantizing forms) that split the digits and call
//! a micro-kernel (`pairs`: those of the `vpdpwssd` pass), the max-pooling of the exact sums of a
//! convolution that emits codes (`pool`), and the epilogue that writes the exact, dequantized or
//! requantized sums (vectorised over rows, transposed by 16 × 16 tiles).
#![allow(clippy::incompatible_msrv)]
#[cfg(target_arch = "x86_64")]
mod amx;
mod cpu;
#[cfg(target_arch = "x86_64")]
mod direct;
mod epilogue;
mod im2row;
mod layers;
mod pack;
#[cfg(target_arch = "x86_64")]
mod pairs;
mod pool;
mod portable;
#[cfg(target_arch = "x86_64")]
mod vnni;

pub use cpu::{applies, check_kernel_env, simd_level, IntKernel, SimdLevel};
pub use im2row::im2row;
pub use layers::{
    conv2d, conv2d_dequantized, conv2d_on, linear, linear_dequantized, linear_on, Activations,
    Dequantize, Requantize,
};
pub(crate) use layers::{conv2d_requantized, linear_requantized};
pub use pack::{activation_codes_u16, PackedWeights};

/// Output rows per packed block (4 AVX-512 registers of 16 i32 lanes).
const NR: usize = 64;
/// Positions per micro-kernel call.
const MR: usize = 4;
/// Inputs are padded to a multiple of this on CPUs with AMX (the bytes of one AMX tile row).
const KP_AMX: usize = 64;
/// Inputs are padded to a multiple of this elsewhere (one group of 4 inputs of `vpdpbusd`).
const KP_VNNI: usize = 4;

/// The padding of the inputs of packed weights on this CPU: the AMX kernel's where it can run
/// (every kernel then reads the same packing), else the VNNI kernel's (a first convolution of
/// D = 27 inputs multiplies 28 instead of 64).
fn kp_align() -> usize {
    if cpu::detected_level() >= SimdLevel::Amx {
        KP_AMX
    } else {
        KP_VNNI
    }
}
/// Largest precision of the integer path.
pub const MAX_BITS: u32 = 16;
