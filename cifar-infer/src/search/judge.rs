//! The acceptance rule of the greedy search and the exact evaluations behind it, memoized.
//!
//! An assignment is **accepted** when its exact accuracy a on the n labelled calibration images
//! satisfies a − z·SE ≥ float − T, where SE is the standard error of the paired accuracy
//! difference to the float network on the same images (McNemar's statistic): with b images the
//! fixed-point network gets right and the float one wrong, c the reverse, d̄ = (b − c)/n,
//! s² = (b + c − n·d̄²)/(n − 1) and SE = 100·s/√n points. So a step is taken only when the
//! one-sided lower confidence bound (level Φ(z)) of the accuracy change stays above −T: the
//! images the search sees are a sample, and an assignment that passes by a few lucky images
//! is refused. z = 0 is the plain rule a ≥ float − T.
//!
//! The search uses two judges: z = 0 on the calibration images it searches on (the greedy
//! compares many candidates there and keeps the best-looking one, which favours candidates
//! whose accuracy came out high by chance), and z > 0 on held-out calibration images that
//! see one assignment per winning step (taken, or refused and dropped). What the margin does not cover: the level is per
//! assignment tested, not for the whole search; and the calibration images are training images
//! of the course network, where margins are larger than on test images.
//!
//! A validation that only needs the verdict ([`Judge::verdict`]) stops as soon as the
//! remaining images cannot change it, either way ([`super::rule`]); the accuracies that are
//! reported are measured on every image ([`Judge::measure`], [`Judge::settle`]).
//!
//! An evaluation starts at the first layer where it differs from the greedy's current
//! assignment ([`Judge::set_base`]), from the layer inputs kept from the passes of that
//! assignment ([`super::prefix`]): the same predictions, bit for bit, with less work.
//!
//! An assignment's accuracy does not depend on the cost being minimised: every exact
//! evaluation is kept by assignment ([`Judge::measure`]) and shared by the searches of every
//! metric and by the baselines.
use super::prefix::{layer_macs, start, Kept, Recording};
use super::rule::Rule;
use crate::data::CifarSet;
use crate::error::Result;
use crate::eval::{at_least, evaluate, evaluate_batches_while, EvalResult};
use crate::model::{Activation, FloatKernel, Model};
use crate::quantized::{PathPolicy, QuantizedModel, Ranges};
use fxp_core::progress::Silent;
use fxp_core::LayerPrecision;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One assignment measured on the calibration images.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    /// Accuracy (%).
    pub accuracy: f64,
    /// Standard error (points) of the paired accuracy difference to float.
    pub se: f64,
}

/// What is known of an assignment.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Below float − T: its evaluation stopped early.
    Below,
    /// Evaluated on every calibration image.
    Measured(Measured),
    /// Only the verdict: its evaluation stopped once the verdict was certain.
    Decided(bool),
}

/// Exact evaluations on the calibration images, memoized by assignment, and the acceptance
/// rule (see the module docs).
pub struct Judge<'a> {
    model: &'a Model,
    ranges: &'a Ranges,
    images: &'a CifarSet,
    batch: usize,
    policy: PathPolicy,
    float_correct: Vec<bool>,
    float_accuracy: f64,
    rule: Rule,
    memo: Mutex<HashMap<Vec<(u32, u32)>, Outcome>>,
    runs: AtomicUsize,
    /// Evaluations of [`Judge::verdict`] and the images they classified.
    verdicts: (AtomicUsize, AtomicUsize),
    /// The last network evaluated, whose unchanged layers the next one takes.
    last: Mutex<Option<Arc<QuantizedModel>>>,
    /// The layer inputs kept of the base assignment ([`Judge::set_base`]), where evaluations
    /// start.
    base: Mutex<Option<Recording>>,
    /// Those of the last assignment evaluated (the next base, when the greedy accepts it).
    pending: Mutex<Option<Recording>>,
    /// Multiply-accumulates per image of each weight layer.
    macs: Vec<f64>,
    /// MACs of the passes run and of the layers they skipped by starting past layer 0, and
    /// the most bytes of kept layer inputs held.
    work: Mutex<(f64, f64, usize)>,
}

