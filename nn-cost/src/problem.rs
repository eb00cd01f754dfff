//! Problem 2 as data: ResNet-18 and VGG-11 at a uniform 10 bits, the course's CIFAR-10 network
//! at uniform 7 bits (the architecture check of Problem 3), and the costs of all three against
//! the uniform precision — every number under both accumulator conventions, with the seed's
//! printed values (and torchvision's published counts) beside them as computed comparisons.
use crate::analyze::{LayerRow, NetworkTable};
use crate::costs::{network_costs, uniform, LayerCost};
use crate::error::Result;
use crate::spec::NetworkSpec;
use fxp_core::compare::{Comparison, Tolerance};
use serde::Serialize;

/// Uniform precision of the homework's question for ResNet-18 and VGG-11.
pub const IMAGENET_BITS: u32 = 10;
/// Uniform precision of the CIFAR-10 network's check: the seed's minimum of Problem 3.
pub const CIFAR_BITS: u32 = 7;

/// A value as the seed (or another source) prints it, with its significant digits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Printed {
    /// The printed value.
    pub value: f64,
    /// Its significant digits (1.386e8: 4).
    pub digits: u32,
}

impl Printed {
    /// `ours` beside this printed value, agreeing when it rounds to it.
    pub fn compare(self, quantity: &str, ours: f64) -> Comparison {
        let tolerance = Tolerance::printed_digits(self.value, self.digits);
        Comparison::new(quantity, ours, self.value, tolerance)
    }
}

const fn printed(value: f64, digits: u32) -> Printed {
    Printed { value, digits }
}

/// The published numbers a network's costs and counts are compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct References {
    /// The seed's representational cost in bits.
    pub seed_rep_bits: Printed,
    /// The seed's computational cost in FA (its numbers follow the seed convention).
    pub seed_comp_fa: Printed,
    /// torchvision's parameter count and multiply-accumulates, where published.
    pub torchvision: Option<(u64, Printed)>,
}

/// ResNet-18 at 10 bits: the seed's 1.386e8 bits and 2.377e11 FA; torchvision's 11,689,512
/// parameters and 1.814 G MACs.
pub const RESNET18: References = References {
    seed_rep_bits: printed(1.386e8, 4),
    seed_comp_fa: printed(2.377e11, 4),
    torchvision: Some((11_689_512, printed(1.814e9, 4))),
};
/// VGG-11 at 10 bits: the seed's 1.359e9 bits and 1.004e12 FA; torchvision's 132,863,336
/// parameters and 7.609 G MACs.
pub const VGG11: References = References {
    seed_rep_bits: printed(1.359e9, 4),
    seed_comp_fa: printed(1.004e12, 4),
    torchvision: Some((132_863_336, printed(7.609e9, 4))),
};
/// The CIFAR-10 network at 7 bits: the seed's uniform costs of Problem 3, 2.517e8 bits and
/// 1.85e10 FA.
pub const CIFAR_ALEXNET: References = References {
    seed_rep_bits: printed(2.517e8, 4),
    seed_comp_fa: printed(1.85e10, 3),
    torchvision: None,
};

/// What Problem 2 computes besides the fixed questions: the precisions of the cost sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Uniform precisions of the sweep (the report's figure).
    pub sweep_bits: Vec<u32>,
}

impl Default for Settings {
    /// The report's sweep, 2…16 bits (Problem 2 takes milliseconds: `--quick` uses it too).
    fn default() -> Self {
        Self {
            sweep_bits: (2..=16).collect(),
        }
    }
}

/// Comparisons of one network's results with the published values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VsPublished {
    /// Representational cost against the seed's.
    pub rep_bits: Comparison,
    /// Computational cost, seed convention, against the seed's.
    pub comp_fa_seed: Comparison,
    /// Computational cost, formula as printed, against the seed's.
    pub comp_fa_printed: Comparison,
    /// Parameter count against torchvision's (exact), where published.
    pub params: Option<Comparison>,
    /// Multiply-accumulates against torchvision's, where published.
    pub macs: Option<Comparison>,
}

/// One network at one uniform precision: counts, costs, per-layer tables and comparisons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkCosts {
    /// Built-in network name (`resnet18`, `vgg11`, `cifar-alexnet`).
    pub network: String,
    /// Uniform precision of weights and activations.
    pub bits: u32,
    /// All learnable parameters, batch norm included (torchvision's count).
    pub params: u64,
    /// Σ R_W: conv/linear weights and biases.
    pub cost_params: u64,
    /// Σ R_A: activations entering the conv/linear layers.
    pub activations: u64,
    /// Multiply-accumulates.
    pub macs: u64,
    /// Conv/linear layers.
    pub layers: usize,
    /// Representational cost in bits.
    pub rep_bits: f64,
    /// Computational cost in FA, accumulator as printed.
    pub comp_fa_printed: f64,
    /// Computational cost in FA, seed convention.
    pub comp_fa_seed: f64,
    /// How much less the printed formula gives than the seed convention: 1 − printed/seed.
    pub printed_below_seed_convention: f64,
    /// The seed's representational cost (comparison value).
    pub seed_rep_bits: f64,
    /// The seed's computational cost (comparison value).
    pub seed_comp_fa: f64,
    /// Our numbers against the published ones.
    pub vs_published: VsPublished,
    /// The per-layer counts.
    pub layer_table: Vec<LayerRow>,
    /// The per-layer costs.
    pub layer_costs: Vec<LayerCost>,
}

