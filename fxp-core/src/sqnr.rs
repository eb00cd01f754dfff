//! Problem 1: SQNR of a dot product y = Σ_j w_j x_j under output quantization.
//!
//! Derivation (the seed's, with exact constants): a signed B_y-bit quantizer over the full
//! output range y_m = N·x_m·w_m has step Δ = 2^(1−B_y)·y_m and, under the additive-noise
//! model, noise power Δ²/12 = y_m²·2^(−2B_y)/3. With x_j, w_j independent and zero-mean,
//! σ_y² = N·σ_x²·σ_w², so
//!
//! SQNR = σ_y²/(Δ²/12) = 3·2^(2B_y)·σ_y²/y_m²
//!      = 6.02·B_y + 4.77 − 20 log10(y_m/σ_y)
//!      = 6.02·B_y + 4.77 − ζ_x(dB) − ζ_w(dB) − 10 log10 N,
//!
//! since y_m/σ_y = N x_m w_m/(√N σ_x σ_w) = √N·ζ_x·ζ_w. The seed rounds the constants to 6
//! and 4.8. The Monte-Carlo measurement here draws seeded x and w, quantizes y and compares.
use crate::error::{FxpError, Result};
use crate::progress::Progress;
use crate::quant::Quantizer;
use crate::rng::stream;
use crate::stats::{db_amplitude, db_power};
use ndarray::{Array1, Array2};
use ndarray_rand::RandomExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Distribution of the inputs x_j and weights w_j.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputDist {
    /// Uniform on [−1, 1]: peak 1, σ = 1/√3, ζ = √3 (4.77 dB).
    Uniform,
    /// Standard normal clipped (clamped) to ±4σ: peak 4, ζ ≈ 4 (12.04 dB).
    GaussianClipped,
}

impl std::str::FromStr for InputDist {
    type Err = FxpError;

    /// `uniform`, `gaussian-clipped` (or `gaussian`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "uniform" => Ok(InputDist::Uniform),
            "gaussian-clipped" | "gaussian" => Ok(InputDist::GaussianClipped),
            other => Err(FxpError::Invalid(format!(
                "unknown distribution {other:?} (use uniform, gaussian-clipped)"
            ))),
        }
    }
}

/// Clip level of [`InputDist::GaussianClipped`] in standard deviations.
pub const GAUSS_CLIP: f64 = 4.0;

impl InputDist {
    /// Both distributions.
    pub const ALL: [InputDist; 2] = [InputDist::Uniform, InputDist::GaussianClipped];

    /// Name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            InputDist::Uniform => "uniform",
            InputDist::GaussianClipped => "gaussian-clipped",
        }
    }

    /// Peak value x_m.
    pub fn peak(self) -> f64 {
        match self {
            InputDist::Uniform => 1.0,
            InputDist::GaussianClipped => GAUSS_CLIP,
        }
    }

    /// Fraction of samples beyond the peak that the peak clips (0 for the uniform inputs).
    pub fn clipped_fraction(self) -> f64 {
        match self {
            InputDist::Uniform => 0.0,
            InputDist::GaussianClipped => normal_two_sided_tail(GAUSS_CLIP),
        }
    }

    /// Standard deviation σ (for the clipped Gaussian, of the clipped variable, by quadrature).
    pub fn sigma(self) -> f64 {
        match self {
            InputDist::Uniform => 1.0 / 3f64.sqrt(),
            InputDist::GaussianClipped => clipped_normal_variance(GAUSS_CLIP).sqrt(),
        }
    }

    /// Peak-to-RMS ratio ζ = x_m/σ.
    pub fn zeta(self) -> f64 {
        self.peak() / self.sigma()
    }
}

/// Draws of x_j and w_j (`ndarray_rand::RandomExt::random_using` draws arrays of them).
impl Distribution<f64> for InputDist {
    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            InputDist::Uniform => rng.gen_range(-1.0..=1.0),
            InputDist::GaussianClipped => {
                let z: f64 = StandardNormal.sample(rng);
                z.clamp(-GAUSS_CLIP, GAUSS_CLIP)
            }
        }
    }
}