impl<'a> Judge<'a> {
    /// A judge on `images` with tolerance `tolerance` (points) and margin `z` (standard
    /// errors); evaluates the float network once.
    pub fn new(
        model: &'a Model,
        ranges: &'a Ranges,
        images: &'a CifarSet,
        batch: usize,
        tolerance: f64,
        z: f64,
    ) -> Result<Self> {
        let float = evaluate(model, &FloatKernel, images, batch, &Silent)?;
        let float_correct: Vec<bool> = float
            .predictions
            .iter()
            .zip(&images.labels)
            .map(|(&p, &l)| p == l)
            .collect();
        let rule = Rule {
            n: images.len(),
            float_right: float.correct,
            threshold: float.accuracy - tolerance,
            z,
        };
        Ok(Self {
            model,
            ranges,
            images,
            batch,
            policy: PathPolicy::Auto,
            float_correct,
            float_accuracy: float.accuracy,
            rule,
            memo: Mutex::new(HashMap::new()),
            runs: AtomicUsize::new(0),
            verdicts: (AtomicUsize::new(0), AtomicUsize::new(0)),
            last: Mutex::new(None),
            base: Mutex::new(None),
            pending: Mutex::new(None),
            macs: layer_macs(model),
            work: Mutex::new((0.0, 0.0, 0)),
        })
    }

    /// Float accuracy on the calibration images (%).
    pub fn float_accuracy(&self) -> f64 {
        self.float_accuracy
    }

    /// float − T (%).
    pub fn threshold(&self) -> f64 {
        self.rule.threshold
    }

