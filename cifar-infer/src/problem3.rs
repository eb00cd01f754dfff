//! Problem 3 as one computation: [`run`] with [`Settings`] returns [`Problem3`], every number
//! of the section (float baseline, uniform sweep, dynamic ranges, the two noise-gain estimators
//! and their offsets, the B_min sweeps, the costs of both minima, the fixed-vs-float mismatch
//! against its bound, the byte-for-byte comparison of the npy files), with the seed's and the
//! data README's values beside them as data.
//!
//! The caller supplies [`Hooks`]: progress messages, progress counters and a compute-or-load
//! cache for the slow calibration passes; the library itself reads no cache and prints nothing.
use crate::data::{CifarSet, DataOrigin};
use crate::error::InferError;
use crate::mismatch::{mismatch_bound, mismatch_from_sweep};
use crate::offsets::{mean_weight_bits, offsets_sweep_against, precisions_at, OffsetSweepOptions};
use crate::profile::{Estimator, Profile, NPY_FILES};
use crate::sweep::{uniform_sweep, SweepOptions, SweepResult, Tolerance as AccuracyDrop};
use crate::{RangeSource, Ranges, Setup, Sources};
use fxp_core::compare::{Comparison, Tolerance};
use fxp_core::LayerPrecision;
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The homework's tolerance: a precision passes when its accuracy is at most this many
/// percentage points below the float baseline.
pub const TOLERANCE_PP: f64 = 1.0;

/// Everything that can stop a Problem 3 run.
#[derive(Debug, thiserror::Error)]
pub enum Problem3Error {
    /// Loading, inference, profiling.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The network description or the cost model.
    #[error(transparent)]
    Cost(#[from] nn_cost::CostError),
    /// Serialising a cache key.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// No precision passes the tolerance, so there is no minimum to cost.
    #[error("{0}")]
    NoMinimum(&'static str),
    /// An error of the caller's cache hook.
    #[error("{0}")]
    Hook(Box<dyn std::error::Error + Send + Sync>),
}

/// Result alias of this module.
pub type Result<T, E = Problem3Error> = std::result::Result<T, E>;

/// How thorough a run is, and where its inputs come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// A smoke configuration whose numbers are not the report's.
    pub quick: bool,
    /// Test images evaluated (the first N; all when `None`).
    pub test_images: Option<usize>,
    /// Calibration images of the dynamic-range pass (the first N; all when `None`).
    pub ranges_images: Option<usize>,
    /// Calibration images of the course estimator (all when `None`).
    pub course_images: Option<usize>,
    /// Calibration images of the per-image estimator (at most the calibration set).
    pub per_image_images: usize,
    /// Largest B_min of the offsets sweeps (they start at 1).
    pub max_b_min: u32,
    /// Uniform precisions of the mismatch table (each must be in the uniform sweep, 2..=16).
    pub mismatch_bits: Vec<u32>,
    /// The data folder (`--data`); see [`crate::resolve_data_dir`].
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
    /// A CIFAR-10 folder (`--cifar`); default `<data>/cifar10`.
    #[serde(skip)]
    pub cifar_dir: Option<PathBuf>,
}

impl Settings {
    /// The report's configuration: every test and calibration image.
    pub fn full() -> Self {
        Self {
            quick: false,
            test_images: None,
            ranges_images: None,
            course_images: None,
            per_image_images: 1000,
            max_b_min: 8,
            mismatch_bits: (2..=12).collect(),
            data_dir: None,
            cifar_dir: None,
        }
    }

    /// The smoke configuration (`cargo xtask --quick`): 500 test images, small profiler runs.
    pub fn quick() -> Self {
        Self {
            quick: true,
            test_images: Some(500),
            course_images: Some(500),
            per_image_images: 100,
            max_b_min: 6,
            mismatch_bits: (3..=10).collect(),
            ..Self::full()
        }
    }

    fn sources(&self) -> Sources {
        Sources {
            data_dir: self.data_dir.clone(),
            cifar: self.cifar_dir.clone(),
            limit: self.test_images,
            ..Default::default()
        }
    }
}

/// A value with the seconds it took (in the run that computed it, when read from a cache).
#[derive(Debug, Clone)]
pub struct Timed<T> {
    /// The value.
    pub value: T,
    /// Seconds of the computation.
    pub seconds: f64,
    /// Whether it was read from the cache of an earlier run.
    pub from_cache: bool,
}

/// A progress counter of one piece of work.
pub trait Progress: Sync {
    /// `units` more units of the work are done.
    fn advance(&self, units: u64);
}

impl Progress for () {
    fn advance(&self, _units: u64) {}
}

/// What the caller plugs into [`run`]: progress reporting and a cache. Every method has a
/// silent, uncached default ([`NoHooks`]).
pub trait Hooks {
    /// A progress message.
    fn step(&self, _message: &str) {}

