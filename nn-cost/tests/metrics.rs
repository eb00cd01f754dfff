//! Hardware metrics (BOPs, weight memory, energy) in the `nn-cost` JSON output.
use std::process::Command;

fn json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_nn-cost"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn resnet18_w8a8_bops_match_the_published_figure() {
    let v = json(&["--net", "resnet18", "--bits", "8", "--json"]);
    let hw = &v["hardware"];
    // Reference: ImageNet ResNet-18 at W8A8 is 1.814 G MACs × 64 = 116 G BOPs (HAWQ-V3 /
    // qonnx definition, issue 17); tolerance 1 %.
    let bops = hw["bops"].as_f64().unwrap();
    assert!(
        (bops / 1.16e11 - 1.0).abs() < 0.01,
        "BOPs {bops} vs 1.16e11"
    );
    // BOPs are MACs × 64 exactly at a uniform 8 bits.
    assert_eq!(bops, v["macs"].as_f64().unwrap() * 64.0);
    // Weight memory: 11,679,912 conv/linear weights (torchvision, without biases and batch
    // norm) × 8 bits, exactly.
    let weights: u64 = v["table"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["weights"].as_u64().unwrap())
        .sum();
    assert_eq!(
        hw["weight_memory_bits"].as_f64().unwrap(),
        weights as f64 * 8.0
    );
    let model = hw["energy_model"].as_str().unwrap();
    assert!(model.contains("Horowitz"), "{model}");
    let e = hw["energy_pj"].as_f64().unwrap();
    let parts = hw["energy_mac_pj"].as_f64().unwrap() + hw["energy_memory_pj"].as_f64().unwrap();
    assert!((e - parts).abs() <= 1e-9 * e);
    assert_eq!(hw["layers"].as_array().unwrap().len(), 21);
}

#[test]
fn metrics_follow_per_layer_precisions() {
    let lists = [
        "--weight-bits",
        "8,6,6,6,6,6,6,8",
        "--act-bits",
        "8,6,6,6,6,6,6,8",
    ];
    let mut args = vec!["--net", "cifar-alexnet", "--json"];
    args.extend(lists);
    let v = json(&args);
    let rows = v["table"]["rows"].as_array().unwrap();
    let hw = v["hardware"]["layers"].as_array().unwrap();
    let bits = [8.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 8.0];
    for ((row, h), b) in rows.iter().zip(hw).zip(bits) {
        let macs = row["macs"].as_f64().unwrap();
        assert_eq!(h["bops"].as_f64().unwrap(), macs * b * b);
    }
    // Fewer bits never cost more energy.
    let e6 = v["hardware"]["energy_pj"].as_f64().unwrap();
    let e8 = json(&["--net", "cifar-alexnet", "--bits", "8", "--json"])["hardware"]["energy_pj"]
        .as_f64()
        .unwrap();
    assert!(e6 < e8, "{e6} vs {e8}");
}
