//! Problem 7: delayed LMS, the stability map, the minimum M₁ and the retimed architecture.
use super::p6::MISADJUSTMENT_TOLERANCE;
use super::{
    arch_report, reference, reference_timing, series, stability_map, ArchReport, SeedValues,
    SeriesEstimate, Settings,
};
use crate::adaptive::{self, AdaptConfig, Curves, Status, SweepPoint};
use crate::dfg::{self, ArchOptions, Timing};
use crate::error::{LmsError, Result};
use crate::wiener::Wiener;
use fxp_core::compare::{Comparison, Tolerance};
use serde::{Deserialize, Serialize};

/// Stability bounds and the measured boundary for one M₁.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundRow {
    /// M₁.
    pub delay: usize,
    /// 2 sin(π/(2(2M₁+1)))/λ_max (mean convergence, exact for the first moment).
    pub mean_bound: f64,
    /// 2 sin(π/(2(2M₁+1)))/tr(R) (trace analogue of 2/(N σ_x²)).
    pub trace_bound: f64,
    /// Largest μ of the sweep that converged below the first diverging μ.
    pub last_stable_mu: Option<f64>,
    /// Smallest μ of the sweep that diverged.
    pub first_diverged_mu: Option<f64>,
}

/// Minimum M₁ for one timing ratio.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RatioRow {
    /// T_M.
    pub t_m: f64,
    /// T_A.
    pub t_a: f64,
    /// Minimum M₁, μ multiplier counted.
    pub min_m1: Option<usize>,
    /// Minimum M₁ when μ·e is a free shift.
    pub min_m1_mu_free: Option<usize>,
}

/// Problem 7.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P7 {
    /// The sizes used.
    pub settings: Settings,
    /// The reference: the exact Wiener predictor of the fitted model (see
    /// [`super::reference`]).
    pub wiener: Wiener,
    /// Problem 5's estimate from its single series, beside the reference.
    pub series_estimate: SeriesEstimate,
    /// The M₁ run and LMS at the same μ against the misadjustment theory.
    pub misadjustment: SmallStepMisadjustment,
    /// The update as the seed prints it, w ← w + μ∇(e²), at the M₁ run's μ and delay.
    pub printed_sign: PrintedSign,
    /// DLMS at M₁ = 5, μ = 0.001.
    pub dlms: Curves,
    /// LMS at the same μ for comparison.
    pub lms_same_mu: Curves,
    /// The μ grid of the sweep.
    pub mus: Vec<f64>,
    /// The stability map.
    pub sweep: Vec<SweepPoint>,
    /// Bounds vs measured boundary per M₁.
    pub bounds: Vec<BoundRow>,
    /// Smallest μ where DLMS (M₁ = dlms_delay) diverges while LMS converges.
    pub mu_fail: Option<f64>,
    /// Minimum M₁ for T_cp = T_M valid for every T_M > T_A (max over the ratio table).
    pub min_m1: usize,
    /// Minimum M₁ per timing ratio.
    pub ratios: Vec<RatioRow>,
    /// The retimed DLMS architecture at min_m1 (reference timing).
    pub retimed_arch: ArchReport,
    /// The DLMS architecture before retiming.
    pub dlms_arch: ArchReport,
    /// r(v) per node of the retiming.
    pub retiming: Vec<(String, i64)>,
    /// The checks of the results against the seed's.
    pub checks: P7Checks,
    /// The seed's values.
    #[serde(rename = "seed")]
    pub seed_values: SeedValues,
}

/// The misadjustment of the M₁ run and of LMS at the same small μ, measured against the reference
/// on the same samples, beside the theory μ tr(R)/2.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmallStepMisadjustment {
    /// μ tr(R)/2 (at this small step the delay does not change it to first order).
    pub theory: f64,
    /// DLMS: measured against the theory (None if it diverged).
    pub dlms: Option<Comparison>,
    /// LMS at the same μ: measured against the theory (None if it diverged).
    pub lms: Option<Comparison>,
    /// Time constant of the slowest mode of the mean weights, 1/(μ λ_min), in samples.
    pub slowest_time_constant: f64,
    /// First sample of the averaged tail of the run.
    pub tail_start: usize,
}

