//! Per-layer time of a uniform-precision quantized evaluation against the VNNI peak:
//! each weight layer's share (unfolding, kernel and epilogue together) and its multiply-
//! accumulates per second, the rest of the pass (pooling, input, classification) as one line.
//! Times are CPU time of the process (run it with one worker thread: each layer's time is
//! then its own):
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo run --release -p cifar-infer --example layer_profile -- 8 500
//! RAYON_NUM_THREADS=1 cargo run --release -p cifar-infer --example layer_profile -- 12 500
//! ```
//!
//! Arguments: the precision B (weights and activations), the test images (default 500),
//! the batch (default 50). Prints a table on stdout.
//!
//! The last line gives the core clock (a chain of dependent adds) and the whole pass's
//! multiply-accumulates per cycle.
//!
//! "in-img" counts the multiply-accumulates of a convolution whose taps read the image, not
//! its zero padding: at B ≤ 8 the direct kernel skips the padding of unsigned inputs (code 0),
//! as PyTorch's int8 engine does, so the rate and share of the peak of those layers are of
//! these; elsewhere of all ("M MAC/im"). Above 8 bits the direct pairs kernel skips that
//! padding too where it applies (an exact chunk holds a kernel line: every convolution but the
//! first at B = 15, 16), yet the rates count all the multiply-accumulates; and at B = 15, 16
//! (two `vpdpwssd` passes, one per activation digit) the exact bound is half the peak shown.
use cifar_infer::model::{Activation, LayerKernel, Output};
use cifar_infer::model::{ConvLayer, LinearLayer, WeightLayer};
use cifar_infer::setup::{Setup, Sources};
use cifar_infer::{PathPolicy, QuantizedModel};
use fxp_core::LayerPrecision;
use std::error::Error;
use std::sync::Mutex;

/// A [`LayerKernel`] that times each weight layer of the kernel it wraps.
struct Timed<'k, K> {
    inner: &'k K,
    /// Seconds per weight layer.
    seconds: Mutex<Vec<f64>>,
}

impl<K: LayerKernel> Timed<'_, K> {
    fn time<R>(&self, layer: usize, f: impl FnOnce() -> R) -> R {
        let t = cpu_seconds();
        let r = f();
        let s = cpu_seconds() - t;
        let mut v = self.seconds.lock().expect("no panics while timing");
        if v.len() <= layer {
            v.resize(layer + 1, 0.0);
        }
        v[layer] += s;
        r
    }
}

impl<K: LayerKernel> LayerKernel for Timed<'_, K> {
    fn conv(&self, layer: usize, conv: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        self.time(layer, || self.inner.conv(layer, conv, x, n))
    }
    fn linear(&self, layer: usize, lin: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        self.time(layer, || self.inner.linear(layer, lin, x, n))
    }
    fn emits_codes(&self, layer: usize) -> bool {
        self.inner.emits_codes(layer)
    }
    fn conv_act(
        &self,
        layer: usize,
        conv: &ConvLayer,
        x: &Activation,
        n: usize,
        out: Output,
    ) -> Activation {
        self.time(layer, || self.inner.conv_act(layer, conv, x, n, out))
    }
    fn linear_act(
        &self,
        layer: usize,
        lin: &LinearLayer,
        x: &Activation,
        n: usize,
        out: Output,
    ) -> Activation {
        self.time(layer, || self.inner.linear_act(layer, lin, x, n, out))
    }
}

/// CPU seconds of the process so far (the machine may be shared: CPU time, not wall time, is
/// what the kernels took); NaN where the platform has no process CPU clock.
fn cpu_seconds() -> f64 {
    fxp_core::progress::process_cpu_seconds().unwrap_or(f64::NAN)
}

/// Measured `vpdpbusd` peak of the AMD EPYC (Zen 4) of the README, G multiply-accumulates per
/// CPU-second (one 512-bit instruction per cycle, 16 independent chains; the 4 × 64 micro-kernel
/// alone reaches it with its panel in L1 or L2). `vpdpwssd` (B > 8) does half as many.
const PEAK_G: f64 = 234.0;

/// The core clock in GHz while this process runs: a chain of dependent register adds (one
/// cycle each) timed in process CPU time (this machine's perf has no cycle counter); NaN off
/// x86-64.
fn clock_ghz() -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let iters = 2_000_000u64;
        let t = cpu_seconds();
        let mut x = 0u64;
        for _ in 0..iters {
            // SAFETY: adds on one register, no memory.
            unsafe {
                std::arch::asm!(".rept 100", "add {x}, 1", ".endr", x = inout(reg) x,
                    options(nomem, nostack));
            }
        }
        std::hint::black_box(x);
        iters as f64 * 100.0 / (cpu_seconds() - t) / 1e9
    }
    #[cfg(not(target_arch = "x86_64"))]
    f64::NAN
}

/// Σ over the outputs along one axis of the kernel taps that read the input, not the padding.
fn taps_inside(out: usize, input: usize, k: usize, stride: usize, pad: usize) -> usize {
    (0..out)
        .map(|o| {
            let t0 = pad.saturating_sub(o * stride).min(k);
            (input + pad).saturating_sub(o * stride).min(k).max(t0) - t0
        })
        .sum()
}

