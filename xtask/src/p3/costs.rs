//! Problem 3.3: the costs of the two minima beside the seed's, and the seed's conclusion.
use crate::report::{md_table, sci};
use cifar_infer::problem3::Problem3;

/// Problem 3.3: the costs of the two minima beside the seed's, and the seed's conclusion.
pub(super) fn costs_part(p: &Problem3) -> String {
    let c = &p.costs;
    let (b, b_min) = (c.uniform_bits, c.offsets_b_min);
    let mut md = format!(
        "\n### 3.3 Costs of the two minima\n\nRepresentational cost Σ(R_W B_W + R_A B_A) and computational cost \
         (full adders; accumulator as printed, and the seed's convention (D−1)(B_A+B_W+⌈log2 D⌉), see Problem 2) of \
         the uniform minimum ({b} bits) and of the offsets minimum (provided offsets, B_min = {b_min}).\n\n"
    );
    let r = &p.reference;
    let row = |label: String,
               ours: &cifar_infer::problem3::Cost,
               seed: &cifar_infer::problem3::SeedCost,
               which: String| {
        vec![
            label,
            sci(ours.rep_bits),
            sci(ours.comp_fa_printed),
            sci(ours.comp_fa_seed),
            format!(
                "{} / {} ({which})",
                sci(seed.rep_bits),
                sci(seed.comp_fa_seed)
            ),
        ]
    };
    let rows = vec![
        row(
            format!("uniform {b} bits"),
            &c.uniform,
            &c.seed_uniform,
            format!("{} bits", r.seed_min_bits),
        ),
        row(
            format!("offsets, B_min = {b_min}"),
            &c.offsets,
            &c.seed_offsets,
            format!("B_min {}, their offsets", r.seed_b_min),
        ),
    ];
    md.push_str(&md_table(
        &[
            "configuration",
            "rep. bits",
            "comp. FA (printed)",
            "comp. FA (seed conv.)",
            "seed: rep. / comp.",
        ],
        &rows,
    ));
    md.push_str(&costs_conclusion(p));
    md.push_str(&seed_offsets_note(c));
    md
}

/// Whether the seed's offsets are the provided ones, from the costs: the architecture check
/// (the seed's uniform costs) and the provided offsets at the seed's B_min.
fn seed_offsets_note(c: &cifar_infer::problem3::Costs) -> String {
    let (u, o) = (&c.seed_uniform_check, &c.seed_offsets_check);
    let architecture = if u.agrees {
        format!(
            "This architecture reproduces the seed's uniform cost ({} bits at its uniform B, {})",
            sci(u.ours),
            u.verdict()
        )
    } else {
        format!(
            "This architecture does not reproduce the seed's uniform cost ({} against {} bits, {})",
            sci(u.ours),
            sci(u.reference),
            u.verdict()
        )
    };
    let offsets = format!(
        "the provided offsets at the seed's B_min give {} bits against the seed's {} ({})",
        sci(o.ours),
        sci(o.reference),
        o.verdict()
    );
    let conclusion = match (u.agrees, o.agrees) {
        (true, false) => {
            "so the seed's offsets (made for its own trained network) differ from the provided \
             ones (made for this network)"
        }
        (true, true) => "so the seed used offsets with the same costs as the provided ones",
        (false, _) => "so the cost model, not only the offsets, differs from the seed's",
    };
    format!(
        "\nAre the seed's offsets the provided ones? {architecture}; {offsets}: {conclusion}.\n"
    )
}

fn costs_conclusion(p: &Problem3) -> String {
    let c = &p.costs;
    let change = |from: f64, to: f64| 100.0 * (to / from - 1.0);
    format!(
        "\nThe seed concludes that the offsets lower the representational cost but raise the computational cost \
         (its numbers: {} → {} bits, {} → {} FA). On our network: representational cost {} ({} → {}, {:+.1} %), \
         computational cost {} ({} → {}, {:+.1} %, seed convention). The conclusion {}.\n",
        sci(c.seed_uniform.rep_bits),
        sci(c.seed_offsets.rep_bits),
        sci(c.seed_uniform.comp_fa_seed),
        sci(c.seed_offsets.comp_fa_seed),
        if c.offsets_lower_rep { "lower" } else { "not lower" },
        sci(c.uniform.rep_bits),
        sci(c.offsets.rep_bits),
        change(c.uniform.rep_bits, c.offsets.rep_bits),
        if c.offsets_higher_comp { "higher" } else { "not higher" },
        sci(c.uniform.comp_fa_seed),
        sci(c.offsets.comp_fa_seed),
        change(c.uniform.comp_fa_seed, c.offsets.comp_fa_seed),
        if c.seed_conclusion_holds() { "holds" } else { "does not hold here" }
    )
}
