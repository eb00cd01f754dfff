//! Local minima (part 6): the symmetries of the cost and a seeded multi-start search.
//!
//! Symmetries. y2 depends on w only through ỹ2² = (w3·(w1·x1 + w2·x2)²)² = ((m·x)²)², with
//! m = √|w3|·(w1, w2). Hence C(w) = F(m) and C is invariant under
//! * w3 → −w3 (the seed's part 6) and (w1, w2) → −(w1, w2) (bit for bit), and
//! * the scaling (w1, w2, w3) → (s·w1, s·w2, w3/s²), s ≠ 0 (bit for bit for s a power of two).
//!
//! So no minimum of C is isolated: each is a curve of equivalent weights (the Hessian of C has a
//! zero eigenvalue along (w1, w2, −2·w3)), in four sign branches. Distinct minima are distinct
//! minima of F(m) up to m → −m. The points with w3 = 0 (m = 0, y2 ≡ 0, C = π²/3) are stationary.
//!
//! Search: `starts` initial points uniform in [−a, a]³ (start k from `stream(seed, k)`), each
//! minimised on the quadrature cost by a damped Newton (Levenberg–Marquardt) method,
//! d = −(H + λI)⁻¹∇C with λ adapted and a sufficient-decrease test, stopped at ‖∇C‖ < tol.
//! Converged points are clustered by their invariant m (sign fixed so that m1 > 0, max-norm
//! distance < `cluster_tol`), classified by the eigenvalues of the 2×2 Hessian of F, and sorted by C;
//! end points on the w3 = 0 family (|m| < 0.05 and C = π²/3 to 1e-6) form one [`Kind::Plateau`]
//! entry.
use crate::error::{Error, Result};
use crate::model::Weights;
use crate::quadrature::Quadrature;
use fxp_core::linalg::{cholesky_solve, symmetric_eigenvalues};
use fxp_core::rng::{stream, GenRange};
use ndarray::{aview1, aview2, Array1};
use ndarray_rand::RandomExt;
use rayon::prelude::*;
use serde::Serialize;
use std::f64::consts::PI;

/// Configuration of the multi-start search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinimaConfig {
    /// Number of random starts.
    pub starts: usize,
    /// Seed (start k uses `stream(seed, k)`).
    pub seed: u64,
    /// Starts are uniform in [−a, a]³.
    pub box_half_width: f64,
    /// Iteration cap of each local optimisation.
    pub max_iter: usize,
    /// Convergence: ‖∇C‖₂ < grad_tol.
    pub grad_tol: f64,
    /// Two converged points whose invariants m differ by less than this (max norm) are the
    /// same minimum.
    pub cluster_tol: f64,
}

impl Default for MinimaConfig {
    fn default() -> Self {
        MinimaConfig {
            starts: 200,
            seed: 1,
            box_half_width: 2.0,
            max_iter: 300,
            grad_tol: 1e-6,
            cluster_tol: 1e-4,
        }
    }
}

/// What kind of stationary point of F(m) a cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Hessian of F positive definite: a local minimum (a curve of minima of C).
    Minimum,
    /// Hessian of F singular (e.g. m = 0, the w3 = 0 family where y2 ≡ 0).
    Degenerate,
    /// Hessian of F with a negative eigenvalue.
    Saddle,
    /// The w3 = 0 family (m = 0, y2 ≡ 0, C = π²/3): flat in (w1, w2); where
    /// ∂²C/∂w3² = −4·E[Θ·ỹ1⁴] > 0 (direction of (w1, w2) in the first/third quadrant) these
    /// points are non-strict local minima of C, with a far higher cost than the curve minima.
    Plateau,
}

/// The invariant m = √|w3|·(w1, w2), sign fixed so that m1 > 0 (or m1 = 0, m2 ≥ 0).
pub fn invariant(w: &Weights) -> [f64; 2] {
    let r = w.0[2].abs().sqrt();
    let m = [r * w.0[0], r * w.0[1]];
    if m[0] < 0.0 || (m[0] == 0.0 && m[1] < 0.0) {
        [-m[0], -m[1]]
    } else {
        m
    }
}

