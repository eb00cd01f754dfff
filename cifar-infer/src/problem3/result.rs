//! The result of Problem 3 ([`Problem3`]) and the values it is compared with.
use super::{Settings, TOLERANCE_PP};
use crate::Ranges;
use fxp_core::compare::{Comparison, Tolerance};
use fxp_core::LayerPrecision;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

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
    /// Whether each layer's quantized input is unsigned (it follows a ReLU in the graph).
    pub unsigned_inputs: Vec<bool>,
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
    /// "Within 1 %" read as percentage points (the report's reading) against 1 % of the float
    /// baseline: the minima under both readings.
    pub tolerance_reading: ToleranceReading,
}

/// The homework's "within 1 %" under its two readings.
#[derive(Debug, Clone, Serialize)]
pub struct ToleranceReading {
    /// The reading the report uses: percentage points below the float accuracy.
    pub percentage_points: f64,
    /// The pass threshold of that reading, percent.
    pub threshold_points: f64,
    /// The other reading: this fraction of the float accuracy (0.01 for 1 %).
    pub relative_fraction: f64,
    /// The pass threshold of the relative reading, percent.
    pub threshold_relative: f64,
    /// Minimum uniform B under the relative reading.
    pub uniform_min_bits_relative: Option<u32>,
    /// Minimum B_min of the provided offsets under the relative reading.
    pub provided_min_b_min_relative: Option<u32>,
    /// Both readings give the same two minima.
    pub same_minima: bool,
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

impl AccuracyPoint {
    /// A sweep's point, with the average bits per weight of an offsets sweep.
    pub fn new(p: &crate::sweep::SweepPoint, mean_weight_bits: Option<f64>) -> Self {
        Self {
            bits: p.bits,
            accuracy: p.accuracy,
            correct: p.correct,
            within: p.within,
            mean_weight_bits,
        }
    }
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
    /// The profile `p` with its run time.
    pub(super) fn new(p: &super::Timed<crate::profile::Profile>) -> Self {
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
    /// The plain mean of the per-layer B_W at the minimum (each layer counted once).
    pub plain_mean_b_w_at_minimum: Option<f64>,
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
    /// Costs of the seed's B_min with the provided offsets: the architecture reproduces the
    /// seed's uniform costs, so a difference from its offsets costs is a difference of offsets.
    pub at_seed_b_min_provided: Cost,
    /// [`Self::at_seed_b_min_provided`]'s bits against the seed's offsets bits.
    pub seed_offsets_check: Comparison,
    /// [`Self::at_seed_uniform_bits`]' bits against the seed's uniform bits.
    pub seed_uniform_check: Comparison,
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