/// ∫₀^c f by Simpson's rule (4000 intervals).
fn simpson_0_to(c: f64, f: &dyn Fn(f64) -> f64) -> f64 {
    let n = 4000;
    let h = c / n as f64;
    let mut s = f(0.0) + f(c);
    for i in 1..n {
        s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// The standard normal density.
fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// P(|Z| > c) for a standard normal Z: the fraction of samples a clip at ±c changes
/// (Simpson's rule on the density, 1e-12 accurate).
pub fn normal_two_sided_tail(c: f64) -> f64 {
    1.0 - 2.0 * simpson_0_to(c, &normal_pdf)
}

/// E[clamp(Z, −c, c)²] for a standard normal Z (Simpson's rule on the density, 1e-12 accurate).
pub fn clipped_normal_variance(c: f64) -> f64 {
    let inner = 2.0 * simpson_0_to(c, &|x| x * x * normal_pdf(x));
    inner + c * c * normal_two_sided_tail(c)
}

/// The seed's dB per bit of output precision (comparison value; exactly 20 log10 2 ≈ 6.02).
pub const SEED_DB_PER_BIT: f64 = 6.0;
/// The seed's constant term in dB (comparison value; exactly 10 log10 3 ≈ 4.77).
pub const SEED_OFFSET_DB: f64 = 4.8;
/// The additive uniform-noise model is taken to hold when Δ/σ_y is at most this.
pub const MODEL_VALID_STEP_OVER_SIGMA: f64 = 0.5;

/// The analytic SQNR in dB with the seed's rounded constants: 6B + 4.8 − ζ_x − ζ_w − 10 log10 N.
pub fn sqnr_formula_seed_db(n: usize, b_y: u32, zeta_x: f64, zeta_w: f64) -> f64 {
    SEED_DB_PER_BIT * b_y as f64 + SEED_OFFSET_DB
        - db_amplitude(zeta_x)
        - db_amplitude(zeta_w)
        - db_power(n as f64)
}

/// The analytic SQNR in dB with the exact constants 20 log10 2 ≈ 6.02 and 10 log10 3 ≈ 4.77.
pub fn sqnr_formula_db(n: usize, b_y: u32, zeta_x: f64, zeta_w: f64) -> f64 {
    db_amplitude(2.0) * b_y as f64 + db_power(3.0)
        - db_amplitude(zeta_x)
        - db_amplitude(zeta_w)
        - db_power(n as f64)
}

/// The grid and sample size of the Monte-Carlo experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqnrConfig {
    /// Dot-product lengths N.
    pub ns: Vec<usize>,
    /// Output precisions B_y.
    pub bits: Vec<u32>,
    /// Input distributions (x and w drawn from the same one).
    pub dists: Vec<InputDist>,
    /// Dot products drawn per (N, distribution).
    pub samples: usize,
    /// Seed of the random streams.
    pub seed: u64,
}

impl SqnrConfig {
    /// The report's configuration ([`Default`]): 20,000 dot products per (N, distribution).
    pub fn full() -> Self {
        Self::default()
    }

    /// The fast smoke configuration (`--quick`): the same grid with 2,000 dot products.
    pub fn quick() -> Self {
        Self {
            samples: 2_000,
            ..Self::default()
        }
    }
}

impl Default for SqnrConfig {
    fn default() -> Self {
        Self {
            ns: vec![1, 4, 16, 64, 256, 1024, 4096],
            bits: (2..=16).step_by(2).collect(),
            dists: InputDist::ALL.to_vec(),
            samples: 20_000,
            seed: 1,
        }
    }
}

/// One point of the experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqnrRow {
    /// Dot-product length N.
    pub n: usize,
    /// Output precision B_y.
    pub b_y: u32,
    /// Distribution name.
    pub dist: String,
    /// Formula (2) with the seed's constants 6 and 4.8.
    pub sqnr_formula_db: f64,
    /// The same with the exact constants 6.02 and 4.77.
    pub sqnr_formula_exact_db: f64,
    /// Measured 10 log10(E[y²]/E[(y − q(y))²]).
    pub sqnr_measured_db: f64,
    /// Quantization step over the measured σ_y: the noise model needs Δ well below σ_y.
    pub step_over_sigma_y: f64,
    /// Whether the additive uniform-noise model's assumption Δ ≤ σ_y/2 holds.
    pub model_valid: bool,
}

/// Largest number of samples per (distribution, N): the samples are kept in memory (8 bytes each).
pub const MAX_SAMPLES: usize = 10_000_000;

/// Largest number of products x_j·w_j drawn by one experiment (samples × ΣN × distributions),
/// about a minute on two cores; the default experiment draws 2.2e8.
pub const MAX_PRODUCTS: u128 = 4_000_000_000;

