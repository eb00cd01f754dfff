//! `--onnx` networks: float logits against onnxruntime's (tolerance in `onnx_support`), the
//! course network's layers through ONNX against its description + safetensors (same float and
//! fixed-point results), exact fixed point equal to the f64 path, and the command line.
mod onnx_support;

use cifar_infer::quantized::{PathPolicy, QuantizedModel};
use cifar_infer::{RangeSource, Setup, Sources};
use fxp_core::progress::Silent;
use fxp_core::LayerPrecision;
use onnx_support::*;

#[test]
fn sequential_networks_match_onnxruntime() {
    for (name, mean_std) in [
        ("seq", None),
        ("seq_dynamo", None),
        ("alexnet_small", Some((0.5, 0.5))),
    ] {
        let s = load(&format!("{name}.onnx"), mean_std);
        assert_eq!(s.model.classes, 10);
        assert_close(name, &float_logits(&s), &reference_logits(name));
    }
}

fn uniform(bits: u32, layers: usize) -> Vec<LayerPrecision> {
    vec![
        LayerPrecision {
            b_w: bits,
            b_a: bits
        };
        layers
    ]
}

/// Logits at a uniform precision with ranges from 100 calibration images.
fn fixed_point_logits(s: &Setup, bits: u32, policy: PathPolicy) -> Vec<f32> {
    let ranges = s.ranges_with(RangeSource::MAX, Some(100), &Silent).unwrap();
    let q = QuantizedModel::new(
        &s.model,
        &ranges,
        &uniform(bits, s.model.num_weight_layers()),
        policy,
    )
    .unwrap();
    let x = s.model.input_of(s.test.slice(0, s.test.len())).unwrap();
    s.model.forward_with(&q, x.view()).into_iter().collect()
}

#[test]
fn the_course_layers_through_onnx_equal_their_description() {
    // alexnet_small: the course network's layers and names at reduced widths, as ONNX and as
    // description (alexnet_small.json) + parameters (alexnet_small.safetensors).
    let onnx = load("alexnet_small.onnx", Some((0.5, 0.5)));
    let desc = Setup::load(&Sources {
        spec: Some(fixture("alexnet_small.json")),
        model: Some(fixture("alexnet_small.safetensors")),
        limit: Some(IMAGES),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(onnx.spec.preprocess, desc.spec.preprocess);
    assert_eq!(
        onnx.model.weight_layer_names(),
        desc.model.weight_layer_names()
    );
    assert_eq!(
        float_logits(&onnx),
        float_logits(&desc),
        "float, bit for bit"
    );
    let ro = onnx.ranges_with(RangeSource::MAX, Some(100), &Silent);
    let rd = desc.ranges_with(RangeSource::MAX, Some(100), &Silent);
    assert_eq!(ro.unwrap(), rd.unwrap(), "computed ranges");
    for bits in [4, 6, 8] {
        assert_eq!(
            fixed_point_logits(&onnx, bits, PathPolicy::Auto),
            fixed_point_logits(&desc, bits, PathPolicy::Auto),
            "B = {bits}"
        );
    }
}

#[test]
fn exact_fixed_point_equals_the_f64_path_on_onnx_networks() {
    for (name, mean_std) in [("seq", None), ("seq_dynamo", None)] {
        let s = load(&format!("{name}.onnx"), mean_std);
        for bits in [4, 8] {
            assert_eq!(
                fixed_point_logits(&s, bits, PathPolicy::Auto),
                fixed_point_logits(&s, bits, PathPolicy::F64Only),
                "{name}, B = {bits}"
            );
        }
    }
}

fn cifar_infer(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cifar-infer"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_takes_onnx_networks_and_says_how_their_input_is_made() {
    let seq = fixture("seq.onnx");
    let seq = seq.to_str().unwrap();
    let out = cifar_infer(&["eval", "--onnx", seq, "--images", "32", "--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("x = pixel/255"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["network"], "seq");
    assert_eq!(v["preprocess"]["scale"], 255.0);
    assert_eq!(v["preprocess"]["mean"], serde_json::json!([0.0, 0.0, 0.0]));
    let reference = reference_logits("seq");
    let expected: Vec<usize> = reference.chunks(10).map(argmax).collect();
    let predictions: Vec<usize> = serde_json::from_value(v["predictions"].clone()).unwrap();
    let ours: Vec<usize> = float_logits(&load("seq.onnx", None))
        .chunks(10)
        .map(argmax)
        .collect();
    assert_eq!(predictions, ours);
    let agree = predictions
        .iter()
        .zip(&expected)
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        agree >= IMAGES - 1,
        "{agree} of {IMAGES} predictions as onnxruntime's"
    );
    // Fixed point: ranges computed by default for an ONNX network (the npy files are the
    // course network's); the normalisation flags silence the note.
    let out = cifar_infer(&[
        "eval",
        "--onnx",
        seq,
        "--images",
        "32",
        "--bits",
        "8",
        "--calibration-images",
        "50",
        "--mean",
        "0",
        "--std",
        "1",
        "--json",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("note:"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ranges_source"], "max");
    // --onnx replaces --spec and --model.
    let out = cifar_infer(&["eval", "--onnx", seq, "--model", "x.safetensors"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--model"), "{err}");
    // An error of the file names it.
    let out = cifar_infer(&["eval", "--onnx", "Cargo.toml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Cargo.toml") && err.contains("ONNX"),
        "{err}"
    );
}

#[test]
fn every_subcommand_takes_an_onnx_network() {
    let alex = fixture("alexnet_small.onnx");
    let alex = alex.to_str().unwrap();
    let common = ["--onnx", alex, "--mean", "0.5", "--std", "0.5", "--json"];
    let runs: [&[&str]; 3] = [
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
        &[
            "bench",
            "--images",
            "20",
            "--bits",
            "8",
            "--calibration-images",
            "20",
        ],
        &["profile", "--calibration-images", "20"],
    ];
    for args in runs {
        let out = cifar_infer(&[args, &common[..]].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(v.is_object(), "{args:?}");
        if args[0] == "profile" {
            // The course npy files are not compared with another network's.
            assert_eq!(v["matches_data_files"], serde_json::json!({}));
            assert_eq!(v["layers"].as_array().map(Vec::len), Some(8));
        }
    }
}
