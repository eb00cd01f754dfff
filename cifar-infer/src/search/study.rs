//! The precision-design studies as data: the range-method comparison ([`range_study`]) and
//! the budgeted search beside uniform and B_min + offsets assignments ([`search_study`]).
use super::judge::key;
use super::{bound, bound_optimal, greedy, CostMetric, Costs, Greedy, Judge};
use crate::data::CifarSet;
use crate::error::{InferError, Result};
use crate::eval::evaluate;
use crate::model::{FloatKernel, Model};
use crate::profile::{profile, Estimator};
use crate::quant::ranges::{CalibrationSample, RangeMethod, RangeReport};
use crate::quantized::{PathPolicy, QuantizedModel, Ranges};
use fxp_core::progress::{Progress, Silent, Stopwatch};
use fxp_core::LayerPrecision;
use nn_cost::NetworkTable;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

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
    /// Accuracy (%) on the calibration images searched on; `None` for a baseline no search
    /// needed in full (below float − T, its evaluation stopped early, or costlier than a start).
    pub calibration_accuracy: Option<f64>,
    /// Accuracy (%) on the held-out validation images, when measured in full.
    pub validation_accuracy: Option<f64>,
    /// Standard error (points) of its validation accuracy difference to float (paired).
    pub validation_se: Option<f64>,
    /// Whether it passes the validation rule (validation accuracy − z·SE ≥ float − T);
    /// `None`: not judged.
    pub validated: Option<bool>,
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
    /// The start: the cheapest (in this metric) uniform or offsets assignment within T on the
    /// calibration images that passes the validation rule.
    pub start: String,
    /// The greedy search's answer.
    pub searched: Assignment,
    /// Accepted steps of the greedy search.
    pub steps: usize,
    /// Winning steps the validation refused (dropped; the search went on with the others).
    pub refused_by_validation: usize,
    /// Exact evaluations the greedy ran on the calibration images (not counting those another
    /// metric's search had run).
    pub evaluations: usize,
    /// Exact evaluations of the validation (likewise).
    pub validations: usize,
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
    /// Margin of the validation rule in standard errors of the paired accuracy difference
    /// (validation accuracy − z·SE ≥ float − T; [`super::judge`]); 0: the plain rule.
    pub z: f64,
    /// Of the calibration images given, the last `validation_images` are held out: the greedy
    /// searches the others with the plain rule, and each step it takes must pass the margin
    /// rule on these. 0: the margin rule is applied on the searched images themselves.
    pub validation_images: usize,
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
    /// Float accuracy on the calibration images searched on (%).
    pub float_calibration_accuracy: f64,
    /// Float accuracy on the validation images (%).
    pub float_validation_accuracy: f64,
    /// Float accuracy on the test images (%).
    pub float_test_accuracy: f64,
    /// Calibration images searched on.
    pub calibration_images: usize,
    /// Validation images (held out of the calibration images; 0: none).
    pub validation_images: usize,
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
    /// Issue 17's check, computed: every searched assignment is within T on the **test**
    /// images and costs no more than the cheapest baseline within T on test, in its metric.
    pub holds: bool,
}

/// Assesses assignments: costs, bound, calibration accuracy (through the judge's memo) and
/// test accuracy (memoized too: the searches of several metrics often end on the same one).
struct Scorer<'a> {
    model: &'a Model,
    table: &'a NetworkTable,
    ranges: &'a Ranges,
    judge: &'a Judge<'a>,
    validator: &'a Judge<'a>,
    test: &'a CifarSet,
    batch: usize,
    gains: Option<(Vec<f64>, Vec<f64>)>,
    unsigned: Vec<bool>,
    tested: Mutex<HashMap<Vec<(u32, u32)>, f64>>,
}

