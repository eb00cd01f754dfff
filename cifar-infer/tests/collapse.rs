//! Issue 17's range collapse on the test network `bn-after-relu-outliers` (batch norm after
//! ReLU, raw 0..255 input, a first-layer channel that almost never fires:
//! `cifar-infer/testnets/bn-after-relu-outliers/`): at 8 bits the course's max ranges collapse,
//! MSE ranges stay within 2 points of float.
use cifar_infer::quant::ranges::{RangeMethod, DEFAULT_SAMPLE};
use cifar_infer::search::study::range_study;
use cifar_infer::{Setup, Sources};
use fxp_core::progress::Silent;
use std::path::PathBuf;

/// Test images the accuracies are measured on.
const TEST_IMAGES: usize = 300;
/// Calibration images (data_batch_1) behind the ranges: enough to include the image (1,648th)
/// on which the rare channel fires strongest, as any calibration over the whole batch does.
const CALIBRATION_IMAGES: usize = 2000;
/// Issue 17's criterion: MSE ranges at 8 bits within this many points of float.
const MSE_TOLERANCE: f64 = 2.0;
/// "Collapse": max ranges at 8 bits at least this many points below float.
const COLLAPSE: f64 = 10.0;

#[test]
fn max_ranges_collapse_at_8_bits_where_mse_ranges_stay_within_2_points_of_float() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testnets/bn-after-relu-outliers");
    let s = Setup::load(&Sources {
        spec: Some(dir.join("net.json")),
        model: Some(dir.join("model.safetensors")),
        limit: Some(TEST_IMAGES),
        ..Default::default()
    })
    .expect("the bundled data and test network");
    let calib = s.calibration().unwrap().take(CALIBRATION_IMAGES);
    let study = range_study(
        &s.model,
        &calib,
        &s.test,
        &[RangeMethod::Max, RangeMethod::Mse],
        &[8],
        DEFAULT_SAMPLE,
        100,
        &Silent,
    )
    .unwrap();
    let float = study.float_accuracy;
    let (max8, mse8) = (&study.rows[0], &study.rows[1]);
    assert_eq!(
        (max8.method, mse8.method, max8.bits, mse8.bits),
        (RangeMethod::Max, RangeMethod::Mse, 8, 8)
    );
    eprintln!(
        "float {float} %; 8 bits: max {} %, mse {} %",
        max8.accuracy, mse8.accuracy
    );
    assert!(
        max8.accuracy < float - COLLAPSE,
        "max ranges at 8 bits: {} % against float {float} % (expected a collapse of more \
         than {COLLAPSE} points)",
        max8.accuracy
    );
    assert!(
        mse8.accuracy >= float - MSE_TOLERANCE,
        "mse ranges at 8 bits: {} % against float {float} % (tolerance {MSE_TOLERANCE} points)",
        mse8.accuracy
    );
    // The cause: one layer's max input range is ruled by the rare channel, at least 2^4 times
    // the range MSE picks for it.
    let widest = max8
        .ranges
        .layers
        .iter()
        .zip(&mse8.ranges.layers)
        .map(|(m, e)| m.activation_range / e.activation_range)
        .fold(0f64, f64::max);
    assert!(widest >= 16.0, "largest max/mse input-range ratio {widest}");
}
