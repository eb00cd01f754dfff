//! Problem 2 report: representational and computational costs of ResNet-18 and VGG-11 in fixed
//! point (and the course's CIFAR-10 network at uniform 7 bits, the architecture check of
//! Problem 3). The numbers come from [`nn_cost::problem::run`]; this module only renders them.
use crate::plot::{line_chart, LineChart, Series};
use crate::report::{md_table, sci, Ctx, Section, XResult};
use nn_cost::problem::{self, CostSweep, NetworkCosts, Problem2, Settings};

/// Runs the cost model on the built-in networks and writes the section.
pub fn run(ctx: &Ctx) -> XResult<Vec<Section>> {
    ctx.step("p2: resnet18, vgg11, cifar-alexnet");
    let problem = problem::run(&Settings::default())?;
    Ok(vec![render(&problem, ctx)?])
}

/// The section of Problem 2: markdown (the figure written under `ctx.out`) and results.json.
pub fn render(p: &Problem2, ctx: &Ctx) -> XResult<Section> {
    let mut md = intro_md();
    md.push_str(&summary_md(p));
    md.push_str(&cifar_md(&p.cifar_alexnet_7bit));
    md.push_str(&sweep_md(p, ctx)?);
    Ok(Section {
        id: "p2".into(),
        markdown: md,
        json: serde_json::to_value(p)?,
    })
}

fn intro_md() -> String {
    String::from(
        "## Problem 2 — Network complexity in fixed point\n\n\
         ResNet-18 and VGG-11 (torchvision definitions, ImageNet input 3×224×224) at a uniform \
         precision of 10 bits for all weights and activations. Both networks are described in \
         `nn-cost`'s description format (`nn-cost/nets/*.json`); every shape, count and cost \
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
    )
}

/// Relative difference of ours against a comparison value, as a signed percentage.
fn pct(ours: f64, reference: f64) -> String {
    format!("{:+.2} %", 100.0 * (ours / reference - 1.0))
}

/// The display name of a built-in network.
fn label(network: &str) -> &str {
    match network {
        "resnet18" => "ResNet-18",
        "vgg11" => "VGG-11",
        "cifar-alexnet" => "CIFAR net",
        other => other,
    }
}

fn summary_row(n: &NetworkCosts) -> Vec<String> {
    vec![
        n.network.clone(),
        n.params.to_string(),
        format!("{:.4} G", n.macs as f64 / 1e9),
        sci(n.rep_bits),
        sci(n.seed_rep_bits),
        pct(n.rep_bits, n.seed_rep_bits),
        sci(n.comp_fa_printed),
        sci(n.comp_fa_seed),
        sci(n.seed_comp_fa),
        pct(n.comp_fa_seed, n.seed_comp_fa),
    ]
}

fn summary_md(p: &Problem2) -> String {
    let nets = [&p.resnet18, &p.vgg11];
    let header = [
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
    ];
    let rows: Vec<Vec<String>> = nets.iter().map(|n| summary_row(n)).collect();
    let mut md = md_table(&header, &rows);
    md.push_str(&verdicts_md(&nets));
    for n in nets {
        md.push_str(&layer_details_md(
            n,
            &format!(
                "per-layer table at {} bits ({} conv/linear layers)",
                n.bits, n.layers
            ),
        ));
    }
    md
}

/// "agree with" when every comparison agrees, else "differ from".
fn agree_with(all_agree: bool) -> &'static str {
    if all_agree {
        "agree with"
    } else {
        "differ from"
    }
}

/// The paragraph under the summary table; its verdicts follow the computed comparisons.
fn verdicts_md(nets: &[&NetworkCosts]) -> String {
    let published: Vec<String> = nets
        .iter()
        .filter_map(|n| {
            let (params, macs) = (
                n.vs_published.params.as_ref()?,
                n.vs_published.macs.as_ref()?,
            );
            Some(format!(
                "{}: {} and {:.3} G",
                label(&n.network),
                fxp_core::text::group(params.reference as u64),
                macs.reference / 1e9
            ))
        })
        .collect();
    let counts_agree = nets.iter().all(|n| {
        let v = &n.vs_published;
        v.params.as_ref().is_some_and(|c| c.agrees) && v.macs.as_ref().is_some_and(|c| c.agrees)
    });
    let rep_agree = nets.iter().all(|n| n.vs_published.rep_bits.agrees);
    let comp_agree = nets.iter().all(|n| n.vs_published.comp_fa_seed.agrees);
    let printed_gap: Vec<String> = nets
        .iter()
        .map(|n| {
            format!(
                "{:.2} % ({})",
                100.0 * n.printed_below_seed_convention,
                n.network
            )
        })
        .collect();
    format!(
        "\nParameters include batch-norm weights and biases (torchvision's count); the cost \
         model's R_W counts conv/linear weights and biases only. The parameter counts and MACs \
         {} the well-known torchvision figures ({}). The representational costs {} the \
         seed; the seed's computational costs are {}matched by the seed convention, while the formula as \
         printed gives {} less: the −1 and the real-valued log2 D take 1 + (⌈log2 D⌉ − log2 D) \
         bits off each of the D − 1 additions.\n\n",
        agree_with(counts_agree),
        published.join("; "),
        agree_with(rep_agree),
        if comp_agree { "" } else { "not " },
        printed_gap.join(" and ")
    )
}

