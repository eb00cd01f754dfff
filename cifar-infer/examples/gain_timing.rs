//! Times the course (or per-image) noise-gain estimator: `gain_timing [course|per-image] N [reps]`.
use cifar_infer::profile::Estimator;
use cifar_infer::setup::{Setup, Sources};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let est = match args.get(1).map(String::as_str) {
        Some("per-image") => Estimator::PerImage,
        _ => Estimator::Course,
    };
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let setup = Setup::load(&Sources {
        limit: Some(1),
        ..Default::default()
    })
    .unwrap();
    let calib = cifar_infer::CifarSet::load(&setup.paths.calibration_batch().unwrap()).unwrap();
    for _ in 0..reps {
        let t = cifar_infer::bench::time_gains(&setup.model, &calib, n, est).unwrap();
        eprintln!("{} {} images: {:.2} s", est.name(), n, t.seconds);
        println!("{}", serde_json::to_string(&t.gains).unwrap());
    }
}
