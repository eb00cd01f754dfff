//! ONNX import: the fixtures of `cifar-infer/tests/fixtures/onnx/` (made by
//! `make_onnx_fixtures.py` with PyTorch) import to the expected descriptions and parameters,
//! their tables equal those of the hand-written descriptions, and what cannot be imported is
//! refused with the node named.
use nn_cost::onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto,
};
use nn_cost::onnx::ParamData;
use nn_cost::{CostError, NetworkSpec, OnnxNetwork};
use prost::Message;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../cifar-infer/tests/fixtures/onnx")
        .join(name)
}

fn import(name: &str) -> OnnxNetwork {
    OnnxNetwork::from_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The layers of a description written as JSON (input 3×32×32, no preprocessing).
fn layers(json: &str) -> Vec<nn_cost::LayerSpec> {
    let text = format!(r#"{{"name": "x", "input": [3, 32, 32], "layers": {json}}}"#);
    NetworkSpec::from_json_str(&text).unwrap().layers
}

fn param_shapes(net: &OnnxNetwork) -> Vec<(String, Vec<usize>)> {
    net.params
        .iter()
        .map(|p| (p.name.clone(), p.shape.clone()))
        .collect()
}

#[test]
fn tiny_resnet_imports_as_residual_blocks_with_pytorch_names() {
    let net = import("resnet.onnx");
    assert_eq!(net.spec.name, "resnet");
    assert_eq!(net.spec.input, [3, 32, 32]);
    assert_eq!(net.producer, "pytorch");
    let conv = |name: &str, o: usize, k: usize, s: usize, p: usize| {
        format!(
            r#"{{"type": "conv", "name": "{name}", "out_channels": {o}, "kernel": {k},
                "stride": {s}, "padding": {p}, "bias": false}}"#
        )
    };
    let bn = |name: &str| format!(r#"{{"type": "batch_norm", "name": "{name}"}}"#);
    let expected = format!(
        r#"[{}, {}, {{"type": "relu6"}},
        {{"type": "residual", "body": [{}, {}, {{"type": "relu"}}, {}, {}]}},
        {{"type": "relu"}},
        {{"type": "residual", "body": [{}, {}, {{"type": "relu"}}, {}, {}],
          "shortcut": [{}, {}]}},
        {{"type": "relu"}}, {{"type": "adaptive_avg_pool", "output": 1}}, {{"type": "flatten"}},
        {{"type": "linear", "name": "fc", "out_features": 10}}]"#,
        conv("conv1", 8, 3, 1, 1),
        bn("bn1"),
        conv("layer1.conv1", 8, 3, 1, 1),
        bn("layer1.bn1"),
        conv("layer1.conv2", 8, 3, 1, 1),
        bn("layer1.bn2"),
        conv("layer2.conv1", 16, 3, 2, 1),
        bn("layer2.bn1"),
        conv("layer2.conv2", 16, 3, 1, 1),
        bn("layer2.bn2"),
        conv("layer2.downsample.0", 16, 1, 2, 0),
        bn("layer2.downsample.1"),
    );
    assert_eq!(net.spec.layers, layers(&expected));
    let shapes = param_shapes(&net);
    assert_eq!(
        shapes.len(),
        7 + 6 * 4 + 1,
        "7 conv/linear weights, 6 BN × 4, fc bias"
    );
    assert_eq!(shapes[0], ("conv1.weight".into(), vec![8, 3, 3, 3]));
    assert_eq!(shapes[1], ("bn1.weight".into(), vec![8]));
    assert_eq!(shapes[4], ("bn1.running_var".into(), vec![8]));
    assert!(shapes.contains(&("layer2.downsample.0.weight".into(), vec![16, 8, 1, 1])));
    assert_eq!(shapes.last().unwrap(), &("fc.bias".into(), vec![10]));
    // Every parameter is in the file, finite, with as many values as its shape says.
    for (name, t) in net.tensors().unwrap() {
        assert_eq!(t.len(), t.shape().iter().product::<usize>(), "{name}");
        assert!(t.iter().all(|v| v.is_finite()), "{name}");
    }
}

