//! Local minima: the w3 sign flip, the scaling family and the multi-start search.
use nonlinear_sgd::minima::{self, Kind, MinimaConfig};
use nonlinear_sgd::{Quadrature, Weights, SEED_WEIGHTS};

#[test]
fn sign_flips_and_scaling_leave_c_unchanged() {
    let w = Weights(SEED_WEIGHTS);
    let images = minima::symmetry_images(&w);
    assert_eq!(images.len(), 6);
    for im in &images {
        assert_eq!(im.c, images[0].c, "{}", im.transform);
    }
    // The w3 flip negates ∂C/∂w3 and keeps ∂C/∂w1, ∂C/∂w2.
    let flip = &images[1];
    assert_eq!(flip.weights.0, [w.0[0], w.0[1], -w.0[2]]);
    assert_eq!(flip.grad[2], -images[0].grad[2]);
    assert_eq!(flip.grad[0], images[0].grad[0]);
    // Non-convexity: the midpoint of w and its w3 flip costs π²/3 > C(w).
    let cc = minima::convexity_check(&w);
    assert!(
        cc.violates_convexity && cc.c_midpoint > cc.c + 0.2,
        "{cc:?}"
    );
}

#[test]
fn multistart_finds_the_minimum_family_with_both_signs_of_w3() {
    let r = minima::search(&MinimaConfig {
        starts: 120,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(r.not_converged, 0);
    let best = &r.minima[0];
    assert_eq!(best.kind, Kind::Minimum);
    // Same function as the seed's solution: invariant m = √|w3|·(w1, w2) near the seed's.
    let seed_m = minima::invariant(&Weights(SEED_WEIGHTS));
    assert!(
        (best.invariant[0] - seed_m[0]).abs() < 0.01
            && (best.invariant[1] - seed_m[1]).abs() < 0.01
    );
    assert!((best.c - 3.0629).abs() < 1e-4, "C = {}", best.c);
    // The w3 sign flip is found by the search itself, with the (w1, w2) flip: four branches.
    assert!(
        best.branches.iter().any(|b| b.sign_w3 > 0) && best.branches.iter().any(|b| b.sign_w3 < 0)
    );
    assert_eq!(best.branches.len(), 4);
    // Each found end point of the family has the family's cost.
    let quad = Quadrature::default();
    for b in &best.branches {
        assert!((quad.cost(&b.example) - best.c).abs() < 1e-9);
    }
    // The only other stationary set reached is the w3 = 0 plateau with C = π²/3, where the
    // starts end only at (w1, w2) with ∂²C/∂w3² = −4·E[Θ·ỹ1⁴] > 0 (non-strict local minima).
    for m in &r.minima[1..] {
        assert_eq!(m.kind, Kind::Plateau);
        assert!((m.c - std::f64::consts::PI.powi(2) / 3.0).abs() < 1e-6);
    }
    let plateau_points = r
        .end_points
        .iter()
        .filter(|p| minima::invariant(&p.weights)[0].abs() < 0.05);
    let mut n = 0;
    for p in plateau_points {
        let w = Weights([p.weights.0[0], p.weights.0[1], 0.0]);
        let h33 = quad.expectation(&w).hessian[2][2];
        let formula = -4.0
            * quad.mean(|s| {
                let u = w.0[0] * s.x1 + w.0[1] * s.x2;
                s.y * u.powi(4)
            });
        assert!(
            (h33 - formula).abs() < 1e-9 * (1.0 + formula.abs()),
            "{h33} vs {formula}"
        );
        assert!(h33 > 0.0, "{w:?}: {h33}");
        n += 1;
    }
    assert!(n > 0, "some starts end on the plateau");
    let summary: Vec<_> = r
        .minima
        .iter()
        .map(|m| {
            serde_json::json!({
                "kind": m.kind,
                "invariant": if m.kind == Kind::Plateau { m.invariant } else { m.invariant.map(|x| (x * 1e5).round() / 1e5) },
                "c": (m.c * 1e6).round() / 1e6,
                "count": m.count,
            })
        })
        .collect();
    insta::assert_json_snapshot!("minima_search", summary);
}
