//! Loaders reject bad files with clear errors (corrupted copies are made inside the tests).
use cifar_infer::data::{resolve_data_dir, CifarSet, DataPaths, RECORD_BYTES};
use cifar_infer::model::{expected_tensors, Model};
use cifar_infer::weights::load_safetensors;
use cifar_infer::InferError;
use nn_cost::spec::NetworkSpec;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::Path;

fn data() -> DataPaths {
    resolve_data_dir(None).expect("the bundled homework data folder (data/)")
}

const TINY: &str = r#"{
  "name": "tiny", "input": [3, 8, 8],
  "preprocess": { "scale": 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
  "layers": [
    { "type": "conv", "name": "c1", "out_channels": 4, "kernel": 3, "padding": 1 },
    { "type": "relu" }, { "type": "max_pool", "kernel": 2 }, { "type": "flatten" },
    { "type": "linear", "name": "fc", "out_features": 10 }
  ]
}"#;

/// Writes a safetensors file of (name, dtype, shape) tensors filled with small values;
/// `nan` puts a NaN into the tensor of that name.
fn write_tensors(path: &Path, tensors: &[(&str, Dtype, Vec<usize>)], nan: Option<&str>) {
    let bufs: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(name, dtype, shape)| {
            let n: usize = shape.iter().product();
            let vals: Vec<f32> = (0..n)
                .map(|i| {
                    if Some(*name) == nan && i == 1 {
                        f32::NAN
                    } else {
                        (i % 7) as f32 * 0.01 - 0.03
                    }
                })
                .collect();
            match dtype {
                Dtype::F32 => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
                Dtype::F16 => vals
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
                Dtype::BF16 => vals
                    .iter()
                    .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                    .collect(),
                Dtype::F64 => vals
                    .iter()
                    .flat_map(|v| (*v as f64).to_le_bytes())
                    .collect(),
                _ => unimplemented!(),
            }
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bufs)
        .map(|((name, dtype, shape), b)| {
            (
                name.to_string(),
                TensorView::new(*dtype, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    let bytes = safetensors::tensor::serialize(views, &None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn tiny_tensors(dtype: Dtype) -> Vec<(&'static str, Dtype, Vec<usize>)> {
    vec![
        ("c1.weight", dtype, vec![4, 3, 3, 3]),
        ("c1.bias", dtype, vec![4]),
        ("fc.weight", dtype, vec![10, 64]),
        ("fc.bias", dtype, vec![10]),
    ]
}

#[test]
fn cifar_batch_truncated_label_and_empty_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data().test_batch().unwrap()).unwrap();
    let ok = dir.path().join("ok.bin");
    std::fs::write(&ok, &bytes[..3 * RECORD_BYTES]).unwrap();
    let set = CifarSet::load(&ok).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(
        set.labels,
        bytes
            .iter()
            .step_by(RECORD_BYTES)
            .take(3)
            .copied()
            .collect::<Vec<_>>()
    );

    let truncated = dir.path().join("truncated.bin");
    std::fs::write(&truncated, &bytes[..3 * RECORD_BYTES - 100]).unwrap();
    let e = CifarSet::load(&truncated).unwrap_err().to_string();
    assert!(
        e.contains("truncated.bin") && e.contains("not a multiple"),
        "{e}"
    );

    let label = dir.path().join("label10.bin");
    let mut b = bytes[..3 * RECORD_BYTES].to_vec();
    b[2 * RECORD_BYTES] = 10;
    std::fs::write(&label, &b).unwrap();
    let e = CifarSet::load(&label).unwrap_err().to_string();
    assert!(
        e.contains("label10.bin") && e.contains("record 2 has label 10"),
        "{e}"
    );

    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, []).unwrap();
    let e = CifarSet::load(&empty).unwrap_err().to_string();
    assert!(e.contains("empty.bin") && e.contains("empty"), "{e}");
}

#[test]
fn safetensors_f32_f16_bf16_load_and_run() {
    let spec = NetworkSpec::from_json_str(TINY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut logits = Vec::new();
    for dtype in [Dtype::F32, Dtype::F16, Dtype::BF16] {
        let p = dir.path().join(format!("{dtype:?}.safetensors"));
        write_tensors(&p, &tiny_tensors(dtype), None);
        let m = Model::load(&spec, &p).unwrap();
        let x = ndarray::Array4::from_elem((2, 3, 8, 8), 0.5f32);
        logits.push(m.forward(x.view()));
    }
    // The values −0.03..0.03 in steps of 0.01 round differently in each format, but all run.
    assert!(logits
        .iter()
        .all(|l| l.len() == 20 && l.iter().all(|v| v.is_finite())));
}

/// CIFAR images (3×32×32) given to a network of another input shape (3×8×8) are an error
/// naming both, not a panic.
#[test]
fn images_of_another_size_than_the_input_are_an_error() {
    let spec = NetworkSpec::from_json_str(TINY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny.safetensors");
    write_tensors(&p, &tiny_tensors(Dtype::F32), None);
    let m = Model::load(&spec, &p).unwrap();
    let set = CifarSet::from_bytes(&vec![0u8; 2 * RECORD_BYTES], Path::new("two.bin")).unwrap();
    let e = m.input_of(set.slice(0, 2)).unwrap_err().to_string();
    assert!(e.contains("3072 bytes") && e.contains("3×8×8"), "{e}");
    assert_eq!(m.input_of(set.slice(0, 0)).unwrap().dim(), (0, 3, 8, 8));
}

#[test]
fn safetensors_wrong_shape_missing_f64_are_all_listed() {
    let spec = NetworkSpec::from_json_str(TINY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.safetensors");
    write_tensors(
        &p,
        &[
            ("c1.weight", Dtype::F32, vec![4, 3, 5, 5]), // wrong shape
            ("c1.bias", Dtype::F64, vec![4]),            // unsupported dtype
            ("fc.weight", Dtype::F32, vec![10, 64]),
            // fc.bias missing
        ],
        None,
    );
    let e = Model::load(&spec, &p).unwrap_err();
    assert!(
        matches!(e, InferError::TensorMismatch { ref problems, .. } if problems.len() == 3),
        "{e}"
    );
    let msg = e.to_string();
    for needle in [
        "c1.weight has shape [4, 3, 5, 5], expected [4, 3, 3, 3]",
        "c1.bias has unsupported dtype F64",
        "missing tensor fc.bias",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
}

#[test]
fn safetensors_nan_weight_is_rejected() {
    let spec = NetworkSpec::from_json_str(TINY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nan.safetensors");
    write_tensors(&p, &tiny_tensors(Dtype::F16), Some("fc.weight"));
    let e = Model::load(&spec, &p).unwrap_err().to_string();
    assert!(
        e.contains("fc.weight") && e.contains("non-finite") && e.contains("index 1"),
        "{e}"
    );
}

#[test]
fn real_model_copy_with_a_tensor_dropped_and_one_reshaped_lists_both() {
    let spec = NetworkSpec::builtin("cifar-alexnet").unwrap();
    let bytes = std::fs::read(data().model()).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut kept: Vec<(String, TensorView)> = Vec::new();
    for (name, view) in st.tensors() {
        if name == "fc_layers.6.bias" {
            continue;
        }
        if name == "features.0.bias" {
            // 64 values presented as (8, 8).
            kept.push((
                name,
                TensorView::new(view.dtype(), vec![8, 8], view.data()).unwrap(),
            ));
            continue;
        }
        kept.push((name, view));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("corrupt.safetensors");
    std::fs::write(&p, safetensors::tensor::serialize(kept, &None).unwrap()).unwrap();
    let e = load_safetensors(&p, &expected_tensors(&spec).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing tensor fc_layers.6.bias"), "{e}");
    assert!(
        e.contains("features.0.bias has shape [8, 8], expected [64]"),
        "{e}"
    );
    assert!(e.contains("2 problem(s)"), "{e}");
}

/// Residual networks are run (they were refused before): ResNet-18's description asks for the
/// tensors of torchvision's state dict (without `num_batches_tracked`): 20 convs, 20 batch norms
/// of 4 tensors, the fc weight and bias; downsampling shortcuts included, body before shortcut.
#[test]
fn residual_networks_ask_for_torchvisions_tensors() {
    let spec = NetworkSpec::builtin("resnet18").unwrap();
    let t = expected_tensors(&spec).unwrap();
    assert_eq!(t.len(), 20 + 20 * 4 + 2);
    let shape = |n: &str| t.iter().find(|x| x.name == n).map(|x| x.shape.clone());
    assert_eq!(
        shape("layer2.0.downsample.0.weight"),
        Some(vec![128, 64, 1, 1])
    );
    assert_eq!(shape("layer4.1.bn2.running_var"), Some(vec![512]));
    assert_eq!(shape("fc.weight"), Some(vec![1000, 512]));
    let pos = |n: &str| t.iter().position(|x| x.name == n).unwrap();
    assert!(pos("layer2.0.conv2.weight") < pos("layer2.0.downsample.0.weight"));
}

#[test]
fn missing_data_dir_names_the_paths_tried() {
    let e = resolve_data_dir(Some(Path::new("/nonexistent/hw2")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/hw2") && e.contains("FXP_HW_DATA"),
        "{e}"
    );
}

/// Shapes come from nn-cost's inference: a description whose shapes do not fit is refused with
/// nn-cost's message naming the layer and field, and the tensors follow the inferred shapes.
#[test]
fn shapes_come_from_the_description() {
    // deserialized without NetworkSpec's own validation, to reach the inference side
    let bad: NetworkSpec = serde_json::from_str(
        r#"{"name": "bad", "input": [3, 8, 8], "layers": [
            {"type": "conv", "name": "c", "out_channels": 4, "kernel": 9},
            {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 10}]}"#,
    )
    .unwrap();
    let e = expected_tensors(&bad).unwrap_err().to_string();
    assert!(e.contains("layers[0]") && e.contains("kernel"), "{e}");
    let ok = NetworkSpec::from_json_str(
        r#"{"name": "ok", "input": [3, 8, 8], "layers": [
            {"type": "conv", "name": "c", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "relu"},
            {"type": "max_pool", "kernel": 2}, {"type": "flatten"},
            {"type": "linear", "name": "fc", "out_features": 10}]}"#,
    )
    .unwrap();
    let t = expected_tensors(&ok).unwrap();
    let fc = t.iter().find(|t| t.name == "fc.weight").unwrap();
    assert_eq!(fc.shape, vec![10, 4 * 4 * 4]);
}

/// Zero, negative, NaN or missing dynamic ranges are errors naming the layer and the files.
#[test]
fn bad_dynamic_ranges_are_rejected() {
    use cifar_infer::Ranges;
    use nn_cost::npy::f64_vec_bytes as npy_f64_bytes;
    let dir = tempfile::tempdir().unwrap();
    let paths = DataPaths::new(dir.path());
    let good = [1.0, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.25];
    std::fs::write(paths.weight_ranges(), npy_f64_bytes(&good)).unwrap();
    for (bad, want) in [
        (-16.0, "layer 3 is -16"),
        (0.0, "layer 3 is 0"),
        (f64::NAN, "not finite"),
    ] {
        let mut a = [1.0, 8.0, 16.0, 8.0, 8.0, 4.0, 4.0, 8.0];
        a[2] = bad;
        std::fs::write(paths.activation_ranges(), npy_f64_bytes(&a)).unwrap();
        let e = Ranges::from_npy(&paths, 8).unwrap_err().to_string();
        assert!(
            e.contains(want) && e.contains("activation_dynamic_range.npy"),
            "{e}"
        );
    }
    std::fs::write(paths.activation_ranges(), npy_f64_bytes(&good[..7])).unwrap();
    let e = Ranges::from_npy(&paths, 8).unwrap_err().to_string();
    assert!(e.contains("expected 8 values"), "{e}");
    std::fs::remove_file(paths.activation_ranges()).unwrap();
    assert!(Ranges::from_npy(&paths, 8).is_err());
}

/// Offsets that push a layer's precision below 1 or above 32 bits, non-integral offsets, or a
/// wrong count are refused before any evaluation, naming the layer.
#[test]
fn bad_offsets_are_rejected() {
    use cifar_infer::offsets::precisions_at;
    let a = [0.0; 8];
    let mut w = [4.0, 4.0, 4.0, 4.0, 3.0, 1.0, 2.0, 3.0];
    assert!(precisions_at(5, &w, &a, 8).is_ok());
    w[3] = 40.0;
    let e = precisions_at(5, &w, &a, 8).unwrap_err().to_string();
    assert!(e.contains("layer 4") && e.contains("out of range"), "{e}");
    w[3] = -9.0;
    let e = precisions_at(5, &w, &a, 8).unwrap_err().to_string();
    assert!(e.contains("layer 4"), "{e}");
    w[3] = 1.5;
    assert!(precisions_at(5, &w, &a, 8).is_err());
    assert!(precisions_at(5, &w[..7], &a, 8).is_err());
}
