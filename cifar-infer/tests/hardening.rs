//! Issue 19: bad inputs of the `cifar-infer` binary give `error: …` and a non-zero exit (never a
//! panic, never a number that means nothing), and a closed or full stdout is handled. Small
//! networks and corrupt files are made inside the tests; the images come from the homework data.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::{Path, PathBuf};
use support::{assert_rejected, assert_stdout_failures_handled};

const BIN: &str = env!("CARGO_BIN_EXE_cifar-infer");

/// A tiny network on 32×32 images: conv c1 (2 channels), batch norm bn1, ReLU, 4×4 max pool,
/// linear fc with `classes` outputs.
fn tiny_spec(classes: usize) -> String {
    format!(
        r#"{{"name": "tiny32", "input": [3, 32, 32],
  "preprocess": {{ "scale": 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5] }},
  "layers": [
    {{ "type": "conv", "name": "c1", "out_channels": 2, "kernel": 3, "padding": 1 }},
    {{ "type": "batch_norm", "name": "bn1" }},
    {{ "type": "relu" }}, {{ "type": "max_pool", "kernel": 4 }}, {{ "type": "flatten" }},
    {{ "type": "linear", "name": "fc", "out_features": {classes} }}
  ]}}"#
    )
}

/// Writes the spec and an f32 safetensors file for it; `edit(name, values)` may change a tensor.
fn tiny_network(
    dir: &Path,
    classes: usize,
    edit: impl Fn(&str, &mut Vec<f32>),
) -> (PathBuf, PathBuf) {
    let spec = dir.join("tiny32.json");
    std::fs::write(&spec, tiny_spec(classes)).unwrap();
    let tensors: Vec<(&str, Vec<usize>)> = vec![
        ("c1.weight", vec![2, 3, 3, 3]),
        ("c1.bias", vec![2]),
        ("bn1.weight", vec![2]),
        ("bn1.bias", vec![2]),
        ("bn1.running_mean", vec![2]),
        ("bn1.running_var", vec![2]),
        ("fc.weight", vec![classes, 128]),
        ("fc.bias", vec![classes]),
    ];
    let bufs: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let mut v: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.01 - 0.03).collect();
            if name.ends_with("running_var") || *name == "bn1.weight" {
                v.iter_mut().for_each(|x| *x = 1.0);
            }
            edit(name, &mut v);
            v.iter().flat_map(|x| x.to_le_bytes()).collect()
        })
        .collect();
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .zip(&bufs)
        .map(|((name, shape), b)| {
            (
                name.to_string(),
                TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
            )
        })
        .collect();
    let model = dir.join("tiny32.safetensors");
    std::fs::write(
        &model,
        safetensors::tensor::serialize(views, &None).unwrap(),
    )
    .unwrap();
    (spec, model)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_tiny_network_itself_runs() {
    // The fixtures below differ from this one by one defect each.
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = tiny_network(d.path(), 10, |_, _| {});
    let out = support::stdout(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&model),
            "--images",
            "20",
            "--json",
        ],
        1,
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["n"], 20);
}

#[test]
fn negative_batch_norm_variance_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = tiny_network(d.path(), 10, |name, v| {
        if name == "bn1.running_var" {
            v[1] = -1.0;
        }
    });
    assert_rejected(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&model),
            "--images",
            "20",
        ],
        &["bn1", "running_var[1] = -1", "≥ 0"],
    );
}

#[test]
fn non_finite_logits_are_refused() {
    let d = tempfile::tempdir().unwrap();
    // Finite weights whose products overflow f32: the logits are infinite or NaN.
    let (spec, model) = tiny_network(d.path(), 10, |name, v| {
        if name == "c1.weight" || name == "fc.weight" {
            v.iter_mut().for_each(|x| *x = 3e37);
        }
    });
    assert_rejected(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&model),
            "--images",
            "20",
        ],
        &["logits of image 1 are not finite"],
    );
}

#[test]
fn output_count_must_match_the_labels() {
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = tiny_network(d.path(), 5, |_, _| {});
    assert_rejected(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&model),
            "--images",
            "20",
        ],
        &["5 outputs", "10 classes"],
    );
}

#[test]
fn zero_weight_layer_with_computed_ranges_names_the_layer() {
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = tiny_network(d.path(), 10, |name, v| {
        if name == "fc.weight" {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    });
    assert_rejected(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&model),
            "--images",
            "20",
            "--bits",
            "8",
            "--ranges",
            "computed",
            "--calibration-images",
            "10",
        ],
        &["layer 2 (fc)", "weights zero"],
    );
}

#[test]
fn truncated_safetensors_is_explained_in_words() {
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = tiny_network(d.path(), 10, |_, _| {});
    let bytes = std::fs::read(&model).unwrap();
    let cut = d.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    assert_rejected(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&cut),
            "--images",
            "20",
        ],
        &["cut.safetensors", "truncated"],
    );
    let out = support::run(BIN, &["eval", "--spec", s(&spec), "--model", s(&cut)], 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("MetadataIncompleteBuffer"));
    std::fs::write(&cut, &bytes[..4]).unwrap();
    assert_rejected(
        BIN,
        &[
            "eval",
            "--spec",
            s(&spec),
            "--model",
            s(&cut),
            "--images",
            "20",
        ],
        &["too short"],
    );
}

