//! Evaluations that start at the first changed layer: every assignment a [`super::Judge`]
//! evaluates in a greedy step differs from the step's **base** (the accepted assignment) in
//! one layer, and the layers before it compute on the same images what they computed for the
//! base. A [`Recording`] keeps, per batch of images, the input of some weight layers as it
//! reached them in a pass of one assignment (codes or floats, [`Activation`]); a pass of
//! another assignment starts at the deepest kept layer whose input is the same for both
//! ([`QuantizedModel::same_input`]) and gives the same logits bit for bit (the batches are
//! the same).
//!
//! Which inputs are kept: those that save the most multiply-accumulates per byte first (the
//! MACs of the layers before them per value, the fc layers' small inputs first), while the
//! recording stays within [`RECORDING_BYTES`].
use crate::model::{ActCodes, Activation, LayerKernel, Model, WeightLayer};
use crate::quantized::QuantizedModel;
use std::sync::Arc;

/// Memory for the kept layer inputs of a judge (bytes). It holds two recordings at most — its
/// base's and the last assignment evaluated's, which becomes the base when the greedy accepts
/// it —, each within half of this.
pub const JUDGE_BYTES: usize = 1280 << 20;

/// Memory for the kept layer inputs of one recording (bytes): half of [`JUDGE_BYTES`].
pub const RECORDING_BYTES: usize = JUDGE_BYTES / 2;

/// The kept inputs of one batch, by weight layer (`None`: not kept, or not reached).
pub(super) type Kept = Vec<Option<Arc<Activation>>>;

/// The layer inputs kept from the passes of one assignment, per batch of images.
pub(super) struct Recording {
    /// The assignment (a memo key).
    pub(super) key: Vec<(u32, u32)>,
    /// Its network.
    pub(super) q: Arc<QuantizedModel>,
    /// The weight layers whose input is kept.
    pub(super) keep: Vec<bool>,
    /// Per batch.
    pub(super) batches: Vec<Kept>,
}

impl Recording {
    /// An empty recording of `q` over `batches` batches of `images` images in all.
    pub(super) fn new(
        model: &Model,
        key: Vec<(u32, u32)>,
        q: Arc<QuantizedModel>,
        images: usize,
        batches: usize,
    ) -> Self {
        let keep = chosen(model, &q, images, RECORDING_BYTES);
        let layers = keep.len();
        Self {
            key,
            q,
            keep,
            batches: vec![vec![None; layers]; batches],
        }
    }

    /// The deepest layer (≥ 1) at which a pass of `q` can start from this recording's inputs:
    /// its input is the same and a pass can start there; 0 when none.
    pub(super) fn reach(&self, model: &Model, q: &QuantizedModel) -> usize {
        (1..self.keep.len())
            .take_while(|&l| model.can_start_at(l) && q.same_input(&self.q, l))
            .last()
            .unwrap_or(0)
    }

    /// Bytes of the kept inputs, but for those shared with `other` (the same one kept for the
    /// same batch and layer).
    pub(super) fn bytes_beside(&self, other: Option<&Recording>) -> usize {
        let shared = |b: usize, l: usize, a: &Arc<Activation>| {
            other
                .and_then(|o| o.batches.get(b)?.get(l)?.as_ref())
                .is_some_and(|o| Arc::ptr_eq(o, a))
        };
        let mut bytes = 0;
        for (b, kept) in self.batches.iter().enumerate() {
            for (l, a) in kept.iter().enumerate() {
                if let Some(a) = a.as_ref().filter(|a| !shared(b, l, a)) {
                    bytes += size(a);
                }
            }
        }
        bytes
    }

    /// Takes from `other` (a recording of another assignment over the same batches, valid up
    /// to layer `reach` as [`Recording::reach`] says) the inputs this one keeps and lacks.
    pub(super) fn fill_from(&mut self, other: &Recording, reach: usize) {
        for (mine, theirs) in self.batches.iter_mut().zip(&other.batches) {
            for l in 1..=reach.min(mine.len().saturating_sub(1)) {
                if self.keep[l] && mine[l].is_none() {
                    mine[l] = theirs[l].clone();
                }
            }
        }
    }
}

/// Bytes of an activation's values.
fn size(a: &Activation) -> usize {
    match a {
        Activation::Float(x) => 4 * x.len(),
        Activation::Codes {
            codes: ActCodes::U8(c),
            ..
        } => c.len(),
        Activation::Codes {
            codes: ActCodes::U16(c),
            ..
        } => 2 * c.len(),
    }
}

/// Where a batch's pass starts: the deepest layer ≤ `reach` whose input `base` kept (with it),
/// or layer 0.
pub(super) fn start(base: &Kept, reach: usize) -> Option<(usize, &Arc<Activation>)> {
    (1..=reach.min(base.len().saturating_sub(1)))
        .rev()
        .find_map(|l| base[l].as_ref().map(|a| (l, a)))
}

/// Multiply-accumulates of each weight layer per image (the real taps).
pub(super) fn layer_macs(model: &Model) -> Vec<f64> {
    model
        .weight_layers()
        .iter()
        .map(|w| match w {
            WeightLayer::Conv(c) => (c.geom.out_len() * c.weight_geom().d()) as f64,
            WeightLayer::Linear(l) => (l.in_features * l.out_features) as f64,
        })
        .collect()
}

/// The weight layers whose input a recording of `q` over `images` images keeps within
/// `budget` bytes: by MACs saved per byte, best first (see the module docs).
pub(super) fn chosen(model: &Model, q: &QuantizedModel, images: usize, budget: usize) -> Vec<bool> {
    let layers = model.weight_layers();
    let macs = layer_macs(model);
    // (MACs saved per byte, bytes per image) of every layer a pass can start at.
    let mut options: Vec<(usize, f64, usize)> = (1..layers.len())
        .filter(|&l| model.can_start_at(l))
        .map(|l| {
            let values = match layers[l] {
                WeightLayer::Conv(c) => c.geom.in_len(),
                WeightLayer::Linear(lin) => lin.in_features,
            };
            let width = if model.codes_may_reach(l) && q.emits_codes(l - 1) {
                if q.layers[l].act.bits() <= 8 {
                    1
                } else {
                    2
                }
            } else {
                4
            };
            let bytes = values * width;
            let saved: f64 = macs[..l].iter().sum();
            (l, saved / bytes as f64, bytes)
        })
        .collect();
    options.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut keep = vec![false; layers.len()];
    let mut used = 0usize;
    for (l, _, bytes) in options {
        let need = bytes.saturating_mul(images);
        if used.saturating_add(need) <= budget {
            used += need;
            keep[l] = true;
        }
    }
    keep
}
