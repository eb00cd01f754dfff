//! The precision-design subcommands: `ranges` (range calibration methods), `accumulators`
//! (accumulator widths, wrap-around vs saturation) and `search` (budgeted per-layer search and
//! the bound-optimal allocation). Each calls one library entry point and prints its result.
use super::NetworkArgs;
use cifar_infer::eval::DEFAULT_BATCH;
use cifar_infer::quant::accumulators::analyze;
use cifar_infer::quant::ranges::{RangeMethod, DEFAULT_SAMPLE};
use cifar_infer::search::design::Z_95;
use cifar_infer::search::study::{range_study, search_study, SearchSettings};
use cifar_infer::search::CostMetric;
use cifar_infer::{InferError, RangeSource, Setup};
use fxp_cli::clap::{self, Args};
use fxp_cli::{bits_item, count_item, list_item, outln, print_json, Bar};
use fxp_core::text::{list, sci};
use fxp_core::LayerPrecision;
use std::path::PathBuf;

/// Flags every design subcommand shares.
#[derive(Args, Clone)]
pub struct DesignCommon {
    #[command(flatten)]
    net: NetworkArgs,
    /// Only the first N test images (default: all 10,000).
    #[arg(long, value_name = "N", value_parser = count_item)]
    images: Option<usize>,
    /// Only the first N calibration images (data_batch_1).
    #[arg(long, value_name = "N", value_parser = count_item)]
    calibration_images: Option<usize>,
    /// Images per forward batch (≥ 1).
    #[arg(long, default_value_t = DEFAULT_BATCH, value_parser = count_item)]
    batch: usize,
    /// Print only JSON on stdout.
    #[arg(long)]
    json: bool,
}

impl DesignCommon {
    fn load(
        &self,
        default_calibration: usize,
    ) -> Result<(Setup, cifar_infer::CifarSet), InferError> {
        let setup = self.net.load(self.images)?;
        let calib = setup
            .calibration()?
            .take(self.calibration_images.unwrap_or(default_calibration));
        Ok((setup, calib))
    }
}

/// `cifar-infer ranges`.
#[derive(Args)]
pub struct RangesArgs {
    #[command(flatten)]
    common: DesignCommon,
    /// Range methods, comma-separated: max (the course's), percentile:P, mse.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = list_item::<RangeMethod>,
          default_value = "max,percentile:99.99,mse")]
    ranges: Vec<RangeMethod>,
    /// Uniform precisions, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = bits_item,
          default_value = "6,8,10")]
    bits: Vec<u32>,
}

/// `cifar-infer accumulators`.
#[derive(Args)]
pub struct AccumulatorArgs {
    #[command(flatten)]
    common: DesignCommon,
    /// Uniform precision of the network analysed.
    #[arg(long, default_value_t = 8, value_parser = bits_item)]
    bits: u32,
    /// Where the ranges come from (the --ranges vocabulary): max, percentile:P, mse (at
    /// --bits), npy or auto.
    #[arg(long, value_name = "METHOD", default_value = "max", value_parser = list_item::<RangeSource>)]
    ranges: RangeSource,
    /// Accumulator widths W to try (bits, all layers), comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = bits_item,
          default_value = "12,14,16,18,20,22,24,26")]
    widths: Vec<u32>,
}

/// `cifar-infer search`.
#[derive(Args)]
pub struct SearchArgs {
    #[command(flatten)]
    common: DesignCommon,
    /// Costs to minimise, comma-separated: rep, fa, bops, energy (one search each).
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = list_item::<CostMetric>,
          default_value = "rep,fa,bops,energy")]
    cost: Vec<CostMetric>,
    /// Accuracy tolerance in points below float (measured on the calibration images).
    #[arg(long, default_value_t = 1.0)]
    tolerance: f64,
    /// Margin of the validation rule in standard errors of the paired accuracy difference:
    /// every step of the search must keep validation accuracy − z·SE ≥ float − T; a step
    /// that does not is dropped and the search goes on with the others (0: no margin).
    #[arg(long, default_value_t = Z_95)]
    z: f64,
    /// Calibration images held out to validate the search (the ones after the
    /// --calibration-images searched on; 0: the margin rule is applied on those instead).
    #[arg(long, value_name = "N", default_value_t = 8000)]
    validation_images: usize,
    /// Folder with weight_offsets.npy and activation_offsets.npy for the B_min + offsets
    /// baselines (default: the data folder's, for the course network).
    #[arg(long, value_name = "DIR")]
    offsets: Option<PathBuf>,
    /// Where the ranges come from (the --ranges vocabulary): auto (the course npy files for
    /// the course network, max for any other), npy, max or percentile:P over the calibration
    /// images searched on (not mse: its ranges change with the precision).
    #[arg(long, value_name = "METHOD", default_value = "auto", value_parser = list_item::<RangeSource>)]
    ranges: RangeSource,
    /// Calibration images of the noise gains (per-image estimator) behind the bound.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = count_item)]
    gain_images: usize,
}

