//! `cifar-infer`: float and exact fixed-point inference of the course CIFAR-10 network.
use cifar_infer::bench;
use cifar_infer::eval::{evaluate, DEFAULT_BATCH};
use cifar_infer::sweep::{uniform_sweep, SweepMode, SweepOptions, Tolerance};
use cifar_infer::{
    FloatKernel, InferError, PathPolicy, QuantizedModel, RangeSource, Setup, Sources,
};
use fxp_cli::clap::{self, Args, Parser, Subcommand, ValueEnum};
use fxp_cli::outln;
use fxp_cli::{bits_item, count_item, print_json, Bar};
use fxp_core::progress::Progress;
use fxp_core::text::{fixed, group, list, percent};
use fxp_core::LayerPrecision;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
// The precision designer (issue 17): ranges, accumulators, search.
mod design_cmd;
// The precision profiler (Problem 3.2–3.3).
use cifar_infer::offsets::{offsets_sweep, precisions_at, OffsetSweepOptions};
use cifar_infer::profile::{profile, Estimator};

/// Float and exact fixed-point inference of the course CIFAR-10 network (Problem 3).
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
      cifar-infer bench --images 2000 --bits 4,8\n\n\
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
        cifar-infer eval --bits 8 --ranges computed --calibration-images 1000")]
    Eval(EvalArgs),
    /// Problem 3.1: uniform precision sweep and the minimum precision within tolerance.
    #[command(after_help = "Examples:\n  \
        cifar-infer sweep --tolerance 1\n  \
        cifar-infer sweep --tolerance 1 --relative --bisect --images 2000\n  \
        cifar-infer sweep --offsets data --min-bits 3 --max-bits 8 --json")]
    Sweep(SweepArgs),
    /// Images per second of the float and quantized evaluations (use a release build).
    #[command(after_help = "Examples:\n  \
        cifar-infer bench --images 2000\n  \
        cifar-infer bench --images 500 --bits 4,8 --kernel float-codes --json")]
    Bench(BenchArgs),
    /// Problem 3.2: dynamic ranges, noise gains and per-layer precision offsets (Sakr et al.).
    #[command(after_help = "Examples:\n  \
        cifar-infer profile --calibration-images 200\n  \
        cifar-infer profile --estimator course --out /tmp/offsets --json > profile.json")]
    Profile(ProfileArgs),
    /// Range calibration methods (max, percentile:P, mse) compared at uniform precisions.
    #[command(after_help = "Examples:\n  \
        cifar-infer ranges --bits 6,8 --images 1000\n  \
        cifar-infer ranges --spec net.json --model net.safetensors --ranges max,mse --json")]
    Ranges(design_cmd::RangesArgs),
    /// Accumulator widths per layer; accuracy with accumulators cut to W bits (wrap vs saturate).
    #[command(after_help = "Examples:\n  \
        cifar-infer accumulators --bits 8 --images 200 --widths 14,16,18,20")]
    Accumulators(design_cmd::AccumulatorArgs),
    /// Per-layer precisions minimising a cost within an accuracy tolerance (greedy, measured on
    /// calibration images) and the noise-gain bound-optimal allocation.
    #[command(after_help = "Examples:\n  \
        cifar-infer search --cost bops --tolerance 1 --images 2000\n  \
        cifar-infer search --cost rep,fa,bops,energy --calibration-images 500 --json")]
    Search(design_cmd::SearchArgs),
}

/// Where the network and the data come from (shared by every subcommand).
#[derive(Args, Clone)]
struct NetworkArgs {
    /// Data folder laid out like the repository's data/ (default: the bundled data/).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// CIFAR-10 folder: the official cifar-10-batches-bin/ or cifar-10-batches-py/
    /// (default: <data>/cifar10).
    #[arg(long, value_name = "DIR")]
    cifar: Option<PathBuf>,
    /// Parameter file (safetensors); default <data>/model.safetensors.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Network description (nn-cost JSON); default the built-in cifar-alexnet.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
}

impl NetworkArgs {
    /// The sources to load, with the first `limit` test images.
    fn sources(&self, limit: Option<usize>) -> Sources {
        Sources {
            data_dir: self.data.clone(),
            model: self.model.clone(),
            spec: self.spec.clone(),
            cifar: self.cifar.clone(),
            limit,
        }
    }
}

