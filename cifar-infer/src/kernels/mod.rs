//! The compute kernels of inference and of the profiler:
//! * [`gemm`]: the one dense GEMM front end (f32 or f64, [`gemm::Mat`] views, backed by the
//!   `gemm` crate), used by the float/exact-float layers and by the profiler's backward pass;
//! * [`float`]: the float inference kernel of conv and linear layers (AVX-512F micro-kernel,
//!   im2col fused into packing; the GEMM front end where AVX-512F is absent);
//! * [`int8`]: the exact u8×i8→i32 integer path, in parts: CPU detection and kernel values,
//!   weight packing, im2row, the portable / AVX-512 VNNI / AMX micro-kernels, the layer drivers.
pub mod float;
pub mod gemm;
pub mod int8;

use std::ops::Range;

/// The runs of output coordinates along one axis of a convolution (`out` of them, over `input`
/// coordinates with `pad` zeros on each side; kernel `(k, stride, pad)`) whose taps inside the
/// input are the same: (outputs, (t0, t1)), taps t0..t1 of the k read the input, the others the
/// zero border. One run of all k taps unless `skip`. The direct convolutions (float and int8)
/// multiply a run's positions by its in-image taps only.
pub(crate) fn tap_runs(
    out: usize,
    input: usize,
    (k, stride, pad): (usize, usize, usize),
    skip: bool,
) -> Vec<(Range<usize>, (usize, usize))> {
    // Tap t of output o reads input o·s + t − p: inside for p − o·s ≤ t < input + p − o·s.
    let taps = |o: usize| {
        if !skip {
            return (0, k);
        }
        let t0 = pad.saturating_sub(o * stride).min(k);
        let t1 = (input + pad).saturating_sub(o * stride).min(k);
        (t0, t1.max(t0))
    };
    let mut runs: Vec<(Range<usize>, (usize, usize))> = Vec::new();
    for o in 0..out {
        match runs.last_mut() {
            Some((r, t)) if *t == taps(o) => r.end = o + 1,
            _ => runs.push((o..o + 1, taps(o))),
        }
    }
    runs
}

/// Checks an environment variable that picks a kernel: unset, empty or one of `values`;
/// anything else is an error naming the variable, its value and the accepted values (`what`:
/// what a value names, e.g. "kernel").
pub(crate) fn check_env_choice(
    var: &str,
    values: &[&str],
    what: &str,
) -> Result<(), crate::InferError> {
    match std::env::var(var) {
        Err(std::env::VarError::NotPresent) => Ok(()),
        Ok(v) if v.is_empty() || values.contains(&v.as_str()) => Ok(()),
        Ok(v) => {
            let (last, rest) = values.split_last().unwrap_or((&"", &[]));
            let choices = if rest.is_empty() {
                last.to_string()
            } else {
                format!("{} or {last}", rest.join(", "))
            };
            Err(crate::InferError::Invalid(format!(
                "{var}={v:?} is not a {what}: use {choices} (or unset it)"
            )))
        }
        Err(e) => Err(crate::InferError::Invalid(format!("{var}: {e}"))),
    }
}
