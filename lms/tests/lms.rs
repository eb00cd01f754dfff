//! Integration tests of Problems 5–7.
use fxp_core::json::round_json;
use lms::adaptive::{self, AdaptConfig, Status};
use lms::dfg::{self, ArchOptions, Timing};
use lms::precision::{self, FaCost, PrecisionConfig};
use lms::problems::{self, SeedValues, Settings};
use lms::series::{fit_ar3, ArModel, SeriesTarget};
use lms::wiener::Wiener;
use serde_json::json;

fn quick() -> Settings {
    Settings::quick(1)
}

#[test]
fn fit_matches_the_seed_statistics() {
    let fit = fit_ar3(SeriesTarget::SEED).unwrap();
    let t = SeriesTarget::SEED;
    assert!(
        (fit.model_sigma_x2 - t.sigma_x2).abs() < 1e-9,
        "{}",
        fit.model_sigma_x2
    );
    assert!((fit.model_sigma_e2 - t.sigma_e2).abs() < 1e-12);
    assert!((fit.model_w_norm2 - t.w_norm2).abs() < 1e-12);
    assert!(fit.pole_radius < 0.6 && fit.model.a[0] > 0.0);
    // the exact Wiener predictor of the model is its coefficient vector
    let w = Wiener::from_autocorrelation(&fit.model.autocorrelation(3).unwrap(), 3).unwrap();
    for (a, b) in w.w.iter().zip(&fit.model.a) {
        assert!((a - b).abs() < 1e-10);
    }
    assert!((w.mmse - 0.352).abs() < 1e-10);
}

#[test]
fn generated_series_statistics_within_tolerance() {
    let (r, x) = problems::series(&Settings::full(1)).unwrap();
    assert_eq!(x.len(), 50_000);
    let m = &r.measured;
    // seed values σ_x² = 0.52, σ_e² = 0.352, ‖w*‖² = 0.6624; sampling tolerance a few percent
    assert!(
        (m.sigma_x2 / 0.52 - 1.0).abs() < 0.03,
        "sigma_x2 {}",
        m.sigma_x2
    );
    assert!((m.mmse / 0.352 - 1.0).abs() < 0.02, "mmse {}", m.mmse);
    assert!(
        (m.w_norm2 / 0.6624 - 1.0).abs() < 0.04,
        "w_norm2 {}",
        m.w_norm2
    );
    assert!((r.measured_prediction_mse - m.mmse).abs() < 1e-3);
    // another seed gives another series
    let (r2, _) = problems::series(&Settings::full(2)).unwrap();
    assert_ne!(r2.measured.sigma_x2, m.sigma_x2);
}

#[test]
fn precision_minimum_and_costs() {
    let p = problems::p5(&quick()).unwrap();
    let pr = &p.precision;
    assert_eq!(pr.model.range_x, 4.0);
    assert_eq!(pr.model.range_w, 1.0);
    assert_eq!(pr.bits_analytic, 5);
    assert_eq!(
        pr.bits_simulated,
        Some(pr.bits_analytic),
        "bit-true simulation confirms the minimum"
    );
    assert!(pr.equal_bits.iter().find(|q| q.bx == 4).unwrap().loss_db > 0.1);
    // seed: with ranges 1 for x and w, B > 3.24
    assert!(
        (pr.seed_ranges_bits_real - 3.24).abs() < 0.03,
        "{}",
        pr.seed_ranges_bits_real
    );
    // accumulator of the exact 3-term sum: 2B + 2 bits
    assert!(pr.equal_bits.iter().all(|q| q.acc_bits == 2 * q.bx + 2));
    // the model predicts the measured loss within a factor 2 where it matters (B = 3…7)
    for q in pr.equal_bits.iter().filter(|q| (3..=7).contains(&q.bx)) {
        let ratio = q.loss_db / q.predicted_loss_db;
        assert!((0.5..2.0).contains(&ratio), "B={} {ratio}", q.bx);
    }
}

