//! `nn-cost`: per-layer complexity table and fixed-point costs of a network.
//!
//! Examples:
//! `nn-cost --net resnet18 --bits 10`,
//! `nn-cost --spec my-net.json --weight-bits 8,8,6 --act-bits 8,7,7 --convention seed`,
//! `nn-cost --net cifar-alexnet --offsets data --b-min 5 --json`,
//! `nn-cost --onnx resnet18.onnx --print-spec > resnet18.json`.
use fxp_cli::clap::{self, ArgGroup, Parser, ValueEnum};
use fxp_cli::{bits_item, print_json, run, InputArgs};
use fxp_cli::{out, outln};
use nn_cost::costs::{from_lists, uniform};
use nn_cost::{
    network_costs, precisions_from_offsets, read_offsets_for, table, AccumulatorConvention,
    CostError, CostReport, NetworkSpec, OnnxNetwork, PreprocessOverride,
};
use serde_json::json;
use std::path::PathBuf;

/// Which accumulator convention(s) the computational cost uses.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Convention {
    /// (D−1)(B_A+B_W+log2 D−1): the formula as printed in the homework.
    Printed,
    /// (D−1)(B_A+B_W+⌈log2 D⌉): what the seed's numbers follow.
    Seed,
    /// Both columns.
    Both,
}

impl Convention {
    fn list(self) -> Vec<AccumulatorConvention> {
        match self {
            Self::Printed => vec![AccumulatorConvention::Printed],
            Self::Seed => vec![AccumulatorConvention::Seed],
            Self::Both => AccumulatorConvention::ALL.to_vec(),
        }
    }
}