/// The weights on the sign branch (sign of w1, sign of w3) of a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Branch {
    /// Sign of w1 (+1 or −1; the sign of (w1, w2) as a pair).
    pub sign_w1: i8,
    /// Sign of w3.
    pub sign_w3: i8,
    /// Starts that ended on this branch.
    pub count: usize,
    /// The point of this branch with |w3| closest to 1.
    pub example: Weights,
    /// Smallest |w3| among them (the scaling freedom).
    pub w3_abs_min: f64,
    /// Largest |w3| among them.
    pub w3_abs_max: f64,
    /// C at `example` (equal on every branch of a curve, up to rounding).
    pub c: f64,
}

/// A distinct stationary point of F(m) found by the search (a curve family of C).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Minimum {
    /// Representative weights (m1, m2, 1): w3 = 1 on the curve; for the plateau, the first end
    /// point with w3 set to 0.
    pub weights: Weights,
    /// Invariant m (cluster mean).
    pub invariant: [f64; 2],
    /// C at the weights.
    pub c: f64,
    /// ‖∇C‖₂ at the representative.
    pub grad_norm: f64,
    /// Eigenvalues of the 2×2 Hessian of F(m), ascending.
    pub eigenvalues: [f64; 2],
    /// Eigenvalues of the 3×3 Hessian of C at the representative (one is ≈ 0: the scaling).
    pub eigenvalues_w: [f64; 3],
    /// Classification.
    pub kind: Kind,
    /// Number of starts that ended here.
    pub count: usize,
    /// The sign branches on which starts ended, with the spread of the scale.
    pub branches: Vec<Branch>,
}

/// Result of the search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinimaReport {
    /// Configuration.
    pub config: MinimaConfig,
    /// Distinct stationary points of F, sorted by C.
    pub minima: Vec<Minimum>,
    /// Every converged end point (weights and C), in start order.
    pub end_points: Vec<LocalResult>,
    /// Starts that did not reach ‖∇C‖ < tol within the iteration cap.
    pub not_converged: usize,
    /// Their end points.
    pub stalled: Vec<LocalResult>,
}

/// One local optimisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LocalResult {
    /// Start weights.
    pub start: Weights,
    /// Final weights.
    pub weights: Weights,
    /// C there.
    pub c: f64,
    /// ‖∇C‖₂ there.
    pub grad_norm: f64,
    /// Iterations used.
    pub iterations: usize,
    /// Whether ‖∇C‖ < tol was reached.
    pub converged: bool,
}