#[test]
fn noise_budget_and_seed_cost_arithmetic() {
    // seed: (10^0.01 − 1)·0.352 = 0.008199 (its text also says 0.008119, a typo)
    let b = precision::noise_budget(0.352, 0.1);
    assert!((b - SeedValues::seed().noise_budget).abs() < 1e-6, "{b}");
    assert!((b - 0.008119).abs() > 5e-5);
    let c = FaCost::new(3, 4);
    assert_eq!(
        c.seed_formula, 66.0,
        "the seed's formula N B² + (N−1)(2B+1) at N=3, B=4"
    );
    assert_eq!(
        c.seed_printed_value_formula, 62.0,
        "the seed's printed 62 = 48 + (N−1)(2B−1)"
    );
    assert_eq!(c.seed_convention, 68.0);
    assert!((c.printed - (48.0 + 2.0 * (8.0 + 3f64.log2() - 1.0))).abs() < 1e-12);
}

#[test]
fn lms_architecture_critical_path_latency_throughput() {
    let t = Timing::new(3.0, 2.0).unwrap();
    let g = dfg::lms_architecture(ArchOptions {
        taps: 3,
        delay: 0,
        count_mu: true,
    })
    .unwrap();
    let cp = g.critical_path(&t).unwrap();
    assert_eq!(cp.symbolic.to_string(), "3T_M + 4T_A");
    assert_eq!(cp.time, 17.0);
    assert_eq!(
        g.latency(&t, "yhat").unwrap().symbolic.to_string(),
        "T_M + 2T_A"
    );
    assert_eq!(cp.symbolic.throughput(), "1/(3T_M + 4T_A)");
    // μ as a free shift removes one multiplier
    let g2 = dfg::lms_architecture(ArchOptions {
        taps: 3,
        delay: 0,
        count_mu: false,
    })
    .unwrap();
    assert_eq!(
        g2.critical_path(&t).unwrap().symbolic.to_string(),
        "2T_M + 4T_A"
    );
    let dot = g.to_dot();
    assert!(dot.starts_with("digraph") && dot.contains("W1 -> M1 [label=\"1D\"]"));
    assert!(g.to_svg(&cp.nodes).contains("<svg"));
}

#[test]
fn retiming_gives_min_m1_six() {
    // seed: M1 = 6 for T_cp = T_M with T_M > T_A; holds for T_A < T_M < 2 T_A
    for (tm, ta) in [(3.0, 2.0), (1.5, 1.0), (1.1, 1.0)] {
        let t = Timing::new(tm, ta).unwrap();
        let (m1, r) = dfg::min_delay_for_period(3, true, &t, tm, 20)
            .unwrap()
            .unwrap();
        assert_eq!(m1, 6, "T_M={tm} T_A={ta}");
        let g = dfg::lms_architecture(ArchOptions {
            taps: 3,
            delay: m1,
            count_mu: true,
        })
        .unwrap();
        let gr = g.retimed(&r).unwrap();
        let cp = gr.critical_path(&t).unwrap();
        assert_eq!(cp.symbolic.to_string(), "T_M");
        assert!(gr.edges.iter().all(|e| e.delays >= 0));
        let g5 = dfg::lms_architecture(ArchOptions {
            taps: 3,
            delay: 5,
            count_mu: true,
        })
        .unwrap();
        assert!(
            g5.retime(&t, tm).unwrap().r.is_none(),
            "M1 = 5 must not be retimable"
        );
    }
    // with 2 T_A ≤ T_M two adders share a stage: fewer delays suffice
    let t = Timing::new(2.0, 1.0).unwrap();
    assert_eq!(
        dfg::min_delay_for_period(3, true, &t, 2.0, 20)
            .unwrap()
            .unwrap()
            .0,
        5
    );
    let (worst, rows) = problems::min_m1_table(3).unwrap();
    assert_eq!(worst, 6);
    assert_eq!(rows.len(), problems::RATIOS.len());
}