/// Per-layer complexity (weights, biases, R_A, N, D, MACs of every conv/linear layer) of a
/// network, and its fixed-point costs: representational (bits), computational (full adders),
/// bit operations (BOPs = Σ MACs·B_W·B_A), weight memory and energy (Horowitz 45 nm model).
#[derive(Debug, Parser)]
#[command(
    name = "nn-cost",
    version,
    allow_negative_numbers = true,
    after_help = "Examples:\n  \
      nn-cost --net resnet18 --bits 10\n  \
      nn-cost --net vgg11 --bits 6,8,10 --convention seed\n  \
      nn-cost --spec my.json --weight-bits 8,8,6 --act-bits 8,7,7\n  \
      nn-cost --net cifar-alexnet --offsets data --b-min 5 --json\n  \
      nn-cost --net vgg11 --print-spec\n  \
      nn-cost --onnx my-net.onnx --bits 8\n  \
      nn-cost --onnx my-net.onnx --mean 0.5 --std 0.5 --print-spec > my-net.json"
)]
#[command(group(ArgGroup::new("network").required(true).args(["net", "spec", "onnx"])))]
#[command(group(ArgGroup::new("precision").args(["bits", "weight_bits", "offsets"])))]
struct Args {
    /// Built-in network: resnet18, vgg11 (ImageNet 224×224) or cifar-alexnet (course CIFAR-10).
    #[arg(long)]
    net: Option<String>,
    /// Network description file (JSON; see the `nn_cost::spec` docs or `--print-spec`).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// ONNX model (e.g. from torch.onnx.export): its graph is imported as a description.
    #[arg(long, value_name = "FILE")]
    onnx: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    /// Uniform precisions (bits, 1..=32) of all weights and activations, comma-separated: one
    /// table per precision.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = bits_item)]
    bits: Vec<u32>,
    /// Per-layer weight precisions, comma-separated (one per conv/linear layer).
    #[arg(long, value_name = "LIST", requires = "act_bits", value_delimiter = ',', value_parser = bits_item)]
    weight_bits: Vec<u32>,
    /// Per-layer activation precisions, comma-separated (one per conv/linear layer).
    #[arg(long, value_name = "LIST", requires = "weight_bits", value_delimiter = ',', value_parser = bits_item)]
    act_bits: Vec<u32>,
    /// Folder with weight_offsets.npy and activation_offsets.npy: B_l = B_min + offset_l.
    #[arg(long, value_name = "DIR", requires = "b_min", alias = "offsets-dir")]
    offsets: Option<PathBuf>,
    /// Base precision B_min for --offsets.
    #[arg(long, requires = "offsets", value_parser = clap::value_parser!(u32).range(1..=32))]
    b_min: Option<u32>,
    /// Accumulator convention of the computational cost in the text table (JSON carries both).
    #[arg(long, value_enum, default_value = "both")]
    convention: Convention,
    /// Print the network description (JSON) instead of the table.
    #[arg(long)]
    print_spec: bool,
    /// Print only JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// One precision setting to price: its description and the per-layer precisions.
type Setting = (String, Option<Vec<fxp_core::LayerPrecision>>);

/// Refuses a cost that is not a finite number (it would print as `inf`).
fn check_finite_costs(c: &CostReport) -> Result<(), CostError> {
    for (l, layer) in c.layers.iter().enumerate() {
        for v in [layer.rep_bits, layer.comp_fa_printed, layer.comp_fa_seed] {
            if !v.is_finite() {
                return Err(CostError::Precision(format!(
                    "{}: the cost is not a finite number",
                    fxp_core::text::layer(l, &layer.name)
                )));
            }
        }
    }
    Ok(())
}

fn main() {
    run(|| -> Result<(), Box<dyn std::error::Error>> {
        let args = Args::parse();
        let mut spec = match (&args.net, &args.spec, &args.onnx) {
            (Some(name), _, _) => NetworkSpec::builtin(name)?,
            (None, Some(path), _) => NetworkSpec::from_file(path)?,
            (None, None, Some(path)) => OnnxNetwork::from_file(path)?.spec,
            (None, None, None) => unreachable!("clap requires --net, --spec or --onnx"),
        };
        let input = PreprocessOverride {
            scale: args.input.scale,
            mean: args.input.mean.clone(),
            std: args.input.std.clone(),
        };
        input.apply(&mut spec)?;
        if args.print_spec {
            if args.onnx.is_some() && input.is_empty() {
                eprintln!(
                    "note: input x = pixel/255 (an ONNX file carries no input normalisation; \
                     set it with --scale, --mean, --std)"
                );
            }
            outln!("{}", spec.to_json_string());
            return Ok(());
        }
        let table = spec.analyze()?;
        let layers = table.rows.len();
        let settings: Vec<Setting> = if !args.bits.is_empty() {
            args.bits
                .iter()
                .map(|&b| Ok((format!("uniform {b} bits"), Some(uniform(b, layers)?))))
                .collect::<nn_cost::Result<_>>()?
        } else if !args.weight_bits.is_empty() {
            vec![(
                "per-layer lists".to_string(),
                Some(from_lists(&args.weight_bits, &args.act_bits)?),
            )]
        } else if let (Some(dir), Some(b_min)) = (&args.offsets, args.b_min) {
            let (w, a) = read_offsets_for(dir, layers)?;
            vec![(
                format!("B_min {b_min} + offsets from {}", dir.display()),
                Some(precisions_from_offsets(b_min, &w, &a)?),
            )]
        } else {
            vec![("none".to_string(), None)]
        };
        let mut reports = Vec::new();
        for (source, precisions) in &settings {
            let costs = precisions
                .as_deref()
                .map(|p| network_costs(&table, p))
                .transpose()?;
            if let Some(c) = &costs {
                check_finite_costs(c)?;
            }
            let hw = precisions
                .as_deref()
                .map(|p| nn_cost::hardware(&table, p))
                .transpose()?;
            reports.push((source, costs, hw));
        }
        if args.json {
            let one = |source: &String,
                       costs: &Option<nn_cost::CostReport>,
                       hw: &Option<nn_cost::HardwareReport>| {
                json!({
                    "network": table.name,
                    "params": table.total_params(),
                    "cost_params": table.cost_params(),
                    "batch_norm_params": table.batch_norm_params,
                    "activations": table.total_activations(),
                    "macs": table.total_macs(),
                    "precision": source,
                    "table": table,
                    "costs": costs,
                    "hardware": hw,
                })
            };
            if let [(source, costs, hw)] = reports.as_slice() {
                print_json(&one(source, costs, hw))?;
            } else {
                let all: Vec<_> = reports.iter().map(|(s, c, h)| one(s, c, h)).collect();
                print_json(&all)?;
            }
            return Ok(());
        }
        for (i, (source, costs, hw)) in reports.iter().enumerate() {
            if i > 0 {
                outln!();
            }
            out!(
                "{}",
                table::render(&table, costs.as_ref(), &args.convention.list())
            );
            if let Some(c) = costs {
                outln!("precision: {source}");
                outln!("representational cost: {} bits", table::sci(c.rep_bits));
                for conv in args.convention.list() {
                    outln!(
                        "computational cost ({}): {} FA",
                        conv.name(),
                        table::sci(c.comp_fa(conv))
                    );
                }
                outln!(
                    "(printed: accumulator B_A+B_W+log2 D−1 as in the homework's formula; \
                     seed: B_A+B_W+⌈log2 D⌉, which reproduces the seed's numbers)"
                );
            }
            if let Some(h) = hw {
                outln!();
                out!("{}", table::render_hardware(h));
            }
        }
        Ok(())
    });
}
