//! Fixed-point costs of a [`NetworkTable`]: representational cost (bits) and computational cost
//! (full adders) per layer and in total, under both accumulator conventions of
//! [`fxp_core::cost`] (`printed`: B_A + B_W + log2 D − 1, the formula as printed in the homework;
//! `seed`: B_A + B_W + ⌈log2 D⌉, the convention the seed's numbers follow).
//!
//! Precisions come from a uniform width ([`uniform`]), per-layer lists ([`from_lists`]) or
//! offsets plus a base precision, B_l = B_min + offset_l ([`precisions_from_offsets`],
//! [`read_offsets_dir`]).
use crate::analyze::NetworkTable;
use crate::error::{CostError, Result};
use crate::npy::read_f64_vec;
use fxp_core::cost::{layer_comp_fa, layer_rep_bits, network_cost};
use fxp_core::{AccumulatorConvention, LayerPrecision};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the weight precision offsets inside an offsets directory.
pub const WEIGHT_OFFSETS_FILE: &str = "weight_offsets.npy";
/// File name of the activation precision offsets inside an offsets directory.
pub const ACTIVATION_OFFSETS_FILE: &str = "activation_offsets.npy";

fn check_bits(what: &str, layer: usize, bits: i64) -> Result<u32> {
    fxp_core::error::check_bits(bits).map_err(|_| {
        CostError::Precision(format!(
            "layer {}: {what} precision {bits} is out of range: use 1 to 32 bits",
            layer + 1
        ))
    })
}

/// The same precision for weights and activations of `layers` layers.
pub fn uniform(bits: u32, layers: usize) -> Result<Vec<LayerPrecision>> {
    let b = check_bits("uniform", 0, bits as i64).map_err(|_| {
        CostError::Precision(format!("{bits} bits is out of range: use 1 to 32 bits"))
    })?;
    Ok(vec![LayerPrecision { b_w: b, b_a: b }; layers])
}

/// Per-layer precisions from a list of weight and a list of activation precisions (same length).
pub fn from_lists(weight_bits: &[u32], act_bits: &[u32]) -> Result<Vec<LayerPrecision>> {
    if weight_bits.len() != act_bits.len() {
        return Err(CostError::Precision(format!(
            "{} weight precisions but {} activation precisions: give one of each per layer",
            weight_bits.len(),
            act_bits.len()
        )));
    }
    weight_bits
        .iter()
        .zip(act_bits)
        .enumerate()
        .map(|(l, (&w, &a))| {
            Ok(LayerPrecision {
                b_w: check_bits("weight", l, w as i64)?,
                b_a: check_bits("activation", l, a as i64)?,
            })
        })
        .collect()
}

/// Per-layer precisions B_l = B_min + offset_l for weights and activations. Offsets must be
/// integral (as the course's npy files are), the two lists equally long, and every resulting
/// precision within 1..=32.
pub fn precisions_from_offsets(
    b_min: u32,
    w_offsets: &[f64],
    a_offsets: &[f64],
) -> Result<Vec<LayerPrecision>, CostError> {
    if w_offsets.len() != a_offsets.len() {
        return Err(CostError::Precision(format!(
            "{} weight offsets but {} activation offsets: give one of each per layer",
            w_offsets.len(),
            a_offsets.len()
        )));
    }
    let bits = |what: &str, l: usize, off: f64| -> Result<u32> {
        if !off.is_finite() || off.fract() != 0.0 {
            return Err(CostError::Precision(format!(
                "layer {}: {what} offset {off} is not an integer",
                l + 1
            )));
        }
        // Far outside 1..=32 already: refuse before any integer conversion (which would
        // saturate and wrap).
        if off.abs() > 1e6 {
            return Err(CostError::Precision(format!(
                "layer {}: {what} offset {off} gives a precision outside 1 to 32 bits",
                l + 1
            )));
        }
        let b = (b_min as i64).checked_add(off as i64).ok_or_else(|| {
            CostError::Precision(format!("layer {}: {what} offset {off} overflows", l + 1))
        })?;
        check_bits(what, l, b)
    };
    w_offsets
        .iter()
        .zip(a_offsets)
        .enumerate()
        .map(|(l, (&w, &a))| {
            Ok(LayerPrecision {
                b_w: bits("weight", l, w)?,
                b_a: bits("activation", l, a)?,
            })
        })
        .collect()
}