fn norm(v: &[f64; 3]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Levenberg–Marquardt-damped Newton on the quadrature cost from `start`.
pub fn local_minimize(
    quad: &Quadrature,
    start: Weights,
    max_iter: usize,
    grad_tol: f64,
) -> LocalResult {
    let mut w = start;
    let mut e = quad.expectation(&w);
    let mut lambda = 1e-3;
    let done = |w: Weights, c: f64, g: &[f64; 3], it: usize| {
        let gn = norm(g);
        LocalResult {
            start,
            weights: w,
            c,
            grad_norm: gn,
            iterations: it,
            converged: gn < grad_tol,
        }
    };
    for it in 0..max_iter {
        if norm(&e.grad) < grad_tol {
            return done(w, e.c, &e.grad, it);
        }
        let mut accepted = false;
        for _ in 0..40 {
            let mut a = e.hessian;
            for (k, row) in a.iter_mut().enumerate() {
                row[k] += lambda;
            }
            let Ok(x) = cholesky_solve(aview2(&a), aview1(&e.grad)) else {
                lambda *= 10.0;
                continue;
            };
            let trial = Weights([w.0[0] - x[0], w.0[1] - x[1], w.0[2] - x[2]]);
            let slope: f64 = -(0..3).map(|k| x[k] * e.grad[k]).sum::<f64>();
            let c = quad.cost(&trial);
            if c.is_finite() && c <= e.c + 1e-4 * slope {
                w = trial;
                lambda = (lambda / 3.0).max(1e-12);
                accepted = true;
                break;
            }
            lambda *= 10.0;
        }
        if !accepted {
            return done(w, e.c, &e.grad, it + 1);
        }
        e = quad.expectation(&w);
    }
    done(w, e.c, &e.grad, max_iter)
}

fn dist2(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    (a[0] - b[0]).abs().max((a[1] - b[1]).abs())
}

/// Classifies a stationary point by Hessian eigenvalues (relative tolerance 1e-7).
pub fn classify(eigenvalues: &[f64]) -> Kind {
    let scale = eigenvalues.iter().map(|x| x.abs()).fold(1e-12, f64::max);
    let tol = 1e-7 * scale;
    let min = eigenvalues.iter().copied().fold(f64::INFINITY, f64::min);
    if min < -tol {
        Kind::Saddle
    } else if min <= tol {
        Kind::Degenerate
    } else {
        Kind::Minimum
    }
}

/// Eigenvalues (ascending) of the 2×2 (w1, w2) block of a Hessian: the Hessian of F(m) when
/// evaluated at w = (m1, m2, 1).
fn eig2(h: &[[f64; 3]; 3]) -> [f64; 2] {
    let (a, b, d) = (h[0][0], h[0][1], h[1][1]);
    let mean = 0.5 * (a + d);
    let r = (0.25 * (a - d) * (a - d) + b * b).sqrt();
    [mean - r, mean + r]
}

/// Eigenvalues (ascending) of the full 3×3 Hessian by the shared Jacobi routine; a 3×3 array
/// is square, so the routine cannot fail (NaN stands in for the unreachable error).
fn eigenvalues3(h: &[[f64; 3]; 3]) -> [f64; 3] {
    match symmetric_eigenvalues(aview2(h))
        .map(|e| e.to_vec())
        .as_deref()
    {
        Ok(&[a, b, c]) => [a, b, c],
        _ => [f64::NAN; 3],
    }
}

fn sign(x: f64) -> i8 {
    if x < 0.0 {
        -1
    } else {
        1
    }
}

/// Runs the seeded multi-start search.
pub fn search(cfg: &MinimaConfig) -> Result<MinimaReport> {
    let ok = |x: f64| x.is_finite() && x > 0.0;
    if cfg.starts == 0 || !ok(cfg.box_half_width) || !ok(cfg.grad_tol) || !ok(cfg.cluster_tol) {
        return Err(Error::Config(
            "minima search needs ≥ 1 start and finite positive box, tolerances".into(),
        ));
    }
    let quad = Quadrature::default();
    let box_range = GenRange::new(-cfg.box_half_width, cfg.box_half_width)?;
    let results: Vec<LocalResult> = (0..cfg.starts)
        .into_par_iter()
        .map(|k| {
            let w = Array1::random_using(3, box_range, &mut stream(cfg.seed, k as u64));
            let start = Weights([w[0], w[1], w[2]]);
            local_minimize(&quad, start, cfg.max_iter, cfg.grad_tol)
        })
        .collect();
    let (end_points, stalled): (Vec<LocalResult>, Vec<LocalResult>) =
        results.into_iter().partition(|r| r.converged);
    let not_converged = stalled.len();
    let on_plateau = |r: &LocalResult| {
        let m = invariant(&r.weights);
        m[0].abs().max(m[1].abs()) < 0.05 && (r.c - PI * PI / 3.0).abs() < 1e-6
    };
    let mut clusters: Vec<Vec<&LocalResult>> = Vec::new();
    for r in &end_points {
        let m = invariant(&r.weights);
        let found = clusters.iter_mut().find(|c| {
            if on_plateau(r) || on_plateau(c[0]) {
                on_plateau(r) && on_plateau(c[0])
            } else {
                dist2(&invariant(&c[0].weights), &m) < cfg.cluster_tol
            }
        });
        match found {
            Some(c) => c.push(r),
            None => clusters.push(vec![r]),
        }
    }
    let mut minima: Vec<Minimum> = clusters
        .into_iter()
        .map(|members| {
            let n = members.len() as f64;
            let plateau = on_plateau(members[0]);
            let inv: [f64; 2] = if plateau {
                [0.0, 0.0]
            } else {
                std::array::from_fn(|k| {
                    members
                        .iter()
                        .map(|r| invariant(&r.weights)[k])
                        .sum::<f64>()
                        / n
                })
            };
            let weights = if plateau {
                let w = members[0].weights;
                Weights([w.0[0], w.0[1], 0.0])
            } else {
                Weights([inv[0], inv[1], 1.0])
            };
            let e = quad.expectation(&weights);
            let eigenvalues = if plateau {
                [0.0, 0.0]
            } else {
                eig2(&e.hessian)
            };
            let mut branches: Vec<Branch> = Vec::new();
            for r in &members {
                let w = r.weights;
                let (s1, s3) = (sign(invariant_sign(&w)), sign(w.0[2]));
                let abs3 = w.0[2].abs();
                match branches
                    .iter_mut()
                    .find(|b| b.sign_w1 == s1 && b.sign_w3 == s3)
                {
                    Some(b) => {
                        b.count += 1;
                        b.w3_abs_min = b.w3_abs_min.min(abs3);
                        b.w3_abs_max = b.w3_abs_max.max(abs3);
                        if (abs3.ln()).abs() < (b.example.0[2].abs().ln()).abs() {
                            b.example = w;
                        }
                    }
                    None => branches.push(Branch {
                        sign_w1: s1,
                        sign_w3: s3,
                        count: 1,
                        example: w,
                        w3_abs_min: abs3,
                        w3_abs_max: abs3,
                        c: f64::NAN,
                    }),
                }
            }
            for b in &mut branches {
                b.c = quad.cost(&b.example);
            }
            branches.sort_by_key(|b| (-b.sign_w1, -b.sign_w3));
            Minimum {
                weights,
                invariant: inv,
                c: e.c,
                grad_norm: norm(&e.grad),
                eigenvalues,
                eigenvalues_w: eigenvalues3(&e.hessian),
                kind: if plateau {
                    Kind::Plateau
                } else {
                    classify(&eigenvalues)
                },
                count: members.len(),
                branches,
            }
        })
        .collect();
    minima.sort_by(|a, b| {
        a.c.total_cmp(&b.c)
            .then(a.invariant[0].total_cmp(&b.invariant[0]))
    });
    Ok(MinimaReport {
        config: cfg.clone(),
        minima,
        end_points,
        not_converged,
        stalled,
    })
}

/// The sign of (w1, w2) as a pair: that of w1, or of w2 when w1 = 0.
fn invariant_sign(w: &Weights) -> f64 {
    if w.0[0] != 0.0 {
        w.0[0]
    } else {
        w.0[1]
    }
}

/// C and ∇C at w and at one of its symmetry images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SymmetryImage {
    /// Name of the transformation.
    pub transform: &'static str,
    /// Transformed weights.
    pub weights: Weights,
    /// C there.
    pub c: f64,
    /// ∇C there.
    pub grad: [f64; 3],
}