    /// Exact evaluations run so far (memo misses).
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::Relaxed)
    }

    /// Evaluations [`Judge::verdict`] ran and the images they classified (of `images` each
    /// when none stopped early): the early decision's savings, for the logs.
    pub fn verdict_work(&self) -> (usize, usize, usize) {
        let (runs, seen) = &self.verdicts;
        (
            runs.load(Ordering::Relaxed),
            seen.load(Ordering::Relaxed),
            self.images.len(),
        )
    }

    /// Multiply-accumulates of the exact evaluations so far: of the passes run, and of the
    /// layers they skipped by starting where the assignment differs from the base; and the
    /// most bytes of kept layer inputs held at once (within [`super::prefix::JUDGE_BYTES`]).
    pub fn pass_work(&self) -> (f64, f64, usize) {
        *lock(&self.work)
    }

    /// Whether `m` passes the acceptance rule a − z·SE ≥ float − T.
    pub fn accepts(&self, m: &Measured) -> bool {
        self.rule.accepts(m)
    }

    /// Whether `p` is below float − T or refused: `measure(p)` then [`Judge::accepts`], with
    /// an evaluation that stops as soon as the verdict is certain (its accuracy is then not
    /// known: [`Judge::settle`] measures it).
    pub fn verdict(&self, p: &[LayerPrecision]) -> Result<bool> {
        match self.outcome(p) {
            Some(Outcome::Below) => return Ok(false),
            Some(Outcome::Measured(m)) => return Ok(self.accepts(&m)),
            Some(Outcome::Decided(v)) => return Ok(v),
            None => {}
        }
        self.runs.fetch_add(1, Ordering::Relaxed);
        let q = Arc::new(self.quantized(p)?);
        let (n, labels) = (self.images.len(), &self.images.labels);
        let (mut gained, mut lost, mut rest_right) = (0, 0, self.rule.float_right);
        let mut decided = None;
        let r = self.pass(p, &q, |pred, new| {
            for (i, &c) in pred.iter().enumerate().skip(new) {
                let f = self.float_correct[i];
                rest_right -= usize::from(f);
                match (c == labels[i], f) {
                    (true, false) => gained += 1,
                    (false, true) => lost += 1,
                    _ => {}
                }
            }
            let rest_wrong = n - pred.len() - rest_right;
            decided = self.rule.certain(gained, lost, rest_right, rest_wrong);
            let go_on = decided.is_none() || pred.len() == n;
            if !go_on || pred.len() == n {
                self.verdicts.0.fetch_add(1, Ordering::Relaxed);
                self.verdicts.1.fetch_add(pred.len(), Ordering::Relaxed);
            }
            go_on
        })?;
        self.keep(q);
        // Every image seen: the same memo entry as `measure` leaves.
        let outcome = match r {
            Some(r) if r.correct < self.rule.min_correct() => Outcome::Below,
            Some(r) => Outcome::Measured(self.rule.measured(r.correct, gained, lost)),
            None => Outcome::Decided(decided.unwrap_or(false)),
        };
        self.memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key(p), outcome);
        Ok(match outcome {
            Outcome::Below => false,
            Outcome::Measured(m) => self.accepts(&m),
            Outcome::Decided(v) => v,
        })
    }

    /// Makes what [`Judge::recall`] says of `p` what [`Judge::measure`] would have left: an
    /// assignment only decided by [`Judge::verdict`] is measured.
    pub fn settle(&self, p: &[LayerPrecision]) -> Result<()> {
        if let Some(Outcome::Decided(_)) = self.outcome(p) {
            self.run(p, self.rule.min_correct())?;
        }
        Ok(())
    }

    /// `p` measured, or `None` when its accuracy is below float − T (the evaluation stops as
    /// soon as that is certain).
    pub fn measure(&self, p: &[LayerPrecision]) -> Result<Option<Measured>> {
        match self.outcome(p) {
            Some(Outcome::Below) => Ok(None),
            Some(Outcome::Measured(m)) => Ok(Some(m)),
            Some(Outcome::Decided(_)) | None => self.run(p, self.rule.min_correct()),
        }
    }

    /// `p` measured on every calibration image, whatever its accuracy.
    pub fn measure_all(&self, p: &[LayerPrecision]) -> Result<Measured> {
        if let Some(Outcome::Measured(m)) = self.outcome(p) {
            return Ok(m);
        }
        Ok(self
            .run(p, 0)?
            .expect("an evaluation without a bar is never stopped"))
    }

    /// What is known of `p` without evaluating: `None` if never measured (or only decided),
    /// `Some(None)` if below float − T, else its measure.
    pub fn recall(&self, p: &[LayerPrecision]) -> Option<Option<Measured>> {
        match self.outcome(p)? {
            Outcome::Below => Some(None),
            Outcome::Measured(m) => Some(Some(m)),
            Outcome::Decided(_) => None,
        }
    }

    /// Makes `p` the base assignment: the next evaluations start at the first layer where
    /// they differ from it, from its layer inputs kept when it was evaluated last (or, when it
    /// was not, kept from then on by the passes that compute them).
    pub fn set_base(&self, p: &[LayerPrecision]) -> Result<()> {
        let k = key(p);
        let mut base = lock(&self.base);
        if base.as_ref().is_some_and(|b| b.key == k) {
            return Ok(());
        }
        *base = None;
        let pending = lock(&self.pending).take();
        let new = match pending {
            Some(r) if r.key == k => r,
            pending => {
                let q = Arc::new(self.quantized(p)?);
                let batches = self.images.len().div_ceil(self.batch);
                let mut r = Recording::new(self.model, k, q, self.images.len(), batches);
                if let Some(other) = pending {
                    r.fill_from(&other, r.reach(self.model, &other.q));
                }
                r
            }
        };
        *base = Some(new);
        Ok(())
    }

    /// The network of `p`, with the unchanged layers of the last one evaluated.
    fn quantized(&self, p: &[LayerPrecision]) -> Result<QuantizedModel> {
        let last = lock(&self.last).clone();
        QuantizedModel::reusing(self.model, self.ranges, p, self.policy, last.as_deref())
    }

    fn keep(&self, q: Arc<QuantizedModel>) {
        *lock(&self.last) = Some(q);
    }

    /// Classifies the images with `q` (the network of `p`) as [`evaluate_batches_while`] does,
    /// each batch from the deepest layer input of the base that serves it; keeps the layer
    /// inputs of `p` (the next base, if the greedy accepts it) and gives the base those it
    /// lacks and this pass computed.
    fn pass(
        &self,
        p: &[LayerPrecision],
        q: &Arc<QuantizedModel>,
        go_on: impl FnMut(&[u8], usize) -> bool,
    ) -> Result<Option<EvalResult>> {
        drop(lock(&self.pending).take());
        let (n, k) = (self.images.len(), key(p));
        let mut rec = Recording::new(self.model, k, q.clone(), n, n.div_ceil(self.batch));
        // The base's kept inputs (shared) and the deepest layer they serve.
        let (from, reach) = match lock(&self.base).as_ref() {
            Some(b) if b.key != rec.key => (b.batches.clone(), b.reach(self.model, q)),
            _ => (Vec::new(), 0),
        };
        let layers = rec.keep.len();
        let kept: Vec<Mutex<Kept>> = (0..rec.batches.len())
            .map(|_| Mutex::new(vec![None; layers]))
            .collect();
        let keep = &rec.keep;
        let logits = |b: usize, x: ndarray::ArrayView4<'_, f32>| -> Vec<f32> {
            let mut mine = lock(&kept[b]);
            let (layer, a) = match from.get(b).and_then(|f| start(f, reach)) {
                Some((layer, a)) => {
                    for l in 1..=layer {
                        if keep[l] {
                            mine[l] = from[b][l].clone();
                        }
                    }
                    (layer, Activation::clone(a))
                }
                None => (0, Activation::Float(x.iter().copied().collect())),
            };
            let later: Vec<bool> = (0..layers).map(|l| keep[l] && l > layer).collect();
            let images = x.len_of(ndarray::Axis(0));
            let skipped: f64 = self.macs[..layer].iter().sum();
            let total: f64 = self.macs.iter().sum();
            {
                let mut w = lock(&self.work);
                w.0 += (total - skipped) * images as f64;
                w.1 += skipped * images as f64;
            }
            let r = self.model.forward_from(&**q, layer, a, images, &later);
            for (l, a) in r.kept {
                mine[l] = Some(Arc::new(a));
            }
            r.logits
        };
        let r =
            evaluate_batches_while(self.model, self.images, self.batch, &Silent, logits, go_on)?;
        drop(from);
        rec.batches = kept
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let mut base = lock(&self.base);
        let held = match base.as_mut() {
            Some(b) if b.key == rec.key => {
                b.fill_from(&rec, layers);
                b.bytes_beside(None)
            }
            Some(b) => {
                b.fill_from(&rec, reach);
                let held = b.bytes_beside(None) + rec.bytes_beside(Some(b));
                *lock(&self.pending) = Some(rec);
                held
            }
            None => {
                let held = rec.bytes_beside(None);
                *lock(&self.pending) = Some(rec);
                held
            }
        };
        let mut w = lock(&self.work);
        w.2 = w.2.max(held);
        Ok(r)
    }

    fn outcome(&self, p: &[LayerPrecision]) -> Option<Outcome> {
        let memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.get(&key(p)).copied()
    }

    fn run(&self, p: &[LayerPrecision], min_correct: usize) -> Result<Option<Measured>> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        let q = Arc::new(self.quantized(p)?);
        let r = self.pass(p, &q, at_least(self.images, min_correct))?;
        self.keep(q);
        let outcome = match &r {
            None => Outcome::Below,
            Some(r) => {
                let (mut gained, mut lost) = (0usize, 0usize);
                for ((&pred, &label), &f) in r
                    .predictions
                    .iter()
                    .zip(&self.images.labels)
                    .zip(&self.float_correct)
                {
                    match (pred == label, f) {
                        (true, false) => gained += 1,
                        (false, true) => lost += 1,
                        _ => {}
                    }
                }
                Outcome::Measured(self.rule.measured(r.correct, gained, lost))
            }
        };
        let mut memo = self.memo.lock().unwrap_or_else(|e| e.into_inner());
        memo.insert(key(p), outcome);
        Ok(match outcome {
            Outcome::Measured(m) => Some(m),
            Outcome::Below | Outcome::Decided(_) => None,
        })
    }
}