    /// A counter for `total` units of work named `label`, dropped when the work is done.
    fn progress(&self, _label: &str, _total: u64) -> Box<dyn Progress + '_> {
        Box::new(())
    }

    /// `compute()`, or the value an earlier run stored under `name` and `key`; `key` covers
    /// every input of the computation (file contents, parameters).
    fn cached<T, K>(
        &self,
        _name: &str,
        _key: &K,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<Timed<T>>
    where
        T: Serialize + DeserializeOwned,
        K: Hash + ?Sized,
    {
        let started = Instant::now();
        let value = compute()?;
        Ok(Timed {
            value,
            seconds: started.elapsed().as_secs_f64(),
            from_cache: false,
        })
    }
}

/// Silent, uncached hooks (tests, embedding).
pub struct NoHooks;

impl Hooks for NoHooks {}

/// Comparison values of Problem 3 that are not computed here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceValues {
    /// Float accuracy printed in the data README (PyTorch, f32, 10,000 test images), percent.
    pub data_readme_fl_accuracy: f64,
    /// The data README's weight offsets before rounding (course estimator).
    pub data_readme_raw_w: [f64; 8],
    /// The data README's activation offsets before rounding (course estimator).
    pub data_readme_raw_a: [f64; 8],
    /// The seed's float accuracy (its own training run of the network), percent.
    pub seed_fl_accuracy: f64,
    /// The seed's minimum uniform precision.
    pub seed_min_bits: u32,
    /// The seed's accuracy at that precision, percent.
    pub seed_min_bits_accuracy: f64,
    /// The seed's minimum B_min with offsets.
    pub seed_b_min: u32,
    /// The seed's accuracy at that B_min, percent.
    pub seed_b_min_accuracy: f64,
}

/// The reference values (NOTES.md, Problem 3; the data README).
pub const REFERENCE: ReferenceValues = ReferenceValues {
    data_readme_fl_accuracy: 85.57,
    data_readme_raw_w: [3.856, 4.425, 3.958, 3.874, 3.276, 1.313, 1.533, 3.190],
    data_readme_raw_a: [0.000, 2.467, 3.491, 2.998, 2.924, 1.628, 0.927, 1.221],
    seed_fl_accuracy: 86.24,
    seed_min_bits: 7,
    seed_min_bits_accuracy: 85.87,
    seed_b_min: 5,
    seed_b_min_accuracy: 85.96,
};

/// The seed's costs of its uniform minimum (7 bits).
pub const SEED_COST_UNIFORM: SeedCost = SeedCost {
    rep_bits: 2.517e8,
    comp_fa_seed: 1.85e10,
};

/// The seed's costs of its offsets minimum (B_min = 5, its offsets).
pub const SEED_COST_OFFSETS: SeedCost = SeedCost {
    rep_bits: 1.916e8,
    comp_fa_seed: 2.84e10,
};

/// Agreement of our float accuracy with the data README's (same parameters, same images).
pub const FL_README_TOLERANCE: Tolerance = Tolerance::Absolute(0.005);
/// Agreement of an accuracy with the seed's (another training run): the homework's tolerance.
pub const SEED_ACCURACY_TOLERANCE: Tolerance = Tolerance::Absolute(TOLERANCE_PP);
/// Agreement of a precision (bits) with the seed's: equal.
pub const SEED_BITS_TOLERANCE: Tolerance = Tolerance::Absolute(0.0);
/// Agreement of a cost with the seed's: its four printed significant digits (within 0.05 %).
pub const SEED_COST_TOLERANCE: Tolerance = Tolerance::Relative(5e-4);

