//! Description files: a hand-written CIFAR description gives the built-in table; round trips.
use nn_cost::{LayerSpec, NetworkSpec};
use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn handwritten_cifar_file_gives_the_builtin_table() {
    // Written independently of nets/cifar-alexnet.json: explicit defaults, no preprocess.
    let file = NetworkSpec::from_file(&data("cifar-alexnet-handwritten.json")).unwrap();
    let builtin = NetworkSpec::builtin("cifar-alexnet").unwrap();
    assert_ne!(file, builtin, "the two descriptions differ in form");
    assert_eq!(file.analyze().unwrap(), builtin.analyze().unwrap());
}

#[test]
fn shipped_files_are_the_builtins() {
    let nets = Path::new(env!("CARGO_MANIFEST_DIR")).join("nets");
    for name in NetworkSpec::builtin_names() {
        let file = NetworkSpec::from_file(&nets.join(format!("{name}.json"))).unwrap();
        assert_eq!(file, NetworkSpec::builtin(name).unwrap(), "{name}");
        assert_eq!(file.name, name);
    }
}

#[test]
fn serialized_descriptions_read_back_identically() {
    for name in NetworkSpec::builtin_names() {
        let spec = NetworkSpec::builtin(name).unwrap();
        let back = NetworkSpec::from_json_str(&spec.to_json_string()).unwrap();
        assert_eq!(back, spec, "{name}");
    }
}

#[test]
fn builtin_details() {
    let c = NetworkSpec::builtin("cifar-alexnet").unwrap();
    let p = c.preprocess.as_ref().unwrap();
    assert_eq!(
        (p.scale, p.mean.clone(), p.std.clone()),
        (255.0, vec![0.5; 3], vec![0.5; 3])
    );
    let dropouts = c
        .layers
        .iter()
        .filter(|l| matches!(l, LayerSpec::Dropout))
        .count();
    assert_eq!(dropouts, 2);
    let r = NetworkSpec::builtin("resnet18").unwrap();
    let residuals = r
        .layers
        .iter()
        .filter(|l| matches!(l, LayerSpec::Residual { .. }))
        .count();
    assert_eq!(residuals, 8);
    // Defaults of the format.
    let LayerSpec::BatchNorm { eps, .. } = &r.layers[1] else {
        panic!("bn1 expected")
    };
    assert_eq!(*eps, 1e-5);
}

#[test]
fn module_doc_example_is_valid() {
    // The example in the `spec` module docs.
    let text = r#"{
      "name": "tiny", "input": [3, 32, 32],
      "preprocess": { "scale": 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] },
      "layers": [
        { "type": "conv", "name": "features.0", "out_channels": 16, "kernel": 3, "padding": 1 },
        { "type": "batch_norm", "name": "features.1" },
        { "type": "relu" },
        { "type": "max_pool", "kernel": 2 },
        { "type": "residual",
          "body": [ { "type": "conv", "name": "block.conv", "out_channels": 32, "kernel": 3,
                      "stride": 2, "padding": 1, "bias": false } ],
          "shortcut": [ { "type": "conv", "name": "block.down", "out_channels": 32, "kernel": 1,
                          "stride": 2, "bias": false } ] },
        { "type": "adaptive_avg_pool", "output": 1 },
        { "type": "flatten" },
        { "type": "dropout" },
        { "type": "linear", "name": "fc", "out_features": 10 }
      ]
    }"#;
    let t = NetworkSpec::from_json_str(text).unwrap().analyze().unwrap();
    let names: Vec<_> = t.layer_names();
    assert_eq!(names, ["features.0", "block.conv", "block.down", "fc"]);
    assert_eq!(t.rows[1].out_shape, vec![32, 8, 8]);
    assert_eq!(t.rows[2].d, 16);
    assert_eq!(t.rows[3].in_shape, vec![32]);
    assert_eq!(t.batch_norm_params, 32);
}

#[test]
fn pooling_shapes_follow_pytorch_floor_mode() {
    let text = r#"{"name": "pools", "input": [2, 11, 11], "layers": [
        {"type": "avg_pool", "kernel": 3, "stride": 2, "padding": 1},
        {"type": "conv", "name": "c", "out_channels": 3, "kernel": 1},
        {"type": "max_pool", "kernel": 2},
        {"type": "adaptive_avg_pool", "output": 5},
        {"type": "flatten"},
        {"type": "batch_norm", "name": "bn"},
        {"type": "linear", "name": "fc", "out_features": 4, "bias": false}]}"#;
    let t = NetworkSpec::from_json_str(text).unwrap().analyze().unwrap();
    // (11 + 2 − 3)/2 + 1 = 6; max pool 2 → 3; adaptive → 5×5.
    assert_eq!(t.rows[0].in_shape, vec![2, 6, 6]);
    assert_eq!(t.rows[1].in_shape, vec![75]);
    assert_eq!((t.rows[1].weights, t.rows[1].biases), (300, 0));
    assert_eq!(t.batch_norm_params, 150);
}

#[test]
fn grouped_dilated_conv_and_relu6_are_counted() {
    // Depthwise 3×3 (groups = channels, dilation 2) then a pointwise conv: MobileNet's block.
    let spec = NetworkSpec::from_json_str(
        r#"{ "name": "dw", "input": [8, 16, 16], "layers": [
            { "type": "conv", "name": "dw", "out_channels": 8, "kernel": 3, "padding": 2,
              "groups": 8, "dilation": 2, "bias": false },
            { "type": "relu6" },
            { "type": "conv", "name": "pw", "out_channels": 16, "kernel": 1 } ] }"#,
    )
    .unwrap();
    let t = spec.analyze().unwrap();
    let dw = &t.rows[0];
    // Span 2·(3 − 1) + 1 = 5 with padding 2 keeps 16×16; each output sees one channel: D = 9.
    assert_eq!(dw.out_shape, vec![8, 16, 16]);
    assert_eq!((dw.d, dw.weights, dw.macs), (9, 72, 8 * 256 * 9));
    assert_eq!(t.rows[1].d, 8);
    let back = NetworkSpec::from_json_str(&spec.to_json_string()).unwrap();
    assert_eq!(back, spec);
    // Groups must divide both channel counts.
    let bad = r#"{ "name": "g", "input": [6, 8, 8], "layers": [
        { "type": "conv", "name": "c", "out_channels": 4, "kernel": 1, "groups": 4 } ] }"#;
    let e = NetworkSpec::from_json_str(bad)
        .and_then(|s| s.analyze())
        .unwrap_err()
        .to_string();
    assert!(e.contains("groups") && e.contains("conv c"), "{e}");
    let zero = r#"{ "name": "g", "input": [6, 8, 8], "layers": [
        { "type": "conv", "name": "c", "out_channels": 6, "kernel": 1, "dilation": 0 } ] }"#;
    let e = NetworkSpec::from_json_str(zero).unwrap_err().to_string();
    assert!(e.contains("dilation"), "{e}");
}
