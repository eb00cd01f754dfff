//! The precision-design studies as data: the range-method comparison ([`range_study`]) and
//! the budgeted search beside uniform and B_min + offsets assignments ([`search_study`]).
use super::{bound, bound_optimal, greedy, CostMetric, Costs, Evaluator, Greedy};
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::eval::evaluate;
use crate::model::{FloatKernel, Model};
use crate::profile::{profile, Estimator};
use crate::quant::ranges::{CalibrationSample, RangeMethod, RangeReport};
use crate::quantized::{PathPolicy, QuantizedModel, Ranges};
use fxp_core::progress::{Progress, Silent};
use fxp_core::LayerPrecision;
use nn_cost::NetworkTable;
use serde::{Deserialize, Serialize};

/// Test accuracy of one range method at one uniform precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeRow {
    /// The method.
    pub method: RangeMethod,
    /// Uniform precision B (weights and inputs).
    pub bits: u32,
    /// Test accuracy (%).
    pub accuracy: f64,
    /// The chosen ranges and their noise.
    pub ranges: RangeReport,
}

/// Range methods compared on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeStudy {
    /// Network name.
    pub network: String,
    /// Float test accuracy (%).
    pub float_accuracy: f64,
    /// Test images.
    pub test_images: usize,
    /// Calibration images behind the ranges.
    pub calibration_images: usize,
    /// One row per method and precision.
    pub rows: Vec<RangeRow>,
}

/// Accuracy of every method of `methods` at every uniform precision of `bits`.
#[allow(clippy::too_many_arguments)] // one study: network, both image sets, methods, precisions, sample size, batch, progress
pub fn range_study(
    model: &Model,
    calibration: &CifarSet,
    test: &CifarSet,
    methods: &[RangeMethod],
    bits: &[u32],
    sample: usize,
    batch: usize,
    progress: &dyn Progress,
) -> Result<RangeStudy> {
    let cal = CalibrationSample::collect(model, calibration, sample, batch)?;
    let float_accuracy = evaluate(model, &FloatKernel, test, batch, &Silent)?.accuracy;
    let layers = model.num_weight_layers();
    progress.begin("range methods", (methods.len() * bits.len()) as u64);
    let mut rows = Vec::new();
    for &b in bits {
        let p = vec![LayerPrecision { b_w: b, b_a: b }; layers];
        for &method in methods {
            let report = cal.ranges(method, &p)?;
            let q = QuantizedModel::new(model, &report.ranges(), &p, PathPolicy::Auto)?;
            let accuracy = evaluate(model, &q, test, batch, &Silent)?.accuracy;
            progress.advance(1);
            rows.push(RangeRow {
                method,
                bits: b,
                accuracy,
                ranges: report,
            });
        }
    }
    progress.end();
    Ok(RangeStudy {
        network: model.name.clone(),
        float_accuracy,
        test_images: test.len(),
        calibration_images: calibration.len(),
        rows,
    })
}

/// One precision assignment with its costs and accuracies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// Where it comes from: `uniform`, `offsets`, `searched` or `bound-optimal`.
    pub kind: String,
    /// A short label (`B=8`, `B_min=5`, `search (bops)`, …).
    pub label: String,
    /// Per-layer precisions.
    pub precisions: Vec<LayerPrecision>,
    /// Its four costs.
    pub costs: Costs,
    /// Calibration accuracy (%).
    pub calibration_accuracy: f64,
    /// Test accuracy (%).
    pub test_accuracy: f64,
    /// The noise-gain bound Σ_l (Δ_A² E_A + Δ_W² E_W) at this assignment (when the profiler
    /// can differentiate the network).
    pub bound: Option<f64>,
}

/// The search for one cost metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSearch {
    /// The cost minimised.
    pub metric: CostMetric,
    /// The start: the cheapest (in this metric) uniform or offsets assignment feasible on the
    /// calibration images.
    pub start: String,
    /// The greedy search's answer.
    pub searched: Assignment,
    /// Accepted steps and evaluations of the greedy search.
    pub steps: usize,
    /// Exact evaluations it ran.
    pub evaluations: usize,
    /// The bound-optimal assignment (cost minimised subject to bound ≤ p), when the noise
    /// gains exist.
    pub bound_optimal: Option<Assignment>,
    /// The cheapest uniform or offsets assignment within tolerance on the **test** images
    /// (label and cost), the reference of the done-when check.
    pub best_baseline: Option<(String, f64)>,
    /// Whether the searched assignment's **test** accuracy is ≥ float − T (the search only
    /// saw calibration images).
    pub searched_within_tolerance_on_test: bool,
    /// Whether the bound-optimal assignment's test accuracy is ≥ float − T.
    pub bound_optimal_within_tolerance_on_test: Option<bool>,
    /// Whether the searched assignment costs ≤ the best baseline (`None`: no baseline).
    pub searched_not_costlier: Option<bool>,
    /// Whether the bound-optimal assignment costs ≤ the best baseline.
    pub bound_optimal_not_costlier: Option<bool>,
}