/// Products x_j·w_j drawn by the experiment: samples × ΣN × distributions (saturating).
pub fn products(cfg: &SqnrConfig) -> u64 {
    let sum_n: u128 = cfg.ns.iter().map(|&n| n as u128).sum();
    let p = sum_n * cfg.samples as u128 * cfg.dists.len() as u128;
    u64::try_from(p).unwrap_or(u64::MAX)
}

/// Refuses an experiment too large to finish in reasonable time or memory, before any work.
fn check_work(cfg: &SqnrConfig) -> Result<()> {
    if cfg.samples > MAX_SAMPLES {
        return Err(FxpError::Invalid(format!(
            "{} samples per (distribution, N) is more than the {} this experiment keeps in memory",
            crate::text::group(cfg.samples as u64),
            crate::text::group(MAX_SAMPLES as u64)
        )));
    }
    let sum_n: u128 = cfg.ns.iter().map(|&n| n as u128).sum();
    let products = sum_n * cfg.samples as u128 * cfg.dists.len() as u128;
    if products > MAX_PRODUCTS {
        return Err(FxpError::Invalid(format!(
            "samples × ΣN × distributions = {} × {} × {} = {} products is more than the bound of {} \
             (about a minute of work): lower --n or --samples",
            crate::text::group(cfg.samples as u64),
            crate::text::group(sum_n as i128),
            cfg.dists.len(),
            crate::text::sci(products as f64, 3),
            crate::text::sci(MAX_PRODUCTS as f64, 1),
        )));
    }
    Ok(())
}

/// Runs the Monte-Carlo experiment; rows ordered by distribution, N, B_y. Deterministic for a
/// given config, whatever the thread count (one random stream per (distribution, N)).
pub fn run(cfg: &SqnrConfig) -> Result<Vec<SqnrRow>> {
    run_with_progress(cfg, &crate::progress::Silent)
}

/// [`run`] that reports its work to `progress`: one phase, "products drawn", of [`products`]
/// units, advanced by samples × N as each (distribution, N) unit finishes.
pub fn run_with_progress(cfg: &SqnrConfig, progress: &dyn Progress) -> Result<Vec<SqnrRow>> {
    if cfg.ns.is_empty() || cfg.bits.is_empty() || cfg.dists.is_empty() || cfg.samples < 2 {
        return Err(FxpError::Invalid(
            "SQNR experiment needs at least one N, one B_y, one distribution and 2 samples".into(),
        ));
    }
    if let Some(&n) = cfg.ns.iter().find(|&&n| n == 0) {
        return Err(FxpError::Invalid(format!(
            "dot-product length N = {n}: use N ≥ 1"
        )));
    }
    for &b in &cfg.bits {
        crate::error::check_bits(b as i64)?;
    }
    check_work(cfg)?;
    let units: Vec<(usize, InputDist, usize)> = cfg
        .dists
        .iter()
        .enumerate()
        .flat_map(|(di, &d)| {
            cfg.ns
                .iter()
                .enumerate()
                .map(move |(ni, &n)| (di * 1000 + ni, d, n))
        })
        .collect();
    progress.begin("products drawn", products(cfg));
    let blocks: Vec<Result<Vec<SqnrRow>>> = units
        .par_iter()
        .map(|&(unit, dist, n)| {
            let mut rng = stream(cfg.seed, unit as u64);
            // Sample s is y = Σ_j x_j w_j over the rows (x_j, w_j) of an N×2 draw.
            let ys: Array1<f64> = (0..cfg.samples)
                .map(|_| {
                    let xw = Array2::random_using((n, 2), dist, &mut rng);
                    xw.rows().into_iter().map(|r| r[0] * r[1]).sum()
                })
                .collect();
            progress.advance((cfg.samples as u64).saturating_mul(n as u64));
            let p_y = ys.iter().map(|y| y * y).sum::<f64>() / ys.len() as f64;
            let y_m = n as f64 * dist.peak() * dist.peak();
            let zeta = dist.zeta();
            cfg.bits
                .iter()
                .map(|&b| {
                    let q = Quantizer::signed(y_m, b)?;
                    let p_noise = ys.iter().map(|&y| (y - q.quantize(y)).powi(2)).sum::<f64>()
                        / ys.len() as f64;
                    let step_over_sigma_y = q.step() / p_y.sqrt();
                    Ok(SqnrRow {
                        n,
                        b_y: b,
                        dist: dist.name().to_string(),
                        sqnr_formula_db: sqnr_formula_seed_db(n, b, zeta, zeta),
                        sqnr_formula_exact_db: sqnr_formula_db(n, b, zeta, zeta),
                        sqnr_measured_db: db_power(p_y / p_noise),
                        step_over_sigma_y,
                        model_valid: step_over_sigma_y <= MODEL_VALID_STEP_OVER_SIGMA,
                    })
                })
                .collect()
        })
        .collect();
    progress.end();
    blocks
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .map(|b| b.concat())
}