/// Everything Problem 3 computes, with its comparison values.
#[derive(Debug, Clone, Serialize)]
pub struct Problem3 {
    /// The configuration of the run.
    pub settings: Settings,
    /// Parameter and test files, as the report names them.
    pub files: DataFiles,
    /// Names of the conv/linear layers.
    pub layers: Vec<String>,
    /// Dynamic ranges of the course npy files (those of the uniform sweep and the measured
    /// mismatch).
    pub npy_ranges: Ranges,
    /// Test images evaluated.
    pub n: usize,
    /// Float accuracy, percent.
    pub fl_accuracy: f64,
    /// Float correct count.
    pub fl_correct: usize,
    /// Problem 3.1: the uniform sweep.
    pub uniform: Uniform,
    /// Problem 3.2: dynamic ranges and the two noise-gain estimators.
    pub profiler: Profiler,
    /// Problem 3.2: the B_min sweeps of every offset source.
    pub offsets: BMinSweeps,
    /// Problem 3.3: the costs of both minima.
    pub costs: Costs,
    /// The measured mismatch and its bound, by uniform precision.
    pub mismatch: BTreeMap<u32, MismatchRow>,
    /// Whether and how loosely the bound holds.
    pub mismatch_summary: MismatchSummary,
    /// The comparison values.
    pub reference: ReferenceValues,
    /// Our float accuracy against the data README's.
    pub fl_vs_data_readme: Comparison,
    /// Our results against the seed's: accuracies and minima of another training run
    /// (comparison values only), and the cost model at the seed's uniform B (must agree).
    pub seed_comparisons: Vec<Comparison>,
}

/// The data files of a run, relative to the workspace for the bundled data.
#[derive(Debug, Clone, Serialize)]
pub struct DataFiles {
    /// The parameter file.
    pub model: String,
    /// The test batch.
    pub test_batch: String,
}

/// One evaluated precision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccuracyPoint {
    /// B (uniform) or B_min (offsets).
    pub bits: u32,
    /// Accuracy, percent.
    pub accuracy: f64,
    /// Correct images.
    pub correct: usize,
    /// Whether the accuracy is within the tolerance of the float baseline.
    pub within: bool,
    /// Average bits per weight (offsets sweeps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_weight_bits: Option<f64>,
}

/// Problem 3.1: uniform precision B = 2…16 and the minimum within the tolerance.
#[derive(Debug, Clone, Serialize)]
pub struct Uniform {
    /// Accuracy by B.
    pub sweep: BTreeMap<u32, f64>,
    /// Smallest passing B.
    pub min_bits: Option<u32>,
    /// Accuracy at `min_bits`.
    pub accuracy: Option<f64>,
    /// The tolerance in percentage points.
    pub tolerance_pp: f64,
    /// Smallest passing accuracy.
    pub threshold: f64,
    /// Seconds of the sweep.
    pub seconds: f64,
    /// Every evaluated precision.
    pub points: Vec<AccuracyPoint>,
}

/// One estimator's profile, as results.json shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProfilerRun {
    /// Weight ranges used for the normalised gains.
    pub r_w: Vec<f64>,
    /// Activation ranges used for the normalised gains.
    pub r_a: Vec<f64>,
    /// Weight offsets.
    pub w_offsets: Vec<i64>,
    /// Activation offsets.
    pub a_offsets: Vec<i64>,
    /// Weight offsets before rounding.
    pub w_raw: Vec<f64>,
    /// Activation offsets before rounding.
    pub a_raw: Vec<f64>,
    /// Weight noise gains E_W,l.
    pub e_w: Vec<f64>,
    /// Activation noise gains E_A,l.
    pub e_a: Vec<f64>,
    /// Images used.
    pub images: usize,
    /// Units averaged over (images or batches).
    pub units: usize,
    /// Seconds of the computation.
    pub seconds: f64,
    /// Whether this run read it from the cache.
    #[serde(skip)]
    pub from_cache: bool,
}

impl ProfilerRun {
    fn new(p: &Timed<Profile>) -> Self {
        let v = &p.value;
        Self {
            r_w: v.ranges.weight.clone(),
            r_a: v.ranges.activation.clone(),
            w_offsets: v.offsets.w.clone(),
            a_offsets: v.offsets.a.clone(),
            w_raw: v.offsets.w_raw.clone(),
            a_raw: v.offsets.a_raw.clone(),
            e_w: v.gains.e_w.clone(),
            e_a: v.gains.e_a.clone(),
            images: v.gains.images,
            units: v.gains.units,
            seconds: p.seconds,
            from_cache: p.from_cache,
        }
    }
}

/// Problem 3.2: the profiler's dynamic ranges, both estimators, and the npy comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Profiler {
    /// The course estimator.
    pub course: ProfilerRun,
    /// The per-image estimator.
    #[serde(rename = "per-image")]
    pub per_image: ProfilerRun,
    /// Whether each npy file the course estimator writes equals the data folder's (`None`:
    /// absent from the data folder).
    pub matches_data_files: BTreeMap<String, Option<bool>>,
    /// The npy files, in the order the profiler writes them.
    pub npy_files: Vec<String>,
    /// Images of the calibration set.
    pub calibration_images: usize,
    /// Calibration images of the dynamic-range pass.
    pub ranges_images: usize,
    /// Seconds of the dynamic-range pass.
    pub ranges_seconds: f64,
    /// Whether this run read the ranges from the cache.
    #[serde(skip)]
    pub ranges_from_cache: bool,
}

