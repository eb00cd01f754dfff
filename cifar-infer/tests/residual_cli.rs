//! The `cifar-infer` binary on a residual network of the user's (description + safetensors,
//! weights drawn from a seed): a batch norm after each conv, a depthwise and a dilated conv, ReLU6, an identity
//! and a 1×1 downsampling shortcut, global average pooling. `eval` (float and fixed point, with
//! ranges computed by default), `sweep` and `profile` run on it; the layers are listed in
//! nn-cost's order.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use cifar_infer::model::expected_tensors;
use fxp_core::rng::stream;
use nn_cost::spec::NetworkSpec;
use rand::Rng;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_cifar-infer");

const SPEC: &str = r#"{"name": "tiny-resnet", "input": [3, 32, 32],
  "preprocess": { "scale": 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
  "layers": [
    {"type": "conv", "name": "conv1", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1, "bias": false},
    {"type": "batch_norm", "name": "bn1"}, {"type": "relu"},
    {"type": "residual", "body": [
      {"type": "conv", "name": "l1.conv1", "out_channels": 4, "kernel": 3, "padding": 1, "bias": false},
      {"type": "batch_norm", "name": "l1.bn1"}, {"type": "relu6"},
      {"type": "conv", "name": "l1.dw", "out_channels": 4, "kernel": 3, "padding": 1, "groups": 4, "bias": false},
      {"type": "batch_norm", "name": "l1.bn2"}]},
    {"type": "relu"},
    {"type": "residual", "body": [
      {"type": "conv", "name": "l2.conv1", "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "bias": false},
      {"type": "batch_norm", "name": "l2.bn1"}, {"type": "relu"},
      {"type": "conv", "name": "l2.conv2", "out_channels": 8, "kernel": 3, "padding": 2, "dilation": 2, "bias": false},
      {"type": "batch_norm", "name": "l2.bn2"}],
     "shortcut": [
      {"type": "conv", "name": "l2.down", "out_channels": 8, "kernel": 1, "stride": 2, "bias": false},
      {"type": "batch_norm", "name": "l2.dbn"}]},
    {"type": "relu"},
    {"type": "adaptive_avg_pool", "output": 1}, {"type": "flatten"},
    {"type": "linear", "name": "fc", "out_features": 10}
  ]}"#;

/// Writes the description and its parameters (drawn from a seed) into `dir`.
fn network(dir: &Path) -> (PathBuf, PathBuf) {
    let spec_path = dir.join("tiny-resnet.json");
    std::fs::write(&spec_path, SPEC).unwrap();
    let spec = NetworkSpec::from_json_str(SPEC).unwrap();
    let mut rng = stream(21, 0);
    let tensors = expected_tensors(&spec).unwrap();
    let bufs: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| {
            let n: usize = t.shape.iter().product();
            let fan_in = t.shape.iter().skip(1).product::<usize>().max(1) as f32;
            let (lo, hi) = if t.name.ends_with("running_var")
                || t.shape.len() == 1 && t.name.ends_with("weight")
            {
                (0.5, 1.5)
            } else if t.name.ends_with("weight") {
                (-1.7 / fan_in.sqrt(), 1.7 / fan_in.sqrt())
            } else {
                (-0.1, 0.1)
            };
            (0..n)
                .flat_map(|_| rng.gen_range(lo..hi).to_le_bytes())
                .collect()
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bufs)
        .map(|(t, b)| {
            (
                t.name.clone(),
                TensorView::new(Dtype::F32, t.shape.clone(), b).unwrap(),
            )
        })
        .collect();
    let model_path = dir.join("tiny-resnet.safetensors");
    std::fs::write(
        &model_path,
        safetensors::tensor::serialize(views, &None).unwrap(),
    )
    .unwrap();
    (spec_path, model_path)
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = support::run(BIN, args, 0);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eval_sweep_and_profile_run_on_a_residual_network() {
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = network(d.path());
    let (spec, model) = (spec.to_str().unwrap(), model.to_str().unwrap());
    let net = ["--spec", spec, "--model", model];
    let rows: Vec<String> = NetworkSpec::from_json_str(SPEC)
        .unwrap()
        .analyze()
        .unwrap()
        .rows
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(rows.len(), 7);

    let float = json(&[&["eval", "--images", "40", "--json"][..], &net].concat());
    assert_eq!(float["mode"], "float");
    assert_eq!(float["layers"], serde_json::json!(rows));

    let fixed = json(
        &[
            &[
                "eval",
                "--images",
                "40",
                "--bits",
                "8",
                "--calibration-images",
                "100",
                "--json",
            ][..],
            &net,
        ]
        .concat(),
    );
    assert_eq!(fixed["ranges_source"], "max");
    assert_eq!(fixed["kernel_paths"].as_array().unwrap().len(), 7);
    // Signs from the graph: the image is signed; every other input follows a ReLU or ReLU6
    // (the fc's through global average pooling and flatten).
    let signs = serde_json::json!([false, true, true, true, true, true, true]);
    assert_eq!(fixed["unsigned_inputs"], signs);

    let sweep = json(
        &[
            &[
                "sweep",
                "--images",
                "40",
                "--min-bits",
                "4",
                "--max-bits",
                "6",
                "--calibration-images",
                "100",
                "--json",
            ][..],
            &net,
        ]
        .concat(),
    );
    assert_eq!(sweep["points"].as_array().unwrap().len(), 3, "{sweep}");

    let profile = json(
        &[
            &["profile", "--calibration-images", "20", "--json"][..],
            &net,
        ]
        .concat(),
    );
    assert_eq!(profile["unsigned_inputs"], signs);
    let text = profile.to_string();
    for name in &rows {
        assert!(text.contains(name.as_str()), "{name} missing in {text}");
    }
}