#[test]
fn tolerances_are_validated_before_any_work() {
    for (tol, relative) in [("NaN", false), ("-5", false), ("150", true), ("inf", false)] {
        let mut args = vec!["sweep", "--images", "20", "--tolerance", tol];
        if relative {
            args.push("--relative");
        }
        assert_rejected(BIN, &args, &["--tolerance", "0 to 100"]);
    }
}

#[test]
fn silently_accepted_inputs_are_refused() {
    assert_rejected(
        BIN,
        &["eval", "--images", "20", "--batch", "0"],
        &["--batch"],
    );
    assert_rejected(BIN, &["eval", "--images", "0"], &["--images"]);
    assert_rejected(
        BIN,
        &[
            "eval",
            "--images",
            "20",
            "--weight-bits",
            "8,,8,8,8,8,8,8",
            "--act-bits",
            "8,8,8,8,8,8,8,8",
        ],
        &["--weight-bits", "empty item"],
    );
    assert_rejected(
        BIN,
        &["bench", "--images", "20", "--bits", "4,"],
        &["--bits", "empty item"],
    );
    let out = std::process::Command::new(BIN)
        .args(["eval", "--images", "20", "--bits", "8"])
        .env("FXP_HW_INT_KERNEL", "avx9000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.starts_with("error"), "{err}");
    assert!(
        err.contains("FXP_HW_INT_KERNEL") && err.contains("avx9000"),
        "{err}"
    );
    let out = std::process::Command::new(BIN)
        .args(["eval", "--images", "20"])
        .env("FXP_HW_FLOAT_KERNEL", "avx9000")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.starts_with("error"), "{err}");
    assert!(
        err.contains("FXP_HW_FLOAT_KERNEL") && err.contains("avx9000"),
        "{err}"
    );
}

#[test]
fn profile_out_an_existing_file_says_so() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("a-file");
    std::fs::write(&f, "x").unwrap();
    assert_rejected(
        BIN,
        &["profile", "--calibration-images", "2", "--out", s(&f)],
        &["a-file", "is a file, not a folder"],
    );
}

#[test]
fn old_flag_names_still_work() {
    let a = support::stdout(
        BIN,
        &[
            "eval", "--limit", "12", "--bits", "6", "--path", "f64", "--json",
        ],
        1,
    );
    let b = support::stdout(
        BIN,
        &[
            "eval", "--images", "12", "--bits", "6", "--kernel", "f64", "--json",
        ],
        1,
    );
    assert_eq!(a, b);
}

#[test]
fn eval_bits_is_a_list_and_text_has_no_debug_formatting() {
    let out = support::stdout(
        BIN,
        &["eval", "--images", "12", "--bits", "6,8", "--json"],
        1,
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let runs = v.as_array().expect("one object per precision");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["weight_bits"][0], 8);
    let out = support::stdout(BIN, &["eval", "--images", "12", "--bits", "6"], 1);
    let text = String::from_utf8(out).unwrap();
    assert!(
        !text.contains('[') && !text.contains('"') && !text.contains("Some("),
        "{text}"
    );
    assert!(text.contains("B_W = 6, 6, 6"), "{text}");
}

#[test]
fn closed_or_full_stdout_in_text_mode() {
    assert_stdout_failures_handled(BIN, &["eval", "--images", "10"]);
}

#[test]
fn every_help_has_examples() {
    support::assert_help_has_examples(
        BIN,
        &[
            "eval",
            "sweep",
            "bench",
            "profile",
            "ranges",
            "accumulators",
            "search",
        ],
    );
}

#[test]
fn sweep_text_has_no_debug_formatting() {
    let data = cifar_infer::resolve_data_dir(None).expect("the homework data folder");
    let data = data.dir.to_str().unwrap().to_string();
    for extra in [vec![], vec!["--offsets", data.as_str()]] {
        let mut args = vec![
            "sweep",
            "--images",
            "16",
            "--min-bits",
            "3",
            "--max-bits",
            "4",
        ];
        args.extend(extra.iter().copied());
        let text = String::from_utf8(support::stdout(BIN, &args, 1)).unwrap();
        for bad in ["[", "Some(", "None", "-0.00 "] {
            assert!(!text.contains(bad), "{args:?}: {bad:?} in\n{text}");
        }
        assert!(text.contains(" %"), "{text}");
    }
}

/// A network other than the course network gets computed ranges by default (the npy files hold
/// the course network's 8 layers), from the first `--calibration-images` calibration images.
#[test]
fn a_custom_network_gets_computed_ranges_by_default() {
    let d = tempfile::tempdir().unwrap();
    let (spec, model) = tiny_network(d.path(), 10, |_, _| {});
    let args = [
        "eval",
        "--spec",
        s(&spec),
        "--model",
        s(&model),
        "--bits",
        "8",
        "--images",
        "20",
        "--calibration-images",
        "50",
        "--json",
    ];
    let out = support::run(BIN, &args, 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ranges_source"], "max", "{v}");
    assert_eq!(v["n"], 20);
    // Asked for explicitly, the npy ranges are refused with a hint.
    let mut npy = args.to_vec();
    npy.extend(["--ranges", "npy"]);
    assert_rejected(BIN, &npy, &["expected 2 values", "--ranges computed"]);
}