/// Calibration images the design subcommands use when --calibration-images is not given.
const DEFAULT_CALIBRATION: usize = 1000;

/// Calibration images `search` searches on when --calibration-images is not given.
const SEARCH_CALIBRATION: usize = 500;

/// `cifar-infer ranges`: accuracy and per-layer ranges of each method at each precision.
pub fn ranges_cmd(a: RangesArgs) -> Result<(), InferError> {
    let c = &a.common;
    let (setup, calib) = c.load(DEFAULT_CALIBRATION)?;
    let study = range_study(
        &setup.model,
        &calib,
        &setup.test,
        &a.ranges,
        &a.bits,
        DEFAULT_SAMPLE,
        c.batch,
        &Bar::new(c.json),
    )?;
    if c.json {
        return print_json(&study).map_err(|e| InferError::Invalid(e.to_string()));
    }
    outln!(
        "{}: float {:.2} % on {} test images; ranges from {} calibration images",
        study.network,
        study.float_accuracy,
        study.test_images,
        study.calibration_images
    );
    for r in &study.rows {
        outln!();
        outln!(
            "{} at B = {}: accuracy {:.2} %",
            r.method,
            r.bits,
            r.accuracy
        );
        outln!("  layer  r_W (max)  r_A (max)  weight MSE clip/gran  input MSE clip/gran");
        for (l, x) in r.ranges.layers.iter().enumerate() {
            outln!(
                "  {:>2} {:<8} {} ({})  {} ({})  {} / {}  {} / {}",
                l + 1,
                x.name,
                sci(x.weight_range, 3),
                sci(x.max_weight_range, 3),
                sci(x.activation_range, 3),
                sci(x.max_activation_range, 3),
                sci(x.weight_noise.clipping, 3),
                sci(x.weight_noise.granular, 3),
                sci(x.activation_noise.clipping, 3),
                sci(x.activation_noise.granular, 3)
            );
        }
    }
    Ok(())
}

/// `cifar-infer accumulators`: widths per layer and accuracy with cut accumulators.
pub fn accumulators_cmd(a: AccumulatorArgs) -> Result<(), InferError> {
    let c = &a.common;
    let (setup, calib) = c.load(200)?;
    let layers = setup.model.num_weight_layers();
    let p = vec![
        LayerPrecision {
            b_w: a.bits,
            b_a: a.bits
        };
        layers
    ];
    let ranges = setup.ranges_at(a.ranges, Some(calib.len()), &p, &Bar::new(c.json))?;
    let r = analyze(
        &setup.model,
        &ranges,
        &p,
        &calib,
        &setup.test,
        &a.widths,
        c.batch,
        &Bar::new(c.json),
    )?;
    if c.json {
        return print_json(&r).map_err(|e| InferError::Invalid(e.to_string()));
    }
    outln!(
        "{} at B = {} ({} ranges): exact accumulators {:.2} % on {} test images; widths \
         reached on {} calibration images",
        r.network,
        a.bits,
        a.ranges,
        r.exact_accuracy,
        r.test_images,
        r.calibration_images
    );
    outln!("  layer        D  assumed  worst case  reached (final)  reached (partial)");
    for (l, x) in r.layers.iter().enumerate() {
        outln!(
            "  {:>2} {:<8} {:>5}  {:>7}  {:>10}  {:>15}  {:>17}",
            l + 1,
            x.name,
            x.d,
            x.assumed_bits,
            x.worst_case_bits,
            x.reached_bits,
            x.reached_partial_bits
        );
    }
    outln!("  W  wrap-around %  saturation %");
    for p in &r.points {
        outln!(
            "  {:>2}  {:>13.2}  {:>12.2}",
            p.bits,
            p.wrap_accuracy,
            p.saturate_accuracy
        );
    }
    Ok(())
}