#[derive(Args, Clone)]
struct Common {
    #[command(flatten)]
    net: NetworkArgs,
    /// Only the first N test images (default: all 10,000; bench: 1,000).
    #[arg(long, value_name = "N", alias = "limit", value_parser = count_item)]
    images: Option<usize>,
    /// Where the dynamic ranges come from.
    #[arg(long, value_enum, default_value_t = RangesArg::Npy)]
    ranges: RangesArg,
    /// With --ranges computed: only the first N calibration images (default: all 10,000).
    #[arg(long, value_name = "N", value_parser = count_item)]
    calibration_images: Option<usize>,
    /// Images per forward batch (≥ 1).
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = count_item)]
    batch: usize,
    /// Integer-kernel paths allowed (all exact; `auto` is the fastest).
    #[arg(long, value_enum, default_value_t = PathArg::Auto, alias = "path")]
    kernel: PathArg,
    /// Print only JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// `--ranges`: clap's names for [`RangeSource`] (the library type knows nothing of clap).
#[derive(Clone, Copy, ValueEnum)]
enum RangesArg {
    /// The course npy files of the data folder.
    Npy,
    /// Computed from the weights and the calibration batch (`data_batch_1.bin`).
    Computed,
}

impl From<RangesArg> for RangeSource {
    fn from(r: RangesArg) -> Self {
        match r {
            RangesArg::Npy => RangeSource::Npy,
            RangesArg::Computed => RangeSource::Computed,
        }
    }
}

/// `--estimator`: clap's names for [`Estimator`].
#[derive(Clone, Copy, ValueEnum)]
enum EstimatorArg {
    /// The paper's definition: ŷ and the logit differences per image, averaged over images.
    PerImage,
    /// The course script: logits summed over batches of 500 images (file order) before the
    /// argmax and the differences, averaged over batches.
    Course,
}

impl From<EstimatorArg> for Estimator {
    fn from(e: EstimatorArg) -> Self {
        match e {
            EstimatorArg::PerImage => Estimator::PerImage,
            EstimatorArg::Course => Estimator::Course,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum PathArg {
    /// Integer u8×i8 kernel where B ≤ 8 (with SIMD), else exact f32, else f64 GEMM.
    Auto,
    /// Exact f32/f64 GEMMs on integer codes only.
    FloatCodes,
    /// f64 GEMMs everywhere (slow reference).
    F64,
}

impl From<PathArg> for PathPolicy {
    fn from(p: PathArg) -> Self {
        match p {
            PathArg::Auto => PathPolicy::Auto,
            PathArg::FloatCodes => PathPolicy::FloatCodes,
            PathArg::F64 => PathPolicy::F64Only,
        }
    }
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    common: Common,
    /// Uniform precisions B (1..=32) for every weight and activation, comma-separated: one
    /// evaluation each (omit all precision flags for float).
    #[arg(long, value_name = "LIST", conflicts_with_all = ["weight_bits", "act_bits"],
          value_delimiter = ',', value_parser = bits_item)]
    bits: Vec<u32>,
    /// Per-layer weight precisions, e.g. 8,8,7,7,7,6,6,8 (with --act-bits).
    #[arg(long, value_name = "LIST", requires = "act_bits", value_delimiter = ',', value_parser = bits_item)]
    weight_bits: Vec<u32>,
    /// Per-layer input-activation precisions (with --weight-bits).
    #[arg(long, value_name = "LIST", requires = "weight_bits", value_delimiter = ',', value_parser = bits_item)]
    act_bits: Vec<u32>,
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    common: Common,
    /// Smallest precision.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=32))]
    min_bits: u32,
    /// Largest precision.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=32))]
    max_bits: u32,
    /// Tolerance below the float baseline, 0..=100: percentage points, or with --relative
    /// percent of it.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    tolerance: f64,
    /// Read --tolerance as a percentage of the baseline accuracy (1 → 1 % of it).
    #[arg(long)]
    relative: bool,
    /// Only find the minimum precision, by bisection (assumes accuracy grows with B).
    #[arg(long)]
    bisect: bool,
    /// Problem 3.2: sweep B_min instead, with per-layer precisions B_l = B_min + offset_l read
    /// from DIR/weight_offsets.npy and DIR/activation_offsets.npy (the data folder, or the output
    /// of `profile --out`); --min-bits/--max-bits bound B_min.
    #[arg(long, value_name = "DIR", conflicts_with = "bisect")]
    offsets: Option<PathBuf>,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    common: Common,
    /// Uniform precisions to time, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = bits_item,
          default_values_t = [4u32, 6, 8, 12])]
    bits: Vec<u32>,
}