/// Where the per-layer offsets of a B_min sweep come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OffsetSource {
    /// The data folder's npy files.
    ProvidedNpy,
    /// The course estimator's offsets.
    CourseEstimator,
    /// The per-image estimator's offsets.
    PerImageEstimator,
}

impl OffsetSource {
    /// How the report and results.json name the source.
    pub fn label(self) -> &'static str {
        match self {
            OffsetSource::ProvidedNpy => "provided npy",
            OffsetSource::CourseEstimator => "course estimator",
            OffsetSource::PerImageEstimator => "per-image estimator",
        }
    }

    /// Whether the per-layer precision figure shows it: the course estimator is the recipe of
    /// the provided files, so its bars would repeat theirs.
    pub fn in_precision_figure(self) -> bool {
        self != OffsetSource::CourseEstimator
    }
}

/// A sweep's minimum and its accuracies.
#[derive(Debug, Clone, Serialize)]
pub struct SweepSummary {
    /// Smallest passing B_min.
    pub min_b_min: Option<u32>,
    /// Accuracy at `min_b_min`.
    pub accuracy: Option<f64>,
    /// Accuracy by B_min.
    pub sweep: BTreeMap<u32, f64>,
}

/// One B_min sweep: B_l = B_min + offset_l.
#[derive(Debug, Clone, Serialize)]
pub struct BMinSweep {
    /// Where the offsets come from (the key in results.json).
    #[serde(skip)]
    pub source: OffsetSource,
    /// Minimum and accuracies.
    #[serde(flatten)]
    pub summary: SweepSummary,
    /// Weight offsets.
    pub w_offsets: Vec<f64>,
    /// Activation offsets.
    pub a_offsets: Vec<f64>,
    /// Every evaluated B_min, with the average bits per weight.
    pub points: Vec<AccuracyPoint>,
    /// Per-layer precisions at the minimum.
    pub at_minimum: Option<Vec<LayerPrecision>>,
    /// Average bits per weight at the minimum.
    pub mean_weight_bits_at_minimum: Option<f64>,
}

/// Problem 3.2: B_min sweeps of every offset source.
#[derive(Debug, Clone, Serialize)]
pub struct BMinSweeps {
    /// The sweep of the provided offsets (the one Problem 3.3 costs).
    #[serde(flatten)]
    pub provided: SweepSummary,
    /// Every source, in the report's order (a map by label in results.json).
    #[serde(serialize_with = "by_label")]
    pub by_source: Vec<BMinSweep>,
}

fn by_label<S: Serializer>(sweeps: &[BMinSweep], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_map(sweeps.iter().map(|w| (w.source.label(), w)))
}

/// Representational and computational cost of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    /// Σ(R_W B_W + R_A B_A), bits.
    pub rep_bits: f64,
    /// Full adders, accumulator as printed.
    pub comp_fa_printed: f64,
    /// Full adders, the seed's accumulator convention.
    pub comp_fa_seed: f64,
}

impl From<&nn_cost::CostReport> for Cost {
    fn from(c: &nn_cost::CostReport) -> Self {
        Self {
            rep_bits: c.rep_bits,
            comp_fa_printed: c.comp_fa_printed,
            comp_fa_seed: c.comp_fa_seed,
        }
    }
}

/// A cost the seed printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedCost {
    /// Representational cost, bits.
    pub rep_bits: f64,
    /// Computational cost, FA (seed convention).
    pub comp_fa_seed: f64,
}

/// Problem 3.3: the costs of the uniform minimum and of the provided-offsets minimum.
#[derive(Debug, Clone, Serialize)]
pub struct Costs {
    /// The uniform minimum's B.
    pub uniform_bits: u32,
    /// The provided-offsets minimum's B_min.
    pub offsets_b_min: u32,
    /// Costs of the uniform minimum.
    pub uniform: Cost,
    /// Costs of the offsets minimum.
    pub offsets: Cost,
    /// The seed's costs of its uniform minimum.
    pub seed_uniform: SeedCost,
    /// The seed's costs of its offsets minimum.
    pub seed_offsets: SeedCost,
    /// Costs of the seed's uniform minimum on our architecture (a check of the cost model: the
    /// architecture is the seed's, so these must equal its printed uniform costs).
    pub at_seed_uniform_bits: Cost,
    /// The offsets minimum stores fewer bits than the uniform one.
    pub offsets_lower_rep: bool,
    /// The offsets minimum needs more full adders (seed convention) than the uniform one.
    pub offsets_higher_comp: bool,
}