/// The per-layer table of a network, folded.
fn layer_details_md(n: &NetworkCosts, summary: &str) -> String {
    let shape = |s: &[usize]| nn_cost::table::shape_str(s);
    let rows: Vec<Vec<String>> = n
        .layer_table
        .iter()
        .zip(&n.layer_costs)
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
    let header = [
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
    ];
    format!(
        "<details><summary>{}: {summary}</summary>\n\n{}\n</details>\n\n",
        n.network,
        md_table(&header, &rows)
    )
}

fn cifar_md(c: &NetworkCosts) -> String {
    let mut md = format!(
        "### The course's CIFAR-10 network at uniform {} bits\n\n\
         The architecture of NOTES.md (five convs, three fully connected layers, 3×32×32 input) \
         at the seed's minimum uniform precision of Problem 3. Costs depend on the architecture \
         only, so they must equal the seed's even though our trained weights differ.\n\n",
        c.bits
    );
    let rows = [
        vec![
            "representational (bits)".into(),
            sci(c.rep_bits),
            sci(c.seed_rep_bits),
            pct(c.rep_bits, c.seed_rep_bits),
        ],
        vec![
            "computational, seed convention (FA)".into(),
            sci(c.comp_fa_seed),
            sci(c.seed_comp_fa),
            pct(c.comp_fa_seed, c.seed_comp_fa),
        ],
        vec![
            "computational, printed formula (FA)".into(),
            sci(c.comp_fa_printed),
            "—".into(),
            "—".into(),
        ],
    ];
    let header = format!("cost @{} bit", c.bits);
    md.push_str(&md_table(&[&header, "ours", "seed", "Δ"], &rows));
    md.push('\n');
    md.push_str(&layer_details_md(
        c,
        &format!("per-layer table at {} bits", c.bits),
    ));
    md
}

fn sweep_md(p: &Problem2, ctx: &Ctx) -> XResult<String> {
    let sweeps = [
        ("ResNet-18", &p.sweep.resnet18),
        ("VGG-11", &p.sweep.vgg11),
        ("CIFAR net", &p.sweep.cifar_alexnet),
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
    for (i, (label, sweep)) in sweeps.into_iter().enumerate() {
        chart = chart.series(Series::line_markers(label, giga(sweep, &sweep.rep_bits)).color(i));
        fa_chart =
            fa_chart.series(Series::line_markers(label, giga(sweep, &sweep.comp_fa_seed)).color(i));
    }
    let fig = "p2_costs_vs_bits.svg";
    line_chart(&ctx.figure(fig), &chart)?;
    let fa_fig = "p2_fa_vs_bits.svg";
    line_chart(&ctx.figure(fa_fig), &fa_chart)?;
    let mut md = String::from(
        "### Costs against the uniform precision\n\n\
         Representational cost grows linearly in B; computational cost roughly quadratically \
         (the D·B² multiplier term dominates), so halving the precision cuts the arithmetic about \
         fourfold but the storage only twofold.\n\n",
    );
    let bits = &p.sweep.resnet18.bits;
    let (first, last) = (bits.first().unwrap_or(&0), bits.last().unwrap_or(&0));
    md.push_str(&ctx.figure_link(
        fig,
        &format!("Problem 2: representational cost of the three networks at uniform precision {first}…{last} bits"),
    ));
    md.push_str(&ctx.figure_link(
        fa_fig,
        &format!("Problem 2: computational cost (seed convention) of the three networks at uniform precision {first}…{last} bits"),
    ));
    Ok(md)
}

/// (B, value / 1e9) points of a sweep.
fn giga(sweep: &CostSweep, values: &[f64]) -> Vec<(f64, f64)> {
    sweep
        .bits
        .iter()
        .zip(values)
        .map(|(&b, &v)| (b as f64, v / 1e9))
        .collect()
}
