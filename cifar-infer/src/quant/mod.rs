//! Exact fixed-point inference: [`quantized::QuantizedModel`] (per-layer quantizers, the exact
//! kernel path of each layer) and the dynamic ranges it quantizes over ([`quantized::Ranges`]:
//! the course npy files, or computed on a calibration set).
pub mod quantized;