impl Costs {
    /// The seed's conclusion (offsets lower the representational and raise the computational
    /// cost) holds on our network.
    pub fn seed_conclusion_holds(&self) -> bool {
        self.offsets_lower_rep && self.offsets_higher_comp
    }
}

/// The mismatch at one uniform precision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MismatchRow {
    /// Fraction of test images whose fixed-point decision differs from the float one.
    pub measured: f64,
    /// The bound with the per-image gains.
    pub bound: f64,
    /// The bound with the course gains.
    pub bound_course: f64,
    /// Number of such images.
    pub disagreements: usize,
}

/// How the bound compares with the measurement over all precisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MismatchSummary {
    /// measured ≤ bound (per-image gains) at every precision.
    pub bound_holds: bool,
    /// measured ≤ bound (course gains) at every precision.
    pub course_bound_holds: bool,
    /// Smallest and largest bound / measured where mismatches occur.
    pub looseness: Option<[f64; 2]>,
}

/// Runs Problem 3: loads the data, then every part in order.
///
/// # Errors
/// Data, inference or cost errors, no passing precision, or a hook's error.
pub fn run(settings: &Settings, hooks: &impl Hooks) -> Result<Problem3> {
    hooks.step("p3: loading the network and the test images");
    let setup = Setup::load(&settings.sources())?;
    hooks.step(&data_message(&setup));
    let npy_ranges = setup.ranges(RangeSource::Npy)?;
    let (sweep, sweep_seconds) = run_uniform(hooks, &setup, &npy_ranges)?;
    let calib = setup.calibration()?;
    let fingerprint = calibration_fingerprint(&setup)?;
    hooks.step("profiler: dynamic ranges over the calibration set");
    let ranges_calib = match settings.ranges_images {
        Some(n) => calib.take(n),
        None => calib.clone(),
    };
    let batch = crate::eval::DEFAULT_BATCH;
    let key = (fingerprint, batch, settings.ranges_images);
    let ranges = hooks.cached("ranges", &key, || {
        Ok(Ranges::compute(&setup.model, &ranges_calib, batch)?)
    })?;
    let course_images = settings.course_images.unwrap_or(calib.len());
    let profile = |est, images: usize| {
        run_profiler(
            hooks,
            &setup,
            fingerprint,
            &calib,
            &ranges.value,
            est,
            images.min(calib.len()),
        )
    };
    let course = profile(Estimator::Course, course_images)?;
    let per = profile(Estimator::PerImage, settings.per_image_images)?;
    let profiler = Profiler {
        course: ProfilerRun::new(&course),
        per_image: ProfilerRun::new(&per),
        matches_data_files: npy_matches(&setup, &course.value),
        npy_files: NPY_FILES.iter().map(|s| s.to_string()).collect(),
        calibration_images: calib.len(),
        ranges_images: ranges_calib.len(),
        ranges_seconds: ranges.seconds,
        ranges_from_cache: ranges.from_cache,
    };
    let provided = nn_cost::costs::read_offsets_dir(&setup.paths.dir)?;
    let as_f64 = |o: &[i64]| o.iter().map(|&v| v as f64).collect::<Vec<f64>>();
    let sources = vec![
        (OffsetSource::ProvidedNpy, provided.0, provided.1),
        (
            OffsetSource::CourseEstimator,
            as_f64(&course.value.offsets.w),
            as_f64(&course.value.offsets.a),
        ),
        (
            OffsetSource::PerImageEstimator,
            as_f64(&per.value.offsets.w),
            as_f64(&per.value.offsets.a),
        ),
    ];
    let offsets = run_b_min_sweeps(settings, hooks, &setup, &ranges.value, &sweep, sources)?;
    let costs = run_costs(&setup, &sweep, &offsets)?;
    hooks.step("mismatch: fixed point vs float decisions");
    let mismatch = run_mismatch(
        settings,
        &setup,
        &npy_ranges,
        &ranges.value,
        &course,
        &per,
        &sweep,
    )?;
    Ok(Problem3 {
        settings: settings.clone(),
        files: DataFiles {
            model: data_file(&setup, &setup.paths.model())?,
            test_batch: data_file(&setup, &setup.paths.test_batch()?)?,
        },
        layers: setup.model.weight_layer_names(),
        npy_ranges,
        n: sweep.n,
        fl_accuracy: sweep.baseline,
        fl_correct: sweep.baseline_correct,
        mismatch_summary: summarize_mismatch(&mismatch),
        mismatch,
        fl_vs_data_readme: Comparison::new(
            "float accuracy vs the data README (PyTorch), %",
            sweep.baseline,
            REFERENCE.data_readme_fl_accuracy,
            FL_README_TOLERANCE,
        ),
        seed_comparisons: seed_comparisons(&sweep, &offsets, &costs),
        uniform: uniform_result(&sweep, sweep_seconds),
        profiler,
        offsets,
        costs,
        reference: REFERENCE,
    })
}

