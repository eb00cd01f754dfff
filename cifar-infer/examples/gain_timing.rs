//! Times a noise-gain estimator alone (no dynamic ranges, no offsets), as `cargo xtask bench`
//! does on its Rust side, and prints the gains as JSON on stdout, the time on stderr:
//!
//! ```sh
//! cargo run --release -p cifar-infer --example gain_timing -- course 100 [repeats]
//! cargo run --release -p cifar-infer --example gain_timing -- per-image 10
//! ```
use cifar_infer::profile::Estimator;
use cifar_infer::setup::{Setup, Sources};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    // As the binaries do (fxp_cli::run).
    fxp_core::memory::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let estimator = match args.first().map(String::as_str) {
        Some("course") => Estimator::Course,
        Some("per-image") => Estimator::PerImage,
        other => {
            return Err(format!(
                "first argument {other:?}: give the estimator, course or per-image"
            )
            .into())
        }
    };
    let count = |i: usize, default: usize, what: &str| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse()
                .map_err(|_| format!("{what} {s:?}: give a whole number"))
        })
    };
    let images = count(1, 100, "calibration images")?;
    let repeats = count(2, 1, "repeats")?;
    let setup = Setup::load(&Sources {
        limit: Some(1),
        ..Default::default()
    })?;
    let calibration = cifar_infer::CifarSet::load(&setup.paths.calibration_batch()?)?;
    for _ in 0..repeats {
        let t = cifar_infer::bench::time_gains(&setup.model, &calibration, images, estimator)?;
        eprintln!(
            "{} estimator, {} images: {:.2} s",
            estimator.name(),
            t.images,
            t.seconds
        );
        println!("{}", serde_json::to_string(&t.gains)?);
    }
    Ok(())
}
