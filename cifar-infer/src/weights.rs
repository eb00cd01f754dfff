//! Network parameters from a safetensors file, checked against the tensors a network
//! description expects.
use crate::error::{InferError, Result};
use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

/// A dense f32 tensor (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Shape, outermost first.
    pub shape: Vec<usize>,
    /// Elements in row-major order.
    pub data: Vec<f32>,
}

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
        reason: e.to_string(),
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
        if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(InferError::NonFiniteWeight {
                path: path.to_path_buf(),
                tensor: exp.name.clone(),
                index,
                value,
            });
        }
        out.insert(
            exp.name.clone(),
            Tensor {
                shape: exp.shape.clone(),
                data,
            },
        );
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