impl SmallStepMisadjustment {
    fn new(dlms: &Curves, lms: &Curves, w: &Wiener) -> Self {
        let cfg = &dlms.config;
        let theory = adaptive::misadjustment_small_mu(cfg.mu, w.trace());
        let compare = |name: &str, c: &Curves| {
            c.misadjustment.map(|m| {
                Comparison::new(
                    format!("misadjustment of {name} vs μ tr(R)/2"),
                    m,
                    theory,
                    MISADJUSTMENT_TOLERANCE,
                )
            })
        };
        let lambda_min = w.eigenvalues.last().copied().unwrap_or(f64::NAN);
        Self {
            theory,
            dlms: compare("DLMS", dlms),
            lms: compare("LMS", lms),
            slowest_time_constant: 1.0 / (cfg.mu * lambda_min),
            tail_start: ((1.0 - cfg.tail) * cfg.len as f64).round() as usize,
        }
    }
}

/// What the update w ← w + μ∇(e²) (the sign the seed prints) would do: along the largest
/// eigenvalue the mean weight error grows by `growth_per_sample` every sample.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrintedSign {
    /// μ.
    pub mu: f64,
    /// M₁.
    pub delay: usize,
    /// Root z > 1 of z^(M₁+1) − z^(M₁) − 2μλ_max.
    pub growth_per_sample: f64,
    /// log10 of the growth over the run, len·log10 z.
    pub log10_growth_over_run: f64,
}

/// Largest difference of the final mean coefficients under which DLMS and LMS at the same small
/// step count as indistinguishable.
pub const SAME_TRAJECTORY: Tolerance = Tolerance::Absolute(0.01);
/// Relative tolerance under which our μ_fail agrees with the seed's.
pub const MU_FAIL_TOLERANCE: Tolerance = Tolerance::Relative(0.05);

/// Problem 7's results against the seed's statements.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct P7Checks {
    /// Largest |DLMS − LMS| of the final mean coefficients against 0 (None if either diverged).
    pub dlms_vs_lms: Option<Comparison>,
    /// Outcome of DLMS (M₁ = dlms_delay) at the seed's μ_fail, if the sweep sampled it.
    pub at_seed_mu_fail: Option<Status>,
    /// Our μ_fail against the seed's (None if no μ of the sweep fails).
    pub mu_fail_vs_seed: Option<Comparison>,
    /// μ_fail is at most the mean bound of its M₁ (mean convergence is necessary, not
    /// sufficient), None without a μ_fail.
    pub mu_fail_within_mean_bound: Option<bool>,
    /// Our minimum M₁ against the seed's.
    pub min_m1_vs_seed: Comparison,
}

/// Largest |DLMS − LMS| of the final mean coefficients, compared with 0 (None if either diverged).
fn same_trajectory(dlms: &Curves, lms: &Curves) -> Option<Comparison> {
    let (d, l) = dlms.final_coef.as_ref().zip(lms.final_coef.as_ref())?;
    let largest = d
        .iter()
        .zip(l)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    Some(Comparison::new(
        "largest |DLMS − LMS| final mean coefficient",
        largest,
        0.0,
        SAME_TRAJECTORY,
    ))
}

/// The outcome of the sweep at (`delay`, `mu`), if the sweep sampled that μ.
fn outcome_at(sweep: &[SweepPoint], delay: usize, mu: f64) -> Option<Status> {
    let sampled = Tolerance::Relative(1e-9);
    sweep
        .iter()
        .find(|q| q.delay == delay && sampled.holds(q.mu, mu))
        .map(|q| q.status)
}

/// The timing ratios examined for the minimum M₁ (T_A = 1).
pub const RATIOS: [f64; 9] = [1.1, 1.5, 1.9, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0];