/// The share of a convolution's multiply-accumulates whose taps read the image.
fn inside_share(g: &cifar_infer::ops::ConvGeom) -> f64 {
    let (y, x) = (
        taps_inside(g.out_h(), g.in_h, g.k, g.stride, g.pad),
        taps_inside(g.out_w(), g.in_w, g.k, g.stride, g.pad),
    );
    (y * x) as f64 / (g.out_h() * g.out_w() * g.k * g.k) as f64
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize, what: &str| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse()
                .map_err(|_| format!("{what} {s:?}: give a whole number"))
        })
    };
    let bits = arg(0, 8, "precision")? as u32;
    let images = arg(1, 500, "images")?;
    let batch = arg(2, 50, "batch")?.max(1);
    let setup = Setup::load(&Sources {
        limit: Some(images),
        ..Default::default()
    })?;
    let model = &setup.model;
    let ranges = setup.ranges_with(Default::default(), None, &fxp_core::progress::Silent)?;
    let p = vec![
        LayerPrecision {
            b_w: bits,
            b_a: bits
        };
        model.num_weight_layers()
    ];
    let q = QuantizedModel::new(model, &ranges, &p, PathPolicy::Auto)?;
    let timed = Timed {
        inner: &q,
        seconds: Mutex::new(Vec::new()),
    };
    // Warm-up batch (packing caches, buffers), then the timed pass.
    let x = model.input_of(setup.test.slice(0, batch.min(setup.test.len())))?;
    model.forward_with(&q, x.view());
    let mut total = 0.0;
    for start in (0..setup.test.len()).step_by(batch) {
        let end = (start + batch).min(setup.test.len());
        let x = model.input_of(setup.test.slice(start, end))?;
        let t = cpu_seconds();
        model.forward_with(&timed, x.view());
        total += cpu_seconds() - t;
    }
    let n = setup.test.len() as f64;
    let seconds = timed.seconds.into_inner().expect("no panics while timing");
    let threads = rayon::current_num_threads();
    // Above 8 bits the VNNI level multiplies i16 pairs (`vpdpwssd`): half the rate.
    let (peak, instr) = if bits <= 8 {
        (PEAK_G, "vpdpbusd")
    } else {
        (PEAK_G / 2.0, "vpdpwssd")
    };
    println!("B = {bits}, {n} images, batch {batch}, {threads} thread(s); {instr} peak {peak} G MAC/CPU-s");
    println!(
        "{:<10} {:>9} {:>7} {:>8} {:>7} {:>11} {:>6}",
        "layer", "M MAC/im", "in-img", "ms/img", "share", "G MAC/CPU-s", "peak"
    );
    let mut layers_s = 0.0;
    let (mut all_macs, mut all_done) = (0.0, 0.0);
    let nonneg = model.nonnegative_inputs();
    for (l, (w, s)) in model.weight_layers().iter().zip(&seconds).enumerate() {
        let (macs, inside) = match w {
            WeightLayer::Conv(c) => {
                let macs = (c.geom.d() / c.groups * c.geom.out_len()) as f64;
                (macs, macs * inside_share(&c.geom))
            }
            WeightLayer::Linear(l) => {
                let macs = (l.in_features * l.out_features) as f64;
                (macs, macs)
            }
        };
        // The MACs done: the padding's skipped on unsigned codes at B ≤ 8.
        let done = if bits <= 8 && nonneg.get(l) == Some(&true) {
            inside
        } else {
            macs
        };
        let cpu = *s;
        let rate = done * n / cpu / 1e9;
        layers_s += s;
        all_macs += macs;
        all_done += done;
        println!(
            "{:<10} {:>9.1} {:>7.1} {:>8.3} {:>6.1}% {:>11.1} {:>5.0}%",
            format!("{l} {}", w.name()),
            macs / 1e6,
            inside / 1e6,
            cpu / n * 1e3,
            100.0 * s / total,
            rate,
            100.0 * rate / peak
        );
    }
    let rest = total - layers_s;
    println!(
        "{:<10} {:>9} {:>7} {:>8.3} {:>6.1}%",
        "other",
        "",
        "",
        rest / n * 1e3,
        100.0 * rest / total
    );
    let rate = all_done * n / total / 1e9;
    println!(
        "{:<10} {:>9.1} {:>7.1} {:>8.3} {:>6.1}% {:>11.1} {:>5.0}%   ({:.1} images/s)",
        "total",
        all_macs / 1e6,
        all_done / 1e6,
        total / n * 1e3,
        100.0,
        rate,
        100.0 * rate / peak,
        n / total
    );
    // The clock before and after the timed passes' results: MACs per cycle of the whole pass
    // (the VNNI peak: 64, one 512-bit `vpdpbusd` per cycle).
    let ghz = clock_ghz();
    println!(
        "clock {ghz:.3} GHz (dependent adds): {:.1} MAC per cycle done, {:.1} nominal",
        all_done * n / total / 1e9 / ghz,
        all_macs * n / total / 1e9 / ghz
    );
    if threads > 1 {
        println!(
            "(CPU times of {threads} threads: run with RAYON_NUM_THREADS=1 for per-layer times)"
        );
    }
    Ok(())
}