#[test]
fn depthwise_dilated_relu6_and_batch_norm_after_relu() {
    let net = import("depthwise.onnx");
    let expected = r#"[
        {"type": "conv", "name": "stem", "out_channels": 16, "kernel": 3, "padding": 1},
        {"type": "relu6"},
        {"type": "conv", "name": "dw", "out_channels": 16, "kernel": 3, "stride": 2,
         "padding": 1, "bias": false, "groups": 16},
        {"type": "batch_norm", "name": "dw_bn"}, {"type": "relu6"},
        {"type": "conv", "name": "pw", "out_channels": 24, "kernel": 1},
        {"type": "relu"}, {"type": "batch_norm", "name": "pw_bn"},
        {"type": "conv", "name": "dilated", "out_channels": 16, "kernel": 3, "padding": 2,
         "dilation": 2},
        {"type": "relu"}, {"type": "adaptive_avg_pool", "output": 1}, {"type": "flatten"},
        {"type": "linear", "name": "fc", "out_features": 10}]"#;
    assert_eq!(net.spec.layers, layers(expected));
    assert!(param_shapes(&net).contains(&("dw.weight".into(), vec![16, 1, 3, 3])));
}

#[test]
fn both_pytorch_exporters_give_the_sequential_network() {
    // Legacy TorchScript exporter: batch norm kept, x.view(x.size(0), -1) as
    // Shape/Gather/Unsqueeze/Concat/Reshape, dropout dropped in eval mode.
    let legacy = import("seq.onnx");
    let head = r#"
        {"type": "conv", "name": "features.0", "out_channels": 8, "kernel": 3, "padding": 1},
        {"type": "relu"}, {"type": "max_pool", "kernel": 2}"#;
    let tail = r#"{"type": "avg_pool", "kernel": 4}, {"type": "flatten"},
        {"type": "linear", "name": "classifier.0", "out_features": 32}, {"type": "relu"},
        {"type": "linear", "name": "classifier.3", "out_features": 10}"#;
    let expected = format!(
        r#"[{head},
        {{"type": "conv", "name": "features.3", "out_channels": 16, "kernel": 3, "padding": 1,
          "bias": false}},
        {{"type": "batch_norm", "name": "features.4"}}, {{"type": "relu"}}, {tail}]"#
    );
    assert_eq!(legacy.spec.layers, layers(&expected));
    // torch.export exporter: batch norm folded into the conv (which gains a bias), flatten as
    // a Reshape to a constant shape.
    let dynamo = import("seq_dynamo.onnx");
    let expected = format!(
        r#"[{head},
        {{"type": "conv", "name": "features.3", "out_channels": 16, "kernel": 3, "padding": 1}},
        {{"type": "relu"}}, {tail}]"#
    );
    assert_eq!(dynamo.spec.layers, layers(&expected));
    // Gemm weights stay (out, in).
    assert!(param_shapes(&dynamo).contains(&("classifier.0.weight".into(), vec![32, 256])));
}

/// The rendered per-layer table of a description, under the name `name`.
fn table_text(mut spec: NetworkSpec, name: &str) -> String {
    spec.name = name.into();
    let t = spec.analyze().unwrap();
    nn_cost::table::render(&t, None, &nn_cost::AccumulatorConvention::ALL)
}

#[test]
fn course_network_layers_give_the_table_of_their_description() {
    let net = import("alexnet_small.onnx");
    let desc = NetworkSpec::from_file(&fixture("alexnet_small.json")).unwrap();
    assert_eq!(
        net.spec.analyze().unwrap().rows,
        desc.analyze().unwrap().rows
    );
    assert_eq!(table_text(net.spec, "n"), table_text(desc, "n"));
}

#[test]
fn resnet18_without_weights_gives_the_builtin_table() {
    // torchvision's ResNet-18 graph with every weight in a dropped external file: the shapes
    // are all a table needs.
    let net = import("resnet18_noweights.onnx");
    let builtin = NetworkSpec::builtin("resnet18").unwrap();
    let (a, b) = (net.spec.analyze().unwrap(), builtin.analyze().unwrap());
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.total_params(), 11_689_512, "torchvision's count");
    assert_eq!(table_text(net.spec.clone(), "r"), table_text(builtin, "r"));
    assert!(matches!(net.params[0].data, ParamData::External(_)));
    let e = net.tensors().unwrap_err().to_string();
    assert!(
        e.contains("conv1.weight") && e.contains("external") && e.contains("save_as_external_data"),
        "{e}"
    );
}

// ---- refusals, on graphs built here ----

