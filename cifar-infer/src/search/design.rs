//! "Beyond the homework: precision design" as one result: the budgeted search beside the
//! uniform and B_min + offsets assignments, the range-method comparison on the test networks
//! `bn-after-relu` and `bn-after-relu-outliers` (where max ranges collapse), and the
//! accumulator analysis of each network ([`run`]).
use super::study::{range_study, search_study, RangeStudy, SearchSettings, SearchStudy};
use super::CostMetric;
use crate::error::Result;
use crate::quant::accumulators::{analyze, AccumulatorAnalysis};
use crate::quant::ranges::{RangeMethod, DEFAULT_SAMPLE};
use crate::setup::{RangeSource, Setup, Sources};
use fxp_core::progress::{Progress, Silent, Stopwatch};
use fxp_core::LayerPrecision;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The bundled test network (batch norm after ReLU, raw pixels), relative to this crate.
pub fn testnet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testnets/bn-after-relu")
}

/// The test network of the same shape on which max ranges collapse (one first-layer channel
/// fires on a handful of calibration images only), relative to this crate.
pub fn outliers_testnet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testnets/bn-after-relu-outliers")
}

/// The one-sided 95 % normal quantile: the default margin of the acceptance rule.
pub const Z_95: f64 = 1.645;

/// How much of each study to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignSettings {
    /// Run the search and the accumulator analysis on the course network too (the quick
    /// configuration uses the test network only).
    pub course: bool,
    /// Test images of the search (reported on).
    pub search_test_images: usize,
    /// Calibration images of the search (searched on).
    pub search_calibration_images: usize,
    /// The next calibration images, held out to validate the search's path.
    pub search_validation_images: usize,
    /// Uniform precisions of the search's baselines.
    pub search_uniform_bits: Vec<u32>,
    /// B_min values of the search's offsets baselines (course network).
    pub search_b_min: Vec<u32>,
    /// Calibration images of the noise gains.
    pub gain_images: usize,
    /// Accuracy tolerance (points).
    pub tolerance: f64,
    /// Margin of the search's acceptance rule (standard errors; [`super::judge`]).
    pub z: f64,
    /// Test images of the range comparison.
    pub range_test_images: usize,
    /// Calibration images of the range methods.
    pub range_calibration_images: usize,
    /// Uniform precisions of the range comparison.
    pub range_bits: Vec<u32>,
    /// Calibration images of the range methods on `bn-after-relu-outliers` (its outlier is in
    /// the 1,648th).
    pub outlier_calibration_images: usize,
    /// Test images of the accumulator analysis, per network (course, test network).
    pub accumulator_test_images: (usize, usize),
    /// Calibration images behind the reached widths.
    pub accumulator_calibration_images: usize,
    /// Accumulator widths tried, per network (course, test network).
    pub accumulator_widths: (Vec<u32>, Vec<u32>),
}

impl DesignSettings {
    /// The report's configuration (a few minutes on 2 cores).
    pub fn full() -> Self {
        Self {
            course: true,
            search_test_images: 2000,
            search_calibration_images: 500,
            search_validation_images: 8000,
            // Past B = 9 and B_min = 5 every baseline is at float accuracy (and on the slower
            // exact f32 path): the front is drawn without them.
            search_uniform_bits: (2..=9).collect(),
            search_b_min: (1..=5).collect(),
            gain_images: 100,
            tolerance: 1.0,
            z: Z_95,
            range_test_images: 10_000,
            range_calibration_images: 1000,
            range_bits: vec![4, 5, 6, 8],
            outlier_calibration_images: 10_000,
            accumulator_test_images: (50, 2000),
            accumulator_calibration_images: 50,
            accumulator_widths: (vec![16, 18, 20, 22], (8..=20).step_by(2).collect()),
        }
    }

    /// The smoke configuration: the test network only, few images.
    pub fn quick() -> Self {
        Self {
            course: false,
            search_test_images: 200,
            search_calibration_images: 200,
            search_validation_images: 800,
            search_uniform_bits: (2..=12).collect(),
            search_b_min: (1..=8).collect(),
            gain_images: 20,
            tolerance: 2.0,
            z: Z_95,
            range_test_images: 300,
            range_calibration_images: 200,
            range_bits: vec![4, 8],
            outlier_calibration_images: 2000,
            accumulator_test_images: (0, 100),
            accumulator_calibration_images: 20,
            accumulator_widths: (vec![], vec![10, 14, 18]),
        }
    }
}

