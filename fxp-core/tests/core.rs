//! Fixed-point arithmetic, statistics, cost model, IO and the Problem 1 snapshot.
use fxp_core::cost::{
    dot_product_fa, network_cost, AccumulatorConvention, LayerCounts, LayerPrecision,
};
use fxp_core::fixed::{FixedFormat, Overflow};
use fxp_core::json::round_json;
use fxp_core::quant::Rounding;
use fxp_core::sqnr::{self, InputDist, SqnrConfig};
use fxp_core::stats;

#[test]
fn fixed_point_arithmetic_is_exact() {
    let f = FixedFormat::new(true, 1, 6).unwrap(); // s1.6
    let a = f
        .from_f64(1.25, Rounding::HalfEven, Overflow::Saturate)
        .unwrap();
    let b = f
        .from_f64(-0.515625, Rounding::HalfEven, Overflow::Saturate)
        .unwrap();
    let p = a.mul(&b).unwrap();
    assert_eq!(p.to_f64(), 1.25 * -0.515625);
    assert_eq!(p.format.frac_bits, 12);
    let s = a.add(&b).unwrap();
    assert_eq!(s.to_f64(), 1.25 - 0.515625);
    assert_eq!(s.format.int_bits, 2);
    // requantize to s1.2: 1.25·−0.515625 = −0.64453125 → −0.75 (nearest multiple of 0.25)
    let r = p.requantize(
        FixedFormat::new(true, 1, 2).unwrap(),
        Rounding::HalfEven,
        Overflow::Saturate,
    );
    assert_eq!(r.to_f64(), -0.75);
}

#[test]
fn fixed_point_overflow() {
    let f = FixedFormat::new(true, 0, 3).unwrap(); // [−1, 0.875]
    let sat = f
        .from_f64(3.0, Rounding::HalfEven, Overflow::Saturate)
        .unwrap();
    assert_eq!(sat.to_f64(), 0.875);
    let wrap = f.from_f64(1.0, Rounding::HalfEven, Overflow::Wrap).unwrap();
    assert_eq!(wrap.to_f64(), -1.0);
    assert!(f
        .from_f64(f64::NAN, Rounding::HalfEven, Overflow::Saturate)
        .is_err());
    assert!(FixedFormat::new(true, 40, 40).is_err());
}

#[test]
fn statistics() {
    assert_eq!(stats::dynamic_range_pow2([0.3, -0.7, 0.1]).unwrap(), 1.0);
    assert_eq!(stats::dynamic_range_pow2([5.0]).unwrap(), 8.0);
    assert_eq!(stats::dynamic_range_pow2([4.0]).unwrap(), 4.0);
    assert_eq!(stats::dynamic_range_pow2([0.126]).unwrap(), 0.25);
    assert!(stats::dynamic_range_pow2(std::iter::empty()).is_err());
    assert!(stats::dynamic_range_pow2([0.0]).is_err());
    assert!(stats::dynamic_range_pow2([f64::NAN]).is_err());
    assert!((stats::power(&[1.0, -1.0, 3.0]).unwrap() - 11.0 / 3.0).abs() < 1e-15);
    assert!((stats::sqnr_db(&[1.0, 1.0], &[0.9, 1.1]).unwrap() - 20.0).abs() < 1e-9);
    assert!(
        (stats::sqnr_formula_db(8, 3f64.sqrt()) - (8.0 * 6.0206 + 4.7712 - 4.7712)).abs() < 1e-3
    );
}

#[test]
fn cost_model_conventions() {
    // D = 4: printed accumulator B_A + B_W + log2 4 − 1 = 17 at 8+8 bits; seed 8+8+2 = 18
    assert_eq!(
        dot_product_fa(4, 8, 8, AccumulatorConvention::Printed),
        4.0 * 64.0 + 3.0 * 17.0
    );
    assert_eq!(
        dot_product_fa(4, 8, 8, AccumulatorConvention::Seed),
        4.0 * 64.0 + 3.0 * 18.0
    );
    let layers = [LayerCounts {
        r_w: 10,
        r_a: 5,
        n: 2,
        d: 4,
    }];
    let prec = [LayerPrecision { b_w: 8, b_a: 8 }];
    let (rep, comp) = network_cost(&layers, &prec, AccumulatorConvention::Seed).unwrap();
    assert_eq!(rep, 120.0);
    assert_eq!(comp, 2.0 * (256.0 + 54.0));
    assert!(network_cost(&layers, &[], AccumulatorConvention::Seed).is_err());
}

#[test]
fn atomic_write_replaces_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/out.json");
    fxp_core::io::write_json(&p, &serde_json::json!({"a": 1})).unwrap();
    fxp_core::io::write_json(&p, &serde_json::json!({"a": 2})).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\n  \"a\": 2\n}\n");
    let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left behind");
}

#[test]
fn clipped_gaussian_sigma() {
    // E[clamp(Z,−4,4)²] is just below 1 (tail mass 6.3e-5)
    let v = sqnr::clipped_normal_variance(4.0);
    assert!(v < 1.0 && v > 0.9997, "{v}");
}

#[test]
fn clipped_fraction_of_the_gaussian_peak() {
    // P(|Z| > 4) = erfc(4/√2) = 6.334248e-5
    let t = sqnr::normal_two_sided_tail(4.0);
    assert!((t - 6.334248e-5).abs() < 1e-10, "{t}");
    assert_eq!(InputDist::Uniform.clipped_fraction(), 0.0);
    assert_eq!(InputDist::GaussianClipped.clipped_fraction(), t);
}

fn small_config() -> SqnrConfig {
    SqnrConfig {
        ns: vec![1, 16, 256],
        bits: vec![2, 6, 10, 14],
        dists: InputDist::ALL.to_vec(),
        samples: 4000,
        seed: 7,
    }
}

#[test]
fn formula_agrees_where_the_model_holds() {
    let rows = sqnr::run(&small_config()).unwrap();
    let valid: Vec<_> = rows.iter().filter(|r| r.model_valid).collect();
    assert!(valid.len() >= 12);
    for r in valid {
        let gap = (r.sqnr_measured_db - r.sqnr_formula_exact_db).abs();
        assert!(gap < 0.5, "N={} B={} {}: gap {gap}", r.n, r.b_y, r.dist);
    }
    // with 2 bits and N = 256 the output is mostly zero: measured ≈ 0 dB, formula far below
    let r = rows
        .iter()
        .find(|r| r.n == 256 && r.b_y == 2 && r.dist == "uniform")
        .unwrap();
    assert!(r.sqnr_measured_db.abs() < 1.0 && r.sqnr_formula_db < -5.0);
}

#[test]
fn sqnr_is_deterministic_across_thread_counts() {
    let cfg = small_config();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| sqnr::run(&cfg).unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| sqnr::run(&cfg).unwrap());
    assert_eq!(one, two);
}

#[test]
fn sqnr_rejects_bad_config() {
    let mut cfg = small_config();
    cfg.bits = vec![0];
    assert!(sqnr::run(&cfg).is_err());
    let mut cfg = small_config();
    cfg.ns = vec![0];
    assert!(sqnr::run(&cfg).is_err());
}

#[test]
fn sqnr_snapshot() {
    let rows = sqnr::run(&small_config()).unwrap();
    insta::assert_json_snapshot!(round_json(&serde_json::to_value(rows).unwrap(), 5));
}
