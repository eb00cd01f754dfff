//! The costs a search can minimise, per layer and in total (from nn-cost).
use crate::error::{InferError, Result};
use fxp_core::cost::{layer_comp_fa, layer_rep_bits};
use fxp_core::{AccumulatorConvention, LayerPrecision};
use nn_cost::metrics::layer_hardware;
use nn_cost::NetworkTable;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A cost to minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CostMetric {
    /// Representational cost Σ R_W·B_W + R_A·B_A (bits).
    Rep,
    /// Computational cost in full adders, seed's accumulator B_A + B_W + ⌈log2 D⌉.
    Fa,
    /// Bit operations Σ MACs·B_W·B_A.
    Bops,
    /// Energy per inference (pJ, `nn_cost::metrics` model).
    Energy,
}

impl CostMetric {
    /// All four, in this order.
    pub const ALL: [CostMetric; 4] = [Self::Rep, Self::Fa, Self::Bops, Self::Energy];

    /// Short name (`rep`, `fa`, `bops`, `energy`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rep => "rep",
            Self::Fa => "fa",
            Self::Bops => "bops",
            Self::Energy => "energy",
        }
    }

    /// The cost with its unit, for a figure's axis.
    pub fn axis_label(self) -> &'static str {
        match self {
            Self::Rep => "representational cost (bits)",
            Self::Fa => "computational cost (full adders)",
            Self::Bops => "BOPs (Σ MACs·B_W·B_A)",
            Self::Energy => "energy per inference (pJ, Horowitz 45 nm model)",
        }
    }

    /// Cost of layer `l` of `table` at `p`.
    pub fn of_layer(self, table: &NetworkTable, l: usize, p: LayerPrecision) -> Result<f64> {
        let r = table.rows.get(l).ok_or_else(|| {
            InferError::Invalid(format!(
                "layer {} of a {}-layer table",
                l + 1,
                table.rows.len()
            ))
        })?;
        let c = r.counts();
        Ok(match self {
            Self::Rep => layer_rep_bits(&c, p),
            Self::Fa => layer_comp_fa(&c, p, AccumulatorConvention::Seed),
            Self::Bops => r.macs as f64 * p.b_w as f64 * p.b_a as f64,
            Self::Energy => layer_hardware(&r.name, r.macs, r.d, r.weights, r.r_a, p).energy_pj,
        })
    }

    /// Total cost of `table` at `p` (one precision per layer).
    pub fn of(self, table: &NetworkTable, p: &[LayerPrecision]) -> Result<f64> {
        if p.len() != table.rows.len() {
            return Err(InferError::Invalid(format!(
                "{} precisions for {} conv/linear layers",
                p.len(),
                table.rows.len()
            )));
        }
        p.iter()
            .enumerate()
            .map(|(l, &q)| self.of_layer(table, l, q))
            .sum()
    }
}

impl FromStr for CostMetric {
    type Err = InferError;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| InferError::Invalid(format!("cost {s:?}: use rep, fa, bops or energy")))
    }
}

/// The four costs of one assignment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// Representational cost (bits).
    pub rep: f64,
    /// Computational cost (FA, seed's accumulator).
    pub fa: f64,
    /// Bit operations.
    pub bops: f64,
    /// Energy (pJ).
    pub energy: f64,
}

impl Costs {
    /// All four costs of `table` at `p`.
    pub fn of(table: &NetworkTable, p: &[LayerPrecision]) -> Result<Self> {
        Ok(Self {
            rep: CostMetric::Rep.of(table, p)?,
            fa: CostMetric::Fa.of(table, p)?,
            bops: CostMetric::Bops.of(table, p)?,
            energy: CostMetric::Energy.of(table, p)?,
        })
    }

    /// The cost of `metric`.
    pub fn get(&self, metric: CostMetric) -> f64 {
        match metric {
            CostMetric::Rep => self.rep,
            CostMetric::Fa => self.fa,
            CostMetric::Bops => self.bops,
            CostMetric::Energy => self.energy,
        }
    }
}
