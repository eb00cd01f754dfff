//! `nn-cost`: per-layer complexity table and fixed-point costs of a network.
//!
//! Examples:
//! `nn-cost --net resnet18 --bits 10`,
//! `nn-cost --spec my-net.json --weight-bits 8,8,6 --act-bits 8,7,7 --convention seed`,
//! `nn-cost --net cifar-alexnet --offsets-dir ../shared/hw2-data --b-min 5 --json`.
use clap::{ArgGroup, Parser, ValueEnum};
use fxp_core::cli::{parse_list, print_json, run};
use fxp_core::{out, outln};
use nn_cost::costs::{from_lists, uniform};
use nn_cost::{
    network_costs, precisions_from_offsets, read_offsets_dir, table, AccumulatorConvention,
    NetworkSpec,
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
/// network, and its fixed-point costs: representational (bits) and computational (full adders).
#[derive(Debug, Parser)]
#[command(name = "nn-cost", version, allow_negative_numbers = true)]
#[command(group(ArgGroup::new("network").required(true).args(["net", "spec"])))]
#[command(group(ArgGroup::new("precision").args(["bits", "weight_bits", "offsets_dir"])))]
struct Args {
    /// Built-in network: resnet18, vgg11 (ImageNet 224×224) or cifar-alexnet (course CIFAR-10).
    #[arg(long)]
    net: Option<String>,
    /// Network description file (JSON; see the `nn_cost::spec` docs or `--print-spec`).
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Uniform precision (bits) of all weights and activations.
    #[arg(long)]
    bits: Option<u32>,
    /// Per-layer weight precisions, comma-separated (one per conv/linear layer).
    #[arg(long, value_name = "LIST", requires = "act_bits")]
    weight_bits: Option<String>,
    /// Per-layer activation precisions, comma-separated (one per conv/linear layer).
    #[arg(long, value_name = "LIST", requires = "weight_bits")]
    act_bits: Option<String>,
    /// Directory with weight_offsets.npy and activation_offsets.npy: B_l = B_min + offset_l.
    #[arg(long, value_name = "DIR", requires = "b_min")]
    offsets_dir: Option<PathBuf>,
    /// Base precision B_min for --offsets-dir.
    #[arg(long, requires = "offsets_dir")]
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

fn main() {
    run(|| -> Result<(), Box<dyn std::error::Error>> {
        let args = Args::parse();
        let spec = match (&args.net, &args.spec) {
            (Some(name), _) => NetworkSpec::builtin(name)?,
            (None, Some(path)) => NetworkSpec::from_file(path)?,
            (None, None) => unreachable!("clap requires --net or --spec"),
        };
        if args.print_spec {
            outln!("{}", spec.to_json_string());
            return Ok(());
        }
        let table = spec.analyze()?;
        let layers = table.rows.len();
        let (source, precisions) = if let Some(b) = args.bits {
            (format!("uniform {b} bits"), Some(uniform(b, layers)?))
        } else if let (Some(w), Some(a)) = (&args.weight_bits, &args.act_bits) {
            let w = parse_list::<u32>("--weight-bits", w)?;
            let a = parse_list::<u32>("--act-bits", a)?;
            ("per-layer lists".to_string(), Some(from_lists(&w, &a)?))
        } else if let (Some(dir), Some(b_min)) = (&args.offsets_dir, args.b_min) {
            let (w, a) = read_offsets_dir(dir)?;
            (
                format!("B_min {b_min} + offsets from {}", dir.display()),
                Some(precisions_from_offsets(b_min, &w, &a)?),
            )
        } else {
            ("none".to_string(), None)
        };
        let costs = precisions
            .as_deref()
            .map(|p| network_costs(&table, p))
            .transpose()?;
        if args.json {
            print_json(&json!({
                "network": table.name,
                "params": table.total_params(),
                "cost_params": table.cost_params(),
                "batch_norm_params": table.batch_norm_params,
                "activations": table.total_activations(),
                "macs": table.total_macs(),
                "precision": source,
                "table": table,
                "costs": costs,
            }))?;
        } else {
            out!(
                "{}",
                table::render(&table, costs.as_ref(), &args.convention.list())
            );
            if let Some(c) = &costs {
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
        }
        Ok(())
    });
}
