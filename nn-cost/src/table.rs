//! Plain-text rendering of a per-layer table (aligned columns, totals row).
use crate::analyze::NetworkTable;
use crate::costs::CostReport;
use crate::metrics::HardwareReport;
use fxp_core::text::group;
use fxp_core::AccumulatorConvention;

/// Shape as `3×224×224` or `4096`.
pub fn shape_str(shape: &[usize]) -> String {
    shape
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// A number in scientific notation with four significant digits (`1.386e8`).
pub fn sci(x: f64) -> String {
    fxp_core::text::sci(x, 4)
}

/// Renders `table` as aligned text; with `costs`, adds the precisions and per-layer costs under
/// the given accumulator conventions.
pub fn render(
    table: &NetworkTable,
    costs: Option<&CostReport>,
    conventions: &[AccumulatorConvention],
) -> String {
    let mut header: Vec<String> = [
        "#", "layer", "kind", "input", "output", "weights", "biases", "R_A", "N", "D", "MACs",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    if costs.is_some() {
        header.extend(["B_W", "B_A", "rep bits"].map(String::from));
        header.extend(conventions.iter().map(|c| format!("FA ({})", c.name())));
    }
    let mut lines = vec![header];
    for (i, r) in table.rows.iter().enumerate() {
        let mut line = vec![
            (i + 1).to_string(),
            r.name.clone(),
            r.kind.clone(),
            shape_str(&r.in_shape),
            shape_str(&r.out_shape),
            group(r.weights),
            group(r.biases),
            group(r.r_a),
            group(r.n),
            group(r.d),
            group(r.macs),
        ];
        if let Some(c) = costs {
            let l = &c.layers[i];
            line.extend([l.b_w.to_string(), l.b_a.to_string(), sci(l.rep_bits)]);
            line.extend(conventions.iter().map(|&conv| sci(l.comp_fa(conv))));
        }
        lines.push(line);
    }
    let sum = |f: fn(&crate::LayerRow) -> u64| group(table.rows.iter().map(f).sum::<u64>());
    let mut total = vec![
        String::new(),
        "total".into(),
        String::new(),
        shape_str(&table.input),
        shape_str(&table.output),
        sum(|r| r.weights),
        sum(|r| r.biases),
        sum(|r| r.r_a),
        sum(|r| r.n),
        String::new(),
        group(table.total_macs()),
    ];
    if let Some(c) = costs {
        total.extend([String::new(), String::new(), sci(c.rep_bits)]);
        total.extend(conventions.iter().map(|&conv| sci(c.comp_fa(conv))));
    }
    lines.push(total);

    let mut out = format!("{} (input {})\n", table.name, shape_str(&table.input));
    out += &align(&lines, &[1, 2]);
    out += &format!(
        "parameters: {} (conv/linear weights+biases {} + batch-norm {}); MACs: {}\n",
        group(table.total_params()),
        group(table.cost_params()),
        group(table.batch_norm_params),
        group(table.total_macs())
    );
    out
}

/// Aligns `lines` (header first, totals last) in columns separated by two spaces, with rules
/// under the header and above the totals; columns in `left` are left-aligned, the others
/// right-aligned.
fn align(lines: &[Vec<String>], left: &[usize]) -> String {
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|j| {
            lines
                .iter()
                .map(|l| l[j].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fmt_line = |l: &[String]| {
        l.iter()
            .enumerate()
            .map(|(j, cell)| {
                let pad = " ".repeat(widths[j] - cell.chars().count());
                if left.contains(&j) {
                    format!("{cell}{pad}")
                } else {
                    format!("{pad}{cell}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let rule = "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
    let mut out = fmt_line(&lines[0]);
    out += "\n";
    out += &rule;
    out += "\n";
    for l in &lines[1..lines.len() - 1] {
        out += &fmt_line(l);
        out += "\n";
    }
    out += &rule;
    out += "\n";
    out += &fmt_line(&lines[lines.len() - 1]);
    out += "\n";
    out
}

/// Renders the hardware metrics of [`crate::metrics`]: BOPs, weight memory, accumulator width
/// and energy per layer and in total, and the energy model's name.
pub fn render_hardware(h: &HardwareReport) -> String {
    let header = [
        "#",
        "layer",
        "BOPs",
        "weight bits",
        "acc bits",
        "E MAC pJ",
        "E mem pJ",
        "E pJ",
    ];
    let mut lines = vec![header.map(String::from).to_vec()];
    for (i, l) in h.layers.iter().enumerate() {
        lines.push(vec![
            (i + 1).to_string(),
            l.name.clone(),
            sci(l.bops),
            sci(l.weight_memory_bits),
            l.accumulator_bits.to_string(),
            sci(l.energy_mac_pj),
            sci(l.energy_memory_pj),
            sci(l.energy_pj),
        ]);
    }
    lines.push(vec![
        String::new(),
        "total".into(),
        sci(h.bops),
        sci(h.weight_memory_bits),
        String::new(),
        sci(h.energy_mac_pj),
        sci(h.energy_memory_pj),
        sci(h.energy_pj),
    ]);
    let mut out = align(&lines, &[1]);
    out += &format!("energy model: {}\n", h.energy_model);
    out
}
