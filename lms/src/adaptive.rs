//! Problems 6 and 7: the LMS and delayed-LMS (DLMS) predictors with ensemble averaging.
//!
//! **Convention.** ŷ_n = w_{n−1}ᵀ x_n with x_n = (x_{n−1}, …, x_{n−N}); e_n = x_n − ŷ_n;
//! LMS: w_n = w_{n−1} + μ e_n x_n (i.e. −μ/2 ∇e_n², which makes 2/tr(R) = 2/(N σ_x²) the
//! usual step-size bound); DLMS with M₁ update delays: w_n = w_{n−1} + μ e_{n−M₁} x_{n−M₁},
//! where e_{n−M₁} was computed with the weights available then (Long, Ling & Picchi 1989).
//! w starts at 0.
//!
//! **Ensembles.** Every realization is an independent series from the AR model drawn from
//! `fxp_core::rng::stream(seed, 1 + r)`; realizations run in parallel (rayon) but are summed in
//! a fixed order, so results do not depend on the thread count. The same realizations are used
//! for every μ and M₁ (common random numbers).
//!
//! **Divergence.** A realization diverges when e_n² is not finite or exceeds `cap_factor·σ_x²`;
//! from then on it contributes e² = cap to the ensemble MSE and no coefficients.
use crate::error::{check_nonzero, check_positive, LmsError, Result};
use crate::series::ArModel;
use fxp_core::array::slice;
use fxp_core::rng::stream;
use ndarray::{Array1, ArrayView1, AsArray};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Settings of one ensemble run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdaptConfig {
    /// Taps N.
    pub taps: usize,
    /// Step size μ.
    pub mu: f64,
    /// Update delay M₁ (0 = LMS).
    pub delay: usize,
    /// Samples per realization.
    pub len: usize,
    /// Number of realizations in the ensemble.
    pub realizations: usize,
    /// Curves are block averages over this many samples.
    pub record_every: usize,
    /// Seed of the realizations.
    pub seed: u64,
    /// Fraction of the run (at the end) averaged for the final MSE.
    pub tail: f64,
    /// Divergence cap on e², in units of σ_x².
    pub cap_factor: f64,
}

impl AdaptConfig {
    /// A run of `len` samples × `realizations` at step `mu` and delay `delay`.
    pub fn new(mu: f64, delay: usize, len: usize, realizations: usize, seed: u64) -> Self {
        Self {
            taps: 3,
            mu,
            delay,
            len,
            realizations,
            record_every: (len / 400).max(1),
            seed,
            tail: 0.25,
            cap_factor: 1e6,
        }
    }

    fn check(&self) -> Result<()> {
        check_nonzero("taps", self.taps)?;
        check_positive("mu", self.mu)?;
        check_nonzero("len", self.len)?;
        check_nonzero("realizations", self.realizations)?;
        check_nonzero("record_every", self.record_every)?;
        check_positive("cap_factor", self.cap_factor)?;
        if !(self.tail > 0.0 && self.tail <= 1.0) {
            return Err(LmsError::Invalid {
                what: "tail",
                reason: format!("{} is not in (0, 1]", self.tail),
            });
        }
        Ok(())
    }
}

/// Converged or diverged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No realization blew up and the final MSE stayed below `divergence_factor`·σ_x².
    Converged,
    /// Some realization blew up or the final MSE is above the threshold.
    Diverged,
}