fn attr_ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: 7,
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: 2,
        ..Default::default()
    }
}

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            dim_value: Some(d),
                            dim_param: None,
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attrs: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: name.into(),
        op_type: op.into(),
        attribute: attrs,
        domain: String::new(),
    }
}

fn floats(name: &str, dims: &[i64]) -> TensorProto {
    let n: i64 = dims.iter().product();
    TensorProto {
        dims: dims.to_vec(),
        data_type: 1,
        float_data: (0..n).map(|i| i as f32 * 0.01).collect(),
        name: name.into(),
        ..Default::default()
    }
}

/// input (1,2,4,4) → conv c.weight (2,2,3,3) pad 1 → `middle` nodes → flatten → gemm fc (3, 32).
fn model(middle: Vec<NodeProto>, extra_inits: Vec<TensorProto>) -> Vec<u8> {
    let mut nodes = vec![node(
        "Conv",
        "conv",
        &["x", "c.weight"],
        "a0",
        vec![attr_ints("pads", &[1, 1, 1, 1])],
    )];
    let last = middle
        .last()
        .map_or("a0".to_string(), |n| n.output[0].clone());
    nodes.extend(middle);
    nodes.push(node("Flatten", "flat", &[&last], "f", vec![]));
    nodes.push(node(
        "Gemm",
        "fc",
        &["f", "fc.weight"],
        "y",
        vec![attr_int("transB", 1)],
    ));
    let mut initializer = vec![
        floats("c.weight", &[2, 2, 3, 3]),
        floats("fc.weight", &[3, 32]),
    ];
    initializer.extend(extra_inits);
    ModelProto {
        ir_version: 8,
        producer_name: "test".into(),
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer,
            input: vec![value("x", &[1, 2, 4, 4])],
            output: vec![value("y", &[1, 3])],
        }),
        opset_import: vec![],
    }
    .encode_to_vec()
}

fn refusal(bytes: &[u8]) -> String {
    match OnnxNetwork::from_bytes(bytes, "t") {
        Ok(n) => panic!("imported: {:?}", n.spec),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_built_graph_imports() {
    let relu = node("Relu", "r", &["a0"], "a1", vec![]);
    let net = OnnxNetwork::from_bytes(&model(vec![relu], vec![]), "t").unwrap();
    assert_eq!(
        net.spec.layers,
        layers(
            r#"[{"type": "conv", "name": "c", "out_channels": 2, "kernel": 3, "padding": 1,
                 "bias": false}, {"type": "relu"}, {"type": "flatten"},
                {"type": "linear", "name": "fc", "out_features": 3, "bias": false}]"#
        )
    );
    assert_eq!(net.spec.input, [2, 4, 4]);
    let t = net.tensors().unwrap();
    assert_eq!(t["fc.weight"].shape(), [3, 32]);
    assert_eq!(
        t["c.weight"].as_slice().unwrap()[5],
        5.0f32 * 0.01,
        "float_data of the initializer"
    );
}

#[test]
fn matmul_with_bias_and_gemm_without_trans_b_store_weights_as_out_by_in() {
    // Flatten → MatMul by w (32, 3) → Add b (3): linear fc, weight (3, 32) = wᵀ.
    let mut bytes = ModelProto::decode(model(vec![], vec![]).as_slice()).unwrap();
    let g = bytes.graph.as_mut().unwrap();
    let n = g.node.len();
    g.node[n - 1] = node("MatMul", "mm", &["f", "w"], "m", vec![]);
    g.node.push(node("Add", "bias", &["b", "m"], "y", vec![]));
    g.initializer.push(floats("w", &[32, 3]));
    g.initializer.push(floats("b", &[3]));
    let net = OnnxNetwork::from_bytes(&bytes.encode_to_vec(), "t").unwrap();
    let last = net.spec.layers.last().unwrap();
    assert_eq!(
        last,
        &nn_cost::LayerSpec::Linear {
            name: "mm".into(),
            out_features: 3,
            bias: true
        }
    );
    let t = net.tensors().unwrap();
    let w = &t["mm.weight"];
    assert_eq!(w.shape(), [3, 32]);
    // w[o][i] = stored[i][o] = (3·i + o)·0.01
    assert_eq!(w[[1, 5]], (3 * 5 + 1) as f32 * 0.01);
    assert_eq!(t["mm.bias"].as_slice().unwrap(), [0.0, 0.01, 0.02]);
    // The same through Gemm with transB = 0.
    let g = bytes.graph.as_mut().unwrap();
    g.node.pop();
    let n = g.node.len();
    g.node[n - 1] = node("Gemm", "gemm", &["f", "w", "b"], "y", vec![]);
    let net = OnnxNetwork::from_bytes(&bytes.encode_to_vec(), "t").unwrap();
    let t = net.tensors().unwrap();
    assert_eq!(&t["gemm.weight"], w);
    assert_eq!(t["gemm.bias"].as_slice().unwrap(), [0.0, 0.01, 0.02]);
}

