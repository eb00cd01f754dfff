//! `sqnr` — Problem 1: SQNR of an N-dimensional dot product under output quantization,
//! formula against a seeded Monte-Carlo measurement.
use clap::Parser;
use fxp_core::cli::{parse_list, print_json, run};
use fxp_core::sqnr::{self, InputDist, SqnrConfig};

#[derive(Parser, Debug)]
#[command(
    version,
    allow_negative_numbers = true,
    about = "SQNR of a dot product under output quantization: formula (2) vs Monte Carlo"
)]
struct Args {
    /// Dot-product lengths N, comma-separated.
    #[arg(long, default_value = "1,4,16,64,256,1024,4096")]
    n: String,
    /// Output precisions B_y, comma-separated (1..=32).
    #[arg(long, default_value = "2,4,6,8,10,12,14,16")]
    bits: String,
    /// Input distributions: uniform, gaussian-clipped (comma-separated).
    #[arg(long, default_value = "uniform,gaussian-clipped")]
    dist: String,
    /// Dot products drawn per (N, distribution).
    #[arg(long, default_value_t = 20_000)]
    samples: usize,
    /// Seed of the random streams.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_dists(s: &str) -> Result<Vec<InputDist>, String> {
    s.split(',')
        .map(str::trim)
        .map(|d| match d {
            "uniform" => Ok(InputDist::Uniform),
            "gaussian-clipped" | "gaussian" => Ok(InputDist::GaussianClipped),
            other => Err(format!(
                "--dist: unknown distribution {other:?} (use uniform, gaussian-clipped)"
            )),
        })
        .collect()
}

fn main() {
    run(|| -> Result<(), String> {
        let args = Args::parse();
        let cfg = SqnrConfig {
            ns: parse_list("--n", &args.n)?,
            bits: parse_list("--bits", &args.bits)?,
            dists: parse_dists(&args.dist)?,
            samples: args.samples,
            seed: args.seed,
        };
        let rows = sqnr::run(&cfg).map_err(|e| e.to_string())?;
        if args.json {
            print_json(&serde_json::json!({ "config": cfg, "rows": rows }))
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        println!(
            "{:>17} {:>5} {:>4} {:>11} {:>11} {:>11} {:>8} {:>6}",
            "dist", "N", "B_y", "formula dB", "exact dB", "measured", "Δ/σ_y", "model"
        );
        for r in &rows {
            println!(
                "{:>17} {:>5} {:>4} {:>11.2} {:>11.2} {:>11.2} {:>8.3} {:>6}",
                r.dist,
                r.n,
                r.b_y,
                r.sqnr_formula_db,
                r.sqnr_formula_exact_db,
                r.sqnr_measured_db,
                r.step_over_sigma_y,
                if r.model_valid { "ok" } else { "off" }
            );
        }
        Ok(())
    });
}
