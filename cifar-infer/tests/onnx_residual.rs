//! ONNX networks with residual blocks, batch norm, grouped/dilated convs and ReLU6: float
//! logits against onnxruntime's (tolerance in `onnx_support`) and exact fixed point equal to
//! the f64 path; `sweep` and `profile` run on them. These need inference of residual networks
//! (`net::model`).
mod onnx_support;

use cifar_infer::quantized::{PathPolicy, QuantizedModel};
use cifar_infer::RangeSource;
use fxp_core::progress::Silent;
use fxp_core::LayerPrecision;
use onnx_support::*;

const NETS: [(&str, Option<(f32, f32)>); 2] = [("resnet", Some((0.5, 0.5))), ("depthwise", None)];

#[test]
fn residual_and_depthwise_networks_match_onnxruntime() {
    for (name, mean_std) in NETS {
        let s = load(&format!("{name}.onnx"), mean_std);
        assert_close(name, &float_logits(&s), &reference_logits(name));
    }
}

#[test]
fn exact_fixed_point_equals_the_f64_path_on_residual_networks() {
    for (name, mean_std) in NETS {
        let s = load(&format!("{name}.onnx"), mean_std);
        let ranges = s.ranges_with(RangeSource::MAX, Some(100), &Silent).unwrap();
        let x = s.model.input_of(s.test.slice(0, s.test.len())).unwrap();
        for bits in [4, 8] {
            let p = vec![
                LayerPrecision {
                    b_w: bits,
                    b_a: bits
                };
                s.model.num_weight_layers()
            ];
            let logits = |policy| {
                let q = QuantizedModel::new(&s.model, &ranges, &p, policy).unwrap();
                s.model.forward_with(&q, x.view())
            };
            assert_eq!(
                logits(PathPolicy::Auto),
                logits(PathPolicy::F64Only),
                "{name}, B = {bits}"
            );
        }
    }
}

#[test]
fn sweep_and_profile_run_on_the_resnet() {
    let resnet = fixture("resnet.onnx");
    let common = [
        "--onnx",
        resnet.to_str().unwrap(),
        "--mean",
        "0.5",
        "--std",
        "0.5",
        "--json",
    ];
    let runs: [&[&str]; 2] = [
        &[
            "sweep",
            "--images",
            "50",
            "--calibration-images",
            "50",
            "--min-bits",
            "4",
            "--max-bits",
            "5",
        ],
        &["profile", "--calibration-images", "20"],
    ];
    for args in runs {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cifar-infer"))
            .args([args, &common[..]].concat())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v.is_object(), "{args:?}");
    }
}

/// PyTorch's predicted class of each of the 10,000 test images (`resnet_trained_predictions.npy`,
/// uint8, made with the network by `make_trained_resnet.py`).
fn pytorch_predictions() -> Vec<u8> {
    let bytes = std::fs::read(fixture("resnet_trained_predictions.npy")).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY", "an npy file");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = String::from_utf8_lossy(&bytes[10..10 + header_len]);
    assert!(
        header.contains("'|u1'") && header.contains("(10000,)"),
        "{header}"
    );
    bytes[10 + header_len..].to_vec()
}

#[test]
fn a_trained_resnet_from_pytorch_predicts_as_pytorch_on_every_test_image() {
    // torch.onnx.export of a ResNet with batch norm unfused and 1×1 downsampling shortcuts,
    // input x = pixel/255 (the default for an ONNX network).
    let s = cifar_infer::Setup::load(&cifar_infer::Sources {
        onnx: Some(fixture("resnet_trained.onnx")),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(s.test.len(), 10_000);
    let ours = cifar_infer::eval::evaluate(
        &s.model,
        &cifar_infer::FloatKernel,
        &s.test,
        cifar_infer::eval::DEFAULT_BATCH,
        &Silent,
    )
    .unwrap();
    let theirs = pytorch_predictions();
    let differ = ours
        .predictions
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differ, 0,
        "{differ} of 10,000 predictions differ from PyTorch's"
    );
    // The network learned something: PyTorch's accuracy was 47.63 % (4,763 images).
    assert_eq!(ours.correct, 4_763);
}
