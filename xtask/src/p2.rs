//! Problem 2 report: representational and computational costs of ResNet-18 and VGG-11 in fixed
//! point (and the course's CIFAR-10 network at uniform 7 bits, the architecture check of
//! Problem 3), computed by `nn-cost` from the network descriptions.
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, sci, Ctx, Section, XResult};
use nn_cost::costs::uniform;
use nn_cost::{network_costs, AccumulatorConvention, CostReport, NetworkSpec, NetworkTable};
use serde_json::{json, Value};

/// The seed's printed values (comparison only): (net, representational bits, computational FA).
const SEED_10BIT: [(&str, f64, f64); 2] = [
    ("resnet18", 1.386e8, 2.377e11),
    ("vgg11", 1.359e9, 1.004e12),
];
/// The seed's uniform 7-bit costs of the CIFAR network (Problem 3, comparison only).
const SEED_CIFAR_7BIT: (f64, f64) = (2.517e8, 1.85e10);

fn costs_at(table: &NetworkTable, bits: u32) -> XResult<CostReport> {
    Ok(network_costs(table, &uniform(bits, table.rows.len())?)?)
}

/// Relative difference of ours against a comparison value, as a signed percentage.
fn pct(ours: f64, reference: f64) -> String {
    format!("{:+.2} %", 100.0 * (ours / reference - 1.0))
}

fn layer_table(table: &NetworkTable, costs: &CostReport) -> String {
    let shape = |s: &[usize]| nn_cost::table::shape_str(s);
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .zip(&costs.layers)
        .map(|(r, c)| {
            vec![
                format!("`{}`", r.name),
                r.kind.clone(),
                shape(&r.in_shape),
                shape(&r.out_shape),
                (r.weights + r.biases).to_string(),
                r.r_a.to_string(),
                r.n.to_string(),
                r.d.to_string(),
                r.macs.to_string(),
                sci(c.rep_bits),
                sci(c.comp_fa_printed),
                sci(c.comp_fa_seed),
            ]
        })
        .collect();
    md_table(
        &[
            "layer",
            "kind",
            "input",
            "output",
            "R_W",
            "R_A",
            "N",
            "D",
            "MACs",
            "rep bits",
            "FA printed",
            "FA seed conv.",
        ],
        &rows,
    )
}

