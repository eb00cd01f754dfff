//! Snapshots of the per-layer tables of the built-in networks (counts as JSON, and the rendered
//! text table with costs at the precision the homework uses for each network).
use fxp_core::json::round_json;
use nn_cost::costs::uniform;
use nn_cost::{network_costs, table, AccumulatorConvention, NetworkSpec};

fn table_json(name: &str) -> serde_json::Value {
    let t = NetworkSpec::builtin(name).unwrap().analyze().unwrap();
    serde_json::to_value(&t).unwrap()
}

fn text_with_costs(name: &str, bits: u32) -> String {
    let t = NetworkSpec::builtin(name).unwrap().analyze().unwrap();
    let c = network_costs(&t, &uniform(bits, t.rows.len()).unwrap()).unwrap();
    table::render(&t, Some(&c), &AccumulatorConvention::ALL)
}

#[test]
fn resnet18_table() {
    insta::assert_json_snapshot!("resnet18_table", table_json("resnet18"));
    insta::assert_snapshot!("resnet18_text_10bit", text_with_costs("resnet18", 10));
}

#[test]
fn vgg11_table() {
    insta::assert_json_snapshot!("vgg11_table", table_json("vgg11"));
    insta::assert_snapshot!("vgg11_text_10bit", text_with_costs("vgg11", 10));
}

#[test]
fn cifar_alexnet_table() {
    insta::assert_json_snapshot!("cifar_alexnet_table", table_json("cifar-alexnet"));
    insta::assert_snapshot!(
        "cifar_alexnet_text_7bit",
        text_with_costs("cifar-alexnet", 7)
    );
}

#[test]
fn cifar_alexnet_costs_per_layer() {
    let t = NetworkSpec::builtin("cifar-alexnet")
        .unwrap()
        .analyze()
        .unwrap();
    let c = network_costs(&t, &uniform(7, t.rows.len()).unwrap()).unwrap();
    insta::assert_json_snapshot!(
        "cifar_alexnet_costs_7bit",
        round_json(&serde_json::to_value(&c).unwrap(), 6)
    );
}
