//! Bad description files and bad precisions give errors naming the layer and the field.
use nn_cost::costs::{from_lists, uniform};
use nn_cost::{network_costs, precisions_from_offsets, LayerPrecision, NetworkSpec};

const CIFAR: &str = include_str!("../nets/cifar-alexnet.json");

/// Parses `CIFAR` with `from` replaced by `to` (the replacement must apply) and returns the error.
fn err_after(from: &str, to: &str) -> String {
    assert!(
        CIFAR.contains(from),
        "test setup: {from:?} not in the description"
    );
    NetworkSpec::from_json_str(&CIFAR.replacen(from, to, 1))
        .unwrap_err()
        .to_string()
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "error {msg:?} does not mention {p:?}");
    }
}

#[test]
fn unknown_layer_type() {
    let e = err_after(
        r#""type": "max_pool", "kernel": 3"#,
        r#""type": "maxpool", "kernel": 3"#,
    );
    assert_mentions(
        &e,
        &["layers[12]", "maxpool", "unknown variant", "max_pool"],
    );
}

#[test]
fn unknown_field_names_layer_and_field() {
    let e = err_after(r#""out_channels": 192"#, r#""out_chanels": 192"#);
    assert_mentions(&e, &["layers[3]", "features.3", "out_chanels"]);
    let e = err_after(
        r#"{ "type": "flatten" }"#,
        r#"{ "type": "flatten", "dims": 2 }"#,
    );
    assert_mentions(&e, &["layers[13]", "flatten", "dims"]);
    let e = err_after(r#""input""#, r#""inputs""#);
    assert_mentions(&e, &["inputs", "unknown field"]);
}

#[test]
fn missing_field() {
    let e = err_after(r#", "out_features": 10"#, "");
    assert_mentions(
        &e,
        &["layers[20]", "fc_layers.6", "missing field", "out_features"],
    );
}

#[test]
fn kernel_larger_than_input() {
    let e = err_after(
        r#""out_channels": 384, "kernel": 3"#,
        r#""out_channels": 384, "kernel": 12"#,
    );
    assert_mentions(
        &e,
        &[
            "layers[6]",
            "features.6",
            "`kernel`",
            "larger than the padded input 11",
        ],
    );
    let e = err_after(
        r#""kernel": 3, "stride": 2"#,
        r#""kernel": 10, "stride": 2"#,
    );
    assert_mentions(&e, &["layers[12]", "max_pool", "`kernel`"]);
}

#[test]
fn zero_and_negative_sizes() {
    let e = err_after(
        r#""out_channels": 256, "kernel": 3"#,
        r#""out_channels": 0, "kernel": 3"#,
    );
    assert_mentions(&e, &["layers[8]", "features.8", "`out_channels`", "> 0"]);
    let e = err_after(r#""out_features": 10"#, r#""out_features": -10"#);
    assert_mentions(&e, &["layers[20]", "fc_layers.6", "`out_features`", "-10"]);
    let e = err_after(r#""padding": 2"#, r#""padding": 2, "stride": 0"#);
    assert_mentions(&e, &["layers[0]", "features.0", "`stride`"]);
    let e = err_after("[3, 32, 32]", "[3, 0, 32]");
    assert_mentions(&e, &["`input`", "> 0"]);
}

#[test]
fn shape_mismatches() {
    let e = err_after(r#"{ "type": "flatten" },"#, "");
    assert_mentions(&e, &["fc_layers.1", "flatten"]);
    let e = err_after("\"features.8\"", "\"features.6\"");
    assert_mentions(&e, &["layers[8]", "`name`", "unique"]);
    let e = err_after(r#""mean": [0.5, 0.5, 0.5]"#, r#""mean": [0.5]"#);
    assert_mentions(&e, &["preprocess.mean", "3 input channels"]);
    let residual = r#"{"name": "r", "input": [3, 8, 8], "layers": [
        {"type": "residual", "body": [{"type": "conv", "name": "a", "out_channels": 4, "kernel": 3}]},
        {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 2}]}"#;
    let e = NetworkSpec::from_json_str(residual)
        .unwrap_err()
        .to_string();
    assert_mentions(
        &e,
        &["layers[0]", "residual", "`shortcut`", "4×6×6", "3×8×8"],
    );
    let nested = residual.replace(r#""kernel": 3}"#, r#""kernel": 3, "strides": 1}"#);
    let e = NetworkSpec::from_json_str(&nested).unwrap_err().to_string();
    assert_mentions(&e, &["layers[0].body[0]", "conv a", "strides"]);
}

#[test]
fn bad_files_and_names() {
    let e = NetworkSpec::from_file(std::path::Path::new("/nonexistent/net.json")).unwrap_err();
    assert_mentions(&e.to_string(), &["/nonexistent/net.json"]);
    let e = NetworkSpec::builtin("alexnet").unwrap_err().to_string();
    assert_mentions(&e, &["alexnet", "resnet18", "vgg11", "cifar-alexnet"]);
    let e = NetworkSpec::from_json_str("{ not json")
        .unwrap_err()
        .to_string();
    assert_mentions(&e, &["line 1"]);
}

#[test]
fn bits_out_of_range() {
    assert!(uniform(0, 8).unwrap_err().to_string().contains("0 bits"));
    assert!(uniform(33, 8).is_err());
    let e = from_lists(&[8, 8, 40], &[8, 8, 8]).unwrap_err().to_string();
    assert_mentions(&e, &["layer 3", "weight", "40"]);
    let e = precisions_from_offsets(5, &[4.0, -5.0], &[0.0, 0.0])
        .unwrap_err()
        .to_string();
    assert_mentions(&e, &["layer 2", "weight", "precision 0"]);
    let e = precisions_from_offsets(5, &[0.0, 0.0], &[0.0, 1.5])
        .unwrap_err()
        .to_string();
    assert_mentions(&e, &["layer 2", "activation", "1.5", "not an integer"]);
    let t = NetworkSpec::builtin("cifar-alexnet")
        .unwrap()
        .analyze()
        .unwrap();
    let mut p = vec![LayerPrecision { b_w: 8, b_a: 8 }; 8];
    p[3].b_a = 0;
    let e = network_costs(&t, &p).unwrap_err().to_string();
    assert_mentions(&e, &["features.8", "activation", "precision 0"]);
}

#[test]
fn list_length_mismatch() {
    let t = NetworkSpec::builtin("cifar-alexnet")
        .unwrap()
        .analyze()
        .unwrap();
    let e = network_costs(&t, &uniform(8, 7).unwrap())
        .unwrap_err()
        .to_string();
    assert_mentions(
        &e,
        &[
            "7 precisions",
            "8 conv/linear layers",
            "features.0",
            "fc_layers.6",
        ],
    );
    let e = from_lists(&[8, 8], &[8]).unwrap_err().to_string();
    assert_mentions(&e, &["2 weight", "1 activation"]);
    let e = precisions_from_offsets(5, &[1.0; 8], &[1.0; 7])
        .unwrap_err()
        .to_string();
    assert_mentions(&e, &["8 weight offsets", "7 activation offsets"]);
}

#[test]
fn offsets_give_b_min_plus_offset() {
    let p = precisions_from_offsets(5, &[4.0, 0.0, 2.0], &[0.0, 3.0, 1.0]).unwrap();
    let got: Vec<(u32, u32)> = p.iter().map(|p| (p.b_w, p.b_a)).collect();
    assert_eq!(got, [(9, 5), (5, 8), (7, 6)]);
}

#[test]
fn analyze_checks_specs_built_in_code() {
    // A spec built in Rust skips from_json_str; analyze must still refuse it, not panic.
    let spec = NetworkSpec {
        name: "code".into(),
        input: [3, 8, 8],
        preprocess: None,
        layers: vec![nn_cost::LayerSpec::Conv {
            name: "c".into(),
            out_channels: 4,
            kernel: 3,
            stride: 0,
            padding: 0,
            bias: true,
            groups: 1,
            dilation: 1,
        }],
    };
    let e = spec.analyze().unwrap_err().to_string();
    assert_mentions(&e, &["layers[0]", "conv c", "`stride`"]);
}