/// The whole precision-design study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrecisionDesign {
    /// The settings.
    pub settings: DesignSettings,
    /// The search per network (course network first when run).
    pub searches: Vec<SearchStudy>,
    /// Range methods on the test network.
    pub ranges: RangeStudy,
    /// Range methods on the test network where max ranges collapse.
    pub outlier_ranges: RangeStudy,
    /// Accumulator analysis per network at 8 bits, max ranges.
    pub accumulators: Vec<AccumulatorAnalysis>,
}

/// Runs every study of `settings`; `course` is where the course network and data come from
/// (its data folder also holds the calibration images of the test network).
pub fn run(
    course: &Sources,
    settings: &DesignSettings,
    progress: &dyn Progress,
) -> Result<PrecisionDesign> {
    let test_sources = Sources {
        spec: Some(testnet_dir().join("net.json")),
        model: Some(testnet_dir().join("model.safetensors")),
        ..course.clone()
    };
    let batch = crate::eval::DEFAULT_BATCH;
    let mut searches = Vec::new();
    let mut accumulators = Vec::new();
    let s = settings;
    let search_on = |src: &Sources, offsets: bool, ranges: RangeSource| -> Result<SearchStudy> {
        let setup = Setup::load(&Sources {
            limit: Some(s.search_test_images),
            ..src.clone()
        })?;
        let calib = setup
            .calibration()?
            .take(s.search_calibration_images + s.search_validation_images);
        let table = setup.spec.analyze()?;
        let layers = setup.model.num_weight_layers();
        let r = setup.ranges_with(ranges, Some(s.search_calibration_images), &Silent)?;
        let offsets = if offsets {
            Some(nn_cost::read_offsets_for(setup.data_dir(), layers)?)
        } else {
            None
        };
        let settings = SearchSettings {
            tolerance: s.tolerance,
            z: s.z,
            validation_images: s.search_validation_images,
            metrics: CostMetric::ALL.to_vec(),
            uniform_bits: s.search_uniform_bits.clone(),
            b_min: s.search_b_min.clone(),
            offsets,
            gain_images: s.gain_images,
            batch,
        };
        search_study(
            &setup.model,
            &table,
            &r,
            &calib,
            &setup.test,
            &settings,
            progress,
        )
    };
    let accumulators_on = |src: &Sources, images: usize, widths: &[u32]| {
        let setup = Setup::load(&Sources {
            limit: Some(images),
            ..src.clone()
        })?;
        let calib = setup.calibration()?.take(s.accumulator_calibration_images);
        let ranges = crate::Ranges::compute(&setup.model, &calib, batch)?;
        let p = vec![LayerPrecision { b_w: 8, b_a: 8 }; setup.model.num_weight_layers()];
        analyze(
            &setup.model,
            &ranges,
            &p,
            &calib,
            &setup.test,
            widths,
            batch,
            progress,
        )
    };
    if s.course {
        searches.push(timed(progress, "search (course)", || {
            search_on(course, true, RangeSource::Npy)
        })?);
        accumulators.push(timed(progress, "accumulators (course)", || {
            accumulators_on(course, s.accumulator_test_images.0, &s.accumulator_widths.0)
        })?);
    }
    searches.push(timed(progress, "search (test network)", || {
        search_on(&test_sources, false, RangeSource::MAX)
    })?);
    accumulators.push(timed(progress, "accumulators (test network)", || {
        accumulators_on(
            &test_sources,
            s.accumulator_test_images.1,
            &s.accumulator_widths.1,
        )
    })?);
    let ranges_on = |dir: &Path, calibration_images: usize| -> Result<RangeStudy> {
        let setup = Setup::load(&Sources {
            spec: Some(dir.join("net.json")),
            model: Some(dir.join("model.safetensors")),
            limit: Some(s.range_test_images),
            ..course.clone()
        })?;
        let calib = setup.calibration()?.take(calibration_images);
        range_study(
            &setup.model,
            &calib,
            &setup.test,
            &[
                RangeMethod::Max,
                RangeMethod::Percentile(99.99),
                RangeMethod::Mse,
            ],
            &s.range_bits,
            DEFAULT_SAMPLE,
            batch,
            progress,
        )
    };
    Ok(PrecisionDesign {
        settings: s.clone(),
        searches,
        ranges: timed(progress, "range methods (test network)", || {
            ranges_on(&testnet_dir(), s.range_calibration_images)
        })?,
        outlier_ranges: timed(progress, "range methods (outlier network)", || {
            ranges_on(&outliers_testnet_dir(), s.outlier_calibration_images)
        })?,
        accumulators,
    })
}

/// Runs `f` and notes its wall and CPU time under `stage` (where the design's time goes).
fn timed<T>(progress: &dyn Progress, stage: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let t = Stopwatch::start();
    let r = f()?;
    progress.note(&format!("{stage}: {}", t.lap()));
    Ok(r)
}
