//! `cifar-infer`: float and exact fixed-point inference of a CIFAR-10 network (the course
//! network, a description, or an ONNX file). The command line lives in `cli/` (one module per
//! subcommand); the computations in the library.
mod cli;

use cifar_infer::InferError;
use cli::{bench::BenchArgs, design, eval::EvalArgs, profile::ProfileArgs, sweep::SweepArgs};
use fxp_cli::clap::{self, Parser, Subcommand};

/// Float and exact fixed-point inference of a CIFAR-10 network (Problem 3): the course
/// network, a description (--spec, --model) or an ONNX file (--onnx).
///
/// Data folder: --data DIR, else $FXP_HW_DATA, else the repository's bundled data/ (checked
/// against data/SHA256SUMS before use).
#[derive(Parser)]
#[command(
    name = "cifar-infer",
    version,
    after_help = "Examples:\n  \
      cifar-infer eval --images 1000\n  \
      cifar-infer eval --bits 6,8 --json > eval.json\n  \
      cifar-infer sweep --tolerance 1 --relative --bisect\n  \
      cifar-infer profile --estimator course --out /tmp/offsets\n  \
      cifar-infer sweep --offsets data --min-bits 3 --max-bits 8\n  \
      cifar-infer bench --images 2000 --bits 4,8\n  \
      cifar-infer eval --onnx my-net.onnx --mean 0.5 --std 0.5 --bits 8\n\n\
      Each subcommand has its own examples: cifar-infer <command> --help."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Accuracy on the test images, in float or at given precisions.
    #[command(after_help = "Examples:\n  \
        cifar-infer eval --images 1000                  # float baseline\n  \
        cifar-infer eval --bits 6,8 --json > eval.json  # one result per precision\n  \
        cifar-infer eval --weight-bits 9,9,9,9,8,6,7,8 --act-bits 5,7,8,8,8,7,6,6\n  \
        cifar-infer eval --bits 8 --ranges max --calibration-images 1000\n  \
        cifar-infer eval --bits 6 --ranges mse --calibration-images 1000   # one range per precision\n  \
        cifar-infer eval --onnx my-net.onnx --images 1000   # input x = pixel/255\n  \
        cifar-infer eval --onnx my-net.onnx --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225")]
    Eval(EvalArgs),
    /// Problem 3.1: uniform precision sweep and the minimum precision within tolerance.
    #[command(after_help = "Examples:\n  \
        cifar-infer sweep --tolerance 1\n  \
        cifar-infer sweep --tolerance 1 --relative --bisect --images 2000\n  \
        cifar-infer sweep --offsets data --min-bits 3 --max-bits 8 --json\n  \
        cifar-infer sweep --onnx my-net.onnx --bisect --images 2000\n  \
        cifar-infer sweep --ranges percentile:99.99 --images 2000")]
    Sweep(SweepArgs),
    /// Images per second of the float and quantized evaluations (use a release build).
    #[command(after_help = "Examples:\n  \
        cifar-infer bench --images 2000\n  \
        cifar-infer bench --images 500 --bits 4,8 --kernel float-codes --json")]
    Bench(BenchArgs),
    /// Problem 3.2: dynamic ranges, noise gains and per-layer precision offsets (Sakr et al.).
    #[command(after_help = "Examples:\n  \
        cifar-infer profile --calibration-images 200\n  \
        cifar-infer profile --estimator course --out /tmp/offsets --json > profile.json\n  \
        cifar-infer profile --onnx my-net.onnx --calibration-images 500")]
    Profile(ProfileArgs),
    /// Range calibration methods (max, percentile:P, mse) compared at uniform precisions.
    #[command(after_help = "Examples:\n  \
        cifar-infer ranges --bits 6,8 --images 1000\n  \
        cifar-infer ranges --spec net.json --model net.safetensors --ranges max,mse --json")]
    Ranges(design::RangesArgs),
    /// Accumulator widths per layer; accuracy with accumulators cut to W bits (wrap vs saturate).
    #[command(after_help = "Examples:\n  \
        cifar-infer accumulators --bits 8 --images 200 --widths 14,16,18,20\n  \
        cifar-infer accumulators --bits 6 --ranges mse --images 200")]
    Accumulators(design::AccumulatorArgs),
    /// Per-layer precisions minimising a cost within an accuracy tolerance (greedy on
    /// calibration images, validated on held-out ones) and the noise-gain bound-optimal
    /// allocation.
    #[command(after_help = "Examples:\n  \
        cifar-infer search --cost bops --tolerance 1 --images 2000\n  \
        cifar-infer search --cost rep,fa,bops,energy --calibration-images 500 --validation-images 8000 --z 1.645 --json\n  \
        cifar-infer search --spec net.json --model net.safetensors --ranges percentile:99.99")]
    Search(design::SearchArgs),
}

fn main() {
    fxp_cli::run(|| -> Result<(), InferError> {
        let cli = Cli::parse();
        cifar_infer::int8::check_kernel_env()?;
        cifar_infer::float::check_float_kernel_env()?;
        match cli.cmd {
            Cmd::Eval(a) => cli::eval::eval(a),
            Cmd::Sweep(a) => cli::sweep::sweep(a),
            Cmd::Bench(a) => cli::bench::bench_cmd(a),
            Cmd::Profile(a) => cli::profile::profile_cmd(a),
            Cmd::Ranges(a) => design::ranges_cmd(a),
            Cmd::Accumulators(a) => design::accumulators_cmd(a),
            Cmd::Search(a) => design::search_cmd(a),
        }
    });
}