/// `w` and its images under w3 → −w3, (w1, w2) → −(w1, w2), both, and the scalings s = 2 and
/// s = 1/2 of (s·w1, s·w2, w3/s²), with C and ∇C at each.
pub fn symmetry_images(w: &Weights) -> Vec<SymmetryImage> {
    let quad = Quadrature::default();
    [
        ("identity", *w),
        ("w3 -> -w3", w.flip_w3()),
        ("(w1,w2) -> -(w1,w2)", w.flip_w12()),
        ("both sign flips", w.flip_w3().flip_w12()),
        ("scale s=2: (2w1, 2w2, w3/4)", w.scale(2.0)),
        ("scale s=1/2: (w1/2, w2/2, 4w3)", w.scale(0.5)),
    ]
    .into_iter()
    .map(|(transform, weights)| {
        let (c, grad) = quad.cost_grad(&weights);
        SymmetryImage {
            transform,
            weights,
            c,
            grad,
        }
    })
    .collect()
}

/// Non-convexity made explicit: C at w, at its w3-flip and at their midpoint (w1, w2, 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ConvexityCheck {
    /// C at w.
    pub c: f64,
    /// C at (w1, w2, −w3).
    pub c_flipped: f64,
    /// C at the midpoint (w1, w2, 0) (= π²/3, since y2 ≡ 0 there).
    pub c_midpoint: f64,
    /// Whether C(midpoint) > max(C(w), C(flip)) — a violation of convexity.
    pub violates_convexity: bool,
}

/// C at w, its w3-flip and their midpoint.
pub fn convexity_check(w: &Weights) -> ConvexityCheck {
    let quad = Quadrature::default();
    let c = quad.cost(w);
    let c_flipped = quad.cost(&w.flip_w3());
    let c_midpoint = quad.cost(&Weights([w.0[0], w.0[1], 0.0]));
    ConvexityCheck {
        c,
        c_flipped,
        c_midpoint,
        violates_convexity: c_midpoint > c.max(c_flipped),
    }
}
