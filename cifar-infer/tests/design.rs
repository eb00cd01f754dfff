//! The precision designer on the bundled test network `bn-after-relu` (batch norm after ReLU,
//! raw 0..255 input; `cifar-infer/testnets/bn-after-relu/`): range methods, the exact
//! accumulator reference, the budgeted search.
use cifar_infer::eval::evaluate;
use cifar_infer::quant::accumulators::{analyze, Accumulator, ReferenceModel};
use cifar_infer::quant::ranges::{CalibrationSample, RangeMethod, DEFAULT_SAMPLE};
use cifar_infer::quantized::{PathPolicy, QuantizedModel};
use cifar_infer::search::study::{search_study, SearchSettings};
use cifar_infer::search::{bound, bound_optimal, CostMetric};
use cifar_infer::{CifarSet, FloatKernel, Setup, Sources};
use fxp_core::progress::Silent;
use fxp_core::LayerPrecision;
use std::path::PathBuf;

fn testnet() -> (Setup, CifarSet) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testnets/bn-after-relu");
    let s = Setup::load(&Sources {
        spec: Some(dir.join("net.json")),
        model: Some(dir.join("model.safetensors")),
        limit: Some(300),
        ..Default::default()
    })
    .expect("the bundled data and test network");
    let calib = s.calibration().unwrap().take(300);
    (s, calib)
}

fn accuracy(s: &Setup, cal: &CalibrationSample, method: RangeMethod, b: u32) -> f64 {
    let p = vec![LayerPrecision { b_w: b, b_a: b }; 4];
    let r = cal.ranges(method, &p).unwrap().ranges();
    let q = QuantizedModel::new(&s.model, &r, &p, PathPolicy::Auto).unwrap();
    evaluate(&s.model, &q, &s.test, 100, &Silent)
        .unwrap()
        .accuracy
}

#[test]
fn mse_ranges_stay_near_float_where_max_ranges_drop() {
    let (s, calib) = testnet();
    let cal = CalibrationSample::collect(&s.model, &calib, DEFAULT_SAMPLE, 100).unwrap();
    let float = evaluate(&s.model, &FloatKernel, &s.test, 100, &Silent)
        .unwrap()
        .accuracy;
    let (max8, mse8) = (
        accuracy(&s, &cal, RangeMethod::Max, 8),
        accuracy(&s, &cal, RangeMethod::Mse, 8),
    );
    let (max4, mse4) = (
        accuracy(&s, &cal, RangeMethod::Max, 4),
        accuracy(&s, &cal, RangeMethod::Mse, 4),
    );
    eprintln!("float {float}; 8 bits: max {max8}, mse {mse8}; 4 bits: max {max4}, mse {mse4}");
    // Issue 17's criterion: MSE ranges at 8 bits within 2 points of float (300 test images).
    assert!(mse8 >= float - 2.0, "mse at 8 bits {mse8} vs float {float}");
    // At 4 bits the max ranges, ruled by the largest values, lose far more than the MSE ones:
    // at least 15 points apart (measured on 300 images: see the report).
    assert!(mse4 - max4 >= 15.0, "4 bits: mse {mse4} vs max {max4}");
    // The max method is the course's: its ranges are those of Ranges::compute.
    let p = vec![LayerPrecision { b_w: 8, b_a: 8 }; 4];
    assert_eq!(cal.ranges(RangeMethod::Max, &p).unwrap().ranges(), cal.max);
    // MSE never picks a larger error than max on the sample it minimises over.
    let (rm, rx) = (
        cal.ranges(RangeMethod::Mse, &p).unwrap(),
        cal.ranges(RangeMethod::Max, &p).unwrap(),
    );
    for (a, b) in rm.layers.iter().zip(&rx.layers) {
        assert!(a.activation_noise.total() <= b.activation_noise.total());
        assert!(a.weight_noise.total() <= b.weight_noise.total());
    }
}

