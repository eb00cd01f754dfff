//! Budgeted precision search: per-layer (B_W,l, B_A,l) minimising a hardware cost.
//!
//! Two answers, with different guarantees:
//! * [`greedy`] — **measured**: starts from a feasible assignment (the cheapest feasible
//!   uniform or B_min + offsets one) and removes one bit at a time, each step the removal with
//!   the most cost saved per accuracy point lost, as long as the exact fixed-point accuracy on
//!   the labelled **calibration** images stays ≥ float − T, and each step taken is validated
//!   on held-out calibration images with the acceptance rule of [`judge`] (≥ float − T by a
//!   margin of z standard errors of the paired difference); a step the validation refuses is
//!   dropped like one that fails on calibration, and the search goes on with the others.
//!   The validation stops as soon as its verdict is certain ([`rule`]).
//!   Evaluations stop early once they cannot pass, start at the first layer where the
//!   assignment differs from the current one ([`prefix`]) and are shared by
//!   every metric's search; a removal that failed once is not tried again (accuracy is taken
//!   to fall as bits are removed), and scores are updated lazily (only the best candidate is
//!   re-evaluated). The test images, never seen by the search, say how well it carries over.
//! * [`bound_optimal`] — **analytical**: the assignment minimising the cost subject to the
//!   noise-gain bound Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l) ≤ p (Sakr et al.: a first-order bound
//!   on the probability that the fixed-point decision differs from the float one), solved by
//!   Lagrangian relaxation (bisection on λ, each layer picking argmin cost + λ·noise) and a
//!   greedy completion that removes bits while the bound still holds. With p = T/100 the
//!   guarantee covers the expected mismatch rate under the additive-noise model (no image
//!   needed), not a measured accuracy.
pub mod cost;
pub mod design;
pub mod judge;
pub mod prefix;
pub mod rule;
pub mod study;

pub use cost::{CostMetric, Costs};
pub use judge::{Judge, Measured};

use crate::error::{InferError, Result};
use crate::quantized::Ranges;
use fxp_core::progress::Progress;
use fxp_core::{LayerPrecision, Quantizer};
use nn_cost::NetworkTable;
use serde::{Deserialize, Serialize};

/// Precision limits of the search.
pub const MIN_BITS: u32 = 1;
/// Largest precision the search and the bound allocation consider.
pub const MAX_BITS: u32 = 16;

/// One accepted step of the greedy search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Layer (0-based) whose precision lost a bit.
    pub layer: usize,
    /// `true`: weight precision; `false`: input precision.
    pub weight: bool,
    /// Cost after the step.
    pub cost: f64,
    /// Calibration accuracy (%) after the step.
    pub accuracy: f64,
    /// Its standard error (points, paired difference to float).
    pub se: f64,
}

/// The result of a greedy search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Greedy {
    /// The final assignment.
    pub precisions: Vec<LayerPrecision>,
    /// Its calibration accuracy (%).
    pub accuracy: f64,
    /// Accepted steps in order.
    pub steps: Vec<Step>,
    /// Exact evaluations run (each over the calibration images, possibly stopped early);
    /// those another search already ran are not counted.
    pub evaluations: usize,
    /// Exact evaluations of the validation (likewise).
    pub validations: usize,
    /// Winning steps the validation refused (each dropped from the candidates; the search
    /// ends when no candidate is left).
    pub refused_by_validation: usize,
}

/// A candidate removal of the greedy search: its last known score and, when it was evaluated
/// against the current assignment, its accuracy.
struct Candidate {
    score: f64,
    layer: usize,
    weight: bool,
    fresh: Option<Measured>,
}

