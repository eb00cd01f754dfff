//! `cargo xtask` — runs the homework and writes the report.
//!
//! `cargo xtask all` runs every problem; `cargo xtask p1` … `p7` one of them. Output goes to
//! `target/homework/` (or `--out DIR`): REPORT.md, results.json, figures/*.svg.
use fxp_cli::clap::{self, Parser};
use fxp_cli::outln;
use std::path::PathBuf;
use xtask::report::{save_section, Ctx, Section, XResult};
use xtask::{bench, design, p1, p2, p3, p4, p5};

/// A problem's runner: computes and returns its report section(s).
type Runner = fn(&Ctx) -> XResult<Vec<Section>>;

/// The registry of problems: (task name, title, runner), in report order.
const PROBLEMS: &[(&str, &str, Runner)] = &[
    (
        "p1",
        "SQNR of a dot product under output quantization",
        p1::run,
    ),
    ("p2", "Network complexity in fixed point", p2::run),
    (
        "p3",
        "Fixed-point inference of the CIFAR-10 network",
        p3::run,
    ),
    (
        "p4",
        "Back-propagation through a non-linear system",
        p4::run,
    ),
    ("p5", "Fixed-point linear predictor", p5::run_p5),
    ("p6", "SGD (LMS) linear predictor", p5::run_p6),
    ("p7", "SGD with delayed updates", p5::run_p7),
    (
        "design",
        "Beyond the homework: precision design",
        design::run,
    ),
];

#[derive(Parser, Debug)]
#[command(
    about = "Run the fixed-point homework and write REPORT.md, results.json and figures",
    after_help = "Examples:\n  \
      cargo xtask all\n  \
      cargo xtask p3 --quick --out /tmp/hw\n  \
      cargo xtask list\n  \
      cargo xtask bench --images 2000 --bits 4,8 --no-p3"
)]
struct Args {
    /// `all`, one problem (`p1` … `p7`), `list`, or `bench` (performance of Problem 3 vs PyTorch).
    task: String,
    /// Output folder.
    #[arg(long, default_value = "target/homework")]
    out: PathBuf,
    /// Fast smoke configuration (small samples; numbers are not the report's).
    #[arg(long)]
    quick: bool,
    /// Homework data folder (laid out like data/); default: $FXP_HW_DATA, else the bundled data/
    /// (checked against data/SHA256SUMS).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// CIFAR-10 folder: official cifar-10-batches-bin/ or cifar-10-batches-py/ (default <data>/cifar10).
    #[arg(long, value_name = "DIR")]
    cifar: Option<PathBuf>,
    /// Recompute the cached profiler results (`<out>/cache`) instead of reading them.
    #[arg(long)]
    fresh: bool,
    /// bench: test images per configuration.
    #[arg(long, default_value_t = 10_000)]
    images: usize,
    /// bench: uniform precisions to time, e.g. 4,6,8,12.
    #[arg(long, value_delimiter = ',', default_values_t = [4, 6, 8, 12], value_parser = clap::value_parser!(u32).range(1..=32))]
    bits: Vec<u32>,
    /// bench: Python interpreter with torch and numpy for the side-by-side (default $FXP_HW_PYTHON or python3).
    #[arg(long)]
    python: Option<String>,
    /// bench: skip timing the full Problem 3.
    #[arg(long)]
    no_p3: bool,
    /// bench: JSON on stdout (progress on stderr).
    #[arg(long)]
    json: bool,
}

fn main() {
    fxp_cli::run(|| -> XResult<()> {
        let args = Args::parse();
        cifar_infer::int8::check_kernel_env()?;
        cifar_infer::float::check_float_kernel_env()?;
        if args.task == "list" {
            for (name, title, _) in PROBLEMS {
                outln!("{name}  {title}");
            }
            return Ok(());
        }
        if args.task == "bench" {
            let mut ctx = Ctx::new(args.out.clone(), false, args.data.clone());
            ctx.fresh = args.fresh;
            let python = args
                .python
                .clone()
                .or_else(|| std::env::var("FXP_HW_PYTHON").ok())
                .unwrap_or_else(|| "python3".into());
            return bench::run(
                &ctx,
                &bench::BenchOptions {
                    images: args.images,
                    bits: args.bits.clone(),
                    python,
                    p3: !args.no_p3,
                    json: args.json,
                },
            );
        }
        let selected: Vec<_> = PROBLEMS
            .iter()
            .filter(|(n, _, _)| args.task == "all" || *n == args.task)
            .collect();
        if selected.is_empty() {
            let names: Vec<&str> = PROBLEMS.iter().map(|p| p.0).collect();
            return Err(format!(
                "unknown task {:?}: use all, list or one of {}",
                args.task,
                names.join(", ")
            )
            .into());
        }
        let mut ctx = Ctx::new(args.out.clone(), args.quick, args.data);
        ctx.fresh = args.fresh;
        ctx.cifar_dir = args.cifar;
        let mut failed = Vec::new();
        let mut written = Vec::new();
        for (name, title, runner) in selected {
            ctx.step(&format!("{name}: {title}"));
            match runner(&ctx) {
                Ok(sections) => {
                    for s in &sections {
                        save_section(&ctx.out, s)?;
                    }
                    ctx.step(&format!("{name}: done"));
                    written.push(*name);
                }
                Err(e) => {
                    eprintln!("error: {name}: {e}");
                    failed.push(*name);
                }
            }
        }
        let report = ctx.out.join("REPORT.md");
        if written.is_empty() {
            // Nothing was written: do not point at a report that this run did not touch.
            eprintln!("no section written; {} left as it was", report.display());
        } else {
            ctx.step(&format!(
                "report: {} (sections {} updated)",
                report.display(),
                written.join(", ")
            ));
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!("failed: {}", failed.join(", ")).into())
        }
    });
}
