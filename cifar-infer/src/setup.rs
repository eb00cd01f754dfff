//! Everything a Problem 3 run needs, loaded in one place: the description, the network, the
//! test images and the data folder.
use crate::data::{resolve_data_dir, CifarSet, DataPaths};
use crate::error::{InferError, Result};
use crate::model::Model;
use crate::quant::ranges::{CalibrationSample, RangeMethod, DEFAULT_SAMPLE};
use crate::quantized::Ranges;
use fxp_core::LayerPrecision;
use nn_cost::spec::NetworkSpec;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The built-in description used by default.
pub const DEFAULT_SPEC: &str = "cifar-alexnet";

/// Where the inputs of a run come from (all optional: defaults are the data folder's files and
/// the built-in course network).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The data folder (`--data`); see [`resolve_data_dir`].
    pub data_dir: Option<PathBuf>,
    /// The parameter file (`--model`); default `<data>/model.safetensors`.
    pub model: Option<PathBuf>,
    /// A description file (`--spec`); default the built-in `cifar-alexnet`.
    pub spec: Option<PathBuf>,
    /// An ONNX file (`--onnx`): description and parameters in one (instead of `spec`, `model`).
    pub onnx: Option<PathBuf>,
    /// Replacements of the input normalisation (`--scale`, `--mean`, `--std`).
    pub input: nn_cost::spec::PreprocessOverride,
    /// A CIFAR-10 folder (`--cifar`): official `cifar-10-batches-bin/` or `cifar-10-batches-py/`;
    /// default `<data>/cifar10`.
    pub cifar: Option<PathBuf>,
    /// Only the first N test images (`--images`).
    pub limit: Option<usize>,
}

/// Where the dynamic ranges come from: the one `--ranges` vocabulary of every subcommand,
/// `auto`, `npy`, or a calibration method `max`, `percentile:P`, `mse` ([`RangeMethod`]; the
/// old spelling `computed` is `max`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum RangeSource {
    /// The course npy files for the course network, `max` for any other network (the npy
    /// files hold one value per layer of the course network only).
    #[default]
    Auto,
    /// The course npy files of the data folder.
    Npy,
    /// A calibration method over the weights and the calibration images (`data_batch_1`).
    Method(RangeMethod),
}

impl RangeSource {
    /// The course's method, 2^⌈log2 max|x|⌉ over the calibration images.
    pub const MAX: Self = Self::Method(RangeMethod::Max);

    /// Whether the ranges depend on the precision (`mse`: one set per precision point).
    pub fn per_precision(self) -> bool {
        self == Self::Method(RangeMethod::Mse)
    }
}

impl fmt::Display for RangeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => write!(f, "auto"),
            Self::Npy => write!(f, "npy"),
            Self::Method(m) => write!(f, "{m}"),
        }
    }
}

impl FromStr for RangeSource {
    type Err = InferError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "npy" => Ok(Self::Npy),
            _ => s.parse().map(Self::Method).map_err(|_| {
                InferError::Invalid(format!(
                    "ranges {s:?}: use auto, npy, max, mse or percentile:P with 0 < P ≤ 100 \
                     (e.g. percentile:99.99)"
                ))
            }),
        }
    }
}

impl Serialize for RangeSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RangeSource {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A loaded network with its test images.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The description.
    pub spec: NetworkSpec,
    /// The network.
    pub model: Model,
    /// The test images (possibly limited).
    pub test: CifarSet,
    /// The data folder.
    pub paths: DataPaths,
    /// Whether the network is the course network (the built-in description, no `--spec` or
    /// `--onnx`),
    /// the one the data folder's npy ranges are for.
    pub course_network: bool,
}

impl Setup {
    /// Loads description, parameters and test images.
    pub fn load(src: &Sources) -> Result<Self> {
        let mut paths = resolve_data_dir(src.data_dir.as_deref())?;
        if let Some(dir) = &src.cifar {
            paths = paths.with_cifar_dir(dir);
        }
        let (spec, model) = match &src.onnx {
            Some(p) => {
                let (spec, weights) = crate::weights::load_onnx(p, &src.input)?;
                let model = Model::from_weights(&spec, &weights)?;
                (spec, Some(model))
            }
            None => {
                let mut spec = match &src.spec {
                    Some(p) => NetworkSpec::from_file(p)?,
                    None => NetworkSpec::builtin(DEFAULT_SPEC)?,
                };
                src.input.apply(&mut spec)?;
                (spec, None)
            }
        };
        let course_network = src.spec.is_none() && src.onnx.is_none();
        let model_path = src.model.clone().unwrap_or_else(|| paths.model());
        let model = match model {
            Some(m) => m,
            None => Model::load(&spec, &model_path)?,
        };
        let test_path = paths.test_batch()?;
        check_input_shape(&model, &test_path)?;
        let mut test = CifarSet::load(&test_path)?;
        if let Some(n) = src.limit {
            test = test.take(n);
        }
        Ok(Self {
            spec,
            model,
            test,
            paths,
            course_network,
        })
    }