/// Ensemble-averaged learning curves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Curves {
    /// The settings.
    pub config: AdaptConfig,
    /// Sample index at the end of each block.
    pub steps: Vec<usize>,
    /// Ensemble MSE per block (diverged realizations count as the cap).
    pub mse: Vec<f64>,
    /// Ensemble MSE of the reference (Wiener) predictor on the same samples.
    pub wiener_mse: Vec<f64>,
    /// Mean coefficient k per block over the realizations still alive (`None` when none is).
    pub coef: Vec<Vec<Option<f64>>>,
    /// MSE averaged over the final `tail` of the run.
    pub final_mse: f64,
    /// Reference MSE over the same samples.
    pub final_wiener_mse: f64,
    /// Measured misadjustment final_mse/final_wiener_mse − 1 (`None` when diverged).
    pub misadjustment: Option<f64>,
    /// Final mean coefficients (`None` when every realization diverged).
    pub final_coef: Option<Vec<f64>>,
    /// Realizations that blew up.
    pub diverged_realizations: usize,
    /// Earliest sample at which a realization blew up.
    pub first_divergence: Option<usize>,
    /// Converged or diverged (threshold 10·σ_x² on the final MSE).
    pub status: Status,
}

/// Per-block sums of one or several realizations.
#[derive(Debug, Clone)]
struct Sums {
    e2: Vec<f64>,
    we2: Vec<f64>,
    coef: Vec<Vec<f64>>,
    alive: Vec<f64>,
    diverged: usize,
    first: Option<usize>,
}

impl Sums {
    fn zero(blocks: usize, taps: usize) -> Self {
        Self {
            e2: vec![0.0; blocks],
            we2: vec![0.0; blocks],
            coef: vec![vec![0.0; blocks]; taps],
            alive: vec![0.0; blocks],
            diverged: 0,
            first: None,
        }
    }
    fn add(mut self, o: &Sums) -> Self {
        let acc = |a: &mut Vec<f64>, b: &Vec<f64>| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        acc(&mut self.e2, &o.e2);
        acc(&mut self.we2, &o.we2);
        acc(&mut self.alive, &o.alive);
        for (a, b) in self.coef.iter_mut().zip(&o.coef) {
            acc(a, b);
        }
        self.diverged += o.diverged;
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self
    }
}

/// One (D)LMS realization stepping through its series: the update applied at sample t uses the
/// error and regressor of M₁ samples earlier.
struct Adapter<'a> {
    x: &'a [f64],
    w: Vec<f64>,
    pending: VecDeque<(f64, usize)>,
    mu: f64,
    delay: usize,
    cap: f64,
}

impl<'a> Adapter<'a> {
    fn new(x: &'a [f64], cfg: &AdaptConfig, cap: f64) -> Self {
        Self {
            x,
            w: vec![0.0; cfg.taps],
            pending: VecDeque::with_capacity(cfg.delay + 1),
            mu: cfg.mu,
            delay: cfg.delay,
            cap,
        }
    }

    /// Prediction of x[t] with the weights `w`.
    fn dot(&self, w: &[f64], t: usize) -> f64 {
        w.iter()
            .enumerate()
            .map(|(k, wk)| wk * self.x[t - 1 - k])
            .sum::<f64>()
    }

    /// Predicts x[t], then applies the (delayed) update; the error, or `None` when e² is not
    /// finite or exceeds the cap (the realization blew up; no update is applied).
    fn step(&mut self, t: usize) -> Option<f64> {
        let e = self.x[t] - self.dot(&self.w, t);
        if !e.is_finite() || e * e > self.cap {
            return None;
        }
        self.pending.push_back((e, t));
        if self.pending.len() > self.delay {
            if let Some((ed, td)) = self.pending.pop_front() {
                for (k, wk) in self.w.iter_mut().enumerate() {
                    *wk += self.mu * ed * self.x[td - 1 - k];
                }
            }
        }
        Some(e)
    }
}

/// Runs one (D)LMS realization on the series `x` and adds it to block sums.
fn run_one(x: &[f64], wref: &[f64], cfg: &AdaptConfig, cap: f64, blocks: usize) -> Sums {
    let n = cfg.taps;
    let mut s = Sums::zero(blocks, n);
    let mut lms = Adapter::new(x, cfg, cap);
    let mut dead = false;
    for i in 0..cfg.len {
        let t = n + i;
        let b = (i / cfg.record_every).min(blocks - 1);
        let ew = x[t] - lms.dot(wref, t);
        s.we2[b] += ew * ew;
        if dead {
            s.e2[b] += cap;
            continue;
        }
        let Some(e) = lms.step(t) else {
            dead = true;
            s.diverged = 1;
            s.first = Some(i);
            s.e2[b] += cap;
            continue;
        };
        s.e2[b] += e * e;
        s.alive[b] += 1.0;
        for (k, wk) in lms.w.iter().enumerate() {
            s.coef[k][b] += wk;
        }
    }
    s
}

