//! `cargo xtask bench`: the performance figures of Problem 3 against their PyTorch anchors, in
//! one run on the same images (the targets of issue 18):
//!
//! 1. images per second of the float and uniform-B evaluations (`cifar_infer::bench`);
//! 2. the same network in PyTorch (`cifar-infer/bench/pytorch_bench.py`, when the Python
//!    interpreter has torch): f32, fake-quantized f32 at each B, and PyTorch's own int8 engine
//!    (eager post-training static quantization, x86 backend, the B = 8 quantization parameters),
//!    same images, batch and thread count, measured right after the Rust side;
//! 3. the noise-gain estimators (course and per-image) against autograd computing the same gains
//!    on the same calibration images (subsets: [`COURSE_IMAGES`], [`PER_IMAGE_IMAGES`]);
//! 4. the wall time of the full Problem 3 (`cargo xtask p3`), run in-process into `<out>/bench-p3`.
//!
//! The Rust side (1, 3) runs before and after PyTorch and the mean of the two is compared, so a
//! change of load between the halves of a run weighs on both sides. Prints the CPU model, the
//! integer kernel level, the tables and each target's ratio (or JSON with `--json`) and writes
//! `<out>/bench.json`.
use crate::report::{md_table, Ctx, XResult};
use cifar_infer::bench::{BenchReport, GainTiming};
use cifar_infer::profile::Estimator;
use cifar_infer::quantized::PathPolicy;
use cifar_infer::{RangeSource, Setup, Sources};
use fxp_cli::out;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// What `cargo xtask bench` measures.
pub struct BenchOptions {
    /// Test images per configuration.
    pub images: usize,
    /// Uniform precisions.
    pub bits: Vec<u32>,
    /// Python interpreter for the PyTorch side.
    pub python: String,
    /// Whether to time the full Problem 3.
    pub p3: bool,
    /// JSON on stdout instead of the table.
    pub json: bool,
}

/// Images per batch on both sides.
const BATCH: usize = 50;
/// Calibration images of the course-estimator comparison (one course batch of 500 holds them;
/// autograd needs about 1 s per image on 2 loaded cores, hence a subset).
pub const COURSE_IMAGES: usize = 100;
/// Calibration images of the per-image-estimator comparison (autograd's per-sample weight
/// gradients take several seconds per image).
pub const PER_IMAGE_IMAGES: usize = 10;
/// The PyTorch integer engine of the int8 anchor.
const INT8_ENGINE: &str = "x86";

/// One throughput row of the PyTorch script's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TorchRow {
    config: String,
    images: usize,
    seconds: f64,
    images_per_s: f64,
    accuracy: f64,
}

/// One autograd noise-gain timing of the PyTorch script.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TorchGains {
    estimator: String,
    images: usize,
    seconds: f64,
    e_a: Vec<f64>,
    e_w: Vec<f64>,
}

/// The PyTorch script's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TorchReport {
    torch: String,
    threads: usize,
    rows: Vec<TorchRow>,
    #[serde(default)]
    gains: Vec<TorchGains>,
}

/// One line of the throughput comparison.
#[derive(Debug, Clone, Serialize)]
struct Row {
    config: String,
    images_per_s: f64,
    accuracy: f64,
    /// PyTorch at the same config (f32 or fake-quantized f32).
    pytorch_images_per_s: Option<f64>,
    pytorch_accuracy: Option<f64>,
    /// Our images/s over PyTorch's same config.
    speedup: Option<f64>,
    /// Our images/s over PyTorch's int8 engine (B ≤ 8 only).
    speedup_int8: Option<f64>,
}

/// One estimator comparison.
#[derive(Debug, Clone, Serialize)]
struct GainRow {
    estimator: Estimator,
    images: usize,
    seconds: f64,
    pytorch_seconds: Option<f64>,
    /// PyTorch's seconds over ours.
    speedup: Option<f64>,
    /// Largest relative difference of the gains (E_A and E_W of every layer) from autograd's.
    max_rel_diff: Option<f64>,
}