/// Minimum M₁ over the ratio table, and the table.
pub fn min_m1_table(taps: usize) -> Result<(usize, Vec<RatioRow>)> {
    let mut rows = vec![];
    for &ratio in &RATIOS {
        let t = Timing::new(ratio, 1.0)?;
        let a = dfg::min_delay_for_period(taps, true, &t, t.t_m, 40)?.map(|x| x.0);
        let b = dfg::min_delay_for_period(taps, false, &t, t.t_m, 40)?.map(|x| x.0);
        rows.push(RatioRow {
            t_m: ratio,
            t_a: 1.0,
            min_m1: a,
            min_m1_mu_free: b,
        });
    }
    let worst = rows
        .iter()
        .map(|r| {
            r.min_m1.ok_or_else(|| {
                LmsError::Graph(format!("no M1 ≤ 40 reaches T_M at T_M/T_A = {}", r.t_m))
            })
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    Ok((worst, rows))
}

/// Bounds and the measured boundary of the stability map, per swept M₁.
pub(super) fn bound_rows(sweep: &[SweepPoint], delays: &[usize], w: &Wiener) -> Vec<BoundRow> {
    delays
        .iter()
        .map(|&d| {
            let pts: Vec<&SweepPoint> = sweep.iter().filter(|p| p.delay == d).collect();
            let first = pts.iter().position(|p| p.status == Status::Diverged);
            BoundRow {
                delay: d,
                mean_bound: adaptive::dlms_mean_bound(d, w.eigenvalues[0]),
                trace_bound: adaptive::dlms_trace_bound(d, w.trace()),
                last_stable_mu: match first {
                    Some(0) => None,
                    Some(i) => Some(pts[i - 1].mu),
                    None => pts.last().map(|p| p.mu),
                },
                first_diverged_mu: first.map(|i| pts[i].mu),
            }
        })
        .collect()
}

/// The DLMS architecture at `delay` before and after retiming to T_cp = T_M (reference
/// timing), and r(v) per node.
type Retimed = (ArchReport, ArchReport, Vec<(String, i64)>);

fn retimed_architectures(taps: usize, delay: usize) -> Result<Retimed> {
    let t = reference_timing();
    let opt = ArchOptions {
        taps,
        delay,
        count_mu: true,
    };
    let g = dfg::lms_architecture(opt)?;
    let r = g
        .retime(&t, t.t_m)?
        .r
        .ok_or_else(|| LmsError::Graph("the reference timing is not retimable at min M1".into()))?;
    let gr = g.retimed(&r)?;
    let mut retimed_arch = arch_report(&gr, opt, t)?;
    retimed_arch.title = format!("{} (retimed, T_cp = T_M)", g.title);
    retimed_arch.svg = {
        let mut h = gr.clone();
        h.title = retimed_arch.title.clone();
        h.to_svg(&retimed_arch.critical_path.nodes)
    };
    let retiming = g
        .nodes
        .iter()
        .zip(&r)
        .map(|(v, &ri)| (v.name.clone(), ri))
        .collect();
    Ok((arch_report(&g, opt, t)?, retimed_arch, retiming))
}

/// Runs Problem 7: DLMS at (`s.dlms_delay`, `s.dlms_mu`), the stability map, the minimum M₁ and
/// the retimed architecture.
pub fn p7(s: &Settings) -> Result<P7> {
    let (sr, _) = series(s)?;
    let w = reference(&sr.fit, s.taps)?;
    let model = &sr.fit.model;
    let cfg = AdaptConfig::new(
        s.dlms_mu,
        s.dlms_delay,
        s.dlms_len,
        s.dlms_realizations,
        s.seed,
    );
    let dlms = adaptive::ensemble(model, &w.w, &cfg)?;
    let lms_same_mu = adaptive::ensemble(model, &w.w, &AdaptConfig { delay: 0, ..cfg })?;
    let (mus, sweep) = stability_map(s, model, w.w.view(), &s.sweep_delays)?;
    let bounds = bound_rows(&sweep, &s.sweep_delays, &w);
    let mu_fail = adaptive::mu_fail(&sweep, s.dlms_delay);
    let (min_m1, ratios) = min_m1_table(s.taps)?;
    let (dlms_arch, retimed_arch, retiming) = retimed_architectures(s.taps, min_m1)?;
    let seed_values = SeedValues::seed();
    let mean_bound = bounds.iter().find(|b| b.delay == s.dlms_delay);
    let checks = P7Checks {
        dlms_vs_lms: same_trajectory(&dlms, &lms_same_mu),
        at_seed_mu_fail: outcome_at(&sweep, s.dlms_delay, seed_values.mu_fail),
        mu_fail_vs_seed: mu_fail
            .map(|mu| Comparison::new("μ_fail", mu, seed_values.mu_fail, MU_FAIL_TOLERANCE)),
        mu_fail_within_mean_bound: mu_fail.zip(mean_bound).map(|(mu, b)| mu <= b.mean_bound),
        min_m1_vs_seed: Comparison::new(
            "minimum M₁",
            min_m1 as f64,
            seed_values.min_m1 as f64,
            Tolerance::Absolute(0.0),
        ),
    };
    let growth = adaptive::wrong_sign_growth(s.dlms_delay, 2.0 * s.dlms_mu * w.eigenvalues[0])?;
    Ok(P7 {
        settings: s.clone(),
        series_estimate: SeriesEstimate::new(&sr.measured, &w),
        misadjustment: SmallStepMisadjustment::new(&dlms, &lms_same_mu, &w),
        printed_sign: PrintedSign {
            mu: s.dlms_mu,
            delay: s.dlms_delay,
            growth_per_sample: growth,
            log10_growth_over_run: s.dlms_len as f64 * growth.log10(),
        },
        retiming,
        wiener: w,
        dlms,
        lms_same_mu,
        mus,
        sweep,
        bounds,
        mu_fail,
        min_m1,
        ratios,
        retimed_arch,
        dlms_arch,
        checks,
        seed_values,
    })
}
