//! `cifar-infer`: float and exact fixed-point inference of the course CIFAR-10 network.
use cifar_infer::bench;
use cifar_infer::eval::{evaluate, DEFAULT_BATCH};
use cifar_infer::sweep::{uniform_sweep, SweepMode, SweepOptions, Tolerance};
use cifar_infer::{
    FloatKernel, InferError, PathPolicy, QuantizedModel, RangeSource, Setup, Sources,
};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fxp_core::cli::{parse_list, print_json, progress};
use fxp_core::outln;
use fxp_core::LayerPrecision;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
// The precision profiler (Problem 3.2–3.3).
use cifar_infer::offsets::{offsets_sweep, precisions_at, OffsetSweepOptions};
use cifar_infer::profile::{profile, Estimator};

/// Float and exact fixed-point inference of the course CIFAR-10 network (Problem 3).
///
/// Data folder: --data DIR, else $FXP_HW_DATA, else <workspace>/data, else
/// <workspace>/../shared/hw2-data.
#[derive(Parser)]
#[command(name = "cifar-infer", version)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Accuracy on the test images, in float or at given precisions.
    Eval(EvalArgs),
    /// Problem 3.1: uniform precision sweep and the minimum precision within tolerance.
    Sweep(SweepArgs),
    /// Images per second of the float and quantized evaluations (use a release build).
    Bench(BenchArgs),
    /// Problem 3.2: dynamic ranges, noise gains and per-layer precision offsets (Sakr et al.).
    Profile(ProfileArgs),
}

/// Where the network and the data come from (shared by every subcommand).
#[derive(Args, Clone)]
struct NetworkArgs {
    /// Data folder laid out like shared/hw2-data.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
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
            limit,
        }
    }
}

#[derive(Args, Clone)]
struct Common {
    #[command(flatten)]
    net: NetworkArgs,
    /// Only the first N test images.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Where the dynamic ranges come from.
    #[arg(long, value_enum, default_value_t = RangeSource::Npy)]
    ranges: RangeSource,
    /// Images per forward batch.
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    batch: usize,
    /// Kernel paths allowed (all exact; `auto` is the fastest).
    #[arg(long, value_enum, default_value_t = PathArg::Auto)]
    path: PathArg,
    /// Print only JSON on stdout.
    #[arg(long)]
    json: bool,
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
    /// Uniform precision B for every weight and activation (omit all precision flags for float).
    #[arg(long, conflicts_with_all = ["weight_bits", "act_bits"])]
    bits: Option<u32>,
    /// Per-layer weight precisions, e.g. 8,8,7,7,7,6,6,8 (with --act-bits).
    #[arg(long, value_name = "LIST", requires = "act_bits")]
    weight_bits: Option<String>,
    /// Per-layer input-activation precisions (with --weight-bits).
    #[arg(long, value_name = "LIST", requires = "weight_bits")]
    act_bits: Option<String>,
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    common: Common,
    /// Smallest precision.
    #[arg(long, default_value_t = 2)]
    min_bits: u32,
    /// Largest precision.
    #[arg(long, default_value_t = 16)]
    max_bits: u32,
    /// Tolerance below the float baseline: percentage points, or with --relative percent of it.
    #[arg(long, default_value_t = 1.0)]
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
    /// Test images per measurement.
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Uniform precisions to time.
    #[arg(long, default_value = "4,6,8,12")]
    bits: String,
}

fn load(c: &Common, limit: Option<usize>) -> Result<Setup, InferError> {
    Setup::load(&c.net.sources(limit))
}

fn main() {
    fxp_core::cli::run(|| -> Result<(), InferError> {
        let cli = Cli::parse();
        match cli.cmd {
            Cmd::Eval(a) => eval(a),
            Cmd::Sweep(a) => sweep(a),
            Cmd::Bench(a) => bench_cmd(a),
            Cmd::Profile(a) => profile_cmd(a),
        }
    });
}