#[test]
fn lms_converges_to_wiener_at_small_mu() {
    let (r, _) = problems::series(&quick()).unwrap();
    let w = &r.measured;
    let mu = 0.01 * adaptive::mu_max(3, w.sigma_x2).unwrap();
    let c = adaptive::ensemble(&r.fit.model, &w.w, &AdaptConfig::new(mu, 0, 4000, 100, 3)).unwrap();
    assert_eq!(c.status, Status::Converged);
    let fc = c.final_coef.unwrap();
    for (a, b) in fc.iter().zip(&w.w) {
        assert!((a - b).abs() < 0.03, "{fc:?} vs {:?}", w.w);
    }
    let m = c.misadjustment.unwrap();
    let theory = adaptive::misadjustment_independence(mu, &w.eigenvalues).unwrap();
    assert!(
        m > 0.0 && (m / theory - 1.0).abs() < 0.5,
        "measured {m}, theory {theory}"
    );
    // MSE decreases from σ_x² towards the Wiener MSE
    assert!(c.mse[0] > 0.45 && (c.final_mse - w.mmse).abs() < 0.02);
}

#[test]
fn divergence_is_reported_not_a_panic() {
    let (r, _) = problems::series(&quick()).unwrap();
    let w = &r.measured;
    let mu = 50.0 * adaptive::mu_max(3, w.sigma_x2).unwrap();
    let c = adaptive::ensemble(&r.fit.model, &w.w, &AdaptConfig::new(mu, 0, 500, 10, 1)).unwrap();
    assert_eq!(c.status, Status::Diverged);
    assert_eq!(c.diverged_realizations, 10);
    assert!(c.final_mse.is_finite() && c.misadjustment.is_none() && c.final_coef.is_none());
    assert!(serde_json::to_string(&c).is_ok());
}

#[test]
fn ensemble_is_thread_count_independent() {
    let m = ArModel::new(vec![0.6, -0.4, 0.15], 0.35).unwrap();
    let cfg = AdaptConfig::new(0.05, 2, 800, 37, 9);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| adaptive::ensemble(&m, &[0.6, -0.4, 0.15], &cfg).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.mse, b.mse);
    assert_eq!(a.coef, b.coef);
}

#[test]
fn dlms_bound_and_mu_fail() {
    let p = problems::p7(&quick()).unwrap();
    assert_eq!(
        p.dlms.status,
        Status::Converged,
        "M1 = 5 at μ = 0.001 converges (seed)"
    );
    let mu_fail = p
        .mu_fail
        .expect("some μ where DLMS diverges and LMS converges");
    assert!(mu_fail > 0.01 && mu_fail < 1.0, "{mu_fail}");
    // the measured boundary of M1 = 5 lies below the mean-convergence bound ×1.5
    let b5 = p.bounds.iter().find(|b| b.delay == 5).unwrap();
    assert!(b5.first_diverged_mu.unwrap() < 1.5 * b5.mean_bound);
    assert_eq!(p.min_m1, 6);
    assert_eq!(p.retimed_arch.critical_path.symbolic.to_string(), "T_M");
}

