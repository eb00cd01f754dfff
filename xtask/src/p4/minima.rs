//! Problem 4, part 6: the symmetries of C and the local minima of the multi-start search.
use super::w_str;
use crate::report::{md_table, tuple_str};
use nonlinear_sgd::minima::{Kind, Minimum};
use nonlinear_sgd::problem::Problem4;

pub(super) fn symmetries_md(p: &Problem4) -> String {
    let mut md = String::from(
        "### Local minima (part 6)\n\ny2 depends on the weights only through ỹ2² = \
         ((m·x)²)², m = √|w3|·(w1, w2). So C is unchanged by w3 → −w3 (the seed's answer), by \
         (w1, w2) → −(w1, w2), and by the scaling (s·w1, s·w2, w3/s²): no minimum is isolated, each \
         is a curve of weights in four sign branches (the Hessian of C has a zero eigenvalue). \
         Shown at our final weights (C computed at each image):\n\n",
    );
    let rows: Vec<Vec<String>> = p
        .symmetry_images
        .iter()
        .map(|im| {
            vec![
                im.transform.to_string(),
                w_str(&im.weights),
                format!("{:.12}", im.c),
            ]
        })
        .collect();
    md.push_str(&md_table(&["transform", "weights", "C"], &rows));
    let convex = &p.convexity_check;
    md.push_str(&format!(
        "\nNon-convex: C(w) = {:.5} and C(w1, w2, −w3) = {:.5}, but at their midpoint (w1, w2, 0) \
         C = {:.5} (= π²/3, y2 ≡ 0).\n\n",
        convex.c, convex.c_flipped, convex.c_midpoint
    ));
    md
}

/// The branches on which starts ended at a minimum, one per line of the cell.
fn branches_cell(m: &Minimum) -> String {
    let branches: Vec<String> = m
        .branches
        .iter()
        .map(|b| {
            if m.kind == Kind::Plateau {
                format!("{} ({} starts)", w_str(&b.example), b.count)
            } else {
                format!(
                    "{} ({} starts, |w3| ∈ [{:.2}, {:.2}])",
                    w_str(&b.example),
                    b.count,
                    b.w3_abs_min,
                    b.w3_abs_max
                )
            }
        })
        .collect();
    branches.join("<br>")
}

pub(super) fn minima_md(p: &Problem4) -> String {
    let cfg = &p.settings.minima;
    let mut md = format!(
        "**Multi-start search** (seed {}, {} starts uniform in [−{a}, {a}]³, damped Newton \
         (Levenberg–Marquardt) on the quadrature C to ‖∇C‖ < {:.0e}; {} did not converge). End \
         points clustered by m (tolerance {:.0e}):\n\n",
        cfg.seed,
        cfg.starts,
        cfg.grad_tol,
        p.minima.not_converged,
        cfg.cluster_tol,
        a = cfg.box_half_width
    );
    let rows: Vec<Vec<String>> = p
        .minima
        .minima
        .iter()
        .map(|m| {
            vec![
                fxp_core::text::label(&m.kind),
                format!("{:.6}", m.c),
                tuple_str(&m.invariant, 4),
                m.count.to_string(),
                branches_cell(m),
            ]
        })
        .collect();
    let header = [
        "kind",
        "C",
        "m",
        "starts",
        "found on branches (example weights)",
    ];
    md.push_str(&md_table(&header, &rows));
    md.push_str(
        "\n*Minimum*: the one minimum of C as a function of m (up to m → −m), reached from all four \
         sign branches and over a range of scales — the seed's solution and ours belong to it. \
         *Plateau*: the w3 = 0 family (y2 ≡ 0, C = π²/3): flat in (w1, w2) and, where \
         ∂²C/∂w3² = −4E[Θ·ỹ1⁴] > 0, a set of non-strict local minima that traps a fraction of the \
         starts at a far higher cost. Together: distinct minima with different C, and \
         non-isolated minima — the cost is non-convex.\n\n",
    );
    md
}