fn eval(a: EvalArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, c.limit)?;
    let layers = setup.model.num_weight_layers();
    let precisions: Option<Vec<LayerPrecision>> = match (&a.bits, &a.weight_bits, &a.act_bits) {
        (Some(b), _, _) => Some(vec![LayerPrecision { b_w: *b, b_a: *b }; layers]),
        (None, Some(w), Some(x)) => {
            let w: Vec<u32> = parse_list("--weight-bits", w).map_err(InferError::Invalid)?;
            let x: Vec<u32> = parse_list("--act-bits", x).map_err(InferError::Invalid)?;
            if w.len() != layers || x.len() != layers {
                return Err(InferError::Invalid(format!(
                    "--weight-bits has {} and --act-bits {} values; the network has {layers} conv/linear layers",
                    w.len(),
                    x.len()
                )));
            }
            Some(
                w.iter()
                    .zip(&x)
                    .map(|(&b_w, &b_a)| LayerPrecision { b_w, b_a })
                    .collect(),
            )
        }
        _ => None,
    };
    let pb = progress(setup.test.len() as u64, "evaluating", c.json);
    let t = Instant::now();
    let (res, extra) = match &precisions {
        None => (
            evaluate(&setup.model, &FloatKernel, &setup.test, c.batch, Some(&pb))?,
            json!({"mode": "float"}),
        ),
        Some(p) => {
            let ranges = setup.ranges(c.ranges)?;
            let q = QuantizedModel::new(&setup.model, &ranges, p, c.path.into())?;
            let r = evaluate(&setup.model, &q, &setup.test, c.batch, Some(&pb))?;
            let extra = json!({
                "mode": "fixed-point",
                "weight_bits": p.iter().map(|x| x.b_w).collect::<Vec<_>>(),
                "act_bits": p.iter().map(|x| x.b_a).collect::<Vec<_>>(),
                "ranges_source": c.ranges,
                "weight_ranges": ranges.weight,
                "activation_ranges": ranges.activation,
                "kernel_paths": q.paths(),
            });
            (r, extra)
        }
    };
    pb.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    if c.json {
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
        print_json(&v).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        let mode = match &precisions {
            None => "float".to_string(),
            Some(p) => format!(
                "fixed point, B_W = {:?}, B_A = {:?}, paths {}",
                p.iter().map(|x| x.b_w).collect::<Vec<_>>(),
                p.iter().map(|x| x.b_a).collect::<Vec<_>>(),
                extra["kernel_paths"]
            ),
        };
        outln!("{} ({mode})", setup.model.name);
        outln!(
            "accuracy {:.2} % ({} / {} images) in {secs:.1} s",
            res.accuracy,
            res.correct,
            res.n
        );
    }
    Ok(())
}

fn sweep(a: SweepArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, c.limit)?;
    let ranges = setup.ranges(c.ranges)?;
    let tolerance = if a.relative {
        Tolerance::Relative(a.tolerance / 100.0)
    } else {
        Tolerance::Absolute(a.tolerance)
    };
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
        policy: c.path.into(),
        quiet: c.json,
        log: false,
    };
    let t = Instant::now();
    let r = uniform_sweep(&setup.model, &setup.test, &ranges, &opt)?;
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
        outln!("{} on {} test images", setup.model.name, r.n);
        outln!(
            "float baseline {:.2} % ({} correct); pass ≥ {:.2} %",
            r.baseline,
            r.baseline_correct,
            r.threshold
        );
        outln!("{:>3}  {:>9}  {:>7}  within", "B", "accuracy", "correct");
        for p in &r.points {
            outln!(
                "{:>3}  {:>8.2} %  {:>7}  {}",
                p.bits,
                p.accuracy,
                p.correct,
                if p.within { "yes" } else { "no" }
            );
        }
        if !r.stopped_early.is_empty() {
            outln!("stopped early (cannot pass): B = {:?}", r.stopped_early);
        }
        match (r.min_bits, r.min_bits_accuracy) {
            (Some(b), Some(acc)) => outln!("minimum uniform precision: {b} bits ({acc:.2} %)"),
            _ => outln!(
                "no precision in {}..={} is within the tolerance",
                a.min_bits,
                a.max_bits
            ),
        }
        outln!("({secs:.1} s)");
    }
    Ok(())
}

