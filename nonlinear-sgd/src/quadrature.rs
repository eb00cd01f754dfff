//! Expected cost, gradient and Hessian by quadrature (LOTUS).
//!
//! With Θ uniform on [−π, π), x = (cos Θ, sin Θ) and y = atan2(x2, x1) = Θ, so
//! E\[f\] = (1/2π) ∫_{−π}^{π} f(θ) dθ. The integrands are analytic inside (−π, π); the only
//! discontinuity (the wrap of atan2) sits at the end points ±π. Composite Gauss–Legendre with
//! panels over [−π, π] therefore converges spectrally: the default rule (64 panels × 16 nodes)
//! agrees with the rule with twice the panels to ~1e-13 for weights of order one
//! ([`Quadrature::error_estimate`] reports the difference; tests require < 1e-9).
use crate::error::{Error, Result};
use crate::model::{self, Sample, Weights};
use serde::Serialize;
use std::f64::consts::PI;

/// C, ∇C and the Hessian of C at some weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Expectation {
    /// Expected cost C = E[(y − y2)²].
    pub c: f64,
    /// ∇C = (∂C/∂w1, ∂C/∂w2, ∂C/∂w3).
    pub grad: [f64; 3],
    /// The 3×3 Hessian of C.
    pub hessian: [[f64; 3]; 3],
    /// ∂²C/∂w1².
    pub hessian_w1: f64,
}

/// A composite Gauss–Legendre rule over θ ∈ [−π, π], with the samples precomputed.
#[derive(Debug, Clone)]
pub struct Quadrature {
    panels: usize,
    order: usize,
    /// (sample at the node, weight already divided by 2π).
    nodes: Vec<(Sample, f64)>,
}

impl Default for Quadrature {
    fn default() -> Self {
        Self::new(Self::DEFAULT_PANELS, Self::DEFAULT_ORDER).expect("valid default rule")
    }
}

/// Gauss–Legendre nodes and weights on [−1, 1] (Newton iteration on P_n).
pub fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // P_n(x) and P_n'(x) by the three-term recurrence.
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            let pn = if n == 0 { 1.0 } else { p1 };
            let pn1 = if n == 1 { 1.0 } else { p0 };
            dp = n as f64 * (x * pn - pn1) / (x * x - 1.0);
            let dx = pn / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        out.push((x, 2.0 / ((1.0 - x * x) * dp * dp)));
    }
    out
}

impl Quadrature {
    /// Most nodes (panels × order) of a rule: the samples are precomputed (and the accuracy
    /// check builds the rule with twice the panels), so the size is bounded before allocating.
    pub const MAX_NODES: usize = 1 << 20;

    /// Default number of panels.
    pub const DEFAULT_PANELS: usize = 64;
    /// Default Gauss–Legendre order per panel.
    pub const DEFAULT_ORDER: usize = 16;

    /// A rule with `panels` equal panels over [−π, π], `order` nodes each (order 1..=64).
    pub fn new(panels: usize, order: usize) -> Result<Self> {
        if panels
            .checked_mul(order)
            .is_none_or(|n| n > Self::MAX_NODES)
        {
            return Err(Error::Config(format!(
                "{panels} panels × {order} nodes is more than {} nodes: use fewer panels \
                 (the default {} × {} is accurate to ~1e-13)",
                fxp_core::text::group(Self::MAX_NODES as u64),
                Self::DEFAULT_PANELS,
                Self::DEFAULT_ORDER
            )));
        }
        if panels == 0 || !(1..=64).contains(&order) {
            return Err(Error::Config(format!(
                "quadrature needs ≥ 1 panel and 1..=64 nodes per panel (got {panels} × {order})"
            )));
        }
        Ok(Self::build(panels, order))
    }

    /// The rule, without the checks of [`Quadrature::new`] (its callers have made them).
    fn build(panels: usize, order: usize) -> Self {
        let gl = gauss_legendre(order);
        let h = 2.0 * PI / panels as f64;
        let mut nodes = Vec::with_capacity(panels * order);
        for p in 0..panels {
            let mid = -PI + (p as f64 + 0.5) * h;
            for &(x, wt) in &gl {
                let theta = mid + 0.5 * h * x;
                nodes.push((Sample::at_angle(theta), wt * 0.5 * h / (2.0 * PI)));
            }
        }
        Self {
            panels,
            order,
            nodes,
        }
    }