/// The realizations of an ensemble, generated exactly as [`ensemble`] generates them.
fn realization(model: &ArModel, cfg: &AdaptConfig, r: u64) -> Array1<f64> {
    let mut rng = stream(cfg.seed, 1 + r);
    model.generate(cfg.len + cfg.taps, 500, &mut rng)
}

/// How an ensemble blows up, sample by sample: what a diverging run does before every
/// realization has reached the cap (where [`Curves`] has nothing left to average).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DivergenceTrace {
    /// Sample index n (from 0) of each entry.
    pub steps: Vec<usize>,
    /// Geometric mean of e_n² over the realizations still alive at n.
    pub e2_geo_mean: Vec<f64>,
    /// Geometric mean of ‖w_n‖² (after the update at n) over the same realizations.
    pub w_norm2_geo_mean: Vec<f64>,
    /// Realizations still alive at n.
    pub alive: Vec<usize>,
    /// Sample at which the last realization blew up (`None` if some survived the whole run).
    pub last_blow_up: Option<usize>,
    /// Median over the realizations of the sample at which they blew up (`None` if fewer than
    /// half blew up).
    pub median_blow_up: Option<usize>,
}

/// The per-sample [`DivergenceTrace`] of the ensemble of `cfg` on realizations of `model` (the
/// same realizations as [`ensemble`]), until every realization has blown up or the run ends.
pub fn divergence_trace(model: &ArModel, cfg: &AdaptConfig) -> Result<DivergenceTrace> {
    cfg.check()?;
    let cap = cfg.cap_factor * model.autocorrelation(0)?[0];
    let series: Vec<Array1<f64>> = (0..cfg.realizations as u64)
        .map(|r| realization(model, cfg, r))
        .collect();
    let slices: Vec<_> = series.iter().map(slice).collect();
    let mut runs: Vec<Option<Adapter>> = slices
        .iter()
        .map(|x| Some(Adapter::new(x, cfg, cap)))
        .collect();
    let mut blow_ups = vec![];
    let mut trace = DivergenceTrace {
        steps: vec![],
        e2_geo_mean: vec![],
        w_norm2_geo_mean: vec![],
        alive: vec![],
        last_blow_up: None,
        median_blow_up: None,
    };
    for i in 0..cfg.len {
        let t = cfg.taps + i;
        let (mut log_e2, mut log_w2, mut alive) = (0.0, 0.0, 0usize);
        for slot in runs.iter_mut() {
            let Some(lms) = slot else { continue };
            match lms.step(t) {
                Some(e) => {
                    alive += 1;
                    log_e2 += (e * e).max(f64::MIN_POSITIVE).ln();
                    let w2: f64 = lms.w.iter().map(|w| w * w).sum();
                    log_w2 += w2.max(f64::MIN_POSITIVE).ln();
                }
                None => {
                    blow_ups.push(i);
                    *slot = None;
                }
            }
        }
        if alive == 0 {
            trace.last_blow_up = Some(i);
            break;
        }
        trace.steps.push(i);
        trace.alive.push(alive);
        trace.e2_geo_mean.push((log_e2 / alive as f64).exp());
        trace.w_norm2_geo_mean.push((log_w2 / alive as f64).exp());
    }
    if 2 * blow_ups.len() >= cfg.realizations {
        // blow_ups is in time order: its middle entry over all realizations is the median
        trace.median_blow_up = blow_ups.get(cfg.realizations / 2).copied();
    }
    Ok(trace)
}