#[test]
fn an_unsupported_operator_is_named_with_its_node_and_position() {
    let sig = node("Sigmoid", "/act/Sigmoid", &["a0"], "a1", vec![]);
    let e = refusal(&model(vec![sig], vec![]));
    assert!(
        e.contains("node 2/4")
            && e.contains("\"/act/Sigmoid\"")
            && e.contains("Sigmoid")
            && e.contains("not supported")
            && e.contains("Conv, Gemm"),
        "{e}"
    );
}

#[test]
fn unsupported_attributes_are_refused_by_node() {
    let cases: Vec<(NodeProto, Vec<TensorProto>, &str)> = vec![
        (
            node("Clip", "clip", &["a0", "lo", "hi"], "a1", vec![]),
            vec![floats("lo", &[]), {
                let mut t = floats("hi", &[]);
                t.float_data = vec![1.0];
                t
            }],
            "Clip(0, 1)",
        ),
        (
            node(
                "AveragePool",
                "avg",
                &["a0"],
                "a1",
                vec![
                    attr_ints("kernel_shape", &[3, 3]),
                    attr_ints("pads", &[1, 1, 1, 1]),
                    attr_ints("strides", &[1, 1]),
                ],
            ),
            vec![],
            "count_include_pad",
        ),
        (
            node(
                "MaxPool",
                "mp",
                &["a0"],
                "a1",
                vec![
                    attr_ints("kernel_shape", &[2, 2]),
                    attr_ints("pads", &[0, 0, 1, 1]),
                ],
            ),
            vec![],
            "same padding on every side",
        ),
        (
            node(
                "MaxPool",
                "mp",
                &["a0"],
                "a1",
                vec![attr_ints("kernel_shape", &[2, 2]), attr_int("ceil_mode", 1)],
            ),
            vec![],
            "ceil_mode",
        ),
        (
            node("Add", "/shift", &["k", "a0"], "a1", vec![]),
            vec![floats("k", &[2, 1, 1])],
            "not the bias of a MatMul",
        ),
    ];
    for (n, inits, needle) in cases {
        let label = format!("\"{}\" ({})", n.name, n.op_type);
        let e = refusal(&model(vec![n], inits));
        assert!(e.contains(&label) && e.contains(needle), "{needle}: {e}");
    }
}

#[test]
fn a_shape_that_does_not_fit_names_the_node() {
    // The conv's weight expects 3 input channels; the image has 2.
    let mut m = ModelProto::decode(model(vec![], vec![]).as_slice()).unwrap();
    m.graph.as_mut().unwrap().initializer[0] = floats("c.weight", &[2, 3, 3, 3]);
    let e = refusal(&m.encode_to_vec());
    assert!(
        e.contains("node 1/3 \"conv\" (Conv)")
            && e.contains("does not fit")
            && e.contains("[2, 4, 4]"),
        "{e}"
    );
    // A pooling window larger than its input: the description's own check, told about the node.
    let pool = node(
        "MaxPool",
        "/big/MaxPool",
        &["a0"],
        "a1",
        vec![attr_ints("kernel_shape", &[8, 8])],
    );
    let e = refusal(&model(vec![pool], vec![]));
    assert!(e.contains("ONNX") && e.contains("max_pool"), "{e}");
}