impl Scorer<'_> {
    /// Costs, bound and test accuracy of `p`; its calibration and validation accuracies too
    /// when `calibrate` (else whatever the judges already know, see [`Scorer::recall`]).
    fn assess(
        &self,
        kind: &str,
        label: String,
        p: Vec<LayerPrecision>,
        calibrate: bool,
    ) -> Result<Assignment> {
        if calibrate {
            self.judge.measure_all(&p)?;
            self.validator.measure_all(&p)?;
        }
        let known = self
            .tested
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key(&p))
            .copied();
        let test_accuracy = match known {
            Some(a) => a,
            None => {
                let q = QuantizedModel::new(self.model, self.ranges, &p, PathPolicy::Auto)?;
                let a = evaluate(self.model, &q, self.test, self.batch, &Silent)?.accuracy;
                self.tested
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key(&p), a);
                a
            }
        };
        let mut a = Assignment {
            kind: kind.into(),
            label,
            costs: Costs::of(self.table, &p)?,
            calibration_accuracy: None,
            validation_accuracy: None,
            validation_se: None,
            validated: None,
            test_accuracy,
            bound: match &self.gains {
                Some((e_w, e_a)) => Some(bound(&p, self.ranges, e_w, e_a, &self.unsigned)?),
                None => None,
            },
            precisions: p,
        };
        self.recall(&mut a)?;
        Ok(a)
    }

    /// Fills `a`'s calibration and validation fields with what the judges know of it (an
    /// assignment whose validation only decided a step is measured first).
    fn recall(&self, a: &mut Assignment) -> Result<()> {
        self.validator.settle(&a.precisions)?;
        a.calibration_accuracy = self
            .judge
            .recall(&a.precisions)
            .flatten()
            .map(|m| m.accuracy);
        let known = self.validator.recall(&a.precisions);
        let m = known.flatten();
        a.validation_accuracy = m.map(|m| m.accuracy);
        a.validation_se = m.map(|m| m.se);
        a.validated = known.map(|m| m.is_some_and(|m| self.validator.accepts(&m)));
        Ok(())
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
    if !(settings.z.is_finite() && settings.z >= 0.0) {
        return Err(InferError::Invalid(format!(
            "margin z = {}: give a number of standard errors ≥ 0 (e.g. 1.645)",
            settings.z
        )));
    }
    let batch = settings.batch;
    let clock = Stopwatch::start();
    let lap =
        |stage: &str| progress.note(&format!("{}: {stage} done at {}", model.name, clock.lap()));
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
    lap("noise gains");
    // The greedy searches the first images with the plain rule; the held-out last ones
    // validate its path with the margin (the searched ones when none are held out).
    let v = settings.validation_images;
    if v >= calibration.len() {
        return Err(InferError::Invalid(format!(
            "{v} validation images leave none of the {} calibration images to search on: \
             give more calibration images or fewer validation images",
            calibration.len()
        )));
    }
    let searched_on = calibration.take(calibration.len() - v);
    let held_out = calibration.skip(calibration.len() - v);
    let judge = Judge::new(model, ranges, &searched_on, batch, settings.tolerance, 0.0)?;
    let validation_set = if v > 0 { &held_out } else { &searched_on };
    let validator = Judge::new(
        model,
        ranges,
        validation_set,
        batch,
        settings.tolerance,
        settings.z,
    )?;
    let sc = Scorer {
        model,
        table,
        ranges,
        judge: &judge,
        validator: &validator,
        test,
        batch,
        gains,
        unsigned: model.nonnegative_inputs(),
        tested: Mutex::new(HashMap::new()),
    };
    let float_calibration_accuracy = judge.float_accuracy();
    let float_test_accuracy = evaluate(model, &FloatKernel, test, batch, &Silent)?.accuracy;
    let test_threshold = float_test_accuracy - settings.tolerance;
    let note = |a: &Assignment| {
        let cal = a
            .calibration_accuracy
            .map_or(String::new(), |c| format!("calibration {c:.2} %, "));
        progress.note(&format!("{}: {cal}test {:.2} %", a.label, a.test_accuracy))
    };
    let mut uniform = settings
        .uniform_bits
        .iter()
        .map(|&b| {
            let a = sc.assess(
                "uniform",
                format!("B={b}"),
                vec![LayerPrecision { b_w: b, b_a: b }; layers],
                false,
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
                    let x = sc.assess(kind, format!("B_min={b}{suffix}"), p, false)?;
                    note(&x);
                    offsets.push(x);
                }
            }
        }
    }
    lap("baselines");
    let budget = settings.tolerance / 100.0;
    let mut searches = Vec::new();
    for &metric in &settings.metrics {
        let cheapest = |ok: &dyn Fn(&Assignment) -> bool| {
            uniform
                .iter()
                .chain(&offsets)
                .filter(|a| ok(a))
                .min_by(|a, b| a.costs.get(metric).total_cmp(&b.costs.get(metric)))
        };
        // The start: the cheapest baseline within T on calibration that the validation
        // accepts, judged in order of cost (the cheap ones below float − T stop early).
        let mut by_cost: Vec<&Assignment> = uniform.iter().chain(&offsets).collect();
        by_cost.sort_by(|a, b| a.costs.get(metric).total_cmp(&b.costs.get(metric)));
        let mut start = None;
        for &a in &by_cost {
            let ok = |j: &Judge| -> Result<bool> {
                Ok(j.measure(&a.precisions)?.is_some_and(|m| j.accepts(&m)))
            };
            if ok(&judge)? && ok(&validator)? {
                start = Some(a);
                break;
            }
        }
        let start = start.ok_or_else(|| {
            InferError::Invalid(format!(
                "no uniform or offsets assignment reaches {:.2} % on the calibration images and \
                 {:.2} % with a margin of {} standard errors on the validation images: widen the \
                 tolerance or the precisions tried, lower the margin (--z) or give more \
                 validation images",
                judge.threshold(),
                validator.threshold(),
                settings.z
            ))
        })?;
        let g: Greedy = greedy(
            &judge,
            &validator,
            table,
            metric,
            &start.precisions,
            progress,
        )?;
        let (runs, seen, n) = validator.verdict_work();
        progress.note(&format!(
            "{}: {} steps, {} refused by the validation; validation verdicts so far: {runs}, \
             {seen} images classified of {}",
            metric.name(),
            g.steps.len(),
            g.refused_by_validation,
            runs * n
        ));
        for (who, j) in [("search", &judge), ("validation", &validator)] {
            let (run, skipped, held) = j.pass_work();
            progress.note(&format!(
                "{}: {who} passes so far {:.4e} MACs, {:.1} % skipped by starting at the \
                 first changed layer (kept layer inputs: at most {:.0} MiB)",
                metric.name(),
                run,
                100.0 * skipped / (run + skipped).max(1.0),
                held as f64 / (1 << 20) as f64
            ));
        }
        let searched = sc.assess(
            "searched",
            format!("search ({})", metric.name()),
            g.precisions,
            true,
        )?;
        note(&searched);
        let bound_optimal = match &sc.gains {
            None => None,
            Some((e_w, e_a)) => {
                let p = bound_optimal(table, metric, ranges, e_w, e_a, &sc.unsigned, budget)?;
                let label = format!("bound-optimal ({})", metric.name());
                let a = sc.assess("bound-optimal", label, p, true)?;
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
            refused_by_validation: g.refused_by_validation,
            evaluations: g.evaluations,
            validations: g.validations,
            bound_optimal,
            best_baseline,
        });
        lap(&format!("search ({})", metric.name()));
    }
    // What the searches learnt of the baselines on the calibration images.
    for a in uniform.iter_mut().chain(&mut offsets) {
        sc.recall(a)?;
    }
    let holds = searches
        .iter()
        .all(|m| m.searched_within_tolerance_on_test && m.searched_not_costlier == Some(true));
    Ok(SearchStudy {
        network: model.name.clone(),
        settings: settings.clone(),
        float_calibration_accuracy,
        float_validation_accuracy: validator.float_accuracy(),
        float_test_accuracy,
        calibration_images: searched_on.len(),
        validation_images: v,
        test_images: test.len(),
        budget,
        no_bound,
        uniform,
        offsets,
        searches,
        holds,
    })
}