/// One target of issue 18: a measured ratio against its goal.
#[derive(Debug, Clone, Serialize)]
struct Target {
    what: String,
    ratio: f64,
    goal: f64,
    met: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    cpu: String,
    images: usize,
    threads: usize,
    simd: cifar_infer::int8::SimdLevel,
    batch: usize,
    rows: Vec<Row>,
    /// PyTorch's int8 engine (eager PTQ, B = 8 parameters): images/s and accuracy (percent).
    pytorch_int8: Option<(f64, f64)>,
    gains: Vec<GainRow>,
    targets: Vec<Target>,
    pytorch: Option<String>,
    /// Why there is no PyTorch column, if there is none.
    pytorch_missing: Option<String>,
    /// Wall seconds of the full Problem 3 (None with --no-p3).
    p3_seconds: Option<f64>,
    /// Our images/s of each config, per Rust run (before PyTorch, then after it); `rows` holds
    /// their mean (in seconds).
    rust_runs: Vec<Vec<f64>>,
}

/// Runs the benchmark.
pub fn run(ctx: &Ctx, opt: &BenchOptions) -> XResult<()> {
    ctx.step(&format!(
        "bench: loading the network and {} test images",
        opt.images
    ));
    let setup = Setup::load(&Sources {
        data_dir: ctx.data_dir.clone(),
        limit: Some(opt.images),
        ..Default::default()
    })?;
    let ranges = setup.ranges(RangeSource::Npy)?;
    let calib = setup.calibration()?;
    // The Rust side runs before and after PyTorch, and the mean of the two is compared: on a
    // shared machine the load can change between the halves of a run.
    let rust = |when: &str| -> XResult<(BenchReport, Vec<GainTiming>)> {
        ctx.step(&format!(
            "bench: Rust evaluations (float, then each B), {when}"
        ));
        let ours = cifar_infer::bench::run(
            &setup.model,
            &setup.test,
            &ranges,
            &opt.bits,
            BATCH,
            PathPolicy::Auto,
        )?;
        ctx.step(&format!(
            "bench: Rust noise gains (course, per-image), {when}"
        ));
        let gains = [
            (Estimator::Course, COURSE_IMAGES),
            (Estimator::PerImage, PER_IMAGE_IMAGES),
        ]
        .into_iter()
        .map(|(e, n)| cifar_infer::bench::time_gains(&setup.model, &calib, n, e))
        .collect::<Result<Vec<_>, _>>()?;
        Ok((ours, gains))
    };
    let (mut ours, mut gains) = rust("before PyTorch")?;
    ctx.step("bench: PyTorch (f32, fake-quant, int8 engine, autograd gains)");
    let torch = pytorch(
        &opt.python,
        setup.data_dir(),
        setup.test.len(),
        &opt.bits,
        ours.threads,
    );
    let mut runs = vec![ours.rows.iter().map(|r| r.images_per_s).collect::<Vec<_>>()];
    match &torch {
        Err(why) => ctx.step(&format!("bench: no PyTorch comparison: {why}")),
        Ok(_) => {
            let (after, gains_after) = rust("after PyTorch")?;
            runs.push(after.rows.iter().map(|r| r.images_per_s).collect());
            for (r, a) in ours.rows.iter_mut().zip(&after.rows) {
                r.seconds = 0.5 * (r.seconds + a.seconds);
                r.images_per_s = r.images as f64 / r.seconds;
            }
            for (g, a) in gains.iter_mut().zip(&gains_after) {
                g.seconds = 0.5 * (g.seconds + a.seconds);
            }
        }
    }
    let p3_seconds = if opt.p3 {
        ctx.step("bench: timing the full Problem 3 (cargo xtask p3)");
        let mut sub = Ctx::new(ctx.out.join("bench-p3"), false, ctx.data_dir.clone());
        sub.fresh = ctx.fresh;
        let t = Instant::now();
        crate::p3::run(&sub)?;
        Some(t.elapsed().as_secs_f64())
    } else {
        None
    };
    let mut report = compare(&ours, &gains, torch, p3_seconds);
    report.rust_runs = runs;
    fxp_core::io::write_json(&ctx.out.join("bench.json"), &report)?;
    if opt.json {
        fxp_cli::print_json(&report)?;
    } else {
        out!("{}", table(&report));
    }
    Ok(())
}