/// Runs the cost model on the built-in networks and writes the section.
pub fn run(ctx: &Ctx) -> XResult<Vec<Section>> {
    let mut md = String::from(
        "## Problem 2 — Network complexity in fixed point\n\n\
         ResNet-18 and VGG-11 (torchvision definitions, ImageNet input 3×224×224) at a uniform \
         precision of 10 bits for all weights and activations. Both networks are described in \
         `nn-cost`'s description format (`crates/nn-cost/nets/*.json`); every shape, count and cost \
         below is inferred and computed from those files (`nn-cost --net resnet18 --bits 10`).\n\n\
         **Definitions** (seed): representational cost Σ_l (R_W,l B_W,l + R_A,l B_A,l) bits; \
         computational cost Σ_l N_l (D_l B_A,l B_W,l + (D_l − 1)·acc_l) full adders (FA): D_l array \
         multipliers of B_A·B_W FA and D_l − 1 additions of acc_l bits per dot product.\n\n\
         **Counting**: every conv and fully connected layer is a layer (ResNet's 1×1 downsample \
         convs included, batch norm not); R_W = weights + biases (ResNet's convs have no bias, its \
         fc has one); R_A = elements of the layer's *input*; N = output elements (dot products); \
         D = C_in·k·k or in_features.\n\n\
         **Accumulator conventions.** The homework prints acc = B_A + B_W + log2 D − 1 \
         (*printed*). The seed's computational numbers are not what that formula gives: they are \
         reproduced to four digits by acc = B_A + B_W + ⌈log2 D⌉ (*seed convention*: an adder \
         tree's final width, ceiling and no −1). Both are reasonable estimates; both are reported, \
         and the seed's values are compared with the convention they follow.\n\n",
    );

    let mut json = serde_json::Map::new();
    let mut summary = Vec::new();
    let mut details = String::new();
    let mut printed_gap = Vec::new();
    for (name, seed_rep, seed_fa) in SEED_10BIT {
        ctx.step(&format!("p2: {name}"));
        let table = NetworkSpec::builtin(name)?.analyze()?;
        let c = costs_at(&table, 10)?;
        printed_gap.push(format!(
            "{:.2} % ({name})",
            100.0 * (1.0 - c.comp_fa_printed / c.comp_fa_seed)
        ));
        summary.push(vec![
            name.to_string(),
            table.total_params().to_string(),
            format!("{:.4} G", table.total_macs() as f64 / 1e9),
            sci(c.rep_bits),
            sci(seed_rep),
            pct(c.rep_bits, seed_rep),
            sci(c.comp_fa_printed),
            sci(c.comp_fa_seed),
            sci(seed_fa),
            pct(c.comp_fa_seed, seed_fa),
        ]);
        json.insert(
            name.to_string(),
            json!({
                "params": table.total_params(),
                "cost_params": table.cost_params(),
                "activations": table.total_activations(),
                "macs": table.total_macs(),
                "layers": table.rows.len(),
                "bits": 10,
                "rep_bits": c.rep_bits,
                "comp_fa_printed": c.comp_fa_printed,
                "comp_fa_seed": c.comp_fa_seed,
                "seed_rep_bits": seed_rep,
                "seed_comp_fa": seed_fa,
            }),
        );
        details.push_str(&format!(
            "<details><summary>{name}: per-layer table at 10 bits ({} conv/linear layers)</summary>\n\n{}\n</details>\n\n",
            table.rows.len(),
            layer_table(&table, &c)
        ));
    }
    md.push_str(&md_table(
        &[
            "net @10 bit",
            "params",
            "MACs",
            "rep bits (ours)",
            "rep bits (seed)",
            "Δ",
            "FA printed (ours)",
            "FA seed conv. (ours)",
            "FA (seed)",
            "Δ (seed conv.)",
        ],
        &summary,
    ));
    md.push_str(&format!(
        "\nParameters include batch-norm weights and biases (torchvision's count); the cost \
         model's R_W counts conv/linear weights and biases only. The parameter counts and MACs \
         agree with the well-known torchvision figures (ResNet-18: 11,689,512 and 1.814 G; \
         VGG-11: 132,863,336 and 7.609 G). The representational costs agree with the seed; the \
         seed's computational costs are matched by the seed convention, while the formula as \
         printed gives {} less: the −1 and the real-valued log2 D take 1 + (⌈log2 D⌉ − log2 D) \
         bits off each of the D − 1 additions.\n\n",
        printed_gap.join(" and ")
    ));
    md.push_str(&details);

    // The course's CIFAR-10 network at uniform 7 bits (Problem 3's architecture check).
    ctx.step("p2: cifar-alexnet");
    let cifar = NetworkSpec::builtin("cifar-alexnet")?.analyze()?;
    let c7 = costs_at(&cifar, 7)?;
    let (seed_rep, seed_fa) = SEED_CIFAR_7BIT;
    md.push_str(
        "### The course's CIFAR-10 network at uniform 7 bits\n\n\
         The architecture of NOTES.md (five convs, three fully connected layers, 3×32×32 input) \
         at the seed's minimum uniform precision of Problem 3. Costs depend on the architecture \
         only, so they must equal the seed's even though our trained weights differ.\n\n",
    );
    md.push_str(&md_table(
        &["cost @7 bit", "ours", "seed", "Δ"],
        &[
            vec![
                "representational (bits)".into(),
                sci(c7.rep_bits),
                sci(seed_rep),
                pct(c7.rep_bits, seed_rep),
            ],
            vec![
                "computational, seed convention (FA)".into(),
                sci(c7.comp_fa_seed),
                sci(seed_fa),
                pct(c7.comp_fa_seed, seed_fa),
            ],
            vec![
                "computational, printed formula (FA)".into(),
                sci(c7.comp_fa_printed),
                "—".into(),
                "—".into(),
            ],
        ],
    ));
    md.push('\n');
    md.push_str(&format!(
        "<details><summary>cifar-alexnet: per-layer table at 7 bits</summary>\n\n{}\n</details>\n\n",
        layer_table(&cifar, &c7)
    ));
    json.insert(
        "cifar_alexnet_7bit".into(),
        json!({
            "params": cifar.total_params(),
            "macs": cifar.total_macs(),
            "rep_bits": c7.rep_bits,
            "comp_fa_seed": c7.comp_fa_seed,
            "comp_fa_printed": c7.comp_fa_printed,
            "seed_rep_bits": seed_rep,
            "seed_comp_fa": seed_fa,
        }),
    );

    // Costs against the uniform precision, for the three networks.
    let nets = [
        ("resnet18", "ResNet-18"),
        ("vgg11", "VGG-11"),
        ("cifar-alexnet", "CIFAR net"),
    ];
    // Two figures: one quantity (and one unit) per axis.
    let mut chart = LineChart::new(
        "Representational cost vs uniform precision",
        "uniform precision B (bits)",
        "representational cost (Gbit)",
    )
    .log_y();
    let mut fa_chart = LineChart::new(
        "Computational cost vs uniform precision (seed convention)",
        "uniform precision B (bits)",
        "computational cost (G FA)",
    )
    .log_y();
    let mut sweep = serde_json::Map::new();
    for (i, (name, label)) in nets.iter().enumerate() {
        let table = NetworkSpec::builtin(name)?.analyze()?;
        let mut rep = Vec::new();
        let mut fa = Vec::new();
        let mut fa_printed = Vec::new();
        for b in 2..=16u32 {
            let c = costs_at(&table, b)?;
            rep.push((b as f64, c.rep_bits));
            fa.push((b as f64, c.comp_fa(AccumulatorConvention::Seed)));
            fa_printed.push((b as f64, c.comp_fa(AccumulatorConvention::Printed)));
        }
        let ys = |v: &[(f64, f64)]| v.iter().map(|p| p.1).collect::<Vec<f64>>();
        sweep.insert(
            name.to_string(),
            json!({
                "bits": (2..=16).collect::<Vec<u32>>(),
                "rep_bits": ys(&rep),
                "comp_fa_seed": ys(&fa),
                "comp_fa_printed": ys(&fa_printed),
            }),
        );
        let giga = |v: Vec<(f64, f64)>| v.into_iter().map(|(x, y)| (x, y / 1e9)).collect();
        chart = chart.series(Series::line_markers(*label, giga(rep)).color(i));
        fa_chart = fa_chart.series(Series::line_markers(*label, giga(fa)).color(i));
    }
    let fig = "p2_costs_vs_bits.svg";
    line_chart(&ctx.figure(fig), &chart)?;
    let fa_fig = "p2_fa_vs_bits.svg";
    line_chart(&ctx.figure(fa_fig), &fa_chart)?;
    md.push_str(
        "### Costs against the uniform precision\n\n\
         Representational cost grows linearly in B; computational cost roughly quadratically \
         (the D·B² multiplier term dominates), so halving the precision cuts the arithmetic about \
         fourfold but the storage only twofold.\n\n",
    );
    md.push_str(&ctx.figure_link(
        fig,
        "Problem 2: representational cost of the three networks at uniform precision 2…16 bits",
    ));
    md.push_str(&ctx.figure_link(
        fa_fig,
        "Problem 2: computational cost (seed convention) of the three networks at uniform precision 2…16 bits",
    ));
    json.insert("sweep".into(), Value::Object(sweep));

    Ok(vec![Section {
        id: "p2".into(),
        markdown: md,
        json: Value::Object(json),
    }])
}