impl NetworkCosts {
    /// Analyzes built-in network `name` and prices it at a uniform `bits`.
    pub fn compute(name: &str, bits: u32, refs: &References) -> Result<Self> {
        let table = NetworkSpec::builtin(name)?.analyze()?;
        let costs = network_costs(&table, &uniform(bits, table.rows.len())?)?;
        let vs_published = VsPublished {
            rep_bits: refs.seed_rep_bits.compare("rep. bits", costs.rep_bits),
            comp_fa_seed: refs
                .seed_comp_fa
                .compare("FA, seed conv.", costs.comp_fa_seed),
            comp_fa_printed: refs
                .seed_comp_fa
                .compare("FA, printed formula", costs.comp_fa_printed),
            params: refs.torchvision.map(|(params, _)| {
                let ours = table.total_params() as f64;
                Comparison::new("params", ours, params as f64, Tolerance::Absolute(0.0))
            }),
            macs: refs
                .torchvision
                .map(|(_, macs)| macs.compare("MACs", table.total_macs() as f64)),
        };
        Ok(Self {
            network: name.to_string(),
            bits,
            params: table.total_params(),
            cost_params: table.cost_params(),
            activations: table.total_activations(),
            macs: table.total_macs(),
            layers: table.rows.len(),
            rep_bits: costs.rep_bits,
            comp_fa_printed: costs.comp_fa_printed,
            comp_fa_seed: costs.comp_fa_seed,
            printed_below_seed_convention: 1.0 - costs.comp_fa_printed / costs.comp_fa_seed,
            seed_rep_bits: refs.seed_rep_bits.value,
            seed_comp_fa: refs.seed_comp_fa.value,
            vs_published,
            layer_table: table.rows,
            layer_costs: costs.layers,
        })
    }
}

/// Costs of one network over a range of uniform precisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostSweep {
    /// Uniform precisions.
    pub bits: Vec<u32>,
    /// Representational cost at each, bits.
    pub rep_bits: Vec<f64>,
    /// Computational cost at each, seed convention, FA.
    pub comp_fa_seed: Vec<f64>,
    /// Computational cost at each, printed formula, FA.
    pub comp_fa_printed: Vec<f64>,
}

impl CostSweep {
    /// Prices `table` at every precision of `bits`.
    pub fn compute(table: &NetworkTable, bits: &[u32]) -> Result<Self> {
        let mut sweep = Self {
            bits: bits.to_vec(),
            rep_bits: Vec::new(),
            comp_fa_seed: Vec::new(),
            comp_fa_printed: Vec::new(),
        };
        for &b in bits {
            let c = network_costs(table, &uniform(b, table.rows.len())?)?;
            sweep.rep_bits.push(c.rep_bits);
            sweep.comp_fa_seed.push(c.comp_fa_seed);
            sweep.comp_fa_printed.push(c.comp_fa_printed);
        }
        Ok(sweep)
    }

    fn of_builtin(name: &str, bits: &[u32]) -> Result<Self> {
        Self::compute(&NetworkSpec::builtin(name)?.analyze()?, bits)
    }
}

/// The sweeps of the three networks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostSweeps {
    /// ResNet-18.
    pub resnet18: CostSweep,
    /// VGG-11.
    pub vgg11: CostSweep,
    /// The course's CIFAR-10 network.
    #[serde(rename = "cifar-alexnet")]
    pub cifar_alexnet: CostSweep,
}

/// Problem 2's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem2 {
    /// ResNet-18 at [`IMAGENET_BITS`].
    pub resnet18: NetworkCosts,
    /// VGG-11 at [`IMAGENET_BITS`].
    pub vgg11: NetworkCosts,
    /// The CIFAR-10 network at [`CIFAR_BITS`].
    pub cifar_alexnet_7bit: NetworkCosts,
    /// Costs against the uniform precision.
    pub sweep: CostSweeps,
}

/// Problem 2: the costs of the three built-in networks.
pub fn run(settings: &Settings) -> Result<Problem2> {
    let bits = &settings.sweep_bits;
    Ok(Problem2 {
        resnet18: NetworkCosts::compute("resnet18", IMAGENET_BITS, &RESNET18)?,
        vgg11: NetworkCosts::compute("vgg11", IMAGENET_BITS, &VGG11)?,
        cifar_alexnet_7bit: NetworkCosts::compute("cifar-alexnet", CIFAR_BITS, &CIFAR_ALEXNET)?,
        sweep: CostSweeps {
            resnet18: CostSweep::of_builtin("resnet18", bits)?,
            vgg11: CostSweep::of_builtin("vgg11", bits)?,
            cifar_alexnet: CostSweep::of_builtin("cifar-alexnet", bits)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_convention_reproduces_the_seeds_costs() {
        let p = run(&Settings::default()).unwrap();
        for net in [&p.resnet18, &p.vgg11, &p.cifar_alexnet_7bit] {
            let v = &net.vs_published;
            assert!(
                v.rep_bits.agrees && v.comp_fa_seed.agrees,
                "{}",
                net.network
            );
            assert!(!v.comp_fa_printed.agrees, "{}", net.network);
        }
        assert!(p.resnet18.vs_published.params.as_ref().unwrap().agrees);
        assert!(p.vgg11.vs_published.macs.as_ref().unwrap().agrees);
        assert!(p.cifar_alexnet_7bit.vs_published.params.is_none());
        assert_eq!(p.sweep.vgg11.rep_bits.len(), 15);
    }
}