#[test]
fn an_add_of_two_unrelated_values_is_not_a_residual_block() {
    // a0 → relu → a1; y = a1 + a0 would be a residual; a1 + a1 is not.
    let relu = node("Relu", "r", &["a0"], "a1", vec![]);
    let add = node("Add", "/add", &["a1", "a1"], "a2", vec![]);
    let e = refusal(&model(vec![relu, add], vec![]));
    assert!(
        e.contains("\"/add\" (Add)") && e.contains("residual"),
        "{e}"
    );
    // The residual form imports.
    let relu = node("Relu", "r", &["a0"], "a1", vec![]);
    let add = node("Add", "/add", &["a1", "a0"], "a2", vec![]);
    let net = OnnxNetwork::from_bytes(&model(vec![relu, add], vec![]), "t").unwrap();
    assert_eq!(
        net.spec.layers[1],
        nn_cost::LayerSpec::Residual {
            body: vec![nn_cost::LayerSpec::Relu],
            shortcut: vec![]
        }
    );
}

#[test]
fn files_that_are_not_onnx_networks_are_refused() {
    let e = refusal(b"this is not a protobuf file at all");
    assert!(e.contains("ONNX"), "{e}");
    let e = OnnxNetwork::from_file(&fixture("missing.onnx")).unwrap_err();
    assert!(matches!(e, CostError::Io { .. }), "{e}");
    // Two image inputs.
    let mut m = ModelProto::decode(model(vec![], vec![]).as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    g.input.push(value("x2", &[1, 2, 4, 4]));
    let e = refusal(&m.encode_to_vec());
    assert!(e.contains("2 inputs") && e.contains("x2"), "{e}");
    // An input without known channels, height and width.
    let mut m = ModelProto::decode(model(vec![], vec![]).as_slice()).unwrap();
    m.graph.as_mut().unwrap().input[0] = value("x", &[1, 2]);
    let e = refusal(&m.encode_to_vec());
    assert!(
        e.contains("graph input \"x\"") && e.contains("(1, 2)"),
        "{e}"
    );
    // A weight whose data does not fill its shape.
    let mut m = ModelProto::decode(model(vec![], vec![]).as_slice()).unwrap();
    m.graph.as_mut().unwrap().initializer[0].float_data.pop();
    let e = refusal(&m.encode_to_vec());
    assert!(e.contains("c.weight") && e.contains("corrupt"), "{e}");
}

#[test]
fn the_cli_prints_the_same_table_for_the_onnx_file_and_its_description() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nn-cost"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let onnx = fixture("alexnet_small.onnx");
    let json = fixture("alexnet_small.json");
    let (a, _) = run(&["--onnx", onnx.to_str().unwrap(), "--bits", "8"]);
    let (b, _) = run(&["--spec", json.to_str().unwrap(), "--bits", "8"]);
    assert_eq!(a, b);
    // --print-spec writes a description that reads back as the imported one, with the
    // normalisation given on the command line; without it a note says x = pixel/255.
    let (spec, note) = run(&["--onnx", onnx.to_str().unwrap(), "--print-spec"]);
    assert!(note.contains("pixel/255"), "{note}");
    let printed = NetworkSpec::from_json_str(&spec).unwrap();
    assert_eq!(printed, import("alexnet_small.onnx").spec);
    let (spec, note) = run(&[
        "--onnx",
        onnx.to_str().unwrap(),
        "--print-spec",
        "--mean",
        "0.5",
        "--std",
        "0.5",
    ]);
    assert!(note.is_empty(), "{note}");
    let printed = NetworkSpec::from_json_str(&spec).unwrap();
    let desc = NetworkSpec::from_file(&json).unwrap();
    assert_eq!(printed.preprocess, desc.preprocess);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nn-cost"))
        .args(["--onnx", onnx.to_str().unwrap(), "--mean", "0.5,0.5"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("--mean has 2 values"),
        "{e}"
    );
}

#[test]
fn damaged_files_give_errors_not_panics() {
    // Seeded byte flips and truncations of a real export (a small stand-in for the fuzz
    // target fuzz/fuzz_targets/onnx.rs).
    let good = std::fs::read(fixture("resnet.onnx")).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut errors = 0;
    for round in 0..400 {
        let mut bytes = good.clone();
        if round % 4 == 0 {
            bytes.truncate(next(good.len()));
        } else {
            for _ in 0..1 + round % 5 {
                let i = next(bytes.len());
                bytes[i] = next(256) as u8;
            }
        }
        match OnnxNetwork::from_bytes(&bytes, "damaged") {
            Ok(net) => {
                let _ = net.tensors();
            }
            Err(e) => {
                assert!(!e.to_string().is_empty());
                errors += 1;
            }
        }
    }
    assert!(errors > 100, "{errors} of 400 damaged files refused");
}
