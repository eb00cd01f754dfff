//! What the ONNX tests share: the fixtures of `tests/fixtures/onnx/` (made by
//! `make_onnx_fixtures.py`), their reference logits, and the comparison with its tolerance.
#![allow(dead_code)] // each test file uses its own part

use cifar_infer::{Setup, Sources};
use nn_cost::PreprocessOverride;
use std::path::PathBuf;

/// Test images the reference logits were computed on (the first of test_batch.bin).
pub const IMAGES: usize = 32;

/// Relative tolerance of a logit against onnxruntime's: |ours − ref| ≤ TOL · max_j |ref_j| of
/// the same image (f32 sums in a different order).
pub const TOL: f32 = 1e-4;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
}

/// The network of an ONNX fixture with the first IMAGES test images; `mean_std` sets
/// `--mean M --std S` (else x = pixel/255).
pub fn load(onnx: &str, mean_std: Option<(f32, f32)>) -> Setup {
    let input = match mean_std {
        Some((m, s)) => PreprocessOverride {
            scale: None,
            mean: vec![m],
            std: vec![s],
        },
        None => PreprocessOverride::default(),
    };
    Setup::load(&Sources {
        onnx: Some(fixture(onnx)),
        input,
        limit: Some(IMAGES),
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{onnx}: {e}"))
}

/// Float logits (IMAGES × classes) of the setup's test images.
pub fn float_logits(s: &Setup) -> Vec<f32> {
    let x = s.model.input_of(s.test.slice(0, s.test.len())).unwrap();
    s.model.forward(x.view()).into_iter().collect()
}

/// onnxruntime's logits of a fixture (`<name>_logits.npy`, float32 IMAGES × 10).
pub fn reference_logits(name: &str) -> Vec<f32> {
    let bytes = std::fs::read(fixture(&format!("{name}_logits.npy"))).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "an npy file");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + header_len]);
    assert!(
        header.contains("'<f4'") && header.contains(&format!("({IMAGES}, 10)")),
        "{header}"
    );
    bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Checks ours against the reference within [`TOL`], image by image, and that the predicted
/// classes agree wherever the reference's top two logits are apart by more than the tolerance.
pub fn assert_close(name: &str, ours: &[f32], reference: &[f32]) {
    assert_eq!(ours.len(), reference.len(), "{name}: logit count");
    for (i, (a, r)) in ours.chunks(10).zip(reference.chunks(10)).enumerate() {
        let scale = r.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (j, (x, y)) in a.iter().zip(r).enumerate() {
            assert!(
                (x - y).abs() <= TOL * scale,
                "{name}: image {i} logit {j}: ours {x}, onnxruntime {y} (tolerance {TOL} × {scale})"
            );
        }
        let mut sorted = r.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] > 2.0 * TOL * scale {
            assert_eq!(argmax(a), argmax(r), "{name}: image {i}: predicted class");
        }
    }
}

pub fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}
