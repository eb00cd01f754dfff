//! Network parameters from a safetensors file or an ONNX file, checked against the tensors a
//! network description expects.
use crate::error::{InferError, Result};
use nn_cost::onnx::OnnxNetwork;
use nn_cost::spec::{NetworkSpec, PreprocessOverride};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

/// A dense f32 tensor (row-major); the type the ONNX importer produces.
pub use nn_cost::onnx::Tensor;

/// A tensor the network needs: its name and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedTensor {
    /// State-dict name, e.g. `features.0.weight`.
    pub name: String,
    /// Expected shape.
    pub shape: Vec<usize>,
}

/// Named tensors read from a safetensors file.
pub type Weights = BTreeMap<String, Tensor>;

/// Reads the `expected` tensors of a safetensors file into f32. F32, F16 and BF16 tensors are
/// accepted (F16/BF16 converted exactly with `half`); other tensors of the file are ignored.
/// Every missing tensor, wrong shape and unsupported dtype is collected and reported in one
/// [`InferError::TensorMismatch`]; a NaN or infinite value is an error naming the tensor.
pub fn load_safetensors(path: &Path, expected: &[ExpectedTensor]) -> Result<Weights> {
    let bytes = std::fs::read(path).map_err(|e| InferError::io(path, e))?;
    parse_safetensors(&bytes, path, expected)
}

/// [`load_safetensors`] on bytes already in memory; `path` names the source in errors.
pub fn parse_safetensors(
    bytes: &[u8],
    path: &Path,
    expected: &[ExpectedTensor],
) -> Result<Weights> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| InferError::Safetensors {
        path: path.to_path_buf(),
        reason: describe_safetensors_error(&e, bytes.len()),
    })?;
    let mut problems = Vec::new();
    let mut views = Vec::new();
    for exp in expected {
        match st.tensor(&exp.name) {
            Err(_) => problems.push(format!(
                "missing tensor {} (expected shape {:?})",
                exp.name, exp.shape
            )),
            Ok(view) => {
                let mut ok = true;
                if view.shape() != exp.shape.as_slice() {
                    problems.push(format!(
                        "tensor {} has shape {:?}, expected {:?}",
                        exp.name,
                        view.shape(),
                        exp.shape
                    ));
                    ok = false;
                }
                if !matches!(view.dtype(), Dtype::F32 | Dtype::F16 | Dtype::BF16) {
                    problems.push(format!(
                        "tensor {} has unsupported dtype {:?} (supported: F32, F16, BF16)",
                        exp.name,
                        view.dtype()
                    ));
                    ok = false;
                }
                if ok {
                    views.push((exp, view));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(InferError::TensorMismatch {
            path: path.to_path_buf(),
            problems,
        });
    }
    let mut out = Weights::new();
    for (exp, view) in views {
        let data = to_f32(view.dtype(), view.data());
        check_finite(path, &exp.name, &data)?;
        // The shape was checked against the file's above, so the element count matches.
        let tensor = Tensor::from_shape_vec(exp.shape.clone(), data).map_err(|e| {
            InferError::TensorMismatch {
                path: path.to_path_buf(),
                problems: vec![format!("tensor {}: {e}", exp.name)],
            }
        })?;
        out.insert(exp.name.clone(), tensor);
    }
    Ok(out)
}

/// A NaN or infinite parameter is an error naming the tensor and the element.
fn check_finite<'a>(
    path: &Path,
    tensor: &str,
    data: impl IntoIterator<Item = &'a f32>,
) -> Result<()> {
    match data.into_iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((index, &value)) => Err(InferError::NonFiniteWeight {
            path: path.to_path_buf(),
            tensor: tensor.to_string(),
            index,
            value,
        }),
        None => Ok(()),
    }
}

/// The network of an ONNX file: its description with `input` applied (an ONNX file carries no
/// normalisation: x = pixel/255 unless `input` says otherwise) and its parameters.
pub fn load_onnx(path: &Path, input: &PreprocessOverride) -> Result<(NetworkSpec, Weights)> {
    let net = OnnxNetwork::from_file(path)?;
    let mut spec = net.spec.clone();
    input.apply(&mut spec)?;
    let expected = crate::net::model::expected_tensors(&spec)?;
    let weights = onnx_weights(&net, path, &expected)?;
    Ok((spec, weights))
}

/// The `expected` tensors of an imported network, checked like a safetensors file's: every
/// missing tensor and wrong shape in one [`InferError::TensorMismatch`], NaN or infinite values
/// named.
pub fn onnx_weights(
    net: &OnnxNetwork,
    path: &Path,
    expected: &[ExpectedTensor],
) -> Result<Weights> {
    let mut tensors = net.tensors().map_err(|e| {
        InferError::Spec(nn_cost::CostError::InFile {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    })?;
    let mut problems = Vec::new();
    let mut out = Weights::new();
    for exp in expected {
        match tensors.remove(&exp.name) {
            None => problems.push(format!(
                "missing tensor {} (expected shape {:?})",
                exp.name, exp.shape
            )),
            Some(t) if t.shape() != exp.shape => problems.push(format!(
                "tensor {} has shape {:?}, expected {:?}",
                exp.name,
                t.shape(),
                exp.shape
            )),
            Some(t) => {
                check_finite(path, &exp.name, t.iter())?;
                out.insert(exp.name.clone(), t);
            }
        }
    }
    if !problems.is_empty() {
        return Err(InferError::TensorMismatch {
            path: path.to_path_buf(),
            problems,
        });
    }
    Ok(out)
}

/// Little-endian F32/F16/BF16 bytes to f32 (exact for the half formats).
fn to_f32(dtype: Dtype, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => unreachable!("dtype checked by the caller"),
    }
}

/// A safetensors parse error in words (the crate's own messages are variant names such as
/// `MetadataIncompleteBuffer`).
pub fn describe_safetensors_error(e: &safetensors::SafeTensorError, file_len: usize) -> String {
    use safetensors::SafeTensorError as E;
    match e {
        E::HeaderTooSmall => format!(
            "the file is too short ({file_len} bytes) to hold a safetensors header: truncated or \
             not a safetensors file"
        ),
        E::InvalidHeaderLength => format!(
            "the header length in the first 8 bytes is larger than the file ({file_len} bytes): \
             the file is truncated or not a safetensors file"
        ),
        E::HeaderTooLarge => "the header length in the first 8 bytes is implausibly large: \
             not a safetensors file"
            .into(),
        E::InvalidHeader | E::InvalidHeaderStart => {
            "the header is not UTF-8 JSON starting with '{': not a safetensors file".into()
        }
        E::InvalidHeaderDeserialization | E::JsonError(_) => {
            format!("the JSON header cannot be read ({e})")
        }
        E::MetadataIncompleteBuffer => format!(
            "the file ends before the tensor data its header describes ({file_len} bytes): \
             the file is truncated (an interrupted copy or download?)"
        ),
        E::InvalidOffset(name) => format!(
            "tensor {name} has data offsets that do not fit the data section: the file is \
             corrupt or truncated"
        ),
        E::TensorInvalidInfo | E::InvalidTensorView(..) => {
            format!("a tensor's dtype, shape and byte size disagree ({e}): the file is corrupt")
        }
        E::ValidationOverflow => {
            "a tensor's size overflows while checking the header: the file is corrupt".into()
        }
        other => other.to_string(),
    }
}
