//! Measures the float kernel ([`FloatKernel`]: the AVX-512F micro-kernels where the CPU has them,
//! stride-1 convolutions direct) against its convolutions through im2col rows ([`Im2col`]) and
//! the GEMM front end ([`GemmFloatKernel`], the path before both), on the course network:
//!
//! ```sh
//! # Peak f32 FMA/s of one core, then each weight layer's FMA/s on a batch of 50 (both kernels,
//! # same run), then the whole float pass in images/s:
//! RAYON_NUM_THREADS=1 cargo run --release -p cifar-infer --example float_kernel -- speed
//! # Predictions of both kernels on the first N test and calibration images (default: all
//! # 10,000 of each): accuracy and the number of images whose predicted class differs.
//! cargo run --release -p cifar-infer --example float_kernel -- predictions [N]
//! ```
use cifar_infer::eval::evaluate;
use cifar_infer::float;
use cifar_infer::model::{ConvLayer, FloatKernel, GemmFloatKernel, LayerKernel, LinearLayer, Op};
use cifar_infer::setup::{Setup, Sources};
use fxp_core::progress::Silent;
use std::error::Error;

/// Images per batch (as `cargo xtask bench`).
const BATCH: usize = 50;

/// [`FloatKernel`] with every convolution through im2col rows (one group, undilated: the course
/// network's).
struct Im2col;

impl LayerKernel for Im2col {
    fn conv(&self, _layer: usize, c: &ConvLayer, x: &[f32], n: usize) -> Vec<f32> {
        assert!(
            c.groups == 1 && c.dilation == 1,
            "Im2col: one group, undilated"
        );
        float::conv2d_im2col(x, n, &c.geom, c.weights(), c.biases())
    }
    fn linear(&self, layer: usize, l: &LinearLayer, x: &[f32], n: usize) -> Vec<f32> {
        FloatKernel.linear(layer, l, x, n)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("speed") => speed(),
        Some("predictions") => {
            let n = args.get(1).map(|s| s.parse()).transpose()?;
            predictions(n)
        }
        other => Err(format!("first argument {other:?}: give speed or predictions").into()),
    }
}

/// Accuracy and differing predictions of the two kernels, on the test images and on the
/// calibration images (`data_batch_1`, which the design's validation draws from).
fn predictions(limit: Option<usize>) -> Result<(), Box<dyn Error>> {
    let setup = Setup::load(&Sources {
        limit,
        ..Default::default()
    })?;
    let mut calibration = setup.calibration()?;
    if let Some(n) = limit {
        calibration = calibration.take(n.min(calibration.len()));
    }
    for (what, set) in [("test", &setup.test), ("calibration", &calibration)] {
        let new = evaluate(&setup.model, &FloatKernel, set, BATCH, &Silent)?;
        let old = evaluate(&setup.model, &GemmFloatKernel, set, BATCH, &Silent)?;
        let differ = new
            .predictions
            .iter()
            .zip(&old.predictions)
            .filter(|(a, b)| a != b)
            .count();
        println!(
            "{} {what} images: float kernel {:.2} % ({} correct), GEMM front end {:.2} % ({} \
             correct), {differ} predictions differ",
            new.n, new.accuracy, new.correct, old.accuracy, old.correct
        );
    }
    Ok(())
}

