//! Quantizers against hand-computed values, and their properties.
use fxp_core::quant::{Quantizer, Rounding, Signedness};
use fxp_core::FxpError;
use proptest::prelude::*;

#[test]
fn signed_hand_computed() {
    // r = 1, B = 3: Δ = 0.25, levels −4..3 → values −1 … 0.75
    let q = Quantizer::signed(1.0, 3).unwrap();
    assert_eq!(q.step(), 0.25);
    let cases = [
        (0.0, 0.0),
        (0.1, 0.0),
        (0.125, 0.0), // tie → even level 0
        (0.375, 0.5), // tie 1.5 → 2
        (0.3, 0.25),
        (0.9, 0.75), // saturates at the top level 1 − 2^(1−B)
        (5.0, 0.75),
        (-1.0, -1.0), // the bottom level is −r
        (-7.0, -1.0),
        (-0.625, -0.5), // tie −2.5 → −2
    ];
    for (x, want) in cases {
        assert_eq!(q.quantize(x), want, "q({x})");
    }
}

#[test]
fn unsigned_hand_computed() {
    // r = 8, B = 4: Δ = 0.5, levels 0..15 → 0 … 7.5
    let q = Quantizer::unsigned(8.0, 4).unwrap();
    assert_eq!(q.step(), 0.5);
    for (x, want) in [
        (-3.0, 0.0),
        (0.24, 0.0),
        (0.25, 0.0),
        (0.75, 1.0),
        (3.3, 3.5),
        (7.9, 7.5),
        (100.0, 7.5),
    ] {
        assert_eq!(q.quantize(x), want, "q({x})");
    }
    assert_eq!(q.level(7.9), 15);
}

#[test]
fn course_formula_matches() {
    // q(x) = r·min(2^(1−B)·round(clamp(x,−r,r)/(2^(1−B) r)), 1 − 2^(1−B)) with numpy's round
    let (r, b) = (0.25, 5u32);
    let q = Quantizer::signed(r, b).unwrap();
    let s = (2f64).powi(1 - b as i32);
    for i in -400..400 {
        let x = i as f64 * 0.0013;
        let course = r * (s * (x.clamp(-r, r) / (s * r)).round_ties_even()).min(1.0 - s);
        assert_eq!(q.quantize(x), course, "x = {x}");
    }
}

#[test]
fn rounding_modes() {
    let q = Quantizer::signed(1.0, 3).unwrap();
    assert_eq!(q.with_rounding(Rounding::HalfAway).quantize(0.125), 0.25);
    assert_eq!(q.with_rounding(Rounding::Floor).quantize(-0.1), -0.25);
    assert_eq!(q.with_rounding(Rounding::TowardZero).quantize(-0.1), 0.0);
    assert_eq!(q.with_rounding(Rounding::HalfEven).quantize(0.125), 0.0);
}

#[test]
fn bad_parameters_are_errors() {
    assert!(matches!(
        Quantizer::signed(1.0, 0),
        Err(FxpError::BitsOutOfRange { bits: 0 })
    ));
    assert!(matches!(
        Quantizer::signed(1.0, 33),
        Err(FxpError::BitsOutOfRange { bits: 33 })
    ));
    assert!(matches!(
        Quantizer::unsigned(0.0, 8),
        Err(FxpError::InvalidRange { .. })
    ));
    assert!(matches!(
        Quantizer::unsigned(-1.0, 8),
        Err(FxpError::InvalidRange { .. })
    ));
    assert!(matches!(
        Quantizer::signed(f64::NAN, 8),
        Err(FxpError::InvalidRange { .. })
    ));
    let q = Quantizer::new(Signedness::Signed, 1.0, 8, Rounding::HalfEven).unwrap();
    let mut xs = [0.5f32, f32::NAN];
    let err = q.quantize_slice_f32(&mut xs).unwrap_err();
    assert!(err.to_string().contains("index 1"), "{err}");
    let mut ys = [0.5f64, f64::INFINITY];
    assert!(q.quantize_slice_f64(&mut ys).is_err());
}

#[test]
fn ndarray_and_32_bits() {
    let q = Quantizer::signed(2.0, 32).unwrap();
    let a = ndarray::arr1(&[0.1, -0.3, 1.999]);
    let out = q.quantize_array(&a).unwrap();
    for (x, y) in a.iter().zip(out.iter()) {
        assert!((x - y).abs() <= q.step());
    }
    assert_eq!(q.max_level(), (1i64 << 31) - 1);
}