/// A lock, whether or not a thread panicked holding it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An assignment as a memo key.
pub(crate) fn key(p: &[LayerPrecision]) -> Vec<(u32, u32)> {
    p.iter().map(|q| (q.b_w, q.b_a)).collect()
}

/// Standard error (points) of the mean paired difference of correctness over `n` images, of
/// which `gained` are right only with fixed point and `lost` right only in float.
pub fn paired_se(gained: usize, lost: usize, n: usize) -> f64 {
    if n < 2 {
        return 0.0;
    }
    let nf = n as f64;
    let mean = (gained as f64 - lost as f64) / nf;
    let var = ((gained + lost) as f64 - nf * mean * mean) / (nf - 1.0);
    100.0 * (var.max(0.0) / nf).sqrt()
}

#[cfg(test)]
mod tests {
    use super::paired_se;

    #[test]
    fn paired_se_matches_the_sample_formula() {
        // d = +1 once, −1 three times, 0 six times: mean −0.2, sample variance
        // (Σd² − n·mean²)/(n − 1) = (4 − 0.4)/9 = 0.4, SE = √(0.4/10) = 0.2 → 20 points.
        assert!((paired_se(1, 3, 10) - 20.0).abs() < 1e-12);
        // No image changed: no spread.
        assert_eq!(paired_se(0, 0, 100), 0.0);
        assert_eq!(paired_se(0, 1, 1), 0.0);
    }
}