/// The progress line about the data folder.
fn data_message(setup: &Setup) -> String {
    match setup.paths.verified_in {
        Some(t) => format!(
            "data: bundled {} (checked against SHA256SUMS in {:.2} s)",
            setup.paths.dir.display(),
            t.as_secs_f64()
        ),
        None => format!(
            "data: {} (your own files, not checked)",
            setup.paths.dir.display()
        ),
    }
}

/// How the report names a data file: relative to the workspace for the bundled data (so the
/// report does not depend on where the clone lives), else its full path.
fn data_file(setup: &Setup, file: &Path) -> Result<String> {
    let root = crate::data::workspace_root();
    let root = std::fs::canonicalize(&root).map_err(|e| InferError::io(root, e))?;
    Ok(match (setup.paths.origin, file.strip_prefix(&root)) {
        (DataOrigin::Bundled, Ok(rel)) => rel.display().to_string(),
        _ => file.display().to_string(),
    })
}

/// Problem 3.1: float baseline and uniform sweep B = 2…16 on the npy ranges.
fn run_uniform(hooks: &impl Hooks, setup: &Setup, ranges: &Ranges) -> Result<(SweepResult, f64)> {
    hooks.step("p3: float baseline and uniform sweep B = 2..16");
    let opt = SweepOptions {
        tolerance: AccuracyDrop::Absolute(TOLERANCE_PP),
        log: true,
        ..Default::default()
    };
    let started = Instant::now();
    let sweep = uniform_sweep(&setup.model, &setup.test, ranges, &opt)?;
    let seconds = started.elapsed().as_secs_f64();
    hooks.step(&format!("p3: sweep done in {seconds:.0} s"));
    Ok((sweep, seconds))
}

fn uniform_result(sweep: &SweepResult, seconds: f64) -> Uniform {
    Uniform {
        sweep: sweep.accuracy_map(),
        min_bits: sweep.min_bits,
        accuracy: sweep.min_bits_accuracy,
        tolerance_pp: sweep.tolerance.points(sweep.baseline),
        threshold: sweep.threshold,
        seconds,
        points: sweep
            .points
            .iter()
            .map(|p| AccuracyPoint {
                bits: p.bits,
                accuracy: p.accuracy,
                correct: p.correct,
                within: p.within,
                mean_weight_bits: None,
            })
            .collect(),
    }
}

/// A hash of what every calibration computation depends on (contents of the parameter file and
/// of the calibration images, the network description): part of the cache keys.
fn calibration_fingerprint(setup: &Setup) -> Result<u64> {
    use std::hash::Hasher;
    let read = |p: PathBuf| std::fs::read(&p).map_err(|e| InferError::io(p, e));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    read(setup.paths.model())?.hash(&mut h);
    read(setup.paths.calibration_batch()?)?.hash(&mut h);
    serde_json::to_string(&setup.spec)?.hash(&mut h);
    Ok(h.finish())
}

/// The profile of `est` on the first `images` calibration images, through the cache hook.
fn run_profiler(
    hooks: &impl Hooks,
    setup: &Setup,
    fingerprint: u64,
    calib: &CifarSet,
    ranges: &Ranges,
    est: Estimator,
    images: usize,
) -> Result<Timed<Profile>> {
    let name = format!("profile-{}-{images}", est.name());
    let key = (
        fingerprint,
        serde_json::to_string(ranges)?,
        est.name(),
        images,
    );
    hooks.cached(&name, &key, || {
        hooks.step(&format!(
            "profiler: {} estimator on {images} calibration images",
            est.name()
        ));
        let bar = hooks.progress(&format!("noise gains ({})", est.name()), images as u64);
        let advance = |k| bar.advance(k);
        Ok(crate::profile::profile(
            &setup.model,
            calib,
            ranges,
            est,
            Some(images),
            &advance,
        )?)
    })
}