/// Peak FMA/s, per-layer FMA/s of both kernels, whole-pass images/s of both.
fn speed() -> Result<(), Box<dyn Error>> {
    let threads = rayon::current_num_threads();
    println!("{threads} thread(s)");
    if let Some(p) = peak() {
        println!(
            "peak f32 FMA/s of one core (AVX-512F, 24 chains, best of 5): {:.1} G",
            p / 1e9
        );
    }
    let setup = Setup::load(&Sources {
        limit: Some(500),
        ..Default::default()
    })?;
    let model = &setup.model;
    let x = model.input_of(setup.test.slice(0, BATCH))?;
    let trace = model.forward_traced(x.view());
    let weight_ops: Vec<&Op> = model
        .ops
        .iter()
        .filter(|op| matches!(op, Op::Conv(_) | Op::Linear(_)))
        .collect();
    println!("layer          G FMA   float kernel G FMA/CPU-s   im2col convs   GEMM front end");
    let kernels: [&dyn LayerKernel; 3] = [&FloatKernel, &Im2col, &GemmFloatKernel];
    for (l, (op, input)) in weight_ops.iter().zip(&trace.layer_inputs).enumerate() {
        let (name, fma) = match op {
            Op::Conv(c) => (&c.name, c.geom.out_len() * c.geom.d()),
            Op::Linear(lin) => (&lin.name, lin.in_features * lin.out_features),
            _ => unreachable!(),
        };
        let fma = (fma * BATCH) as f64;
        let run = |k: &dyn LayerKernel| match op {
            Op::Conv(c) => k.conv(l, c, input, BATCH),
            Op::Linear(lin) => k.linear(l, lin, input, BATCH),
            _ => unreachable!(),
        };
        // Best of 5 alternating rounds of each kernel (the machine may be shared).
        let reps = (5e8 / fma).ceil().max(2.0) as usize;
        let mut best = [f64::MAX; 3];
        for _ in 0..5 {
            for (b, k) in best.iter_mut().zip(kernels) {
                let t = cpu_seconds();
                for _ in 0..reps {
                    std::hint::black_box(run(k));
                }
                *b = b.min((cpu_seconds() - t) / reps as f64);
            }
        }
        let [ours, im2col, gemm] = best.map(|s| fma / s / 1e9);
        println!(
            "{name:<14} {:>5.2} {ours:>26.1} {im2col:>14.1} {gemm:>16.1}",
            fma / 1e9
        );
    }
    // Best of 3 alternating passes of each kernel.
    let pass = |k: usize| -> Result<f64, Box<dyn Error>> {
        let t = cpu_seconds();
        let set = &setup.test;
        match k {
            0 => evaluate(model, &FloatKernel, set, BATCH, &Silent)?,
            1 => evaluate(model, &Im2col, set, BATCH, &Silent)?,
            _ => evaluate(model, &GemmFloatKernel, set, BATCH, &Silent)?,
        };
        Ok(set.len() as f64 / (cpu_seconds() - t))
    };
    let mut best = [0f64; 3];
    for _ in 0..3 {
        for (k, b) in best.iter_mut().enumerate() {
            *b = b.max(pass(k)?);
        }
    }
    let [ours, im2col, gemm] = best;
    println!(
        "float pass, {} images: float kernel {ours:.1} images per CPU-second, im2col \
         convolutions {im2col:.1}, GEMM front end {gemm:.1}",
        setup.test.len()
    );
    Ok(())
}

/// CPU seconds of the process so far (the machine may be shared: CPU time, not wall time, is
/// what the kernels took); NaN where the platform has no process CPU clock.
fn cpu_seconds() -> f64 {
    fxp_core::progress::process_cpu_seconds().unwrap_or(f64::NAN)
}

/// Peak f32 fused multiply-adds per second of one core: 24 independent AVX-512 FMA chains.
fn peak() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        let iters = 20_000_000u64;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = cpu_seconds();
            // SAFETY: AVX-512F detected above.
            unsafe { fma_chains(iters) };
            best = best.min(cpu_seconds() - t);
        }
        return Some((iters * 24 * 16) as f64 / best);
    }
    None
}

/// `iters` rounds of 24 independent AVX-512 FMAs (registers zmm0..zmm23, written in assembly
/// so that the compiler cannot reorder or spill them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_chains(iters: u64) {
    std::arch::asm!(
        "vxorps xmm24, xmm24, xmm24",
        "2:",
        "vfmadd231ps zmm0, zmm24, zmm24", "vfmadd231ps zmm1, zmm24, zmm24",
        "vfmadd231ps zmm2, zmm24, zmm24", "vfmadd231ps zmm3, zmm24, zmm24",
        "vfmadd231ps zmm4, zmm24, zmm24", "vfmadd231ps zmm5, zmm24, zmm24",
        "vfmadd231ps zmm6, zmm24, zmm24", "vfmadd231ps zmm7, zmm24, zmm24",
        "vfmadd231ps zmm8, zmm24, zmm24", "vfmadd231ps zmm9, zmm24, zmm24",
        "vfmadd231ps zmm10, zmm24, zmm24", "vfmadd231ps zmm11, zmm24, zmm24",
        "vfmadd231ps zmm12, zmm24, zmm24", "vfmadd231ps zmm13, zmm24, zmm24",
        "vfmadd231ps zmm14, zmm24, zmm24", "vfmadd231ps zmm15, zmm24, zmm24",
        "vfmadd231ps zmm16, zmm24, zmm24", "vfmadd231ps zmm17, zmm24, zmm24",
        "vfmadd231ps zmm18, zmm24, zmm24", "vfmadd231ps zmm19, zmm24, zmm24",
        "vfmadd231ps zmm20, zmm24, zmm24", "vfmadd231ps zmm21, zmm24, zmm24",
        "vfmadd231ps zmm22, zmm24, zmm24", "vfmadd231ps zmm23, zmm24, zmm24",
        "dec {n}",
        "jnz 2b",
        n = inout(reg) iters => _,
        out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _, out("zmm4") _,
        out("zmm5") _, out("zmm6") _, out("zmm7") _, out("zmm8") _, out("zmm9") _,
        out("zmm10") _, out("zmm11") _, out("zmm12") _, out("zmm13") _, out("zmm14") _,
        out("zmm15") _, out("zmm16") _, out("zmm17") _, out("zmm18") _, out("zmm19") _,
        out("zmm20") _, out("zmm21") _, out("zmm22") _, out("zmm23") _, out("zmm24") _,
        options(nostack),
    );
}
