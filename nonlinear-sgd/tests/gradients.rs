//! Closed-form instantaneous gradients and Hessians (parts 1–2) against central finite differences,
//! and the quadrature gradient/Hessian against finite differences of the quadrature cost.
#![allow(clippy::needless_range_loop)] // index loops mirror the (p, r) matrix notation
use fxp_core::rng::stream;
use nonlinear_sgd::model::{self, Sample, Weights};
use nonlinear_sgd::Quadrature;
use rand::Rng;

fn bump(w: &Weights, k: usize, h: f64) -> Weights {
    let mut v = *w;
    v.0[k] += h;
    v
}

fn random_points(n: usize) -> Vec<(Weights, Sample)> {
    let mut rng = stream(7, 0);
    (0..n)
        .map(|_| {
            let w = Weights([
                rng.gen_range(-1.5..1.5),
                rng.gen_range(-1.5..1.5),
                rng.gen_range(-1.5..1.5),
            ]);
            (w, Sample::at_angle(rng.gen_range(-3.1..3.1)))
        })
        .collect()
}

#[test]
fn instantaneous_gradient_matches_finite_differences() {
    let h = 1e-6;
    for (w, s) in random_points(200) {
        let (_, g) = model::loss_grad(&w, &s);
        for k in 0..3 {
            let fd =
                (model::loss(&bump(&w, k, h), &s) - model::loss(&bump(&w, k, -h), &s)) / (2.0 * h);
            let tol = 1e-6 * (1.0 + g[k].abs());
            assert!(
                (g[k] - fd).abs() < tol,
                "w={w:?} s={s:?} k={k}: {} vs fd {fd}",
                g[k]
            );
        }
    }
}

#[test]
fn instantaneous_hessian_matches_finite_differences_of_the_gradient() {
    let h = 1e-6;
    for (w, s) in random_points(200) {
        let (l, g, hess) = model::loss_grad_hessian(&w, &s);
        let (l2, g2) = model::loss_grad(&w, &s);
        assert_eq!(l, l2);
        for k in 0..3 {
            assert!((g[k] - g2[k]).abs() <= 1e-12 * (1.0 + g[k].abs()));
        }
        for r in 0..3 {
            let gp = model::loss_grad(&bump(&w, r, h), &s).1;
            let gm = model::loss_grad(&bump(&w, r, -h), &s).1;
            for p in 0..3 {
                let fd = (gp[p] - gm[p]) / (2.0 * h);
                let tol = 1e-5 * (1.0 + hess[p][r].abs());
                assert!(
                    (hess[p][r] - fd).abs() < tol,
                    "w={w:?} ({p},{r}): {} vs {fd}",
                    hess[p][r]
                );
            }
        }
    }
}

#[test]
fn expected_gradient_and_hessian_match_finite_differences_of_c() {
    let quad = Quadrature::default();
    let h = 1e-5;
    for w in [
        Weights(nonlinear_sgd::SEED_WEIGHTS),
        Weights([0.3, 1.1, -0.6]),
        Weights([-1.2, 0.4, 1.3]),
    ] {
        let e = quad.expectation(&w);
        for k in 0..3 {
            let fd = (quad.cost(&bump(&w, k, h)) - quad.cost(&bump(&w, k, -h))) / (2.0 * h);
            assert!(
                (e.grad[k] - fd).abs() < 1e-8,
                "{w:?} k={k}: {} vs {fd}",
                e.grad[k]
            );
            let fd2 = (quad.cost_grad(&bump(&w, k, h)).1[k]
                - quad.cost_grad(&bump(&w, k, -h)).1[k])
                / (2.0 * h);
            assert!(
                (e.hessian[k][k] - fd2).abs() < 1e-6,
                "{w:?} ({k},{k}): {} vs {fd2}",
                e.hessian[k][k]
            );
        }
        assert_eq!(e.hessian_w1, e.hessian[0][0]);
    }
}