#[test]
fn bad_inputs_are_errors() {
    let m = ArModel::new(vec![0.5], 1.0).unwrap();
    for mu in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(
            adaptive::ensemble(
                &m,
                &[0.5],
                &AdaptConfig {
                    taps: 1,
                    ..AdaptConfig::new(mu, 0, 10, 2, 1)
                }
            )
            .is_err(),
            "mu {mu}"
        );
    }
    assert!(adaptive::ensemble(
        &m,
        &[],
        &AdaptConfig {
            taps: 0,
            ..AdaptConfig::new(0.1, 0, 10, 2, 1)
        }
    )
    .is_err());
    assert!(adaptive::ensemble(
        &m,
        &[0.5],
        &AdaptConfig {
            taps: 1,
            ..AdaptConfig::new(0.1, 0, 0, 2, 1)
        }
    )
    .is_err());
    assert!(adaptive::mu_max(0, 0.5).is_err() && adaptive::mu_max(3, f64::NAN).is_err());
    assert!(Wiener::estimate(&[1.0, 2.0, 3.0, 4.0], 0).is_err());
    assert!(Wiener::estimate(&[1.0, f64::NAN, 3.0, 4.0, 5.0], 2).is_err());
    assert!(Wiener::estimate(&[1.0, 2.0], 3).is_err());
    assert!(ArModel::new(vec![1.2], 1.0).is_err());
    assert!(ArModel::new(vec![0.5], f64::NAN).is_err());
    assert!(ArModel::new(vec![], 1.0).is_err());
    assert!(fit_ar3(SeriesTarget {
        sigma_x2: 0.3,
        sigma_e2: 0.35,
        w_norm2: 0.6
    })
    .is_err());
    let x: Vec<f64> = (0..100).map(|i| (i as f64 * 0.3).sin()).collect();
    let bad_range = PrecisionConfig {
        range_x: Some(3.0),
        ..PrecisionConfig::default()
    };
    assert!(precision::analyze(&x, 3, &bad_range).is_err());
    assert!(precision::analyze(&x, 0, &PrecisionConfig::default()).is_err());
    assert!(precision::analyze(
        &x,
        3,
        &PrecisionConfig {
            loss_db: f64::NAN,
            ..PrecisionConfig::default()
        }
    )
    .is_err());
    assert!(Timing::new(-1.0, 1.0).is_err() && Timing::new(1.0, f64::NAN).is_err());
    assert!(dfg::lms_architecture(ArchOptions {
        taps: 0,
        delay: 0,
        count_mu: true
    })
    .is_err());
    assert!(adaptive::log_space(0.0, 1.0, 5).is_err());
}

#[test]
fn snapshot_series_and_precision() {
    let p = problems::p5(&quick()).unwrap();
    let pr = &p.precision;
    let v = json!({
        "model_a": p.series.fit.model.a,
        "pole_radius": p.series.fit.pole_radius,
        "measured": { "sigma_x2": p.series.measured.sigma_x2, "mmse": p.series.measured.mmse,
                      "w": p.series.measured.w.to_vec(), "w_norm2": p.series.measured.w_norm2 },
        "budget": pr.model.budget,
        "bits_equal_real": pr.bits_equal_real,
        "bits_analytic": pr.bits_analytic,
        "bits_simulated": pr.bits_simulated,
        "best_pair_analytic": [pr.best_pair_analytic.bx, pr.best_pair_analytic.bw],
        "best_pair_simulated": pr.best_pair_simulated.as_ref().map(|q| [q.bx, q.bw]),
        "loss_db": pr.equal_bits.iter().map(|q| [q.bx as f64, q.loss_db, q.predicted_loss_db]).collect::<Vec<_>>(),
        "fa_cost": pr.fa_cost,
    });
    insta::assert_json_snapshot!("p5_quick", round_json(&v, 5));
}

#[test]
fn snapshot_lms_and_dlms() {
    let s = quick();
    let p6 = problems::p6(&Settings {
        lms_multiples: vec![0.5, 0.01, 50.0],
        ..s.clone()
    })
    .unwrap();
    let runs: Vec<_> = p6
        .runs
        .iter()
        .map(|r| json!({ "multiple": r.multiple, "status": r.curves.status, "final_mse": r.curves.final_mse,
                          "misadjustment": r.curves.misadjustment, "final_coef": r.curves.final_coef,
                          "diverged": r.curves.diverged_realizations }))
        .collect();
    let p7 = problems::p7(&s).unwrap();
    let v = json!({
        "mu_max": p6.mu_max,
        "mu_mean_square_bound": p6.mu_mean_square_bound,
        "runs": runs,
        "arch": [p6.arch.critical_path.symbolic.to_string(), p6.arch.latency.symbolic.to_string(), p6.arch.throughput],
        "dlms_final_coef": p7.dlms.final_coef,
        "bounds": p7.bounds,
        "mu_fail": p7.mu_fail,
        "min_m1": p7.min_m1,
        "ratios": p7.ratios,
        "retiming": p7.retiming,
    });
    insta::assert_json_snapshot!("p6_p7_quick", round_json(&v, 5));
}

#[test]
fn snapshot_dot() {
    let g = dfg::lms_architecture(ArchOptions {
        taps: 3,
        delay: 0,
        count_mu: true,
    })
    .unwrap();
    insta::assert_snapshot!("lms_dot", g.to_dot());
}
