//! Totals against the well-known counts and against the seed's / NOTES.md comparison values.
use nn_cost::costs::uniform;
use nn_cost::{network_costs, CostReport, NetworkSpec, NetworkTable};

fn table(name: &str) -> NetworkTable {
    NetworkSpec::builtin(name).unwrap().analyze().unwrap()
}

fn costs(name: &str, bits: u32) -> CostReport {
    let t = table(name);
    network_costs(&t, &uniform(bits, t.rows.len()).unwrap()).unwrap()
}

/// `ours` is within relative `tol` of the comparison value `reference`.
fn close(what: &str, ours: f64, reference: f64, tol: f64) {
    let rel = (ours - reference).abs() / reference.abs();
    assert!(
        rel <= tol,
        "{what}: ours {ours:.6e}, reference {reference:.6e}, rel. diff {rel:.2e} > {tol:.0e}"
    );
}

#[test]
fn resnet18_counts_match_torchvision() {
    let t = table("resnet18");
    // torchvision's resnet18: 11,689,512 parameters (BN weights and biases included), 1.814 GMACs.
    assert_eq!(t.total_params(), 11_689_512);
    assert_eq!(t.batch_norm_params, 9_600);
    close(
        "ResNet-18 MACs (1.814 G, well known)",
        t.total_macs() as f64,
        1.814e9,
        5e-4,
    );
    assert_eq!(t.rows.len(), 21, "17 convs + 3 downsample convs + fc");
    assert_eq!(t.output, vec![1000]);
}

#[test]
fn vgg11_counts_match_torchvision() {
    let t = table("vgg11");
    assert_eq!(t.total_params(), 132_863_336);
    assert_eq!(t.batch_norm_params, 0);
    close(
        "VGG-11 MACs (7.609 G, well known)",
        t.total_macs() as f64,
        7.609e9,
        5e-4,
    );
    assert_eq!(t.rows.len(), 11);
    assert_eq!(t.rows[8].in_shape, vec![25088], "classifier.0 sees 512×7×7");
}

#[test]
fn cifar_alexnet_shapes() {
    let t = table("cifar-alexnet");
    let names: Vec<_> = t.layer_names();
    assert_eq!(
        names,
        [
            "features.0",
            "features.3",
            "features.6",
            "features.8",
            "features.10",
            "fc_layers.1",
            "fc_layers.4",
            "fc_layers.6"
        ]
    );
    assert_eq!(t.rows[5].in_shape, vec![4096], "256×4×4 flattened");
    assert_eq!(t.rows[0].out_shape, vec![64, 34, 34]);
    assert_eq!(t.output, vec![10]);
}

#[test]
fn problem2_costs_at_10_bits_vs_seed_and_notes() {
    let r = costs("resnet18", 10);
    close(
        "ResNet-18 rep. bits vs seed 1.386e8",
        r.rep_bits,
        1.386e8,
        5e-4,
    );
    close(
        "ResNet-18 FA printed vs NOTES 2.344e11",
        r.comp_fa_printed,
        2.344e11,
        5e-4,
    );
    close(
        "ResNet-18 FA seed conv. vs seed 2.377e11",
        r.comp_fa_seed,
        2.377e11,
        5e-4,
    );
    let v = costs("vgg11", 10);
    close(
        "VGG-11 rep. bits vs seed 1.359e9",
        v.rep_bits,
        1.359e9,
        5e-4,
    );
    close(
        "VGG-11 FA printed vs NOTES 9.901e11",
        v.comp_fa_printed,
        9.901e11,
        5e-4,
    );
    close(
        "VGG-11 FA seed conv. vs seed 1.004e12",
        v.comp_fa_seed,
        1.004e12,
        5e-4,
    );
}

#[test]
fn problem3_uniform_7_bits_vs_seed() {
    let c = costs("cifar-alexnet", 7);
    close("CIFAR rep. bits vs seed 2.517e8", c.rep_bits, 2.517e8, 5e-4);
    close(
        "CIFAR FA seed conv. vs seed 1.85e10",
        c.comp_fa_seed,
        1.850e10,
        5e-4,
    );
    assert!(
        c.comp_fa_printed < c.comp_fa_seed,
        "printed accumulator is narrower"
    );
}

#[test]
fn per_layer_costs_sum_to_totals() {
    let c = costs("resnet18", 8);
    let rep: f64 = c.layers.iter().map(|l| l.rep_bits).sum();
    let fa: f64 = c.layers.iter().map(|l| l.comp_fa_seed).sum();
    close("sum of layer rep bits", rep, c.rep_bits, 1e-12);
    close("sum of layer FA", fa, c.comp_fa_seed, 1e-12);
}