/// Test images of `bench` when --images is not given.
const BENCH_IMAGES: usize = 1000;

fn load(c: &Common, limit: Option<usize>) -> Result<Setup, InferError> {
    Setup::load(&c.net.sources(limit))
}

fn main() {
    fxp_cli::run(|| -> Result<(), InferError> {
        let cli = Cli::parse();
        cifar_infer::int8::check_kernel_env()?;
        match cli.cmd {
            Cmd::Eval(a) => eval(a),
            Cmd::Sweep(a) => sweep(a),
            Cmd::Bench(a) => bench_cmd(a),
            Cmd::Profile(a) => profile_cmd(a),
            Cmd::Ranges(a) => design_cmd::ranges_cmd(a),
            Cmd::Accumulators(a) => design_cmd::accumulators_cmd(a),
            Cmd::Search(a) => design_cmd::search_cmd(a),
        }
    });
}

/// The ranges of `c.ranges`, with a progress bar while they are computed.
fn ranges_of(setup: &Setup, c: &Common) -> Result<cifar_infer::Ranges, InferError> {
    setup.ranges_with(c.ranges.into(), c.calibration_images, &Bar::new(c.json))
}

fn eval(a: EvalArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, c.images)?;
    let layers = setup.model.num_weight_layers();
    let settings: Vec<Option<Vec<LayerPrecision>>> = if !a.bits.is_empty() {
        a.bits
            .iter()
            .map(|&b| Some(vec![LayerPrecision { b_w: b, b_a: b }; layers]))
            .collect()
    } else if !a.weight_bits.is_empty() {
        let (w, x) = (&a.weight_bits, &a.act_bits);
        if w.len() != layers || x.len() != layers {
            return Err(InferError::Invalid(format!(
                "--weight-bits has {} and --act-bits {} values; the network has {layers} conv/linear layers",
                w.len(),
                x.len()
            )));
        }
        vec![Some(
            w.iter()
                .zip(x)
                .map(|(&b_w, &b_a)| LayerPrecision { b_w, b_a })
                .collect(),
        )]
    } else {
        vec![None]
    };
    let ranges = if settings.iter().any(Option::is_some) {
        Some(ranges_of(&setup, c)?)
    } else {
        None
    };
    let mut runs = Vec::new();
    for precisions in &settings {
        let pb = Bar::new(c.json);
        pb.begin("evaluating", setup.test.len() as u64);
        let t = Instant::now();
        let (res, extra) = match (precisions, &ranges) {
            (Some(p), Some(ranges)) => {
                let q = QuantizedModel::new(&setup.model, ranges, p, c.kernel.into())?;
                let r = evaluate(&setup.model, &q, &setup.test, c.batch, &pb)?;
                let extra = json!({
                    "mode": "fixed-point",
                    "weight_bits": p.iter().map(|x| x.b_w).collect::<Vec<_>>(),
                    "act_bits": p.iter().map(|x| x.b_a).collect::<Vec<_>>(),
                    "ranges_source": RangeSource::from(c.ranges),
                    "weight_ranges": ranges.weight,
                    "activation_ranges": ranges.activation,
                    "kernel_paths": q.paths(),
                });
                (r, extra)
            }
            _ => (
                evaluate(&setup.model, &FloatKernel, &setup.test, c.batch, &pb)?,
                json!({"mode": "float"}),
            ),
        };
        pb.end();
        runs.push((precisions, res, extra, t.elapsed().as_secs_f64()));
    }
    if c.json {
        let objects: Vec<serde_json::Value> = runs
            .iter()
            .map(|(_, res, extra, secs)| {
                // timings go to stderr: the JSON is the same on every run and thread count
                eprintln!("evaluated {} images in {secs:.1} s", res.n);
                let mut v = json!({
                    "network": setup.model.name,
                    "data": setup.data_dir(),
                    "layers": setup.model.weight_layer_names(),
                    "accuracy": res.accuracy,
                    "correct": res.correct,
                    "n": res.n,
                    "predictions": res.predictions,
                });
                if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
                    o.extend(e.clone());
                }
                v
            })
            .collect();
        let out = match objects.as_slice() {
            [one] => print_json(one),
            all => print_json(&all),
        };
        out.map_err(|e| InferError::Invalid(e.to_string()))?;
        return Ok(());
    }
    for (precisions, res, extra, secs) in &runs {
        let mode = match precisions {
            None => "float".to_string(),
            Some(p) => {
                let paths: Vec<String> = extra["kernel_paths"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "fixed point, B_W = {}; B_A = {}; kernels {}",
                    list(p.iter().map(|x| x.b_w)),
                    list(p.iter().map(|x| x.b_a)),
                    list(paths)
                )
            }
        };
        outln!("{} ({mode})", setup.model.name);
        outln!(
            "accuracy {} ({} / {} images) in {} s",
            percent(res.accuracy),
            group(res.correct as u64),
            group(res.n as u64),
            fixed(*secs, 1)
        );
    }
    Ok(())
}

