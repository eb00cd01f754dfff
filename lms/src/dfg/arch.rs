//! The (delayed) LMS predictor as a data-flow graph, and the smallest update delay that a
//! retiming brings to a clock period.
use super::{Dfg, OpKind, Timing};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Options of the (delayed) LMS architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchOptions {
    /// Taps N (≥ 1).
    pub taps: usize,
    /// Update delays M₁ (0 = LMS).
    pub delay: usize,
    /// Whether μ·e is a multiplier (the seed counts it) or a free shift.
    pub count_mu: bool,
}

/// The N-tap (delayed) LMS predictor as a DFG.
///
/// Nodes: input `x` (x_n), filter multipliers `Mk` (w_k·x_{n−k}), an adder chain `A1…A(N−1)`
/// giving ŷ_n (output port `yhat`), the error subtractor `S` (e = x_n − ŷ_n), the step
/// multiplier `MU` (μ·e; omitted when `count_mu` is false), update multipliers `Uk`
/// (μe·x_{n−k}) and update adders `Wk` (w_k ← w_k + μ e x_{n−k}). Edges: x → Mk with k delays
/// (the tapped delay line), x → Uk with k + M₁ delays, Wk → Wk and Wk → Mk with one delay (the
/// coefficient register), and M₁ delays on the error path S → MU (the delayed update).
pub fn lms_architecture(opt: ArchOptions) -> Result<Dfg> {
    crate::error::check_nonzero("taps", opt.taps)?;
    let n = opt.taps;
    let title = if opt.delay == 0 {
        format!("{n}-tap LMS predictor")
    } else {
        format!("{n}-tap delayed LMS, M1 = {}", opt.delay)
    };
    let mut g = Dfg::new(&title);
    let mid = (n as f64 - 1.0) / 2.0;
    let x = g.node("x", OpKind::Io, "x_n", (0.0, mid));
    let m: Vec<usize> = (1..=n)
        .map(|k| g.node(&format!("M{k}"), OpKind::Mul, "×", (1.0, (k - 1) as f64)))
        .collect();
    for (k, &mk) in m.iter().enumerate() {
        g.edge(x, mk, (k + 1) as i64);
    }
    // adder chain: A1 = M1 + M2, A_j = A_{j−1} + M_{j+1}
    let mut acc = m[0];
    for (j, &mj) in m.iter().enumerate().skip(1) {
        let a = g.node(
            &format!("A{j}"),
            OpKind::Add,
            "+",
            (1.0 + j as f64, j as f64 - 0.5),
        );
        g.edge(acc, a, 0);
        g.edge(mj, a, 0);
        acc = a;
    }
    let col = n as f64 + 1.0;
    let yhat = g.node("yhat", OpKind::Io, "ŷ_n", (col, -0.6));
    g.edge(acc, yhat, 0);
    let s = g.node("S", OpKind::Add, "−", (col, mid + 0.5));
    g.edge(x, s, 0);
    g.edge(acc, s, 0);
    let (src, col) = if opt.count_mu {
        let mu = g.node("MU", OpKind::Mul, "×μ", (col + 1.0, mid + 0.5));
        g.edge(s, mu, opt.delay as i64);
        (mu, col + 2.0)
    } else {
        (s, col + 1.0)
    };
    for (k, &mk) in m.iter().enumerate() {
        let u = g.node(&format!("U{}", k + 1), OpKind::Mul, "×", (col, k as f64));
        let w = g.node(
            &format!("W{}", k + 1),
            OpKind::Add,
            "+",
            (col + 1.0, k as f64),
        );
        g.edge(src, u, if opt.count_mu { 0 } else { opt.delay as i64 });
        g.edge(x, u, (k + 1 + opt.delay) as i64);
        g.edge(u, w, 0);
        g.edge(w, w, 1);
        g.edge(w, mk, 1);
    }
    Ok(g)
}

/// Smallest M₁ (searched up to `max_delay`) for which the delayed-LMS graph can be retimed to
/// clock period `period`; returns M₁ and the retiming.
pub fn min_delay_for_period(
    taps: usize,
    count_mu: bool,
    t: &Timing,
    period: f64,
    max_delay: usize,
) -> Result<Option<(usize, Vec<i64>)>> {
    for delay in 0..=max_delay {
        let g = lms_architecture(ArchOptions {
            taps,
            delay,
            count_mu,
        })?;
        if let Some(r) = g.retime(t, period)?.r {
            return Ok(Some((delay, r)));
        }
    }
    Ok(None)
}