/// Ensemble-averaged (D)LMS learning curves on realizations of `model`; `wref` is the reference
/// predictor whose MSE on the same samples is reported (the Wiener solution).
pub fn ensemble<'a>(
    model: &ArModel,
    wref: impl AsArray<'a, f64>,
    cfg: &AdaptConfig,
) -> Result<Curves> {
    cfg.check()?;
    let wref = slice(wref);
    let wref: &[f64] = &wref;
    if wref.len() != cfg.taps {
        return Err(LmsError::Invalid {
            what: "reference predictor",
            reason: format!("{} taps, expected {}", wref.len(), cfg.taps),
        });
    }
    let sigma_x2 = model.autocorrelation(0)?[0];
    let cap = cfg.cap_factor * sigma_x2;
    let blocks = cfg.len.div_ceil(cfg.record_every);
    // fixed chunks of realizations, summed in order: thread-count independent
    let ids: Vec<u64> = (0..cfg.realizations as u64).collect();
    let chunk_sums: Vec<Sums> = ids
        .par_chunks(8)
        .map(|chunk| {
            chunk.iter().fold(Sums::zero(blocks, cfg.taps), |acc, &r| {
                let x = realization(model, cfg, r);
                acc.add(&run_one(&slice(&x), wref, cfg, cap, blocks))
            })
        })
        .collect();
    let total = chunk_sums
        .iter()
        .fold(Sums::zero(blocks, cfg.taps), |a, b| a.add(b));
    let r = cfg.realizations as f64;
    let per_block: Vec<f64> = (0..blocks)
        .map(|b| (cfg.len.min((b + 1) * cfg.record_every) - b * cfg.record_every) as f64)
        .collect();
    let mse: Vec<f64> = total
        .e2
        .iter()
        .zip(&per_block)
        .map(|(s, n)| s / (r * n))
        .collect();
    let wiener_mse: Vec<f64> = total
        .we2
        .iter()
        .zip(&per_block)
        .map(|(s, n)| s / (r * n))
        .collect();
    let coef: Vec<Vec<Option<f64>>> = total
        .coef
        .iter()
        .map(|c| {
            c.iter()
                .zip(&total.alive)
                .map(|(s, a)| (*a > 0.0).then(|| s / a))
                .collect()
        })
        .collect();
    let tail_start = ((1.0 - cfg.tail) * blocks as f64).floor() as usize;
    let tail_start = tail_start.min(blocks - 1);
    let tail_n: f64 = per_block[tail_start..].iter().sum();
    let tail_mean = |v: &[f64]| {
        v[tail_start..]
            .iter()
            .zip(&per_block[tail_start..])
            .map(|(m, n)| m * n)
            .sum::<f64>()
            / tail_n
    };
    let final_mse = tail_mean(&mse);
    let final_wiener_mse = tail_mean(&wiener_mse);
    let status = if total.diverged > 0 || !final_mse.is_finite() || final_mse > 10.0 * sigma_x2 {
        Status::Diverged
    } else {
        Status::Converged
    };
    let final_coef: Option<Vec<f64>> = coef.iter().map(|c| c.last().copied().flatten()).collect();
    Ok(Curves {
        steps: (0..blocks)
            .map(|b| cfg.len.min((b + 1) * cfg.record_every))
            .collect(),
        misadjustment: (status == Status::Converged).then(|| final_mse / final_wiener_mse - 1.0),
        final_coef: if status == Status::Converged {
            final_coef
        } else {
            final_coef.filter(|_| total.diverged < cfg.realizations)
        },
        diverged_realizations: total.diverged,
        first_divergence: total.first,
        config: cfg.clone(),
        mse,
        wiener_mse,
        coef,
        final_mse,
        final_wiener_mse,
        status,
    })
}

/// Step-size bound μ_max = 2/(N σ_x²) = 2/tr(R).
pub fn mu_max(taps: usize, sigma_x2: f64) -> Result<f64> {
    check_nonzero("taps", taps)?;
    check_positive("sigma_x2", sigma_x2)?;
    Ok(2.0 / (taps as f64 * sigma_x2))
}