fn sweep(a: SweepArgs) -> Result<(), InferError> {
    let c = &a.common;
    let tolerance = if a.relative {
        Tolerance::Relative(a.tolerance / 100.0)
    } else {
        Tolerance::Absolute(a.tolerance)
    };
    tolerance.check()?; // before loading anything
    if a.min_bits > a.max_bits {
        return Err(InferError::Invalid(format!(
            "--min-bits {} is above --max-bits {}",
            a.min_bits, a.max_bits
        )));
    }
    let setup = load(c, c.images)?;
    let ranges = ranges_of(&setup, c)?;
    if let Some(dir) = &a.offsets {
        return offsets_sweep_cmd(&a, &setup, &ranges, dir, tolerance);
    }
    let opt = SweepOptions {
        min_bits: a.min_bits,
        max_bits: a.max_bits,
        tolerance,
        mode: if a.bisect {
            SweepMode::Bisect
        } else {
            SweepMode::Full
        },
        batch: c.batch,
        policy: c.kernel.into(),
    };
    let t = Instant::now();
    let r = uniform_sweep(&setup.model, &setup.test, &ranges, &opt, &Bar::new(c.json))?;
    let secs = t.elapsed().as_secs_f64();
    if c.json {
        eprintln!("sweep done in {secs:.1} s");
        let v = json!({
            "network": setup.model.name,
            "n": r.n,
            "fl_accuracy": r.baseline,
            "fl_correct": r.baseline_correct,
            "tolerance": r.tolerance,
            "threshold": r.threshold,
            "sweep": r.accuracy_map(),
            "points": r.points,
            "min_bits": r.min_bits,
            "accuracy": r.min_bits_accuracy,
            "stopped_early": r.stopped_early,
        });
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!("{} on {} test images", setup.model.name, group(r.n as u64));
        outln!(
            "float baseline {} ({} correct); pass ≥ {}",
            percent(r.baseline),
            group(r.baseline_correct as u64),
            percent(r.threshold)
        );
        outln!("{:>3}  {:>9}  {:>7}  within", "B", "accuracy", "correct");
        for p in &r.points {
            outln!(
                "{:>3}  {:>9}  {:>7}  {}",
                p.bits,
                percent(p.accuracy),
                group(p.correct as u64),
                if p.within { "yes" } else { "no" }
            );
        }
        if !r.stopped_early.is_empty() {
            outln!(
                "stopped early (cannot pass): B = {}",
                list(&r.stopped_early)
            );
        }
        match (r.min_bits, r.min_bits_accuracy) {
            (Some(b), Some(acc)) => {
                outln!("minimum uniform precision: {b} bits ({})", percent(acc))
            }
            _ => outln!(
                "no precision in {}..={} is within the tolerance",
                a.min_bits,
                a.max_bits
            ),
        }
        outln!("({} s)", fixed(secs, 1));
    }
    Ok(())
}

fn bench_cmd(a: BenchArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, Some(c.images.unwrap_or(BENCH_IMAGES)))?;
    let ranges = ranges_of(&setup, c)?;
    let bits = a.bits.clone();
    if !c.json {
        eprintln!(
            "timing float and B = {} on {} images ...",
            list(&bits),
            group(setup.test.len() as u64)
        );
    }
    let r = bench::run_with_progress(
        &setup.model,
        &setup.test,
        &ranges,
        &bits,
        c.batch,
        c.kernel.into(),
        &Bar::new(c.json),
    )?;
    if c.json {
        print_json(&r).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!(
            "{} threads, integer kernel: {}, batch {}",
            r.threads,
            serde_json::to_value(r.simd)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| "unknown".into()),
            r.batch
        );
        outln!(
            "{:>7}  {:>8}  {:>9}  {:>9}  {:>8}  paths",
            "config",
            "images",
            "seconds",
            "images/s",
            "acc %"
        );
        for row in &r.rows {
            let paths: Vec<String> = row
                .paths
                .iter()
                .filter_map(|p| serde_json::to_value(p).ok())
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            outln!(
                "{:>7}  {:>8}  {:>9}  {:>9}  {:>8}  {}",
                row.config,
                group(row.images as u64),
                fixed(row.seconds, 2),
                fixed(row.images_per_s, 1),
                fixed(row.accuracy, 2),
                list(paths)
            );
        }
    }
    Ok(())
}