/// Whether each npy file of the course profile equals the data folder's.
fn npy_matches(setup: &Setup, course: &Profile) -> BTreeMap<String, Option<bool>> {
    course
        .npy_files()
        .into_iter()
        .map(|(name, bytes)| {
            let ours = std::fs::read(setup.paths.dir.join(name)).ok();
            (name.to_string(), ours.map(|f| f == bytes))
        })
        .collect()
}

/// Problem 3.2: B_min = 1…max sweeps of every offset source (a source with the offsets of an
/// earlier one reuses its sweep), against the float baseline of the uniform sweep.
fn run_b_min_sweeps(
    settings: &Settings,
    hooks: &impl Hooks,
    setup: &Setup,
    ranges: &Ranges,
    uniform: &SweepResult,
    sources: Vec<(OffsetSource, Vec<f64>, Vec<f64>)>,
) -> Result<BMinSweeps> {
    let opt = OffsetSweepOptions {
        min_b: 1,
        max_b: settings.max_b_min,
        tolerance: AccuracyDrop::Absolute(uniform.baseline - uniform.threshold),
        ..Default::default()
    };
    let mut sweeps: Vec<(OffsetSource, Vec<f64>, Vec<f64>, SweepResult)> = Vec::new();
    for (source, w, a) in sources {
        let earlier = sweeps.iter().find(|s| s.1 == w && s.2 == a);
        let r = match earlier {
            Some(s) => s.3.clone(),
            None => {
                hooks.step(&format!("offsets sweep: {}", source.label()));
                let base = uniform.baseline_eval();
                offsets_sweep_against(&setup.model, &setup.test, ranges, &w, &a, &opt, base)?
            }
        };
        sweeps.push((source, w, a, r));
    }
    let by_source: Vec<BMinSweep> = sweeps
        .into_iter()
        .map(|(source, w, a, r)| b_min_sweep(setup, source, w, a, &r))
        .collect::<Result<_>>()?;
    let provided = by_source
        .iter()
        .find(|s| s.source == OffsetSource::ProvidedNpy)
        .map(|s| s.summary.clone())
        .ok_or_else(|| InferError::Invalid("no sweep of the provided offsets".into()))?;
    Ok(BMinSweeps {
        provided,
        by_source,
    })
}

fn b_min_sweep(
    setup: &Setup,
    source: OffsetSource,
    w: Vec<f64>,
    a: Vec<f64>,
    r: &SweepResult,
) -> Result<BMinSweep> {
    let model = &setup.model;
    let layers = model.num_weight_layers();
    let mean_bits = |b| {
        precisions_at(b, &w, &a, layers)
            .ok()
            .map(|p| mean_weight_bits(model, &p))
    };
    let points = r
        .points
        .iter()
        .map(|p| AccuracyPoint {
            bits: p.bits,
            accuracy: p.accuracy,
            correct: p.correct,
            within: p.within,
            mean_weight_bits: mean_bits(p.bits),
        })
        .collect();
    let at_minimum = r
        .min_bits
        .and_then(|b| precisions_at(b, &w, &a, layers).ok());
    Ok(BMinSweep {
        source,
        summary: SweepSummary {
            min_b_min: r.min_bits,
            accuracy: r.min_bits_accuracy,
            sweep: r.accuracy_map(),
        },
        mean_weight_bits_at_minimum: at_minimum.as_ref().map(|p| mean_weight_bits(model, p)),
        at_minimum,
        points,
        w_offsets: w,
        a_offsets: a,
    })
}

/// Problem 3.3: costs of the uniform minimum and of the provided-offsets minimum.
fn run_costs(setup: &Setup, uniform: &SweepResult, offsets: &BMinSweeps) -> Result<Costs> {
    let table = setup.spec.analyze()?;
    let layers = setup.model.num_weight_layers();
    let uniform_bits = uniform.min_bits.ok_or(Problem3Error::NoMinimum(
        "no uniform precision within the tolerance",
    ))?;
    let provided = offsets
        .by_source
        .iter()
        .find(|s| s.source == OffsetSource::ProvidedNpy);
    let (offsets_b_min, at_minimum) = provided
        .and_then(|s| s.summary.min_b_min.zip(s.at_minimum.as_ref()))
        .ok_or(Problem3Error::NoMinimum(
            "no B_min within the tolerance with the provided offsets",
        ))?;
    let uni = nn_cost::network_costs(&table, &nn_cost::costs::uniform(uniform_bits, layers)?)?;
    let off = nn_cost::network_costs(&table, at_minimum)?;
    let seed_uniform = nn_cost::costs::uniform(REFERENCE.seed_min_bits, layers)?;
    let at_seed = nn_cost::network_costs(&table, &seed_uniform)?;
    Ok(Costs {
        uniform_bits,
        offsets_b_min,
        offsets_lower_rep: off.rep_bits < uni.rep_bits,
        offsets_higher_comp: off.comp_fa_seed > uni.comp_fa_seed,
        uniform: Cost::from(&uni),
        offsets: Cost::from(&off),
        seed_uniform: SEED_COST_UNIFORM,
        seed_offsets: SEED_COST_OFFSETS,
        at_seed_uniform_bits: Cost::from(&at_seed),
    })
}

