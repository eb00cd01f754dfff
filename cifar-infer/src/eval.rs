//! Accuracy of a network (float or quantized) over a labelled image set.
use crate::data::{CifarSet, CLASSES};
use crate::error::{InferError, Result};
use crate::model::{LayerKernel, Model};
use crate::ops::argmax_rows;
use fxp_core::progress::Progress;
use ndarray::ArrayView4;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Images per forward batch (batches run concurrently, about one per core).
pub const DEFAULT_BATCH: usize = 50;

/// Refuses to score a network whose number of outputs is not the number of classes of the
/// labels (a 5-output network on CIFAR-10 would print a meaningless accuracy).
pub fn check_classes(model: &Model, data: &CifarSet) -> Result<()> {
    if model.classes != CLASSES {
        return Err(InferError::Invalid(format!(
            "the network {} has {} outputs but the images are labelled with {CLASSES} classes \
             (CIFAR-10): its accuracy would mean nothing; use a network with {CLASSES} outputs",
            model.name, model.classes
        )));
    }
    if let Some(&l) = data.labels.iter().max() {
        if l as usize >= model.classes {
            return Err(InferError::Invalid(format!(
                "label {l} has no output in the network {} ({} outputs)",
                model.name, model.classes
            )));
        }
    }
    Ok(())
}

/// Refuses NaN or infinite logits (`start`: index of the batch's first image), which would
/// otherwise be classified as class 0 or at random and reported as an accuracy.
pub fn check_logits(logits: &[f32], classes: usize, start: usize) -> Result<()> {
    if let Some(i) = logits.iter().position(|v| !v.is_finite()) {
        return Err(InferError::Invalid(format!(
            "the logits of image {} are not finite ({}): the network's parameters or \
             precisions give NaN or infinity (check e.g. batch-norm running variances)",
            start + i / classes.max(1) + 1,
            logits[i]
        )));
    }
    Ok(())
}

/// Top-1 accuracy and the predictions behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// Accuracy in percent.
    pub accuracy: f64,
    /// Correctly classified images.
    pub correct: usize,
    /// Images evaluated.
    pub n: usize,
    /// Predicted class of each image, in file order.
    pub predictions: Vec<u8>,
}

/// Classifies every image of `data` (batches of `batch`) with `kernel` computing the conv/linear
/// layers; `progress` advances by the images done (the caller begins and ends the phase).
/// Predictions are the argmax of the logits
/// (first maximum on ties).
pub fn evaluate(
    model: &Model,
    kernel: &impl LayerKernel,
    data: &CifarSet,
    batch: usize,
    progress: &dyn Progress,
) -> Result<EvalResult> {
    evaluate_until(model, kernel, data, batch, progress, 0)?
        .ok_or_else(|| InferError::Invalid("evaluation stopped early".into()))
}

/// [`evaluate`] that stops as soon as fewer than `min_correct` correct images are still
/// possible (returns `None` then): the early stop of a pass/fail test.
pub fn evaluate_until(
    model: &Model,
    kernel: &impl LayerKernel,
    data: &CifarSet,
    batch: usize,
    progress: &dyn Progress,
    min_correct: usize,
) -> Result<Option<EvalResult>> {
    evaluate_while(
        model,
        kernel,
        data,
        batch,
        progress,
        at_least(data, min_correct),
    )
}

/// The early-stop test of [`evaluate_until`], for [`evaluate_while`]: whether `min_correct`
/// correct images are still possible.
pub fn at_least(data: &CifarSet, min_correct: usize) -> impl FnMut(&[u8], usize) -> bool + '_ {
    let mut correct = 0;
    move |predictions, new| {
        correct += predictions[new..]
            .iter()
            .zip(&data.labels[new..])
            .filter(|(p, l)| p == l)
            .count();
        correct + (data.len() - predictions.len()) >= min_correct
    }
}

/// [`evaluate`] that asks `go_on(predictions so far, index of the first new one)` between
/// waves of batches and stops (returns `None`) when it answers `false`.
pub fn evaluate_while(
    model: &Model,
    kernel: &impl LayerKernel,
    data: &CifarSet,
    batch: usize,
    progress: &dyn Progress,
    go_on: impl FnMut(&[u8], usize) -> bool,
) -> Result<Option<EvalResult>> {
    let logits = |_: usize, x: ArrayView4<'_, f32>| {
        model.forward_with(kernel, x).into_raw_vec_and_offset().0
    };
    evaluate_batches_while(model, data, batch, progress, logits, go_on)
}

/// [`evaluate_while`] with the logits of each batch computed by `logits(batch index, its
/// preprocessed images)` (n × classes, row-major): e.g. a pass that starts from a layer input
/// kept for that batch. The batches are those of [`evaluate`].
pub fn evaluate_batches_while(
    model: &Model,
    data: &CifarSet,
    batch: usize,
    progress: &dyn Progress,
    logits: impl Fn(usize, ArrayView4<'_, f32>) -> Vec<f32> + Sync,
    mut go_on: impl FnMut(&[u8], usize) -> bool,
) -> Result<Option<EvalResult>> {
    if data.is_empty() {
        return Err(InferError::Invalid("no images to evaluate".into()));
    }
    if batch == 0 {
        return Err(InferError::Invalid(
            "the batch size must be at least 1".into(),
        ));
    }
    check_classes(model, data)?;
    let mut predictions = Vec::with_capacity(data.len());
    let starts: Vec<usize> = (0..data.len()).step_by(batch).collect();
    // Batches run concurrently, a wave of them at a time (the early-stop test runs between
    // waves). Each batch's logits do not depend on which thread computes it, so results are
    // the same for any thread count.
    let wave = 2 * rayon::current_num_threads().max(1);
    for group in starts.chunks(wave) {
        let classified: Vec<Vec<usize>> = group
            .par_iter()
            .map(|&start| {
                let end = (start + batch).min(data.len());
                let x = model.input_of(data.slice(start, end))?;
                let logits = logits(start / batch, x.view());
                progress.advance((end - start) as u64);
                check_logits(&logits, model.classes, start)?;
                Ok(argmax_rows(&logits, model.classes))
            })
            .collect::<Result<_>>()?;
        let new = predictions.len();
        for classes in classified {
            predictions.extend(classes.into_iter().map(|c| c as u8));
        }
        if !go_on(&predictions, new) {
            return Ok(None);
        }
    }
    let correct = predictions
        .iter()
        .zip(&data.labels)
        .filter(|(p, l)| p == l)
        .count();
    Ok(Some(EvalResult {
        accuracy: 100.0 * correct as f64 / data.len() as f64,
        correct,
        n: data.len(),
        predictions,
    }))
}
