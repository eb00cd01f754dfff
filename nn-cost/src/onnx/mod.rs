//! ONNX import: a `.onnx` file (from `torch.onnx.export`, `tf2onnx`, …) → the equivalent
//! network description ([`NetworkSpec`]) and its parameters, named as the description expects
//! (`{layer}.weight`, `{layer}.bias`, `{layer}.running_mean`, …).
//!
//! Supported operators: see [`SUPPORTED_OPS`]. Layer names are PyTorch's module names when the
//! weights carry them (`layer1.0.conv1.weight` → `layer1.0.conv1`), else the node names. Any
//! other operator, or a graph that is not a chain of layers with residual blocks, is an error
//! naming the node, its operator and its position. An ONNX file carries no input normalisation:
//! the description gets [`pixel_over_255`] unless the caller sets its own.
//!
//! The file is read with hand-declared prost messages ([`proto`]); weights stored as external
//! data (`save_as_external_data`) give the description (shapes only) but no parameters.
mod convert;
mod graph;
mod ops;
pub mod proto;
mod tensor;

pub use convert::SUPPORTED_OPS;
pub use tensor::Tensor;

use crate::error::{CostError, Result};
use crate::spec::{NetworkSpec, Preprocess};
use prost::Message;
use std::collections::BTreeMap;
use std::path::Path;

/// Where a parameter's numbers are.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamData {
    /// In the file (as f32, in the description's layout).
    Values(Vec<f32>),
    /// In an external data file (`location`), which the importer does not read.
    External(String),
}

/// One parameter of the imported network.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name in the description's convention, e.g. `layer1.0.conv1.weight`.
    pub name: String,
    /// Shape in the description's layout (linear weights are (out, in)).
    pub shape: Vec<usize>,
    /// The numbers.
    pub data: ParamData,
}

/// An imported network: its description and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxNetwork {
    /// The equivalent description (with `preprocess` = [`pixel_over_255`]).
    pub spec: NetworkSpec,
    /// The parameters, in layer order.
    pub params: Vec<Param>,
    /// The tool that wrote the file (`producer_name`).
    pub producer: String,
}

/// The input normalisation of an imported network unless told otherwise: x = pixel / 255.
pub fn pixel_over_255(channels: usize) -> Preprocess {
    Preprocess {
        scale: 255.0,
        mean: vec![0.0; channels],
        std: vec![1.0; channels],
    }
}

impl OnnxNetwork {
    /// Imports a `.onnx` file; the network is named after the file (its stem).
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| CostError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "onnx".into());
        Self::from_bytes(&bytes, &name).map_err(|e| CostError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Imports an ONNX model held in memory as the network `name`.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self> {
        let model = proto::ModelProto::decode(bytes).map_err(|e| CostError::Onnx {
            message: format!("not an ONNX model file ({e})"),
        })?;
        let g = model.graph.as_ref().ok_or_else(|| CostError::Onnx {
            message: "the file has no graph: not an ONNX model file".into(),
        })?;
        let graph = graph::Graph::new(g)?;
        let mut conv = convert::Converter::new(&graph, name);
        let layers = conv.layers()?;
        let spec = NetworkSpec {
            name: name.to_string(),
            input: graph.input_shape,
            preprocess: Some(pixel_over_255(graph.input_shape[0])),
            layers,
        };
        spec.validate().map_err(|e| conv.locate(e))?;
        conv.check_weights(&spec)?;
        Ok(Self {
            spec,
            params: conv.params,
            producer: model.producer_name,
        })
    }

    /// The parameters as tensors by name; an error names the first one kept in external data.
    pub fn tensors(&self) -> Result<BTreeMap<String, Tensor>> {
        self.params
            .iter()
            .map(|p| match &p.data {
                ParamData::Values(data) => Tensor::from_shape_vec(p.shape.clone(), data.clone())
                    .map(|t| (p.name.clone(), t))
                    .map_err(|e| CostError::Onnx {
                        message: format!(
                            "parameter {} has {} values for shape {:?}: {e}",
                            p.name,
                            data.len(),
                            p.shape
                        ),
                    }),
                ParamData::External(location) => Err(CostError::Onnx {
                    message: format!(
                        "parameter {} is stored in the external file {location:?}, which is \
                         not read: save the model with its weights inside \
                         (onnx.save_model(model, path, save_as_external_data=False))",
                        p.name
                    ),
                }),
            })
            .collect()
    }
}