    /// The dynamic ranges from `source`.
    pub fn ranges(&self, source: RangeSource) -> Result<Ranges> {
        self.ranges_with(source, None, &fxp_core::progress::Silent)
    }

    /// The calibration images (`data_batch_1` of the CIFAR-10 folder).
    pub fn calibration(&self) -> Result<CifarSet> {
        CifarSet::load(&self.paths.calibration_batch()?)
    }

    /// The source `source` stands for: [`RangeSource::Auto`] is the npy files for the course
    /// network and `max` for any other.
    pub fn resolve(&self, source: RangeSource) -> RangeSource {
        match source {
            RangeSource::Auto if self.course_network => RangeSource::Npy,
            RangeSource::Auto => RangeSource::MAX,
            s => s,
        }
    }

    /// The dynamic ranges from `source` ([`Setup::resolve`]d) for a source that does not
    /// depend on the precision (every one but `mse`: see [`Setup::ranges_at`]); computed
    /// ranges use the first `calibration_images` calibration images (all when `None`) and
    /// report to `progress` as one phase, "calibration (ranges)".
    pub fn ranges_with(
        &self,
        source: RangeSource,
        calibration_images: Option<usize>,
        progress: &dyn fxp_core::progress::Progress,
    ) -> Result<Ranges> {
        let layers = self.model.num_weight_layers();
        match self.resolve(source) {
            RangeSource::Method(RangeMethod::Mse) => Err(InferError::Invalid(
                "--ranges mse picks one range per precision: give the precisions \
                 (eval --bits/--weight-bits, ranges --bits) or use max or percentile:P"
                    .into(),
            )),
            // Percentile ranges do not depend on the precision: any will do.
            s => self.ranges_at(
                s,
                calibration_images,
                &vec![LayerPrecision { b_w: 8, b_a: 8 }; layers],
                progress,
            ),
        }
    }

    /// The dynamic ranges from `source` ([`Setup::resolve`]d) at precisions `p` (one per
    /// layer; only `mse` depends on them), from the first `calibration_images` calibration
    /// images (all when `None`).
    pub fn ranges_at(
        &self,
        source: RangeSource,
        calibration_images: Option<usize>,
        p: &[LayerPrecision],
        progress: &dyn fxp_core::progress::Progress,
    ) -> Result<Ranges> {
        let method = match self.resolve(source) {
            RangeSource::Npy | RangeSource::Auto => {
                return Ranges::from_npy(&self.paths, self.model.num_weight_layers())
            }
            RangeSource::Method(m) => m,
        };
        let mut calib = self.calibration()?;
        if let Some(n) = calibration_images {
            calib = calib.take(n);
        }
        let batch = crate::eval::DEFAULT_BATCH;
        progress.begin("calibration (ranges)", calib.len() as u64);
        let r = match method {
            RangeMethod::Max => Ranges::compute_with_progress(&self.model, &calib, batch, progress),
            m => CalibrationSample::collect(&self.model, &calib, DEFAULT_SAMPLE, batch)
                .and_then(|c| c.ranges(m, p))
                .map(|r| r.ranges()),
        };
        progress.end();
        r
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.paths.dir
    }
}

/// The images of CIFAR-10 are 3×32×32: a network whose input differs cannot run on them.
fn check_input_shape(model: &Model, images: &Path) -> Result<()> {
    if model.input != [3, 32, 32] {
        let [c, h, w] = model.input;
        return Err(crate::error::InferError::Invalid(format!(
            "the network {} takes {c}×{h}×{w} inputs but the images of {} are 3×32×32 \
             (CIFAR-10): use a network whose input is [3, 32, 32]",
            model.name,
            images.display()
        )));
    }
    Ok(())
}