/// How a search is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSettings {
    /// Accuracy tolerance T in points: feasible means accuracy ≥ float − T.
    pub tolerance: f64,
    /// The costs to minimise (one search each).
    pub metrics: Vec<CostMetric>,
    /// Uniform precisions evaluated as baselines.
    pub uniform_bits: Vec<u32>,
    /// B_min values of the offsets baselines (with `offsets`).
    pub b_min: Vec<u32>,
    /// Weight and activation offsets (the course npy files), if any.
    pub offsets: Option<(Vec<f64>, Vec<f64>)>,
    /// Calibration images the noise gains are estimated on (per-image estimator).
    pub gain_images: usize,
    /// Images per forward batch.
    pub batch: usize,
}

/// The whole search study of one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchStudy {
    /// Network name.
    pub network: String,
    /// The settings.
    pub settings: SearchSettings,
    /// Float accuracy on the calibration images (%).
    pub float_calibration_accuracy: f64,
    /// Float accuracy on the test images (%).
    pub float_test_accuracy: f64,
    /// Calibration images (searched on).
    pub calibration_images: usize,
    /// Test images (reported on).
    pub test_images: usize,
    /// The bound's budget p = T/100.
    pub budget: f64,
    /// Why there is no bound (the profiler cannot differentiate the network), if so.
    pub no_bound: Option<String>,
    /// Uniform baselines.
    pub uniform: Vec<Assignment>,
    /// B_min + offsets baselines: the given offsets (kind `offsets`) and the per-image
    /// estimator's (kind `offsets-per-image`).
    pub offsets: Vec<Assignment>,
    /// One search per metric.
    pub searches: Vec<MetricSearch>,
}

struct Scorer<'a> {
    model: &'a Model,
    table: &'a NetworkTable,
    ranges: &'a Ranges,
    calibration: &'a CifarSet,
    test: &'a CifarSet,
    batch: usize,
    gains: Option<(Vec<f64>, Vec<f64>)>,
    unsigned: Vec<bool>,
}

impl Scorer<'_> {
    fn assess(&self, kind: &str, label: String, p: Vec<LayerPrecision>) -> Result<Assignment> {
        let q = QuantizedModel::new(self.model, self.ranges, &p, PathPolicy::Auto)?;
        let acc = |d: &CifarSet| -> Result<f64> {
            Ok(evaluate(self.model, &q, d, self.batch, &Silent)?.accuracy)
        };
        Ok(Assignment {
            kind: kind.into(),
            label,
            costs: Costs::of(self.table, &p)?,
            calibration_accuracy: acc(self.calibration)?,
            test_accuracy: acc(self.test)?,
            bound: match &self.gains {
                Some((e_w, e_a)) => Some(bound(&p, self.ranges, e_w, e_a, &self.unsigned)?),
                None => None,
            },
            precisions: p,
        })
    }
}