/// Greedy bit removal from `start` (which must pass `judge`'s acceptance rule) minimising
/// `metric`; a step is taken when it passes `judge` (the calibration images searched on) and
/// then `validator` (held-out images, with the margin); a removal either refuses is not tried
/// again, and the search ends when no removal is left; `progress` gets one note per accepted step. Lazy: the candidates keep their score
/// from the last time they were evaluated, and only the best one is re-evaluated; it is taken
/// when its fresh score still beats every other candidate's last score (all candidates are
/// evaluated on the first step).
pub fn greedy(
    judge: &Judge<'_>,
    validator: &Judge<'_>,
    table: &NetworkTable,
    metric: CostMetric,
    start: &[LayerPrecision],
    progress: &dyn Progress,
) -> Result<Greedy> {
    let (runs, validations) = (judge.runs(), validator.runs());
    let passing = |p: &[LayerPrecision]| -> Result<Option<Measured>> {
        Ok(judge.measure(p)?.filter(|m| judge.accepts(m)))
    };
    let mut current = passing(start)?.ok_or_else(|| {
        InferError::Invalid(format!(
            "the greedy search must start from an assignment its acceptance rule passes \
             (accuracy ≥ {:.2} % with the margin)",
            judge.threshold()
        ))
    })?;
    let mut p = start.to_vec();
    // Evaluations start at the first layer where they differ from `p` (see [`judge`]).
    judge.set_base(&p)?;
    validator.set_base(&p)?;
    let mut cost = metric.of(table, &p)?;
    let mut cands: Vec<Candidate> = (0..p.len())
        .flat_map(|layer| {
            [true, false].map(|weight| Candidate {
                score: f64::INFINITY,
                layer,
                weight,
                fresh: None,
            })
        })
        .collect();
    let mut steps = Vec::new();
    let mut refused_by_validation = 0;
    loop {
        let mut accepted = None;
        while !cands.is_empty() {
            cands.sort_by(|a, b| b.score.total_cmp(&a.score));
            let (layer, weight) = (cands[0].layer, cands[0].weight);
            let mut c = p.clone();
            let b = if weight {
                &mut c[layer].b_w
            } else {
                &mut c[layer].b_a
            };
            if *b <= MIN_BITS {
                cands.remove(0);
                continue;
            }
            *b -= 1;
            let saved = cost - metric.of(table, &c)?;
            if saved <= 0.0 {
                cands.remove(0);
                continue;
            }
            let m = match cands[0].fresh {
                Some(m) => m,
                None => match passing(&c)? {
                    Some(m) => m,
                    None => {
                        // Fails now: taken to fail for every smaller assignment too.
                        cands.remove(0);
                        continue;
                    }
                },
            };
            // Cost saved per accuracy point lost (a loss under 0.01 point counts as 0.01:
            // gains and ties are ranked by the cost saved).
            let score = saved / (current.accuracy - m.accuracy).max(0.01);
            let next = cands.get(1).map_or(f64::NEG_INFINITY, |n| n.score);
            cands[0].score = score;
            cands[0].fresh = Some(m);
            if score >= next {
                accepted = Some((c, saved, layer, weight, m));
                break;
            }
        }
        let Some((c, saved, layer, weight, m)) = accepted else {
            break;
        };
        // The step must hold on the held-out images too; one that does not is dropped like a
        // removal that fails on calibration (cands[0] is the winning candidate).
        if !validator.verdict(&c)? {
            refused_by_validation += 1;
            cands.remove(0);
            continue;
        }
        p = c;
        judge.set_base(&p)?;
        validator.set_base(&p)?;
        cost -= saved;
        current = m;
        for k in &mut cands {
            k.fresh = None;
        }
        progress.note(&format!(
            "{}: layer {} {} −1 bit → cost {cost:.4e}, accuracy {:.2} % (SE {:.2})",
            metric.name(),
            layer + 1,
            if weight { "B_W" } else { "B_A" },
            m.accuracy,
            m.se
        ));
        steps.push(Step {
            layer,
            weight,
            cost: metric.of(table, &p)?,
            accuracy: m.accuracy,
            se: m.se,
        });
    }
    Ok(Greedy {
        precisions: p,
        accuracy: current.accuracy,
        steps,
        evaluations: judge.runs() - runs,
        validations: validator.runs() - validations,
        refused_by_validation,
    })
}

/// Noise of one layer's weights and inputs: Δ_W² E_W and Δ_A² E_A.
fn noise_terms(
    l: usize,
    p: LayerPrecision,
    ranges: &Ranges,
    e_w: &[f64],
    e_a: &[f64],
    unsigned: &[bool],
) -> Result<f64> {
    let dw = Quantizer::signed(ranges.weight[l], p.b_w)?.step();
    let da = if unsigned[l] {
        Quantizer::unsigned(ranges.activation[l], p.b_a)?
    } else {
        Quantizer::signed(ranges.activation[l], p.b_a)?
    }
    .step();
    Ok(dw * dw * e_w[l] + da * da * e_a[l])
}