/// The measured mismatch (from the uniform sweep's predictions, npy ranges) and the bound with
/// the per-image gains (npy ranges) and with the course gains (computed ranges).
fn run_mismatch(
    settings: &Settings,
    setup: &Setup,
    npy_ranges: &Ranges,
    ranges: &Ranges,
    course: &Timed<Profile>,
    per: &Timed<Profile>,
    sweep: &SweepResult,
) -> Result<BTreeMap<u32, MismatchRow>> {
    let model = &setup.model;
    let layers = model.num_weight_layers();
    let bits = &settings.mismatch_bits;
    let measured = mismatch_from_sweep(model, npy_ranges, &per.value.gains, sweep, bits)?;
    measured
        .iter()
        .map(|p| {
            let uniform = vec![
                LayerPrecision {
                    b_w: p.bits,
                    b_a: p.bits
                };
                layers
            ];
            let bound_course = mismatch_bound(model, ranges, &course.value.gains, &uniform)?;
            let row = MismatchRow {
                measured: p.measured,
                bound: p.bound,
                bound_course,
                disagreements: p.disagreements,
            };
            Ok((p.bits, row))
        })
        .collect()
}

fn summarize_mismatch(rows: &BTreeMap<u32, MismatchRow>) -> MismatchSummary {
    let ratios: Vec<f64> = rows
        .values()
        .filter(|r| r.measured > 0.0)
        .map(|r| r.bound / r.measured)
        .collect();
    let looseness = (!ratios.is_empty()).then(|| {
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(0.0, f64::max);
        [lo, hi]
    });
    MismatchSummary {
        bound_holds: rows.values().all(|r| r.measured <= r.bound),
        course_bound_holds: rows.values().all(|r| r.measured <= r.bound_course),
        looseness,
    }
}

/// Our results against the seed's, each with its tolerance: accuracies and minima (another
/// training run: they need not agree), and the costs of the seed's uniform minimum on our
/// architecture (the same architecture: they must).
fn seed_comparisons(uniform: &SweepResult, offsets: &BMinSweeps, costs: &Costs) -> Vec<Comparison> {
    let s = &REFERENCE;
    let mut c = vec![Comparison::new(
        "float accuracy, %",
        uniform.baseline,
        s.seed_fl_accuracy,
        SEED_ACCURACY_TOLERANCE,
    )];
    let optional = [
        (
            "minimum uniform B",
            uniform.min_bits.map(f64::from),
            f64::from(s.seed_min_bits),
            SEED_BITS_TOLERANCE,
        ),
        (
            "accuracy at the minimum uniform B, %",
            uniform.min_bits_accuracy,
            s.seed_min_bits_accuracy,
            SEED_ACCURACY_TOLERANCE,
        ),
        (
            "minimum B_min (provided offsets)",
            offsets.provided.min_b_min.map(f64::from),
            f64::from(s.seed_b_min),
            SEED_BITS_TOLERANCE,
        ),
        (
            "accuracy at the minimum B_min, %",
            offsets.provided.accuracy,
            s.seed_b_min_accuracy,
            SEED_ACCURACY_TOLERANCE,
        ),
    ];
    c.extend(
        optional
            .into_iter()
            .filter_map(|(q, ours, seed, tol)| ours.map(|o| Comparison::new(q, o, seed, tol))),
    );
    let (ours, seed) = (&costs.at_seed_uniform_bits, &costs.seed_uniform);
    let cost = |q: &str, ours: f64, seed: f64| Comparison::new(q, ours, seed, SEED_COST_TOLERANCE);
    c.extend([
        cost(
            "representational bits at the seed's uniform B",
            ours.rep_bits,
            seed.rep_bits,
        ),
        cost(
            "FA (seed convention) at the seed's uniform B",
            ours.comp_fa_seed,
            seed.comp_fa_seed,
        ),
    ]);
    c
}