/// `cifar-infer search`: the budgeted search per cost, beside the baselines.
pub fn search_cmd(a: SearchArgs) -> Result<(), InferError> {
    let c = &a.common;
    let setup = c.net.load(c.images)?;
    let searched_on = c.calibration_images.unwrap_or(SEARCH_CALIBRATION);
    let all = setup.calibration()?;
    if searched_on + a.validation_images > all.len() {
        return Err(InferError::Invalid(format!(
            "{searched_on} calibration images to search on and {} to validate need {} images, \
             but the calibration set has {}: give fewer --calibration-images or \
             --validation-images",
            a.validation_images,
            searched_on + a.validation_images,
            all.len()
        )));
    }
    let calib = all.take(searched_on + a.validation_images);
    let table = setup.spec.analyze()?;
    let layers = setup.model.num_weight_layers();
    let offsets_dir = match (&a.offsets, &c.net.spec) {
        (Some(d), _) => Some(d.clone()),
        (None, None) => Some(setup.data_dir().to_path_buf()),
        (None, Some(_)) => None,
    };
    let offsets = offsets_dir
        .map(|d| nn_cost::read_offsets_for(d, layers))
        .transpose()?;
    let ranges = setup.ranges_with(a.ranges, Some(searched_on), &Bar::new(c.json))?;
    let settings = SearchSettings {
        tolerance: a.tolerance,
        z: a.z,
        validation_images: a.validation_images,
        metrics: a.cost.clone(),
        uniform_bits: (2..=12).collect(),
        b_min: (1..=8).collect(),
        offsets,
        gain_images: a.gain_images.min(calib.len()),
        batch: c.batch,
    };
    let bar = Bar::new(c.json).with_notes(!c.json);
    let s = search_study(
        &setup.model,
        &table,
        &ranges,
        &calib,
        &setup.test,
        &settings,
        &bar,
    )?;
    if c.json {
        return print_json(&s).map_err(|e| InferError::Invalid(e.to_string()));
    }
    outln!(
        "{}: float {:.2} % (calibration, {} images), {:.2} % (test, {} images); tolerance {} \
         points, margin {} SE; bound budget p = {}",
        s.network,
        s.float_calibration_accuracy,
        s.calibration_images,
        s.float_test_accuracy,
        s.test_images,
        a.tolerance,
        a.z,
        s.budget
    );
    if let Some(why) = &s.no_bound {
        outln!("no noise-gain bound: {why}");
    }
    for m in &s.searches {
        outln!();
        outln!(
            "cost {} (start: {}; {} steps, {} refused by the validation):",
            m.metric.name(),
            m.start,
            m.steps,
            m.refused_by_validation
        );
        if let Some((label, cost)) = &m.best_baseline {
            outln!(
                "  best baseline within tolerance on test: {label}, cost {}",
                sci(*cost, 4)
            );
        }
        for x in std::iter::once(&m.searched).chain(&m.bound_optimal) {
            let pct = |a: Option<f64>| a.map_or("—".into(), |a| format!("{a:.2} %"));
            outln!(
                "  {}: cost {}, calibration {}, validation {} (SE {}), test {:.2} %, bound {}",
                x.label,
                sci(x.costs.get(m.metric), 4),
                pct(x.calibration_accuracy),
                pct(x.validation_accuracy),
                x.validation_se.map_or("—".into(), |s| format!("{s:.2}")),
                x.test_accuracy,
                x.bound.map_or("—".into(), |b| sci(b, 3))
            );
            outln!(
                "    B_W = {}; B_A = {}",
                list(x.precisions.iter().map(|p| p.b_w)),
                list(x.precisions.iter().map(|p| p.b_a))
            );
        }
    }
    Ok(())
}