/// Small-step misadjustment M ≈ μ tr(R)/2.
pub fn misadjustment_small_mu(mu: f64, trace: f64) -> f64 {
    mu * trace / 2.0
}

/// S(μ) = Σ_i μλ_i / (2(1 − μλ_i)), `None` when some μλ_i ≥ 1.
fn gaussian_s(mu: f64, eigenvalues: ArrayView1<f64>) -> Option<f64> {
    eigenvalues.iter().try_fold(0.0, |s, &l| {
        (mu * l < 1.0).then(|| s + mu * l / (2.0 * (1.0 - mu * l)))
    })
}

/// Misadjustment of LMS (w ← w + μ e x) for real Gaussian regressors under the independence
/// assumption (Feuer & Weinstein, IEEE Trans. ASSP 33(1), 1985): with
/// S = Σ_i μλ_i / (2(1 − μλ_i)), M = S/(1 − S); `None` outside the mean-square stable region.
/// For small μ it reduces to μ tr(R)/2.
pub fn misadjustment_independence<'a>(mu: f64, eigenvalues: impl AsArray<'a, f64>) -> Option<f64> {
    gaussian_s(mu, eigenvalues.into())
        .filter(|&s| s < 1.0)
        .map(|s| s / (1.0 - s))
}

/// Mean-square stability bound of LMS for Gaussian regressors under the same theory: the
/// largest μ with μλ_max < 1 and S(μ) < 1 (bisection).
pub fn lms_mean_square_bound<'a>(eigenvalues: impl AsArray<'a, f64>) -> Result<f64> {
    let eigenvalues: ArrayView1<f64> = eigenvalues.into();
    let lmax = eigenvalues.iter().copied().fold(0.0, f64::max);
    check_positive("largest eigenvalue", lmax)?;
    let (mut lo, mut hi) = (0.0, 1.0 / lmax);
    for _ in 0..100 {
        let m = 0.5 * (lo + hi);
        if gaussian_s(m, eigenvalues).is_some_and(|s| s < 1.0) {
            lo = m;
        } else {
            hi = m;
        }
    }
    Ok(lo)
}

/// 2 sin(π / (2(2M₁ + 1))): the largest μλ for which all roots of
/// z^(M₁+1) − z^(M₁) + μλ lie inside the unit circle (mean convergence of DLMS along an
/// eigenvector of R; Long, Ling & Picchi, IEEE Trans. ASSP 37(9), 1989). Equals 2 at M₁ = 0.
pub fn dlms_root_bound(delay: usize) -> f64 {
    2.0 * (std::f64::consts::PI / (2.0 * (2 * delay + 1) as f64)).sin()
}

