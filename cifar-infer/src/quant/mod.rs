//! Exact fixed-point inference: [`quantized::QuantizedModel`] (per-layer quantizers, the exact
//! kernel path of each layer) and the dynamic ranges it quantizes over ([`quantized::Ranges`]:
//! the course npy files, or computed on a calibration set); [`ranges`]: the range calibration
//! methods (max, percentile, MSE) with their clipping and granular noise; [`accumulators`]: the
//! accumulator widths (assumed, worst case, reached) and wrap-around vs saturation.
pub mod accumulators;
pub mod quantized;
pub mod ranges;