/// Peak, spread and peak-to-RMS ratio of one input distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistZeta {
    /// Distribution name.
    pub dist: String,
    /// Peak value x_m.
    pub peak: f64,
    /// Standard deviation σ.
    pub sigma: f64,
    /// ζ = x_m/σ.
    pub zeta: f64,
    /// ζ in dB, 20 log10 ζ.
    pub zeta_db: f64,
    /// Fraction of samples the peak x_m clips (0 for a bounded distribution).
    pub clipped_fraction: f64,
}

impl DistZeta {
    /// The numbers of `dist`.
    pub fn of(dist: InputDist) -> Self {
        Self {
            dist: dist.name().to_string(),
            peak: dist.peak(),
            sigma: dist.sigma(),
            zeta: dist.zeta(),
            zeta_db: db_amplitude(dist.zeta()),
            clipped_fraction: dist.clipped_fraction(),
        }
    }
}

/// Problem 1 as data: the Monte-Carlo rows, the summary numbers of the report and the seed's
/// constants beside the exact ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem1 {
    /// The configuration that produced the rows.
    #[serde(flatten)]
    pub config: SqnrConfig,
    /// Every (distribution, N, B_y) point, as [`run`] returns them.
    pub rows: Vec<SqnrRow>,
    /// ζ of every distribution of the configuration.
    pub zetas: Vec<DistZeta>,
    /// Rows where the noise model holds (Δ/σ_y ≤ [`MODEL_VALID_STEP_OVER_SIGMA`]).
    pub valid_rows: usize,
    /// Largest |measured − formula with exact constants| over the valid rows, dB.
    pub max_gap_valid_db: f64,
    /// Largest |measured − formula with the seed's constants| over the valid rows, dB.
    pub max_gap_valid_seed_db: f64,
    /// What clipping the Gaussian at 4σ costs per operand against uniform inputs:
    /// 20 log10(ζ_gauss/ζ_uniform), dB.
    pub clipping_cost_db: f64,
    /// Exact dB per bit, 20 log10 2.
    pub db_per_bit: f64,
    /// Exact constant term, 10 log10 3, dB.
    pub offset_db: f64,
    /// The seed's dB per bit ([`SEED_DB_PER_BIT`]).
    pub seed_db_per_bit: f64,
    /// The seed's constant term ([`SEED_OFFSET_DB`]).
    pub seed_offset_db: f64,
}

impl Problem1 {
    /// The rows where the additive-noise model holds.
    pub fn valid(&self) -> impl Iterator<Item = &SqnrRow> {
        self.rows.iter().filter(|r| r.model_valid)
    }
}

/// Largest `gap(row)` over `rows` (0 for none).
fn max_gap<'a>(rows: impl Iterator<Item = &'a SqnrRow>, gap: impl Fn(&SqnrRow) -> f64) -> f64 {
    rows.map(|r| gap(r).abs()).fold(0.0, f64::max)
}

/// Problem 1: runs the Monte-Carlo experiment of `cfg` and summarises it.
pub fn problem1(cfg: &SqnrConfig) -> Result<Problem1> {
    let rows = run(cfg)?;
    let valid = || rows.iter().filter(|r| r.model_valid);
    Ok(Problem1 {
        config: cfg.clone(),
        zetas: cfg.dists.iter().map(|&d| DistZeta::of(d)).collect(),
        valid_rows: valid().count(),
        max_gap_valid_db: max_gap(valid(), |r| r.sqnr_measured_db - r.sqnr_formula_exact_db),
        max_gap_valid_seed_db: max_gap(valid(), |r| r.sqnr_measured_db - r.sqnr_formula_db),
        clipping_cost_db: db_amplitude(
            InputDist::GaussianClipped.zeta() / InputDist::Uniform.zeta(),
        ),
        db_per_bit: db_amplitude(2.0),
        offset_db: db_power(3.0),
        seed_db_per_bit: SEED_DB_PER_BIT,
        seed_offset_db: SEED_OFFSET_DB,
        rows,
    })
}