/// The CPU model (`model name` of /proc/cpuinfo), or why it is unknown.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown (no /proc/cpuinfo)".into())
}

/// Largest |a − b| / |b| over paired values.
fn max_rel_diff(ours: &[f64], theirs: &[f64]) -> f64 {
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs() / b.abs().max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

fn compare(
    ours: &BenchReport,
    gains: &[GainTiming],
    torch: Result<TorchReport, String>,
    p3: Option<f64>,
) -> Report {
    let t = torch.as_ref().ok();
    let find = |c: &str| t.and_then(|t| t.rows.iter().find(|r| r.config == c));
    let int8 = find(&format!("int8-{INT8_ENGINE}")).map(|r| (r.images_per_s, 100.0 * r.accuracy));
    let rows: Vec<Row> = ours
        .rows
        .iter()
        .map(|r| {
            let same = find(&r.config);
            Row {
                config: r.config.clone(),
                images_per_s: r.images_per_s,
                accuracy: r.accuracy,
                pytorch_images_per_s: same.map(|t| t.images_per_s),
                pytorch_accuracy: same.map(|t| 100.0 * t.accuracy),
                speedup: same.map(|t| r.images_per_s / t.images_per_s),
                speedup_int8: int8
                    .filter(|_| r.bits.is_some_and(|b| b <= 8))
                    .map(|(v, _)| r.images_per_s / v),
            }
        })
        .collect();
    let gains: Vec<GainRow> = gains
        .iter()
        .map(|g| {
            let tg = t.and_then(|t| {
                t.gains
                    .iter()
                    .find(|x| x.estimator == g.estimator.name() && x.images == g.images)
            });
            GainRow {
                estimator: g.estimator,
                images: g.images,
                seconds: g.seconds,
                pytorch_seconds: tg.map(|x| x.seconds),
                speedup: tg.map(|x| x.seconds / g.seconds),
                max_rel_diff: tg.map(|x| {
                    max_rel_diff(&g.gains.e_a, &x.e_a).max(max_rel_diff(&g.gains.e_w, &x.e_w))
                }),
            }
        })
        .collect();
    let mut targets = Vec::new();
    let mut target = |what: String, ratio: Option<f64>, goal: f64| {
        if let Some(ratio) = ratio {
            targets.push(Target {
                what,
                ratio,
                goal,
                met: ratio >= goal,
            });
        }
    };
    for r in &rows {
        let bits = ours
            .rows
            .iter()
            .find(|o| o.config == r.config)
            .and_then(|o| o.bits);
        match bits {
            None => target("float vs PyTorch f32".into(), r.speedup, 1.0),
            Some(b) if b <= 8 => target(
                format!("{} vs PyTorch int8 ({INT8_ENGINE})", r.config),
                r.speedup_int8,
                1.0,
            ),
            Some(b) if b <= 16 => target(
                format!("{} vs PyTorch fake-quant", r.config),
                r.speedup,
                2.0,
            ),
            Some(_) => {}
        }
    }
    for g in &gains {
        target(
            format!("{} estimator vs autograd", g.estimator.name()),
            g.speedup,
            1.5,
        );
    }
    Report {
        cpu: cpu_model(),
        images: ours.rows.first().map_or(0, |r| r.images),
        threads: ours.threads,
        simd: ours.simd,
        batch: ours.batch,
        rows,
        pytorch_int8: int8,
        gains,
        targets,
        pytorch: torch.as_ref().ok().map(|t| t.torch.clone()),
        pytorch_missing: torch.err(),
        p3_seconds: p3,
        rust_runs: Vec::new(),
    }
}

fn table(r: &Report) -> String {
    let opt = |v: Option<f64>, prec: usize| v.map_or("–".into(), |v| format!("{v:.prec$}"));
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|x| {
            vec![
                x.config.clone(),
                format!("{:.1}", x.images_per_s),
                opt(x.pytorch_images_per_s, 1),
                opt(x.speedup, 2),
                opt(x.speedup_int8, 2),
                format!("{:.2}", x.accuracy),
                opt(x.pytorch_accuracy, 2),
            ]
        })
        .collect();
    let mut s = format!(
        "CPU {}; {} test images, {} threads, integer kernel {}, batch {}\n\n",
        r.cpu,
        fxp_core::text::group(r.images as u64),
        r.threads,
        fxp_core::text::label(&r.simd),
        r.batch
    );
    s.push_str(&md_table(
        &[
            "config",
            "images/s",
            "PyTorch same config images/s",
            "speed-up",
            "speed-up vs PyTorch int8",
            "accuracy %",
            "PyTorch accuracy %",
        ],
        &rows,
    ));
    match (&r.pytorch, &r.pytorch_missing) {
        (Some(v), _) => {
            s.push_str(&format!(
                "\nPyTorch {v}: same config = f32 (float) or fake-quantized f32 (B=…). Rust: the \
                 mean of a run before and one after PyTorch's ({}).",
                r.rust_runs
                    .iter()
                    .map(|run| run
                        .iter()
                        .map(|v| format!("{v:.1}"))
                        .collect::<Vec<_>>()
                        .join(", "))
                    .collect::<Vec<_>>()
                    .join(" / ")
            ));
            if let Some((v, acc)) = r.pytorch_int8 {
                s.push_str(&format!(
                    " PyTorch int8 ({INT8_ENGINE} engine, eager post-training quantization with \
                     the B = 8 parameters): {v:.1} images/s, accuracy {acc:.2} %."
                ));
            }
            s.push('\n');
        }
        (None, Some(why)) => s.push_str(&format!("\nNo PyTorch column: {why}\n")),
        _ => {}
    }
    let gains: Vec<Vec<String>> = r
        .gains
        .iter()
        .map(|g| {
            vec![
                g.estimator.name().into(),
                g.images.to_string(),
                format!("{:.2}", g.seconds),
                opt(g.pytorch_seconds, 2),
                opt(g.speedup, 2),
                g.max_rel_diff.map_or("–".into(), |v| format!("{v:.1e}")),
            ]
        })
        .collect();
    s.push('\n');
    s.push_str(&md_table(
        &[
            "noise gains",
            "calibration images",
            "seconds",
            "PyTorch autograd s",
            "speed-up",
            "max rel. diff of gains",
        ],
        &gains,
    ));
    let targets: Vec<Vec<String>> = r
        .targets
        .iter()
        .map(|t| {
            vec![
                t.what.clone(),
                format!("{:.2}", t.ratio),
                format!("≥ {:.1}", t.goal),
                if t.met { "yes" } else { "no" }.into(),
            ]
        })
        .collect();
    s.push('\n');
    s.push_str(&md_table(
        &["target (issue 18)", "ratio", "goal", "met"],
        &targets,
    ));
    if let Some(t) = r.p3_seconds {
        s.push_str(&format!("\nFull Problem 3 (cargo xtask p3): {t:.0} s\n"));
    }
    s
}