/// Uniform and offsets baselines, then for each metric the greedy search (calibration images)
/// and the bound-optimal allocation, all reported on the test images.
pub fn search_study(
    model: &Model,
    table: &NetworkTable,
    ranges: &Ranges,
    calibration: &CifarSet,
    test: &CifarSet,
    settings: &SearchSettings,
    progress: &dyn Progress,
) -> Result<SearchStudy> {
    if !(settings.tolerance.is_finite() && settings.tolerance > 0.0) {
        return Err(InferError::Invalid(format!(
            "tolerance {}: give a positive number of accuracy points",
            settings.tolerance
        )));
    }
    let batch = settings.batch;
    let layers = model.num_weight_layers();
    progress.begin("noise gains (per-image)", settings.gain_images as u64);
    let prof = profile(
        model,
        calibration,
        ranges,
        Estimator::PerImage,
        Some(settings.gain_images),
        progress,
    );
    progress.end();
    // A network the profiler cannot differentiate (e.g. batch norm) has no bound: said, not
    // an error.
    let (gains, own_offsets, no_bound) = match prof {
        Ok(p) => {
            let f = |v: &[i64]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            let own = (f(&p.offsets.w), f(&p.offsets.a));
            (Some((p.gains.e_w, p.gains.e_a)), Some(own), None)
        }
        Err(e @ InferError::Unsupported(_)) => (None, None, Some(e.to_string())),
        Err(e) => return Err(e),
    };
    let sc = Scorer {
        model,
        table,
        ranges,
        calibration,
        test,
        batch,
        gains,
        unsigned: model.nonnegative_inputs(),
    };
    let float_calibration_accuracy =
        evaluate(model, &FloatKernel, calibration, batch, &Silent)?.accuracy;
    let float_test_accuracy = evaluate(model, &FloatKernel, test, batch, &Silent)?.accuracy;
    let threshold = float_calibration_accuracy - settings.tolerance;
    let test_threshold = float_test_accuracy - settings.tolerance;
    let note = |a: &Assignment| {
        progress.note(&format!(
            "{}: calibration {:.2} %, test {:.2} %",
            a.label, a.calibration_accuracy, a.test_accuracy
        ))
    };
    let uniform = settings
        .uniform_bits
        .iter()
        .map(|&b| {
            let a = sc.assess(
                "uniform",
                format!("B={b}"),
                vec![LayerPrecision { b_w: b, b_a: b }; layers],
            )?;
            note(&a);
            Ok(a)
        })
        .collect::<Result<Vec<_>>>()?;
    // B_min + offsets: the given offsets (the course's npy files), and, when a search has
    // offsets to compare with, those of the per-image estimator behind the bound.
    let mut offsets = Vec::new();
    if let Some(given) = &settings.offsets {
        let families = [
            ("offsets", "", Some(given)),
            ("offsets-per-image", " (per-image)", own_offsets.as_ref()),
        ];
        for (kind, suffix, o) in families {
            let Some((w, a)) = o else { continue };
            for &b in &settings.b_min {
                if let Ok(p) = nn_cost::precisions_from_offsets(b, w, a) {
                    let x = sc.assess(kind, format!("B_min={b}{suffix}"), p)?;
                    note(&x);
                    offsets.push(x);
                }
            }
        }
    }
    let budget = settings.tolerance / 100.0;
    let eval = Evaluator {
        model,
        ranges,
        images: calibration,
        batch,
        policy: PathPolicy::Auto,
    };
    let mut searches = Vec::new();
    for &metric in &settings.metrics {
        let cheapest = |ok: &dyn Fn(&Assignment) -> bool| {
            uniform
                .iter()
                .chain(&offsets)
                .filter(|a| ok(a))
                .min_by(|a, b| a.costs.get(metric).total_cmp(&b.costs.get(metric)))
        };
        let start = cheapest(&|a| a.calibration_accuracy >= threshold).ok_or_else(|| {
            InferError::Invalid(format!(
                "no uniform or offsets assignment reaches {threshold:.2} % on the calibration \
                 images: widen the tolerance or the precisions tried"
            ))
        })?;
        let g: Greedy = greedy(&eval, table, metric, &start.precisions, threshold, progress)?;
        let searched = sc.assess(
            "searched",
            format!("search ({})", metric.name()),
            g.precisions,
        )?;
        note(&searched);
        let bound_optimal = match &sc.gains {
            None => None,
            Some((e_w, e_a)) => {
                let p = bound_optimal(table, metric, ranges, e_w, e_a, &sc.unsigned, budget)?;
                let label = format!("bound-optimal ({})", metric.name());
                let a = sc.assess("bound-optimal", label, p)?;
                note(&a);
                Some(a)
            }
        };
        let best_baseline = cheapest(&|a| a.test_accuracy >= test_threshold)
            .map(|a| (a.label.clone(), a.costs.get(metric)));
        let not_costlier = |a: &Assignment| {
            best_baseline
                .as_ref()
                .map(|(_, c)| a.costs.get(metric) <= *c)
        };
        searches.push(MetricSearch {
            metric,
            start: start.label.clone(),
            searched_within_tolerance_on_test: searched.test_accuracy >= test_threshold,
            searched_not_costlier: not_costlier(&searched),
            bound_optimal_not_costlier: bound_optimal.as_ref().and_then(not_costlier),
            bound_optimal_within_tolerance_on_test: bound_optimal
                .as_ref()
                .map(|b| b.test_accuracy >= test_threshold),
            searched,
            steps: g.steps.len(),
            evaluations: g.evaluations,
            bound_optimal,
            best_baseline,
        });
    }
    Ok(SearchStudy {
        network: model.name.clone(),
        settings: settings.clone(),
        float_calibration_accuracy,
        float_test_accuracy,
        calibration_images: calibration.len(),
        test_images: test.len(),
        budget,
        no_bound,
        uniform,
        offsets,
        searches,
    })
}
