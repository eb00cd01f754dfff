//! Fixed-point cost model: representational cost (bits) and computational cost (full adders).
//!
//! Representational: Σ_l (R_W,l·B_W,l + R_A,l·B_A,l). Computational: Σ_l N_l·FA(D_l), with
//! FA(D) = D·B_A·B_W (array multipliers) + (D − 1)·(accumulator width) (adder tree). The
//! accumulator width is a named convention (NOTES.md, Problem 2).
use serde::{Deserialize, Serialize};

/// Width of each of the D − 1 accumulations in a length-D dot product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccumulatorConvention {
    /// The formula as printed in the homework: B_A + B_W + log2 D − 1 (real-valued log).
    Printed,
    /// What reproduces the seed's numbers: B_A + B_W + ⌈log2 D⌉.
    Seed,
}

impl AccumulatorConvention {
    /// Both conventions, printed first.
    pub const ALL: [AccumulatorConvention; 2] = [Self::Printed, Self::Seed];

    /// Accumulator width for a dot product of length `d`.
    pub fn accumulator_bits(self, d: u64, b_a: u32, b_w: u32) -> f64 {
        let log2d = (d as f64).log2();
        match self {
            Self::Printed => (b_a + b_w) as f64 + log2d - 1.0,
            Self::Seed => (b_a + b_w) as f64 + log2d.ceil(),
        }
    }

    /// Short name (`printed` or `seed`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Printed => "printed",
            Self::Seed => "seed",
        }
    }
}

/// The counts of one conv or linear layer that the cost model needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerCounts {
    /// Parameters (weights + biases), R_W.
    pub r_w: u64,
    /// Elements of the layer's input, R_A.
    pub r_a: u64,
    /// Number of dot products (output elements), N.
    pub n: u64,
    /// Dot-product length, D.
    pub d: u64,
}

/// Weight and activation precision of one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerPrecision {
    /// Weight precision B_W.
    pub b_w: u32,
    /// Input-activation precision B_A.
    pub b_a: u32,
}

/// Full adders of one dot product of length `d`.
pub fn dot_product_fa(d: u64, b_a: u32, b_w: u32, conv: AccumulatorConvention) -> f64 {
    let mult = d as f64 * (b_a as f64) * (b_w as f64);
    let acc = d.saturating_sub(1) as f64 * conv.accumulator_bits(d, b_a, b_w);
    mult + acc
}

/// Representational cost of one layer in bits.
pub fn layer_rep_bits(c: &LayerCounts, p: LayerPrecision) -> f64 {
    c.r_w as f64 * p.b_w as f64 + c.r_a as f64 * p.b_a as f64
}

/// Computational cost of one layer in full adders.
pub fn layer_comp_fa(c: &LayerCounts, p: LayerPrecision, conv: AccumulatorConvention) -> f64 {
    c.n as f64 * dot_product_fa(c.d, p.b_a, p.b_w, conv)
}

/// Totals of a network: (representational bits, computational FA). Errors when the number of
/// precisions is not the number of layers.
pub fn network_cost(
    layers: &[LayerCounts],
    precisions: &[LayerPrecision],
    conv: AccumulatorConvention,
) -> crate::Result<(f64, f64)> {
    if layers.len() != precisions.len() {
        return Err(crate::FxpError::Invalid(format!(
            "{} layers but {} precisions: give one precision per conv/linear layer",
            layers.len(),
            precisions.len()
        )));
    }
    Ok(layers
        .iter()
        .zip(precisions)
        .fold((0.0, 0.0), |(r, c), (l, p)| {
            (r + layer_rep_bits(l, *p), c + layer_comp_fa(l, *p, conv))
        }))
}