/// The real root z > 1 of z^(M₁+1) − z^(M₁) − a (a > 0): the growth factor per sample of the
/// mean weight error along an eigenvector of R when the update has the wrong sign,
/// v_{n+1} = v_n + a·v_{n−M₁} with a = 2μλ (the update w ← w + μ∇(e²) as the seed prints it).
/// Every a > 0 gives such a root: the printed sign diverges at every step size.
pub fn wrong_sign_growth(delay: usize, a: f64) -> Result<f64> {
    check_positive("mu lambda", a)?;
    let f = |z: f64| z.powi(delay as i32) * (z - 1.0) - a;
    // f(1) = −a < 0 and f increases for z ≥ 1; f(1 + a) ≥ 0
    let (mut lo, mut hi) = (1.0, 1.0 + a);
    for _ in 0..200 {
        let m = 0.5 * (lo + hi);
        if f(m) < 0.0 {
            lo = m;
        } else {
            hi = m;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// DLMS mean-convergence bound μ < 2 sin(π/(2(2M₁+1)))/λ_max.
pub fn dlms_mean_bound(delay: usize, lambda_max: f64) -> f64 {
    dlms_root_bound(delay) / lambda_max
}

/// The trace analogue μ < 2 sin(π/(2(2M₁+1)))/tr(R), which equals μ_max = 2/(N σ_x²) at M₁ = 0.
pub fn dlms_trace_bound(delay: usize, trace: f64) -> f64 {
    dlms_root_bound(delay) / trace
}

/// `n` log-spaced values from `lo` to `hi` (inclusive).
pub fn log_space(lo: f64, hi: f64, n: usize) -> Result<Vec<f64>> {
    check_positive("lo", lo)?;
    check_positive("hi", hi)?;
    check_nonzero("points", n)?;
    if n == 1 {
        return Ok(vec![lo]);
    }
    let (a, b) = (lo.ln(), hi.ln());
    Ok((0..n)
        .map(|i| (a + (b - a) * i as f64 / (n - 1) as f64).exp())
        .collect())
}

/// One point of the stability map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Update delay M₁.
    pub delay: usize,
    /// Step size.
    pub mu: f64,
    /// Final ensemble MSE (capped for diverged runs).
    pub final_mse: f64,
    /// Status.
    pub status: Status,
    /// Realizations that blew up.
    pub diverged_realizations: usize,
}

/// Final MSE for every (M₁, μ): the stability map.
pub fn stability_sweep<'a>(
    model: &ArModel,
    wref: impl AsArray<'a, f64>,
    mus: &[f64],
    delays: &[usize],
    len: usize,
    realizations: usize,
    seed: u64,
) -> Result<Vec<SweepPoint>> {
    let wref: ArrayView1<f64> = wref.into();
    let mut out = Vec::with_capacity(mus.len() * delays.len());
    for &delay in delays {
        for &mu in mus {
            let mut cfg = AdaptConfig::new(mu, delay, len, realizations, seed);
            cfg.taps = wref.len();
            cfg.record_every = (len / 20).max(1);
            let c = ensemble(model, wref, &cfg)?;
            out.push(SweepPoint {
                delay,
                mu,
                final_mse: c.final_mse,
                status: c.status,
                diverged_realizations: c.diverged_realizations,
            });
        }
    }
    Ok(out)
}

/// Smallest μ of the sweep at which delay `m1` diverges while delay 0 (LMS) converges.
pub fn mu_fail(points: &[SweepPoint], m1: usize) -> Option<f64> {
    let lms_ok = |mu: f64| {
        points
            .iter()
            .any(|p| p.delay == 0 && p.mu == mu && p.status == Status::Converged)
    };
    points
        .iter()
        .filter(|p| p.delay == m1 && p.status == Status::Diverged && lms_ok(p.mu))
        .map(|p| p.mu)
        .min_by(|a, b| a.total_cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxp_core::linalg::root_moduli;

    #[test]
    fn root_bound_is_the_unit_circle_crossing() {
        for m in [1usize, 2, 5, 10] {
            let b = dlms_root_bound(m);
            let poly = |a: f64| {
                let mut c = vec![-1.0];
                c.extend(vec![0.0; m - 1]);
                c.push(a);
                *root_moduli(&c).last().unwrap()
            };
            assert!(poly(0.98 * b) < 1.0, "m={m}");
            assert!(poly(1.02 * b) > 1.0, "m={m}");
        }
        assert!((dlms_root_bound(0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn wrong_sign_grows_at_every_step() {
        // M1 = 0: v_{n+1} = (1 + a) v_n
        assert!((wrong_sign_growth(0, 0.01).unwrap() - 1.01).abs() < 1e-12);
        for m in [1usize, 5, 10] {
            let z = wrong_sign_growth(m, 0.002).unwrap();
            let residual = z.powi(m as i32 + 1) - z.powi(m as i32) - 0.002;
            assert!(z > 1.0 && residual.abs() < 1e-12, "m={m}: z={z}");
            // a delay slows the growth but cannot stop it
            assert!(z < 1.002);
        }
        assert!(wrong_sign_growth(1, 0.0).is_err());
    }
}
