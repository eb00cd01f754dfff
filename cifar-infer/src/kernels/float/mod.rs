//! The float inference kernel of conv and linear layers: a blocked product with an AVX-512F
//! register-blocked micro-kernel ([`tile`]: MR rows × 16·NV columns of fused multiply-adds),
//! A packed per call and B slab by slab ([`driver`]; [`im2col`] rows written straight into the
//! slab of B, or a linear layer's weights packed once for good, [`LinearPack`]), and the layer
//! drivers ([`layers`]: convolutions over ranges of the batch's output positions, linear layers
//! over blocks of output features with the images as tile rows, the bias in the epilogue).
//! Stride-1 convolutions skip the im2col rows: [`direct`] reads each tile's inputs in place from
//! the padded image (up to 7 positions × 64 channels per tile), the zero border's taps skipped.
//!
//! **Numerics.** Every output is one fused multiply-add chain over its inputs in increasing
//! order, started at zero, plus the bias (rounded once more): the same value whatever the tile
//! shape, the slab size, the work units or the number of threads (`tests/float_kernel.rs`
//! checks it bit for bit against that chain computed naively).
//!
//! **Fallback.** Without AVX-512F (or with `FXP_HW_FLOAT_KERNEL=gemm`), the layers go through the
//! GEMM front end ([`crate::ops::conv2d`], [`crate::ops::linear`]), whose sums round differently
//! in the last bits.
#[cfg(target_arch = "x86_64")]
mod direct;
mod driver;
mod im2col;
mod layers;
mod tile;

use crate::ops::{self, ConvGeom};
use driver::{PackedB, Shape};
use std::sync::{Arc, OnceLock};

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
    crate::kernels::check_env_choice("FXP_HW_FLOAT_KERNEL", &["avx512", "gemm"], "float kernel")
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
        }),
        _ => None,
    }
}

/// The shape of a linear layer on `n` images (the tile rows): 8, 10 or 12 rows × 32 columns,
/// the fewest padding rows (ties: more rows). The batch of 50 runs 10 × 32, no padding (8 × 32:
/// 6 padding rows of 56).
fn linear_shape(level: FloatLevel, n: usize) -> Option<Shape> {
    let s = shape(level)?;
    #[cfg(target_arch = "x86_64")]
    {
        let mr = [12, 10, 8]
            .into_iter()
            .min_by_key(|&mr| n.div_ceil(mr) * mr)
            .expect("three shapes");
        let tile: tile::TileFn = match mr {
            12 => tile::tile::<12, 2>,
            10 => tile::tile::<10, 2>,
            _ => tile::tile::<8, 2>,
        };
        Some(Shape { mr, tile, ..s })
    }
    #[cfg(not(target_arch = "x86_64"))]
    Some(s)
}

/// A linear layer's weights packed for the kernel (the B panels of [`linear_packed`]), made
/// on first use and kept. Whoever holds it next to the weights must reset it (a new, empty
/// one) whenever they may change: [`crate::model::LinearLayer`] does so in its only mutable
/// access to them.
#[derive(Default, Clone)]
pub struct LinearPack(OnceLock<Arc<PackedB>>);

impl std::fmt::Debug for LinearPack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.get().is_some() {
            "packed"
        } else {
            "empty"
        };
        write!(f, "LinearPack({state})")
    }
}

/// PyTorch `Conv2d` forward in f32 (one group): `n` NCHW images, weights O × C·k·k, optional
/// bias. At the AVX-512F level stride 1 runs the direct convolution ([`direct`]), other
/// strides the im2col rows.
pub fn conv2d(x: &[f32], n: usize, g: &ConvGeom, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if float_level() == FloatLevel::Avx512 && direct::applies(g) {
        // SAFETY: the level is AVX-512F only where the CPU runs it.
        return unsafe { direct::conv2d(x, n, g, weight, bias) };
    }
    conv2d_im2col(x, n, g, weight, bias)
}

/// [`conv2d`] through the im2col rows whatever the stride (the direct convolution's
/// predecessor, kept for strides other than 1 and for comparison: `examples/float_kernel.rs`).
pub fn conv2d_im2col(
    x: &[f32],
    n: usize,
    g: &ConvGeom,
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    match shape(float_level()) {
        // SAFETY: `shape` gives the AVX-512F kernel only where the CPU runs it.
        Some(s) => unsafe { layers::conv2d(s, x, n, g, weight, bias) },
        None => ops::conv2d(x, n, g, weight, bias),
    }
}

/// PyTorch `Linear` forward in f32: `n` rows of `in_f` inputs, weights `out_f` × `in_f` (packed
/// for this call; [`linear_packed`] keeps them packed).
pub fn linear(
    x: &[f32],
    n: usize,
    in_f: usize,
    out_f: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    linear_packed(x, n, (in_f, out_f), weight, bias, &LinearPack::default())
}

/// [`linear`] with the weights packed once into `pack` (on its first use) and read from there
/// on later calls: `pack` must belong to these weights (see [`LinearPack`]).
pub fn linear_packed(
    x: &[f32],
    n: usize,
    (in_f, out_f): (usize, usize),
    weight: &[f32],
    bias: Option<&[f32]>,
    pack: &LinearPack,
) -> Vec<f32> {
    match linear_shape(float_level(), n) {
        Some(s) => {
            assert_eq!(weight.len(), out_f * in_f, "linear: weight length");
            let w = pack
                .0
                .get_or_init(|| Arc::new(PackedB::transposed(weight, out_f, in_f, s.nr, s.kc)));
            // SAFETY: as in `conv2d`.
            unsafe { layers::linear(s, x, n, (in_f, out_f), w, bias) }
        }
        None => ops::linear(x, n, in_f, out_f, weight, bias),
    }
}
