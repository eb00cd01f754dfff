//! The `cifar-infer` binary's command line: the flags every subcommand shares (network, data,
//! ranges, kernels) and one module per subcommand (its flags, its run and its printing).
use cifar_infer::eval::DEFAULT_BATCH;
use cifar_infer::profile::Estimator;
use cifar_infer::{InferError, PathPolicy, RangeSource, Setup, Sources};
use fxp_cli::clap::{self, Args, ValueEnum};
use fxp_cli::{count_item, list_item, Bar, InputArgs};
use nn_cost::PreprocessOverride;
use std::path::PathBuf;

pub(crate) mod bench;
// The precision designer (issue 17): ranges, accumulators, search.
pub(crate) mod design;
pub(crate) mod eval;
pub(crate) mod profile;
pub(crate) mod sweep;

/// Where the network and the data come from (shared by every subcommand).
#[derive(Args, Clone)]
pub(crate) struct NetworkArgs {
    /// Data folder laid out like the repository's data/ (default: the bundled data/).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// CIFAR-10 folder: the official cifar-10-batches-bin/ or cifar-10-batches-py/
    /// (default: <data>/cifar10).
    #[arg(long, value_name = "DIR")]
    pub(crate) cifar: Option<PathBuf>,
    /// Parameter file (safetensors); default <data>/model.safetensors.
    #[arg(long, value_name = "FILE")]
    pub(crate) model: Option<PathBuf>,
    /// Network description (nn-cost JSON); default the built-in cifar-alexnet.
    #[arg(long, value_name = "FILE", conflicts_with = "onnx")]
    pub(crate) spec: Option<PathBuf>,
    /// ONNX model (e.g. from torch.onnx.export): network and parameters in one file (instead
    /// of --spec and --model). Its input is x = pixel/255 unless --scale/--mean/--std say
    /// otherwise.
    #[arg(long, value_name = "FILE", conflicts_with = "model")]
    pub(crate) onnx: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

impl NetworkArgs {
    /// The sources to load, with the first `limit` test images.
    fn sources(&self, limit: Option<usize>) -> Sources {
        Sources {
            data_dir: self.data.clone(),
            model: self.model.clone(),
            spec: self.spec.clone(),
            onnx: self.onnx.clone(),
            input: self.input_override(),
            cifar: self.cifar.clone(),
            limit,
        }
    }

    fn input_override(&self) -> PreprocessOverride {
        PreprocessOverride {
            scale: self.input.scale,
            mean: self.input.mean.clone(),
            std: self.input.std.clone(),
        }
    }

    /// Loads the network and the first `limit` test images; for an ONNX network without
    /// --scale/--mean/--std, says on stderr how its input is computed.
    pub(crate) fn load(&self, limit: Option<usize>) -> Result<Setup, InferError> {
        if self.onnx.is_some() && self.input_override().is_empty() {
            eprintln!(
                "note: input x = pixel/255 (an ONNX file carries no input normalisation; set it \
                 with --scale, --mean, --std)"
            );
        }
        Setup::load(&self.sources(limit))
    }
}

#[derive(Args, Clone)]
pub(crate) struct Common {
    #[command(flatten)]
    pub(crate) net: NetworkArgs,
    /// Only the first N test images (default: all 10,000; bench: 1,000).
    #[arg(long, value_name = "N", alias = "limit", value_parser = count_item)]
    pub(crate) images: Option<usize>,
    /// Where the dynamic ranges come from: auto (the course npy files for the course network,
    /// max for any other), npy, or a calibration method over the calibration images: max (the
    /// course's), percentile:P, mse (one range per precision; eval only). `computed` = max.
    #[arg(long, value_name = "METHOD", default_value = "auto", value_parser = list_item::<RangeSource>)]
    pub(crate) ranges: RangeSource,
    /// When ranges are computed: only the first N calibration images (default: all 10,000).
    #[arg(long, value_name = "N", value_parser = count_item)]
    pub(crate) calibration_images: Option<usize>,
    /// Images per forward batch (≥ 1).
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = count_item)]
    pub(crate) batch: usize,
    /// Integer-kernel paths allowed (all exact; `auto` is the fastest).
    #[arg(long, value_enum, default_value_t = PathArg::Auto, alias = "path")]
    pub(crate) kernel: PathArg,
    /// Print only JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `--estimator`: clap's names for [`Estimator`].
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum EstimatorArg {
    /// The paper's definition: ŷ and the logit differences per image, averaged over images.
    PerImage,
    /// The course script: logits summed over batches of 500 images (file order) before the
    /// argmax and the differences, averaged over batches.
    Course,
}

impl From<EstimatorArg> for Estimator {
    fn from(e: EstimatorArg) -> Self {
        match e {
            EstimatorArg::PerImage => Estimator::PerImage,
            EstimatorArg::Course => Estimator::Course,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PathArg {
    /// Integer u8×i8 kernel where B ≤ 8 (with SIMD), else exact f32, else f64 GEMM.
    Auto,
    /// Exact f32/f64 GEMMs on integer codes only.
    FloatCodes,
    /// f64 GEMMs everywhere (slow reference).
    F64,
}

impl From<PathArg> for PathPolicy {
    fn from(p: PathArg) -> Self {
        match p {
            PathArg::Auto => PathPolicy::Auto,
            PathArg::FloatCodes => PathPolicy::FloatCodes,
            PathArg::F64 => PathPolicy::F64Only,
        }
    }
}

pub(crate) fn load(c: &Common, limit: Option<usize>) -> Result<Setup, InferError> {
    c.net.load(limit)
}

/// The ranges of `c.ranges` (`auto` is resolved by [`Setup::resolve`]), with a progress bar
/// while they are computed; `mse` is refused (one range per precision: [`ranges_at`]).
pub(crate) fn ranges_of(setup: &Setup, c: &Common) -> Result<cifar_infer::Ranges, InferError> {
    setup.ranges_with(c.ranges, c.calibration_images, &Bar::new(c.json))
}

/// The ranges of `c.ranges` at precisions `p` (any method, `mse` included).
pub(crate) fn ranges_at(
    setup: &Setup,
    c: &Common,
    p: &[fxp_core::LayerPrecision],
) -> Result<cifar_infer::Ranges, InferError> {
    setup.ranges_at(c.ranges, c.calibration_images, p, &Bar::new(c.json))
}

/// The sign of each weight layer's quantized input, read from the graph: `unsigned` when it
/// directly follows a ReLU/ReLU6 (through pooling, flatten, dropout), `signed` otherwise.
pub(crate) fn input_signs(model: &cifar_infer::Model) -> Vec<&'static str> {
    model
        .nonnegative_inputs()
        .into_iter()
        .map(|u| fxp_core::Signedness::for_input(u).name())
        .collect()
}