    /// Number of panels.
    pub fn panels(&self) -> usize {
        self.panels
    }

    /// Nodes per panel.
    pub fn order(&self) -> usize {
        self.order
    }

    /// E[f(sample)] for any function of the sample.
    pub fn mean(&self, f: impl Fn(&Sample) -> f64) -> f64 {
        self.nodes.iter().map(|(s, wt)| wt * f(s)).sum()
    }

    /// Expected cost C(w).
    pub fn cost(&self, w: &Weights) -> f64 {
        self.mean(|s| model::loss(w, s))
    }

    /// C(w) and ∇C(w).
    pub fn cost_grad(&self, w: &Weights) -> (f64, [f64; 3]) {
        let mut c = 0.0;
        let mut g = [0.0; 3];
        for (s, wt) in &self.nodes {
            let (l, gi) = model::loss_grad(w, s);
            c += wt * l;
            for k in 0..3 {
                g[k] += wt * gi[k];
            }
        }
        (c, g)
    }

    /// C, ∇C and the Hessian of C.
    pub fn expectation(&self, w: &Weights) -> Expectation {
        let mut c = 0.0;
        let mut grad = [0.0; 3];
        let mut hessian = [[0.0; 3]; 3];
        for (s, wt) in &self.nodes {
            let (l, g, h) = model::loss_grad_hessian(w, s);
            c += wt * l;
            for p in 0..3 {
                grad[p] += wt * g[p];
                for r in 0..3 {
                    hessian[p][r] += wt * h[p][r];
                }
            }
        }
        Expectation {
            c,
            grad,
            hessian,
            hessian_w1: hessian[0][0],
        }
    }

    /// Largest absolute difference of C, ∇C and the Hessian between this rule and the rule
    /// with twice the panels: the stated accuracy of [`Quadrature::expectation`].
    pub fn error_estimate(&self, w: &Weights) -> f64 {
        // At most 2 × MAX_NODES nodes: `self` passed the checks of `new`.
        let fine = Quadrature::build(2 * self.panels, self.order);
        let (a, b) = (self.expectation(w), fine.expectation(w));
        let mut d = (a.c - b.c).abs();
        for p in 0..3 {
            d = d.max((a.grad[p] - b.grad[p]).abs());
            for r in 0..3 {
                d = d.max((a.hessian[p][r] - b.hessian[p][r]).abs());
            }
        }
        d
    }
}

impl Expectation {
    /// Errors when C, ∇C or the Hessian is NaN or infinite (weights so large that the model
    /// overflows): such values are not results.
    pub fn check_finite(&self) -> Result<()> {
        let all = std::iter::once(self.c)
            .chain(self.grad)
            .chain(self.hessian.iter().flatten().copied())
            .chain(std::iter::once(self.hessian_w1));
        if all.into_iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteResult(format!(
                "C = {}, ∇C = ({}, {}, {})",
                self.c, self.grad[0], self.grad[1], self.grad[2]
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauss_legendre_integrates_polynomials_exactly() {
        for n in [1, 2, 5, 16, 33] {
            let gl = gauss_legendre(n);
            let total: f64 = gl.iter().map(|(_, w)| w).sum();
            assert!((total - 2.0).abs() < 1e-13, "n={n}");
            // ∫ x^(2n−2) over [−1, 1] = 2/(2n−1), exact for an n-point rule.
            let k = 2 * n as i32 - 2;
            let q: f64 = gl.iter().map(|(x, w)| w * x.powi(k)).sum();
            assert!((q - 2.0 / (k as f64 + 1.0)).abs() < 1e-12, "n={n}: {q}");
        }
    }

    #[test]
    fn zero_output_cost_is_pi_squared_over_three() {
        // w3 = 0 ⇒ y2 = 0 ⇒ C = E[Θ²] = π²/3.
        let q = Quadrature::default();
        let c = q.cost(&Weights([0.7, 0.1, 0.0]));
        assert!((c - PI * PI / 3.0).abs() < 1e-12, "{c}");
    }
}
