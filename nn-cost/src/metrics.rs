//! Hardware cost metrics beside bits and full adders: bit operations (BOPs), weight memory and
//! an energy estimate, per conv/linear layer and in total.
//!
//! * **BOPs** = Σ_l MACs_l · B_W,l · B_A,l — the definition of HAWQ-V3 (Yao et al., ICML 2021),
//!   Sony's Model Compression Toolkit and qonnx. Cross-check: ImageNet ResNet-18 at W8A8 is
//!   1.814 G MACs × 64 = 116 G BOPs.
//! * **Weight memory** = Σ_l W_l · B_W,l bits: the weights only (biases stay in float in the
//!   course's conventions and are not counted).
//! * **Energy** (pJ per inference) from [`ENERGY_MODEL`], built on the 45 nm figures of
//!   M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
//!   written as polynomials in the bit width as QKeras' energy model (qtools) does:
//!   - multiply, B_W × B_A integer: E_mul = a·B_W·B_A + b·(B_W + B_A)/2 with a and b fitted
//!     exactly through Horowitz's 8-bit (0.2 pJ) and 32-bit (3.1 pJ) integer multiplies:
//!     a = 2.3/768 ≈ 2.995e-3 pJ, b = 0.025 − 8a ≈ 1.042e-3 pJ (at B_W = B_A = B this is
//!     QKeras' `fpm_mul` polynomial);
//!   - add, B bits: E_add = B · 0.1/32 pJ (Horowitz's 32-bit add, 0.1 pJ, scaled linearly; QKeras'
//!     `fpm_add`), one per MAC at the accumulator width B_A + B_W + ⌈log2 D⌉;
//!   - memory: every weight and every input activation of a layer read once per inference from
//!     on-chip SRAM at 10 pJ per 64-bit access (Horowitz's 8 KB SRAM), i.e. 0.15625 pJ/bit.
//!
//!   The model ranks assignments; it is not a measurement of any chip.
use crate::analyze::NetworkTable;
use crate::error::{CostError, Result};
use fxp_core::LayerPrecision;
use serde::{Deserialize, Serialize};

/// Name of the energy model, as carried in the JSON output.
pub const ENERGY_MODEL: &str = "Horowitz ISSCC 2014, 45 nm: integer multiply \
    a·B_W·B_A + b·(B_W+B_A)/2 fitted to 8-bit 0.2 pJ and 32-bit 3.1 pJ; add 0.1 pJ × B/32 at \
    the accumulator width B_A+B_W+⌈log2 D⌉; SRAM read 10 pJ per 64 bits (8 KB) for every \
    weight and input bit";

/// Energy of one B_W × B_A integer multiply in pJ.
pub fn multiply_pj(b_w: u32, b_a: u32) -> f64 {
    let a = 2.3 / 768.0;
    let b = 0.025 - 8.0 * a;
    a * (b_w as f64) * (b_a as f64) + b * (b_w + b_a) as f64 / 2.0
}

/// Energy of one `bits`-wide integer addition in pJ.
pub fn add_pj(bits: f64) -> f64 {
    bits * 0.1 / 32.0
}

/// Energy of reading one bit from on-chip SRAM in pJ.
pub const SRAM_PJ_PER_BIT: f64 = 10.0 / 64.0;

/// Accumulator width the cost model assumes: B_A + B_W + ⌈log2 D⌉ (the seed's convention).
pub fn accumulator_bits(d: u64, p: LayerPrecision) -> u32 {
    let log2d = if d <= 1 {
        0
    } else {
        64 - (d - 1).leading_zeros()
    };
    p.b_a + p.b_w + log2d
}

/// Hardware metrics of one conv/linear layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerHardware {
    /// Layer name.
    pub name: String,
    /// Bit operations MACs · B_W · B_A.
    pub bops: f64,
    /// Weight memory W · B_W in bits.
    pub weight_memory_bits: f64,
    /// Accumulator width B_A + B_W + ⌈log2 D⌉ assumed by the energy model.
    pub accumulator_bits: u32,
    /// Multiply and add energy of the layer's MACs (pJ).
    pub energy_mac_pj: f64,
    /// SRAM reads of its weights and input activations (pJ).
    pub energy_memory_pj: f64,
    /// The sum of both (pJ).
    pub energy_pj: f64,
}