/// The PyTorch script next to cifar-infer's sources.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cifar-infer/bench/pytorch_bench.py")
}

/// Runs the PyTorch side, or says why it cannot.
fn pytorch(
    python: &str,
    data: &Path,
    images: usize,
    bits: &[u32],
    threads: usize,
) -> Result<TorchReport, String> {
    let probe = Command::new(python)
        .args(["-c", "import torch, numpy"])
        .output()
        .map_err(|e| format!("cannot run {python:?} ({e}); pass --python /path/to/python"))?;
    if !probe.status.success() {
        return Err(format!(
            "{python:?} cannot import torch and numpy (install them, e.g. `pip install torch numpy`, \
             or pass --python /path/to/venv/bin/python)"
        ));
    }
    let bits: Vec<String> = bits.iter().map(u32::to_string).collect();
    let out = Command::new(python)
        .arg(script())
        .arg("--data")
        .arg(data)
        .args(["--limit", &images.to_string()])
        .args(["--bits", &bits.join(",")])
        .args(["--batch", &BATCH.to_string()])
        .args(["--threads", &threads.to_string()])
        .args(["--engines", INT8_ENGINE])
        .args(["--gain-images", &COURSE_IMAGES.to_string()])
        .args(["--per-image-images", &PER_IMAGE_IMAGES.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the PyTorch script: {e}"))?;
    if !out.status.success() {
        return Err(format!("the PyTorch script failed ({})", out.status));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the PyTorch script printed no valid JSON: {e}"))
}