/// Reads `weight_offsets.npy` and `activation_offsets.npy` from `dir` (1-D arrays, see
/// [`crate::npy::read_f64_vec`]); the two must have the same length. When the number of
/// layers is known, [`read_offsets_for`] says which file is wrong.
pub fn read_offsets_dir(dir: impl AsRef<Path>) -> Result<(Vec<f64>, Vec<f64>), CostError> {
    let dir = dir.as_ref();
    let w = read_f64_vec(&dir.join(WEIGHT_OFFSETS_FILE), None)?;
    let a = read_f64_vec(&dir.join(ACTIVATION_OFFSETS_FILE), None)?;
    if w.len() != a.len() {
        return Err(CostError::Npy {
            path: dir.to_path_buf(),
            message: format!(
                "{WEIGHT_OFFSETS_FILE} has {} values but {ACTIVATION_OFFSETS_FILE} has {}: \
                 both need one value per conv/linear layer",
                w.len(),
                a.len()
            ),
        });
    }
    Ok((w, a))
}

/// [`read_offsets_dir`] for a network of `layers` conv/linear layers: a file with another
/// number of values is named in the error (expected `layers` values).
pub fn read_offsets_for(
    dir: impl AsRef<Path>,
    layers: usize,
) -> Result<(Vec<f64>, Vec<f64>), CostError> {
    let dir = dir.as_ref();
    let w = read_f64_vec(&dir.join(WEIGHT_OFFSETS_FILE), Some(layers))?;
    let a = read_f64_vec(&dir.join(ACTIVATION_OFFSETS_FILE), Some(layers))?;
    Ok((w, a))
}

/// Costs of one conv/linear layer at its precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerCost {
    /// Layer name.
    pub name: String,
    /// Weight precision B_W.
    pub b_w: u32,
    /// Activation precision B_A.
    pub b_a: u32,
    /// Representational cost R_W·B_W + R_A·B_A in bits.
    pub rep_bits: f64,
    /// Computational cost in FA, accumulator as printed (B_A + B_W + log2 D − 1).
    pub comp_fa_printed: f64,
    /// Computational cost in FA, seed's accumulator (B_A + B_W + ⌈log2 D⌉).
    pub comp_fa_seed: f64,
}

impl LayerCost {
    /// Computational cost under `conv`.
    pub fn comp_fa(&self, conv: AccumulatorConvention) -> f64 {
        match conv {
            AccumulatorConvention::Printed => self.comp_fa_printed,
            AccumulatorConvention::Seed => self.comp_fa_seed,
        }
    }
}

/// Costs of a whole network: per layer and totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// Network name.
    pub network: String,
    /// One entry per conv/linear layer, in table order.
    pub layers: Vec<LayerCost>,
    /// Total representational cost in bits.
    pub rep_bits: f64,
    /// Total computational cost in FA, accumulator as printed.
    pub comp_fa_printed: f64,
    /// Total computational cost in FA, seed's accumulator.
    pub comp_fa_seed: f64,
}

impl CostReport {
    /// Total computational cost under `conv`.
    pub fn comp_fa(&self, conv: AccumulatorConvention) -> f64 {
        match conv {
            AccumulatorConvention::Printed => self.comp_fa_printed,
            AccumulatorConvention::Seed => self.comp_fa_seed,
        }
    }
}

/// Prices every conv/linear layer of `table` at `precisions` (one per layer, in table order).
/// Errors name the layer when a precision is out of range, and the layer count when the list
/// length does not match.
pub fn network_costs(table: &NetworkTable, precisions: &[LayerPrecision]) -> Result<CostReport> {
    if precisions.len() != table.rows.len() {
        return Err(CostError::Precision(format!(
            "{} precisions for the {} conv/linear layers of {} ({})",
            precisions.len(),
            table.rows.len(),
            table.name,
            table.layer_names().join(", ")
        )));
    }
    for (l, (row, p)) in table.rows.iter().zip(precisions).enumerate() {
        for (what, b) in [("weight", p.b_w), ("activation", p.b_a)] {
            if !(1..=32).contains(&b) {
                return Err(CostError::Precision(format!(
                    "{}: {what} precision {b} is out of range: use 1 to 32 bits",
                    fxp_core::text::layer(l, &row.name)
                )));
            }
        }
    }
    let counts = table.counts();
    let layers = table
        .rows
        .iter()
        .zip(&counts)
        .zip(precisions)
        .map(|((row, c), &p)| LayerCost {
            name: row.name.clone(),
            b_w: p.b_w,
            b_a: p.b_a,
            rep_bits: layer_rep_bits(c, p),
            comp_fa_printed: layer_comp_fa(c, p, AccumulatorConvention::Printed),
            comp_fa_seed: layer_comp_fa(c, p, AccumulatorConvention::Seed),
        })
        .collect();
    let (rep_bits, comp_fa_printed) =
        network_cost(&counts, precisions, AccumulatorConvention::Printed)?;
    let (_, comp_fa_seed) = network_cost(&counts, precisions, AccumulatorConvention::Seed)?;
    Ok(CostReport {
        network: table.name.clone(),
        layers,
        rep_bits,
        comp_fa_printed,
        comp_fa_seed,
    })
}