proptest! {
    #[test]
    fn output_is_a_level_within_range(x in -100.0f64..100.0, bits in 1u32..=16, signed in any::<bool>(), e in -4i32..5) {
        let r = (2f64).powi(e);
        let q = if signed { Quantizer::signed(r, bits) } else { Quantizer::unsigned(r, bits) }.unwrap();
        let y = q.quantize(x);
        let k = y / q.step();
        prop_assert_eq!(k, k.round());
        prop_assert!(k >= q.min_level() as f64 && k <= q.max_level() as f64);
        // saturation: the top value is r − Δ, the bottom −r (signed) or 0
        prop_assert!(y <= r - q.step());
        let lo = if signed { -r } else { 0.0 };
        prop_assert!(y >= lo);
        // inside the range the error is at most Δ/2
        if x >= lo && x <= r - q.step() {
            prop_assert!((y - x).abs() <= q.step() / 2.0 + 1e-15);
        }
    }

    #[test]
    fn monotone(a in -10.0f64..10.0, b in -10.0f64..10.0, bits in 1u32..=12) {
        let q = Quantizer::signed(4.0, bits).unwrap();
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(q.quantize(lo) <= q.quantize(hi));
    }
}

/// `level` (fast half-to-even by the 1.5·2^52 trick) equals the plain libm reference
/// clamp(round_ties_even(x/Δ), min, max) on random values, exact ties and the range ends.
#[test]
fn level_equals_reference_rounding() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    for bits in [1, 2, 4, 7, 8, 12, 16, 24, 32] {
        for q in [
            Quantizer::signed(1.0, bits).unwrap(),
            Quantizer::unsigned(8.0, bits).unwrap(),
            Quantizer::signed(0.3, bits).unwrap(),
        ] {
            let mut xs: Vec<f64> = (0..20000).map(|_| rng.gen_range(-12.0..12.0)).collect();
            xs.extend((-300..300).map(|k| (k as f64 + 0.5) * q.step()));
            xs.extend([
                0.0,
                -0.0,
                1.0,
                -1.0,
                8.0,
                f64::MAX,
                f64::MIN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ]);
            for x in xs {
                let reference = (x / q.step())
                    .round_ties_even()
                    .clamp(q.min_level() as f64, q.max_level() as f64)
                    as i64;
                assert_eq!(q.level(x), reference, "x = {x}, {q:?}");
            }
        }
    }
}

/// The f32 leveler equals `level(x as f64)` on random values of every magnitude, exact ties,
/// the saturation edges, infinities, NaN and subnormals.
#[test]
fn f32_leveler_equals_level() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut checked = 0;
    for bits in 1..=20 {
        for e in -6..=6 {
            let r = 2f64.powi(e);
            for q in [
                Quantizer::signed(r, bits).unwrap(),
                Quantizer::unsigned(r, bits).unwrap(),
            ] {
                let lv = q.f32_leveler().expect("power-of-two range, B ≤ 20");
                let step = q.step();
                let mut xs: Vec<f32> = vec![
                    0.0,
                    -0.0,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::NAN,
                    f32::MIN_POSITIVE / 4.0,
                    -f32::MIN_POSITIVE / 4.0,
                    f32::MAX,
                    f32::MIN,
                    r as f32,
                    -r as f32,
                ];
                for k in q.min_level() - 2..=(q.min_level() + 3).min(q.max_level() + 2) {
                    xs.push(((k as f64 + 0.5) * step) as f32);
                }
                for k in q.max_level() - 3..=q.max_level() + 2 {
                    xs.push(((k as f64 + 0.5) * step) as f32);
                    xs.push((k as f64 * step) as f32);
                }
                for _ in 0..300 {
                    let mag = 2f32.powi(rng.gen_range(-30..8));
                    xs.push(rng.gen_range(-1.0f32..1.0) * mag);
                    // ties of random levels
                    let k = rng.gen_range(q.min_level()..=q.max_level());
                    xs.push(((k as f64 + 0.5) * step) as f32);
                }
                for &x in &xs {
                    assert_eq!(
                        lv.level(x) as i64,
                        q.level(x as f64),
                        "B={bits} r={r} {:?} x={x:e}",
                        q.signedness()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100_000);
}

#[test]
fn f32_leveler_only_where_exact() {
    assert!(Quantizer::signed(3.0, 8).unwrap().f32_leveler().is_none());
    assert!(Quantizer::signed(1.0, 21).unwrap().f32_leveler().is_none());
    assert!(Quantizer::signed(1.0, 8)
        .unwrap()
        .with_rounding(Rounding::Floor)
        .f32_leveler()
        .is_none());
    assert!(Quantizer::unsigned(2f64.powi(-140), 4)
        .unwrap()
        .f32_leveler()
        .is_none());
}