// ---- Problem 3.2–3.3: the precision profiler (`profile`) and `sweep --offsets` ----

#[derive(Args)]
struct ProfileArgs {
    #[command(flatten)]
    net: NetworkArgs,
    /// Calibration images (a CIFAR-10 batch, binary or Python format); default data_batch_1 of
    /// the CIFAR-10 folder.
    #[arg(long, value_name = "FILE")]
    calibration: Option<PathBuf>,
    /// Noise-gain estimator: the paper's per-image definition, or the course script's
    /// (logits summed over batches of 500 images).
    #[arg(long, value_enum, default_value_t = EstimatorArg::PerImage)]
    estimator: EstimatorArg,
    /// Only the first N calibration images for the noise gains (the dynamic ranges always use
    /// the whole calibration set).
    #[arg(long, value_name = "N", alias = "images", value_parser = count_item)]
    calibration_images: Option<usize>,
    /// Write weight/activation_dynamic_range.npy and weight/activation_offsets.npy (float64,
    /// the homework's format) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print only JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn profile_cmd(a: ProfileArgs) -> Result<(), InferError> {
    if let Some(dir) = &a.out {
        cifar_infer::profile::check_out_dir(dir)?; // before the long computation
    }
    let setup = Setup::load(&a.net.sources(Some(1)))?;
    let calib_path = match a.calibration {
        Some(p) => p,
        None => setup.paths.calibration_batch()?,
    };
    let calib = cifar_infer::CifarSet::load(&calib_path)?;
    let t = Instant::now();
    let pb = Bar::new(a.json);
    pb.begin("dynamic ranges", calib.len() as u64);
    let ranges =
        cifar_infer::Ranges::compute_with_progress(&setup.model, &calib, DEFAULT_BATCH, &pb)?;
    pb.end();
    let ranges_secs = t.elapsed().as_secs_f64();
    let n = a.calibration_images.unwrap_or(calib.len()).min(calib.len());
    let t = Instant::now();
    let p = profile(
        &setup.model,
        &calib,
        &ranges,
        a.estimator.into(),
        Some(n),
        &pb,
    )?;
    let gains_secs = t.elapsed().as_secs_f64();
    if let Some(dir) = &a.out {
        p.write_npy(dir)?;
    }
    // Byte-for-byte comparison with the files of the data folder (the homework's hand-outs).
    let matches: serde_json::Map<String, serde_json::Value> = p
        .npy_files()
        .into_iter()
        .map(|(name, bytes)| {
            let same = std::fs::read(setup.paths.dir.join(name))
                .ok()
                .map(|f| f == bytes);
            (name.to_string(), json!(same))
        })
        .collect();
    if a.json {
        let mut v = serde_json::to_value(&p).map_err(|e| InferError::Invalid(e.to_string()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("calibration".into(), json!(calib_path));
            o.insert("calibration_images".into(), json!(calib.len()));
            o.insert("matches_data_files".into(), json!(matches));
        }
        eprintln!(
            "ranges in {ranges_secs:.1} s, gains in {gains_secs:.1} s on {} thread(s)",
            rayon::current_num_threads()
        );
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
        return Ok(());
    }
    let g = &p.gains;
    let o = &p.offsets;
    outln!(
        "{}: {} estimator on {} images ({} unit(s) averaged, {} tie(s) skipped); ranges over {} images",
        setup.model.name,
        p.estimator.name(),
        group(g.images as u64),
        group(g.units as u64),
        group(g.ties as u64),
        group(calib.len() as u64)
    );
    outln!(
        "{:>2} {:<12} {:>7} {:>5} {:>11} {:>11} {:>8} {:>8} {:>4} {:>4}",
        "#",
        "layer",
        "r_W",
        "r_A",
        "E_W",
        "E_A",
        "W raw",
        "A raw",
        "W",
        "A"
    );
    for l in 0..p.layers.len() {
        outln!(
            "{:>2} {:<12} {:>7} {:>5} {:>11} {:>11} {:>8} {:>8} {:>4} {:>4}",
            l + 1,
            p.layers[l],
            fxp_core::text::short(p.ranges.weight[l], 4),
            fxp_core::text::short(p.ranges.activation[l], 4),
            fxp_core::text::num(g.e_w[l], 4),
            fxp_core::text::num(g.e_a[l], 4),
            fixed(o.w_raw[l], 3),
            fixed(o.a_raw[l], 3),
            o.w[l],
            o.a[l]
        );
    }
    for (name, same) in &matches {
        let s = match same.as_bool() {
            Some(true) => "identical to",
            Some(false) => "DIFFERENT from",
            None => "absent from",
        };
        outln!("{name}: {s} the data folder's file");
    }
    if let Some(dir) = &a.out {
        outln!("wrote the four npy files to {}", dir.display());
    }
    outln!(
        "ranges {} s, noise gains {} s ({} threads)",
        fixed(ranges_secs, 1),
        fixed(gains_secs, 1),
        rayon::current_num_threads()
    );
    Ok(())
}

/// `sweep --offsets DIR`: B_l = B_min + offset_l for B_min in --min-bits..=--max-bits.
fn offsets_sweep_cmd(
    a: &SweepArgs,
    setup: &Setup,
    ranges: &cifar_infer::Ranges,
    dir: &std::path::Path,
    tolerance: Tolerance,
) -> Result<(), InferError> {
    let c = &a.common;
    let (w_off, a_off) = nn_cost::costs::read_offsets_for(dir, setup.model.num_weight_layers())?;
    let opt = OffsetSweepOptions {
        min_b: a.min_bits,
        max_b: a.max_bits,
        tolerance,
        batch: c.batch,
        policy: c.kernel.into(),
    };
    let t = Instant::now();
    let bar = Bar::new(c.json);
    let r = offsets_sweep(
        &setup.model,
        &setup.test,
        ranges,
        &w_off,
        &a_off,
        &opt,
        &bar,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let layers = setup.model.num_weight_layers();
    let at_min = match r.min_bits {
        Some(b) => Some(precisions_at(b, &w_off, &a_off, layers)?),
        None => None,
    };
    if c.json {
        eprintln!("offsets sweep done in {secs:.1} s");
        let v = json!({
            "network": setup.model.name,
            "offsets_dir": dir,
            "w_offsets": w_off,
            "a_offsets": a_off,
            "n": r.n,
            "fl_accuracy": r.baseline,
            "tolerance": r.tolerance,
            "threshold": r.threshold,
            "sweep": r.accuracy_map(),
            "points": r.points,
            "min_b_min": r.min_bits,
            "accuracy": r.min_bits_accuracy,
            "weight_bits": at_min.as_ref().map(|p| p.iter().map(|x| x.b_w).collect::<Vec<_>>()),
            "act_bits": at_min.as_ref().map(|p| p.iter().map(|x| x.b_a).collect::<Vec<_>>()),
        });
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!(
            "{} on {} test images, offsets from {}",
            setup.model.name,
            group(r.n as u64),
            dir.display()
        );
        outln!(
            "weight offsets {}; activation offsets {}",
            fxp_core::text::num_list(w_off.iter().copied(), 4),
            fxp_core::text::num_list(a_off.iter().copied(), 4)
        );
        outln!(
            "float baseline {} ({} correct); pass ≥ {}",
            percent(r.baseline),
            group(r.baseline_correct as u64),
            percent(r.threshold)
        );
        outln!(
            "{:>5}  {:>9}  {:>7}  within",
            "B_min",
            "accuracy",
            "correct"
        );
        for p in &r.points {
            outln!(
                "{:>5}  {:>9}  {:>7}  {}",
                p.bits,
                percent(p.accuracy),
                group(p.correct as u64),
                if p.within { "yes" } else { "no" }
            );
        }
        match (r.min_bits, r.min_bits_accuracy, &at_min) {
            (Some(b), Some(acc), Some(p)) => outln!(
                "minimum B_min: {b} ({}): B_W = {}; B_A = {}",
                percent(acc),
                list(p.iter().map(|x| x.b_w)),
                list(p.iter().map(|x| x.b_a))
            ),
            _ => outln!(
                "no B_min in {}..={} is within the tolerance",
                a.min_bits,
                a.max_bits
            ),
        }
        outln!("({} s)", fixed(secs, 1));
    }
    Ok(())
}