fn bench_cmd(a: BenchArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = load(c, Some(c.limit.unwrap_or(a.images).min(a.images)))?;
    let ranges = setup.ranges(c.ranges)?;
    let bits: Vec<u32> = parse_list("--bits", &a.bits).map_err(InferError::Invalid)?;
    if !c.json {
        eprintln!(
            "timing float and B = {bits:?} on {} images ...",
            setup.test.len()
        );
    }
    let r = bench::run(
        &setup.model,
        &setup.test,
        &ranges,
        &bits,
        c.batch,
        c.path.into(),
    )?;
    if c.json {
        print_json(&r).map_err(|e| InferError::Invalid(e.to_string()))?;
    } else {
        outln!(
            "{} threads, integer kernel: {:?}, batch {}",
            r.threads,
            r.simd,
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
            let paths: Vec<String> = row.paths.iter().map(|p| format!("{p:?}")).collect();
            outln!(
                "{:>7}  {:>8}  {:>9.2}  {:>9.1}  {:>8.2}  {}",
                row.config,
                row.images,
                row.seconds,
                row.images_per_s,
                row.accuracy,
                paths.join(",")
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
    /// Calibration images (CIFAR-10 binary batch); default <data>/cifar10/data_batch_1.bin.
    #[arg(long, value_name = "FILE")]
    calibration: Option<PathBuf>,
    /// Noise-gain estimator: the paper's per-image definition, or the course script's
    /// (logits summed over batches of 500 images).
    #[arg(long, value_enum, default_value_t = Estimator::PerImage)]
    estimator: Estimator,
    /// Only the first N calibration images for the noise gains (the dynamic ranges always use
    /// the whole calibration set).
    #[arg(long, value_name = "N")]
    images: Option<usize>,
    /// Write weight/activation_dynamic_range.npy and weight/activation_offsets.npy (float64,
    /// the homework's format) into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print only JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn profile_cmd(a: ProfileArgs) -> Result<(), InferError> {
    if a.images == Some(0) {
        return Err(InferError::Invalid("--images must be at least 1".into()));
    }
    let setup = Setup::load(&a.net.sources(Some(1)))?;
    let calib_path = a
        .calibration
        .unwrap_or_else(|| setup.paths.calibration_batch());
    let calib = cifar_infer::CifarSet::load(&calib_path)?;
    let t = Instant::now();
    if !a.json {
        eprintln!("dynamic ranges over {} calibration images ...", calib.len());
    }
    let ranges = cifar_infer::Ranges::compute(&setup.model, &calib, DEFAULT_BATCH)?;
    let ranges_secs = t.elapsed().as_secs_f64();
    let n = a.images.unwrap_or(calib.len()).min(calib.len());
    let pb = progress(
        n as u64,
        &format!("noise gains ({})", a.estimator.name()),
        a.json,
    );
    let t = Instant::now();
    let p = profile(&setup.model, &calib, &ranges, a.estimator, Some(n), &|k| {
        pb.inc(k)
    })?;
    pb.finish_and_clear();
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
        g.images,
        g.units,
        g.ties,
        calib.len()
    );
    outln!(
        "{:<12} {:>7} {:>5} {:>11} {:>11} {:>8} {:>8} {:>4} {:>4}",
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
            "{:<12} {:>7} {:>5} {:>11.4e} {:>11.4e} {:>8.3} {:>8.3} {:>4} {:>4}",
            p.layers[l],
            p.ranges.weight[l],
            p.ranges.activation[l],
            g.e_w[l],
            g.e_a[l],
            o.w_raw[l],
            o.a_raw[l],
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
        "ranges {ranges_secs:.1} s, noise gains {gains_secs:.1} s ({} threads)",
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
    let (w_off, a_off) = nn_cost::costs::read_offsets_dir(dir)?;
    let opt = OffsetSweepOptions {
        min_b: a.min_bits,
        max_b: a.max_bits,
        tolerance,
        batch: c.batch,
        policy: c.path.into(),
        quiet: c.json,
    };
    let t = Instant::now();
    let r = offsets_sweep(&setup.model, &setup.test, ranges, &w_off, &a_off, &opt)?;
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
            r.n,
            dir.display()
        );
        outln!("weight offsets {w_off:?}, activation offsets {a_off:?}");
        outln!(
            "float baseline {:.2} % ({} correct); pass ≥ {:.2} %",
            r.baseline,
            r.baseline_correct,
            r.threshold
        );
        outln!(
            "{:>5}  {:>9}  {:>7}  within",
            "B_min",
            "accuracy",
            "correct"
        );
        for p in &r.points {
            outln!(
                "{:>5}  {:>8.2} %  {:>7}  {}",
                p.bits,
                p.accuracy,
                p.correct,
                if p.within { "yes" } else { "no" }
            );
        }
        match (r.min_bits, r.min_bits_accuracy, &at_min) {
            (Some(b), Some(acc), Some(p)) => outln!(
                "minimum B_min: {b} ({acc:.2} %): B_W = {:?}, B_A = {:?}",
                p.iter().map(|x| x.b_w).collect::<Vec<_>>(),
                p.iter().map(|x| x.b_a).collect::<Vec<_>>()
            ),
            _ => outln!(
                "no B_min in {}..={} is within the tolerance",
                a.min_bits,
                a.max_bits
            ),
        }
        outln!("({secs:.1} s)");
    }
    Ok(())
}
