//! `sqnr` — Problem 1: SQNR of an N-dimensional dot product under output quantization,
//! formula against a seeded Monte-Carlo measurement.
use clap::Parser;
use fxp_cli::{bits_item, list_item, outln, print_json, run, Bar};
use fxp_core::sqnr::{self, InputDist, SqnrConfig};
use fxp_core::text::fixed;

#[derive(Parser, Debug)]
#[command(
    version,
    allow_negative_numbers = true,
    about = "SQNR of a dot product under output quantization: formula (2) vs Monte Carlo",
    after_help = "Examples:\n  \
      sqnr --n 1,64,4096 --bits 2,8,16\n  \
      sqnr --dist uniform --samples 50000 --seed 3 --json > sqnr.json"
)]
struct Args {
    /// Dot-product lengths N, comma-separated (samples × ΣN × distributions ≤ 4e9).
    #[arg(long, value_delimiter = ',', value_parser = list_item::<usize>,
          default_values_t = [1usize, 4, 16, 64, 256, 1024, 4096])]
    n: Vec<usize>,
    /// Output precisions B_y, comma-separated (1..=32).
    #[arg(long, value_delimiter = ',', value_parser = bits_item,
          default_values_t = [2u32, 4, 6, 8, 10, 12, 14, 16])]
    bits: Vec<u32>,
    /// Input distributions: uniform, gaussian-clipped (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = list_item::<InputDist>,
          default_values = ["uniform", "gaussian-clipped"])]
    dist: Vec<InputDist>,
    /// Dot products drawn per (N, distribution), 2..=10,000,000.
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Seed of the random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() {
    run(|| -> Result<(), String> {
        let args = Args::parse();
        let cfg = SqnrConfig {
            ns: args.n.clone(),
            bits: args.bits.clone(),
            dists: args.dist.clone(),
            samples: args.samples,
            seed: args.seed,
        };
        let rows =
            sqnr::run_with_progress(&cfg, &Bar::new(args.json)).map_err(|e| e.to_string())?;
        if args.json {
            print_json(&serde_json::json!({ "config": cfg, "rows": rows }))
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        outln!(
            "{:>17} {:>5} {:>4} {:>11} {:>11} {:>11} {:>8} {:>6}",
            "dist",
            "N",
            "B_y",
            "formula dB",
            "exact dB",
            "measured",
            "Δ/σ_y",
            "model"
        );
        for r in &rows {
            outln!(
                "{:>17} {:>5} {:>4} {:>11} {:>11} {:>11} {:>8} {:>6}",
                r.dist,
                fxp_core::text::group(r.n as u64),
                r.b_y,
                fixed(r.sqnr_formula_db, 2),
                fixed(r.sqnr_formula_exact_db, 2),
                fixed(r.sqnr_measured_db, 2),
                fixed(r.step_over_sigma_y, 3),
                if r.model_valid { "ok" } else { "off" }
            );
        }
        Ok(())
    });
}
