//! Accuracy snapshots on the first 200 test images, and the exactness of the integer kernel path
//! against the float-code path on real images.
use cifar_infer::eval::evaluate;
use cifar_infer::quantized::{KernelPath, PathPolicy, QuantizedModel};
use cifar_infer::sweep::{eval_uniform, uniform_sweep, SweepMode, SweepOptions};
use cifar_infer::{FloatKernel, RangeSource, Setup, Sources};
use fxp_core::LayerPrecision;
use serde_json::json;

const N: usize = 200;

fn setup() -> Setup {
    Setup::load(&Sources {
        limit: Some(N),
        ..Default::default()
    })
    .expect("the bundled homework data (data/)")
}

#[test]
fn float_and_quantized_accuracy_on_200_images() {
    let s = setup();
    let ranges = s.ranges(RangeSource::Npy).unwrap();
    assert_eq!(
        ranges.weight,
        vec![1.0, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.25],
        "data README r_W"
    );
    let fl = evaluate(
        &s.model,
        &FloatKernel,
        &s.test,
        100,
        &fxp_core::progress::Silent,
    )
    .unwrap();
    let mut q = serde_json::Map::new();
    for b in [4, 6, 8, 12] {
        let r = eval_uniform(
            &s.model,
            &s.test,
            &ranges,
            b,
            100,
            PathPolicy::Auto,
            &fxp_core::progress::Silent,
        )
        .unwrap();
        q.insert(
            b.to_string(),
            json!({"accuracy": r.accuracy, "correct": r.correct}),
        );
    }
    insta::assert_json_snapshot!(json!({
        "n": fl.n,
        "float": {"accuracy": fl.accuracy, "correct": fl.correct, "first_predictions": &fl.predictions[..20]},
        "uniform": q,
    }));
}

#[test]
fn integer_path_equals_float_code_path_on_images() {
    let s = setup();
    let ranges = s.ranges(RangeSource::Npy).unwrap();
    let few = s.test.take(8);
    let x = s.model.input_of(few.slice(0, few.len())).unwrap();
    for (b_w, b_a) in [(8, 8), (6, 5), (12, 10), (16, 16)] {
        let p = vec![LayerPrecision { b_w, b_a }; s.model.num_weight_layers()];
        let auto = QuantizedModel::new(&s.model, &ranges, &p, PathPolicy::Auto).unwrap();
        let codes = QuantizedModel::new(&s.model, &ranges, &p, PathPolicy::FloatCodes).unwrap();
        assert!(codes.paths().iter().all(|&k| k != KernelPath::Int8));
        if b_w == 16 {
            assert!(
                codes.paths().iter().all(|&k| k == KernelPath::F64),
                "{:?}",
                codes.paths()
            );
        }
        if cifar_infer::bench::has_simd() {
            assert!(
                auto.paths().iter().all(|&k| k == KernelPath::Int8),
                "{:?}",
                auto.paths()
            );
        }
        let la = s.model.forward_with(&auto, x.view());
        let lc = s.model.forward_with(&codes, x.view());
        assert_eq!(
            la,
            lc,
            "B_W={b_w} B_A={b_a}: integer vs float codes {:?}",
            codes.paths()
        );
        if b_w == 8 {
            // The slow all-f64 reference, once.
            let f64only = QuantizedModel::new(&s.model, &ranges, &p, PathPolicy::F64Only).unwrap();
            let lf = s.model.forward_with(&f64only, x.view());
            assert_eq!(lc, lf, "B_W={b_w} B_A={b_a}: float codes vs f64");
        }
    }
}

#[test]
fn bisection_finds_the_full_scan_minimum() {
    let s = setup();
    let ranges = s.ranges(RangeSource::Npy).unwrap();
    let small = s.test.take(40);
    let base = SweepOptions {
        min_bits: 3,
        max_bits: 8,
        ..Default::default()
    };
    let full = uniform_sweep(
        &s.model,
        &small,
        &ranges,
        &base,
        &fxp_core::progress::Silent,
    )
    .unwrap();
    let bis = uniform_sweep(
        &s.model,
        &small,
        &ranges,
        &SweepOptions {
            mode: SweepMode::Bisect,
            ..base
        },
        &fxp_core::progress::Silent,
    )
    .unwrap();
    assert_eq!(full.points.len(), 6);
    assert!(full.min_bits.is_some(), "{full:?}");
    assert!(bis.points.len() < full.points.len());
    assert_eq!(bis.min_bits, full.min_bits);
    assert_eq!(bis.min_bits_accuracy, full.min_bits_accuracy);
}
