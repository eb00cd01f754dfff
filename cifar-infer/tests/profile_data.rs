//! The precision profiler on the homework data (each test returns early when the data folder is
//! absent). The full reproduction — the course estimator on all 10,000 calibration images gives
//! the four npy files of the data folder byte for byte — takes minutes; it is the command
//! `cifar-infer profile --estimator course` (see the crate docs); here a small slice runs against
//! snapshots.
use cifar_infer::profile::{profile, Estimator, Profile};
use cifar_infer::{CifarSet, Ranges, Setup, Sources};
use fxp_core::json::round_json;
use serde_json::json;

/// The course network and the calibration batch; panics when the data is absent (a test that
/// skipped silently could not fail).
fn setup() -> (Setup, CifarSet) {
    let s = Setup::load(&Sources {
        limit: Some(1),
        ..Default::default()
    })
    .expect("these tests need the bundled homework data (data/)");
    let calib = s.calibration().expect("calibration batch");
    (s, calib)
}

fn summary(p: &Profile) -> serde_json::Value {
    round_json(
        &json!({
            "estimator": p.estimator,
            "images": p.gains.images,
            "units": p.gains.units,
            "e_w": p.gains.e_w,
            "e_a": p.gains.e_a,
            "w_raw": p.offsets.w_raw,
            "a_raw": p.offsets.a_raw,
            "w_offsets": p.offsets.w,
            "a_offsets": p.offsets.a,
        }),
        6,
    )
}

#[test]
fn weight_ranges_reproduce_the_npy_file_and_activation_ranges_on_a_slice() {
    let (s, calib) = setup();
    let npy = Ranges::from_npy(&s.paths, 8).unwrap();
    let slice = calib.take(200);
    let r = Ranges::compute(&s.model, &slice, 100).unwrap();
    // Weight ranges depend on the weights only: exactly the file's.
    assert_eq!(r.weight, npy.weight);
    // Activation ranges over 200 images can only be ≤ those over the whole set.
    for (a, b) in r.activation.iter().zip(&npy.activation) {
        assert!(
            a <= b,
            "range over 200 images {a} > range over the calibration set {b}"
        );
    }
    insta::assert_json_snapshot!(
        "ranges_200",
        json!({"weight": r.weight, "activation": r.activation})
    );
}

#[test]
fn course_estimator_on_a_slice() {
    let (s, calib) = setup();
    let ranges = Ranges::from_npy(&s.paths, 8).unwrap();
    let p = profile(
        &s.model,
        &calib,
        &ranges,
        Estimator::Course,
        Some(40),
        &fxp_core::progress::Silent,
    )
    .unwrap();
    assert_eq!((p.gains.images, p.gains.units), (40, 1));
    insta::assert_json_snapshot!("course_40", summary(&p));
}

#[test]
fn per_image_estimator_on_a_slice() {
    let (s, calib) = setup();
    let ranges = Ranges::from_npy(&s.paths, 8).unwrap();
    let p = profile(
        &s.model,
        &calib,
        &ranges,
        Estimator::PerImage,
        Some(20),
        &fxp_core::progress::Silent,
    )
    .unwrap();
    assert_eq!((p.gains.images, p.gains.units), (20, 20));
    // The smallest normalised gain has offset 0 and every offset is ≥ 0.
    let all: Vec<f64> = p
        .offsets
        .w_raw
        .iter()
        .chain(&p.offsets.a_raw)
        .copied()
        .collect();
    assert!(all.iter().all(|&v| v >= 0.0) && all.contains(&0.0));
    insta::assert_json_snapshot!("per_image_20", summary(&p));
}

