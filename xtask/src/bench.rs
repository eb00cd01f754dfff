//! `cargo xtask bench`: the performance figures of Problem 3 in one run.
//!
//! 1. images per second of the float and uniform-B evaluations (`cifar_infer::bench`);
//! 2. the same evaluations in PyTorch (fake-quantized f32, same network, images, batch and thread
//!    count; `cifar-infer/bench/pytorch_fakequant.py`), when the Python interpreter has
//!    torch, and the ratio of the two measured back to back;
//! 3. the wall time of the full Problem 3 (`cargo xtask p3`), run in-process into `<out>/bench-p3`.
//!
//! Prints a table (or JSON with `--json`) and writes `<out>/bench.json`.
use crate::report::{md_table, Ctx, XResult};
use cifar_infer::bench::BenchReport;
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

/// One configuration of the PyTorch script's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TorchRow {
    config: String,
    images: usize,
    seconds: f64,
    images_per_s: f64,
    accuracy: f64,
}

/// The PyTorch script's output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TorchReport {
    torch: String,
    threads: usize,
    rows: Vec<TorchRow>,
}

/// One line of the comparison.
#[derive(Debug, Clone, Serialize)]
struct Row {
    config: String,
    images_per_s: f64,
    accuracy: f64,
    pytorch_images_per_s: Option<f64>,
    pytorch_accuracy: Option<f64>,
    /// Our images/s over PyTorch's.
    speedup: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
struct Report {
    images: usize,
    threads: usize,
    simd: cifar_infer::int8::SimdLevel,
    batch: usize,
    rows: Vec<Row>,
    pytorch: Option<String>,
    /// Why there is no PyTorch column, if there is none.
    pytorch_missing: Option<String>,
    /// Wall seconds of the full Problem 3 (None with --no-p3).
    p3_seconds: Option<f64>,
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
    ctx.step("bench: Rust evaluations (float, then each B)");
    let ours = cifar_infer::bench::run(
        &setup.model,
        &setup.test,
        &ranges,
        &opt.bits,
        BATCH,
        PathPolicy::Auto,
    )?;
    ctx.step("bench: PyTorch evaluations");
    let torch = pytorch(
        &opt.python,
        setup.data_dir(),
        setup.test.len(),
        &opt.bits,
        ours.threads,
    );
    if let Err(why) = &torch {
        ctx.step(&format!("bench: no PyTorch comparison: {why}"));
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
    let report = compare(&ours, torch, p3_seconds);
    fxp_core::io::write_json(&ctx.out.join("bench.json"), &report)?;
    if opt.json {
        fxp_cli::print_json(&report)?;
    } else {
        out!("{}", table(&report));
    }
    Ok(())
}

fn compare(ours: &BenchReport, torch: Result<TorchReport, String>, p3: Option<f64>) -> Report {
    let rows = ours
        .rows
        .iter()
        .map(|r| {
            let t = torch
                .as_ref()
                .ok()
                .and_then(|t| t.rows.iter().find(|t| t.config == r.config));
            Row {
                config: r.config.clone(),
                images_per_s: r.images_per_s,
                accuracy: r.accuracy,
                pytorch_images_per_s: t.map(|t| t.images_per_s),
                pytorch_accuracy: t.map(|t| 100.0 * t.accuracy),
                speedup: t.map(|t| r.images_per_s / t.images_per_s),
            }
        })
        .collect();
    Report {
        images: ours.rows.first().map_or(0, |r| r.images),
        threads: ours.threads,
        simd: ours.simd,
        batch: ours.batch,
        rows,
        pytorch: torch.as_ref().ok().map(|t| t.torch.clone()),
        pytorch_missing: torch.err(),
        p3_seconds: p3,
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
                format!("{:.2}", x.accuracy),
                opt(x.pytorch_accuracy, 2),
            ]
        })
        .collect();
    let mut s = format!(
        "{} test images, {} threads, integer kernel {}, batch {}\n\n",
        fxp_core::text::group(r.images as u64),
        r.threads,
        fxp_core::text::label(&r.simd),
        r.batch
    );
    s.push_str(&md_table(
        &[
            "config",
            "images/s",
            "PyTorch images/s",
            "speed-up",
            "accuracy %",
            "PyTorch accuracy %",
        ],
        &rows,
    ));
    match (&r.pytorch, &r.pytorch_missing) {
        (Some(v), _) => s.push_str(&format!("\nPyTorch {v}, fake-quantized f32.\n")),
        (None, Some(why)) => s.push_str(&format!("\nNo PyTorch column: {why}\n")),
        _ => {}
    }
    if let Some(t) = r.p3_seconds {
        s.push_str(&format!("Full Problem 3 (cargo xtask p3): {t:.0} s\n"));
    }
    s
}

/// The PyTorch script next to cifar-infer's sources.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cifar-infer/bench/pytorch_fakequant.py")
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
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the PyTorch script: {e}"))?;
    if !out.status.success() {
        return Err(format!("the PyTorch script failed ({})", out.status));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the PyTorch script printed no valid JSON: {e}"))
}