/// Hardware metrics of a network at given per-layer precisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardwareReport {
    /// Network name.
    pub network: String,
    /// One entry per conv/linear layer, in table order.
    pub layers: Vec<LayerHardware>,
    /// Total bit operations.
    pub bops: f64,
    /// Total weight memory in bits.
    pub weight_memory_bits: f64,
    /// Total MAC energy (pJ).
    pub energy_mac_pj: f64,
    /// Total memory energy (pJ).
    pub energy_memory_pj: f64,
    /// Total energy per inference (pJ).
    pub energy_pj: f64,
    /// The energy model ([`ENERGY_MODEL`]).
    pub energy_model: String,
}

/// Hardware metrics of one layer with `macs` MACs of length-`d` dot products, `weights`
/// weights and `inputs` input activations at precision `p`.
pub fn layer_hardware(
    name: &str,
    macs: u64,
    d: u64,
    weights: u64,
    inputs: u64,
    p: LayerPrecision,
) -> LayerHardware {
    let acc = accumulator_bits(d, p);
    let macs = macs as f64;
    let energy_mac_pj = macs * (multiply_pj(p.b_w, p.b_a) + add_pj(acc as f64));
    let weight_memory_bits = weights as f64 * p.b_w as f64;
    let energy_memory_pj = (weight_memory_bits + inputs as f64 * p.b_a as f64) * SRAM_PJ_PER_BIT;
    LayerHardware {
        name: name.to_string(),
        bops: macs * p.b_w as f64 * p.b_a as f64,
        weight_memory_bits,
        accumulator_bits: acc,
        energy_mac_pj,
        energy_memory_pj,
        energy_pj: energy_mac_pj + energy_memory_pj,
    }
}

/// Hardware metrics of every conv/linear layer of `table` at `precisions` (one per layer).
pub fn hardware(table: &NetworkTable, precisions: &[LayerPrecision]) -> Result<HardwareReport> {
    if precisions.len() != table.rows.len() {
        return Err(CostError::Precision(format!(
            "{} precisions for the {} conv/linear layers of {}",
            precisions.len(),
            table.rows.len(),
            table.name
        )));
    }
    let layers: Vec<LayerHardware> = table
        .rows
        .iter()
        .zip(precisions)
        .map(|(r, &p)| layer_hardware(&r.name, r.macs, r.d, r.weights, r.r_a, p))
        .collect();
    let sum = |f: fn(&LayerHardware) -> f64| layers.iter().map(f).sum::<f64>();
    Ok(HardwareReport {
        network: table.name.clone(),
        bops: sum(|l| l.bops),
        weight_memory_bits: sum(|l| l.weight_memory_bits),
        energy_mac_pj: sum(|l| l.energy_mac_pj),
        energy_memory_pj: sum(|l| l.energy_memory_pj),
        energy_pj: sum(|l| l.energy_pj),
        energy_model: ENERGY_MODEL.to_string(),
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiply_fit_passes_through_horowitz_points() {
        // Horowitz ISSCC 2014: 8-bit multiply 0.2 pJ, 32-bit multiply 3.1 pJ (tolerance 1e-12).
        assert!((multiply_pj(8, 8) - 0.2).abs() < 1e-12);
        assert!((multiply_pj(32, 32) - 3.1).abs() < 1e-12);
        assert!((add_pj(32.0) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn accumulator_width_uses_ceil_log2() {
        let p = LayerPrecision { b_w: 8, b_a: 8 };
        assert_eq!(accumulator_bits(1, p), 16);
        assert_eq!(accumulator_bits(2, p), 17);
        assert_eq!(accumulator_bits(27, p), 21);
        assert_eq!(accumulator_bits(32, p), 21);
        assert_eq!(accumulator_bits(33, p), 22);
    }
}