#[test]
fn written_npy_files_round_trip() {
    let (s, calib) = setup();
    let ranges = Ranges::from_npy(&s.paths, 8).unwrap();
    let p = profile(
        &s.model,
        &calib,
        &ranges,
        Estimator::PerImage,
        Some(2),
        &fxp_core::progress::Silent,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    p.write_npy(dir.path()).unwrap();
    let (w, a) = nn_cost::costs::read_offsets_dir(dir.path()).unwrap();
    assert_eq!(w, p.offsets.w.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(a, p.offsets.a.iter().map(|&v| v as f64).collect::<Vec<_>>());
    let r = nn_cost::npy::read_f64_vec(&dir.path().join("activation_dynamic_range.npy"), Some(8))
        .unwrap();
    assert_eq!(r, ranges.activation);
    // The range files are byte-identical to the data folder's (same values, numpy's layout).
    for name in ["weight_dynamic_range.npy", "activation_dynamic_range.npy"] {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            std::fs::read(s.paths.dir.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn mismatch_bound_follows_the_formula_and_the_sweeps_run() {
    use cifar_infer::mismatch::{mismatch_bound, mismatch_sweep};
    use cifar_infer::offsets::{
        mean_weight_bits, offsets_sweep, offsets_sweep_against, precisions_at, OffsetSweepOptions,
    };
    use cifar_infer::profile::Gains;
    use cifar_infer::PathPolicy;
    use fxp_core::LayerPrecision;
    let s = Setup::load(&Sources {
        limit: Some(50),
        ..Default::default()
    })
    .expect("this test needs the bundled homework data (data/)");
    let ranges = Ranges::from_npy(&s.paths, 8).unwrap();
    let gains = Gains {
        e_w: vec![1.0; 8],
        e_a: vec![2.0; 8],
        units: 1,
        images: 1,
        ties: 0,
    };
    let p = vec![LayerPrecision { b_w: 6, b_a: 5 }; 8];
    // Δ_W = 2^(1−6) r_W (signed); Δ_A = 2^(1−5) r_A for the image (signed), 2^(−5) r_A after a ReLU.
    let want: f64 = (0..8)
        .map(|l| {
            let dw = 2f64.powi(-5) * ranges.weight[l];
            let da = if l == 0 { 2f64.powi(-4) } else { 2f64.powi(-5) } * ranges.activation[l];
            dw * dw * 1.0 + da * da * 2.0
        })
        .sum();
    let got = mismatch_bound(&s.model, &ranges, &gains, &p).unwrap();
    assert!((got - want).abs() < 1e-12 * want, "{got} vs {want}");
    assert!(mismatch_bound(&s.model, &ranges, &gains, &p[..7]).is_err());

    // B_l = B_min + offset_l from the provided files; the average bits per weight lie between
    // the smallest and the largest B_W.
    let (w, a) = nn_cost::costs::read_offsets_dir(&s.paths.dir).unwrap();
    let prec = precisions_at(3, &w, &a, 8).unwrap();
    assert_eq!(prec[0], LayerPrecision { b_w: 7, b_a: 3 });
    let m = mean_weight_bits(&s.model, &prec);
    assert!((4.0..7.0).contains(&m), "{m}");
    assert!(precisions_at(3, &w[..7], &a, 8).is_err());

    let data = s.test.clone();
    let opt = OffsetSweepOptions {
        min_b: 2,
        max_b: 4,
        ..Default::default()
    };
    let r = offsets_sweep(
        &s.model,
        &data,
        &ranges,
        &w,
        &a,
        &opt,
        &fxp_core::progress::Silent,
    )
    .unwrap();
    assert_eq!(
        r.points.iter().map(|p| p.bits).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(
        r.min_bits,
        r.points.iter().find(|p| p.within).map(|p| p.bits)
    );
    // Against the baseline of an earlier sweep: the same result, without the float pass.
    let again = offsets_sweep_against(
        &s.model,
        &data,
        &ranges,
        &w,
        &a,
        &opt,
        r.baseline_eval(),
        &fxp_core::progress::Silent,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&again).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
    let short = cifar_infer::eval::EvalResult {
        n: 3,
        predictions: vec![0; 3],
        ..r.baseline_eval()
    };
    let e = offsets_sweep_against(
        &s.model,
        &data,
        &ranges,
        &w,
        &a,
        &opt,
        short,
        &fxp_core::progress::Silent,
    )
    .unwrap_err();
    assert!(e.to_string().contains("float baseline of 3 images"), "{e}");
    // Offsets that leave 1..=32 bits anywhere in the B_min range are refused: below 1 bit at
    // the smallest B_min, or above 32 at the largest only (33 bits at B_min = 4).
    let smallest = w.iter().copied().fold(f64::INFINITY, f64::min);
    let low: Vec<f64> = w.iter().map(|&o| o - smallest - 2.0).collect();
    let mut high = w.clone();
    high[0] = 29.0;
    for bad in [low, high] {
        let e = offsets_sweep_against(
            &s.model,
            &data,
            &ranges,
            &bad,
            &a,
            &opt,
            r.baseline_eval(),
            &fxp_core::progress::Silent,
        )
        .unwrap_err();
        assert!(e.to_string().contains("bits"), "{e}");
    }
    let mm = mismatch_sweep(
        &s.model,
        &data,
        &ranges,
        &gains,
        &[4, 16],
        100,
        PathPolicy::Auto,
        &fxp_core::progress::Silent,
    )
    .unwrap();
    assert_eq!(mm.len(), 2);
    assert!(mm[1].bound < mm[0].bound * 1e-6);
    assert!(mm.iter().all(|p| (0.0..=1.0).contains(&p.measured)));

    // The rates taken from a uniform sweep's kept predictions equal a fresh evaluation.
    let sweep = cifar_infer::sweep::uniform_sweep(
        &s.model,
        &data,
        &ranges,
        &cifar_infer::sweep::SweepOptions {
            min_bits: 3,
            max_bits: 16,
            ..Default::default()
        },
        &fxp_core::progress::Silent,
    )
    .unwrap();
    let reused =
        cifar_infer::mismatch::mismatch_from_sweep(&s.model, &ranges, &gains, &sweep, &[4, 16])
            .unwrap();
    assert_eq!(reused, mm);
    assert!(
        cifar_infer::mismatch::mismatch_from_sweep(&s.model, &ranges, &gains, &sweep, &[2])
            .is_err()
    );
}
