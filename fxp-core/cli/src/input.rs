//! `--scale S --mean M[,M,M] --std S[,S,S]`: how pixels map to a network's input, the same
//! flags in every binary that takes a network (the description's `preprocess` fields).
use crate::list_item;

/// The input normalisation flags: x = (pixel / scale − mean_c) / std_c.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InputArgs {
    /// Input scaling: x = (pixel / S − mean) / std (default: the description's; an ONNX
    /// network: 255).
    #[arg(long, value_name = "S", value_parser = list_item::<f32>)]
    pub scale: Option<f32>,
    /// Per-channel mean subtracted after scaling: one value, or one per input channel
    /// (default: the description's; an ONNX network: 0).
    #[arg(long, value_name = "M[,M,M]", value_delimiter = ',', allow_negative_numbers = true,
          value_parser = list_item::<f32>)]
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by: one value, or one per input channel
    /// (default: the description's; an ONNX network: 1).
    #[arg(long, value_name = "S[,S,S]", value_delimiter = ',', value_parser = list_item::<f32>)]
    pub std: Vec<f32>,
}