#[test]
fn reference_accumulators_match_the_exact_kernels_and_overflow_as_defined() {
    let (s, calib) = testnet();
    let p = vec![LayerPrecision { b_w: 6, b_a: 6 }; 4];
    let ranges = cifar_infer::Ranges::compute(&s.model, &calib, 100).unwrap();
    let q = QuantizedModel::new(&s.model, &ranges, &p, PathPolicy::Auto).unwrap();
    let fast = evaluate(&s.model, &q, &s.test, 100, &Silent).unwrap();
    let exact = ReferenceModel::new(&s.model, &ranges, &p, Accumulator::Exact).unwrap();
    let slow = evaluate(&s.model, &exact, &s.test, 100, &Silent).unwrap();
    // Same codes, same Σ k_a·k_w, same epilogue: identical predictions.
    assert_eq!(fast.predictions, slow.predictions);
    let widths = [8, 12, 16, 24, 40];
    let small = s.test.take(100);
    let r = analyze(
        &s.model,
        &ranges,
        &p,
        &calib.take(50),
        &small,
        &widths,
        50,
        &Silent,
    )
    .unwrap();
    for l in &r.layers {
        assert!(l.reached_bits <= l.reached_partial_bits, "{l:?}");
        assert!(l.reached_partial_bits <= l.worst_case_bits, "{l:?}");
        assert!(l.worst_case_bits <= l.assumed_bits + 1, "{l:?}");
    }
    // Wide enough for every sum: both cut accumulators give the exact accuracy.
    let last = r.points.last().unwrap();
    assert_eq!(last.wrap_accuracy, r.exact_accuracy);
    assert_eq!(last.saturate_accuracy, r.exact_accuracy);
    // 8 bits is far below every reached width: wrap-around destroys the network.
    assert!(
        r.points[0].wrap_accuracy < r.exact_accuracy - 20.0,
        "{:?}",
        r.points[0]
    );
}

#[test]
fn search_meets_its_tolerance_on_calibration_and_beats_the_baselines() {
    let (s, calib) = testnet();
    let table = s.spec.analyze().unwrap();
    let ranges = cifar_infer::Ranges::compute(&s.model, &calib, 100).unwrap();
    let settings = SearchSettings {
        tolerance: 2.0,
        // The plain rule on the searched images: the greedy's own answer is kept.
        z: 0.0,
        validation_images: 0,
        metrics: vec![CostMetric::Bops, CostMetric::Rep],
        uniform_bits: (3..=10).collect(),
        b_min: vec![],
        offsets: None,
        gain_images: 50,
        batch: 100,
    };
    let st = search_study(
        &s.model, &table, &ranges, &calib, &s.test, &settings, &Silent,
    )
    .unwrap();
    let threshold = st.float_calibration_accuracy - 2.0;
    for m in &st.searches {
        assert!(
            m.searched.calibration_accuracy.unwrap() >= threshold,
            "{m:?}"
        );
        assert_eq!(m.searched.validated, Some(true), "{m:?}");
        // Never costlier than its start, the cheapest feasible baseline on calibration.
        let start = st.uniform.iter().find(|a| a.label == m.start).unwrap();
        assert!(m.searched.costs.get(m.metric) <= start.costs.get(m.metric));
        // The profiler differentiates through batch norm: every metric has its bound-optimal
        // assignment.
        assert!(m.bound_optimal.is_some(), "{m:?}");
    }
    assert!(st.no_bound.is_none(), "{:?}", st.no_bound);
    // Bound allocation: a smaller budget never costs less.
    let unsigned = s.model.nonnegative_inputs();
    let gains = [1.0, 1.0, 1.0, 1.0];
    let a = bound_optimal(
        &table,
        CostMetric::Bops,
        &ranges,
        &gains,
        &gains,
        &unsigned,
        1e-2,
    )
    .unwrap();
    let b = bound_optimal(
        &table,
        CostMetric::Bops,
        &ranges,
        &gains,
        &gains,
        &unsigned,
        1e-4,
    )
    .unwrap();
    assert!(CostMetric::Bops.of(&table, &a).unwrap() <= CostMetric::Bops.of(&table, &b).unwrap());
    assert!(bound(&b, &ranges, &gains, &gains, &unsigned).unwrap() <= 1e-4);
}

#[test]
fn design_subcommands_give_the_same_json_on_one_and_two_threads() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testnets/bn-after-relu");
    let (spec, model) = (dir.join("net.json"), dir.join("model.safetensors"));
    let net = [
        "--spec",
        spec.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--images",
        "40",
        "--calibration-images",
        "40",
        "--json",
    ];
    let runs: Vec<(&str, Vec<&str>)> = vec![
        ("ranges", vec!["--bits", "4", "--ranges", "max,mse"]),
        ("accumulators", vec!["--widths", "12,16"]),
        (
            "search",
            vec![
                "--cost",
                "bops",
                "--tolerance",
                "5",
                "--validation-images",
                "40",
                "--z",
                "0",
            ],
        ),
    ];
    for (cmd, extra) in runs {
        let out = |threads: &str| {
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_cifar-infer"))
                .arg(cmd)
                .args(net)
                .args(&extra)
                .env("RAYON_NUM_THREADS", threads)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
        };
        assert_eq!(out("1"), out("2"), "{cmd}");
    }
}
