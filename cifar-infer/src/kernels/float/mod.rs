//! The float inference kernel of conv and linear layers: a blocked product with an AVX-512F
//! register-blocked micro-kernel ([`tile`]: MR rows × 16·NV columns of fused multiply-adds),
//! slabs of A and B packed per work unit ([`driver`]; [`im2col`] rows written straight into the
//! slab of B), and the layer drivers ([`layers`]: convolutions over ranges of the batch's output
//! positions, linear layers over blocks of output features, the bias in the epilogue).
//!
//! **Numerics.** Every output is one fused multiply-add chain over its inputs in increasing
//! order, started at zero, plus the bias (rounded once more): the same value whatever the tile
//! shape, the slab size, the work units or the number of threads (`tests/float_kernel.rs`
//! checks it bit for bit against that chain computed naively).
//!
//! **Fallback.** Without AVX-512F (or with `FXP_HW_FLOAT_KERNEL=gemm`), the layers go through the
//! GEMM front end ([`crate::ops::conv2d`], [`crate::ops::linear`]), whose sums round differently
//! in the last bits.
mod driver;
mod im2col;
mod layers;
mod tile;

use crate::ops::{self, ConvGeom};
use driver::Shape;

/// Which float kernel the layers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FloatLevel {
    /// The GEMM front end (the `gemm` crate).
    Gemm,
    /// The AVX-512F micro-kernel of this module.
    Avx512,
}

/// Whether this CPU runs the AVX-512F kernel (detected once).
fn detected() -> FloatLevel {
    static LEVEL: std::sync::OnceLock<FloatLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            return FloatLevel::Avx512;
        }
        FloatLevel::Gemm
    })
}

/// The level the float layers use: the best this CPU runs, or the GEMM front end when the
/// environment variable `FXP_HW_FLOAT_KERNEL` is `gemm`.
pub fn float_level() -> FloatLevel {
    static LEVEL: std::sync::OnceLock<FloatLevel> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("FXP_HW_FLOAT_KERNEL").as_deref() {
        Ok("gemm") => FloatLevel::Gemm,
        _ => detected(),
    })
}

/// Checks the environment variable `FXP_HW_FLOAT_KERNEL`: unset, empty, `avx512` or `gemm`.
pub fn check_float_kernel_env() -> Result<(), crate::InferError> {
    match std::env::var("FXP_HW_FLOAT_KERNEL") {
        Err(std::env::VarError::NotPresent) => Ok(()),
        Ok(v) if matches!(v.as_str(), "" | "avx512" | "gemm") => Ok(()),
        Ok(v) => Err(crate::InferError::Invalid(format!(
            "FXP_HW_FLOAT_KERNEL={v:?} is not a float kernel: use avx512 or gemm (or unset it)"
        ))),
        Err(e) => Err(crate::InferError::Invalid(format!(
            "FXP_HW_FLOAT_KERNEL: {e}"
        ))),
    }
}

/// Inputs per slab: a B panel of 128 inputs × 32 columns (16 KiB) stays in L1 while the tiles of
/// the output rows pass over it.
const KC: usize = 128;

/// The AVX-512F kernel's shape (`None` at the GEMM level): 8 rows × 32 columns, 16 accumulator
/// registers. Measured on an AMD EPYC (Zen 4) with `examples/float_kernel.rs`, whole float pass
/// on one thread: 8 × 32 176, 6 × 64 173, 12 × 32 170, 8 × 48 and 4 × 96 163 images per
/// CPU-second (the convolutions within 3 % of each other, the linear layers slower with wider
/// tiles: 50 images padded to 96 columns); 8 divides the course network's channel counts.
/// Work units of 128 to 1,024 columns and slabs of 64 to 256 inputs measured the same.
fn shape(level: FloatLevel) -> Option<Shape> {
    match level {
        #[cfg(target_arch = "x86_64")]
        FloatLevel::Avx512 => Some(Shape {
            mr: 8,
            nr: 32,
            kc: KC,
            tile: tile::tile::<8, 2>,
            tile_rows: tile::tile_rows::<8, 2>,
        }),
        _ => None,
    }
}

/// PyTorch `Conv2d` forward in f32 (one group): `n` NCHW images, weights O × C·k·k, optional
/// bias.
pub fn conv2d(x: &[f32], n: usize, g: &ConvGeom, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    match shape(float_level()) {
        // SAFETY: `shape` gives the AVX-512F kernel only where the CPU runs it.
        Some(s) => unsafe { layers::conv2d(s, x, n, g, weight, bias) },
        None => ops::conv2d(x, n, g, weight, bias),
    }
}

/// PyTorch `Linear` forward in f32: `n` rows of `in_f` inputs, weights `out_f` × `in_f`.
pub fn linear(
    x: &[f32],
    n: usize,
    in_f: usize,
    out_f: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    match shape(float_level()) {
        // SAFETY: as in `conv2d`.
        Some(s) => unsafe { layers::linear(s, x, n, (in_f, out_f), weight, bias) },
        None => ops::linear(x, n, in_f, out_f, weight, bias),
    }
}