/// The noise-gain bound Σ_l (Δ_A,l² E_A,l + Δ_W,l² E_W,l) at `p`.
pub fn bound(
    p: &[LayerPrecision],
    ranges: &Ranges,
    e_w: &[f64],
    e_a: &[f64],
    unsigned: &[bool],
) -> Result<f64> {
    (0..p.len())
        .map(|l| noise_terms(l, p[l], ranges, e_w, e_a, unsigned))
        .sum()
}

/// The assignment minimising `metric` subject to the bound ≤ `budget` (see the module docs);
/// `unsigned[l]`: layer l's input is quantized unsigned.
pub fn bound_optimal(
    table: &NetworkTable,
    metric: CostMetric,
    ranges: &Ranges,
    e_w: &[f64],
    e_a: &[f64],
    unsigned: &[bool],
    budget: f64,
) -> Result<Vec<LayerPrecision>> {
    let layers = table.rows.len();
    if [e_w.len(), e_a.len(), unsigned.len(), ranges.weight.len()]
        .iter()
        .any(|&n| n != layers)
    {
        return Err(InferError::Invalid(format!(
            "bound allocation: gains, ranges and signs must have one value per layer ({layers})"
        )));
    }
    if !(budget.is_finite() && budget > 0.0) {
        return Err(InferError::Invalid(format!(
            "bound allocation: the budget p = {budget} must be finite and > 0"
        )));
    }
    // Every (B_W, B_A) of every layer with its cost and noise.
    let mut options: Vec<Vec<(LayerPrecision, f64, f64)>> = Vec::with_capacity(layers);
    for l in 0..layers {
        let mut o = Vec::new();
        for b_w in MIN_BITS..=MAX_BITS {
            for b_a in MIN_BITS..=MAX_BITS {
                let p = LayerPrecision { b_w, b_a };
                let c = metric.of_layer(table, l, p)?;
                o.push((p, c, noise_terms(l, p, ranges, e_w, e_a, unsigned)?));
            }
        }
        options.push(o);
    }
    let pick = |lambda: f64| -> Vec<usize> {
        options
            .iter()
            .map(|o| {
                (0..o.len())
                    .min_by(|&i, &j| {
                        (o[i].1 + lambda * o[i].2).total_cmp(&(o[j].1 + lambda * o[j].2))
                    })
                    .unwrap_or(0)
            })
            .collect()
    };
    let noise = |idx: &[usize]| -> f64 { idx.iter().zip(&options).map(|(&i, o)| o[i].2).sum() };
    // Bisection on log λ: the largest noise ≤ budget.
    let (mut lo, mut hi) = (-80f64, 80f64);
    let mut idx = pick(2f64.powf(hi));
    if noise(&idx) > budget {
        return Err(InferError::Invalid(format!(
            "bound allocation: even {MAX_BITS} bits everywhere exceed the budget p = {budget:e}"
        )));
    }
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        let cand = pick(2f64.powf(mid));
        if noise(&cand) <= budget {
            hi = mid;
            idx = cand;
        } else {
            lo = mid;
        }
    }
    let mut p: Vec<LayerPrecision> = idx.iter().zip(&options).map(|(&i, o)| o[i].0).collect();
    // Greedy completion: remove the bit with the most cost saved per noise added while the
    // bound holds.
    loop {
        let total = bound(&p, ranges, e_w, e_a, unsigned)?;
        let cost = metric.of(table, &p)?;
        let mut best: Option<(f64, Vec<LayerPrecision>)> = None;
        for l in 0..layers {
            for weight in [true, false] {
                let mut c = p.clone();
                let b = if weight { &mut c[l].b_w } else { &mut c[l].b_a };
                if *b <= MIN_BITS {
                    continue;
                }
                *b -= 1;
                let added = bound(&c, ranges, e_w, e_a, unsigned)? - total;
                let saved = cost - metric.of(table, &c)?;
                if saved <= 0.0 || total + added > budget {
                    continue;
                }
                let score = saved / added.max(f64::MIN_POSITIVE);
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, c));
                }
            }
        }
        match best {
            Some((_, c)) => p = c,
            None => break,
        }
    }
    Ok(p)
}
