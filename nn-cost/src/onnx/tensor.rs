//! Constant tensors of an ONNX file (initializers and `Constant` nodes) decoded into numbers.
use super::proto::TensorProto;

/// A dense f32 tensor, shape and elements in one (standard row-major layout): a network
/// parameter.
pub type Tensor = ndarray::ArrayD<f32>;

/// The values of a constant tensor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Floating-point elements (FLOAT, DOUBLE, FLOAT16, BFLOAT16), as f32.
    Float(Vec<f32>),
    /// Integer elements (INT32, INT64).
    Int(Vec<i64>),
    /// Stored in another file (`location`): only the shape is known.
    External(String),
}

/// A decoded constant: its shape and values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Constant {
    /// Shape, outermost first (empty for a scalar).
    pub shape: Vec<usize>,
    /// The elements.
    pub values: Values,
}

impl Constant {
    /// The elements as f64, if they are in the file.
    pub fn numbers(&self) -> Option<Vec<f64>> {
        match &self.values {
            Values::Float(v) => Some(v.iter().map(|&x| f64::from(x)).collect()),
            Values::Int(v) => Some(v.iter().map(|&x| x as f64).collect()),
            Values::External(_) => None,
        }
    }

    /// The elements as integers, if they are integers in the file.
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.values {
            Values::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The only element, if the tensor has exactly one.
    pub fn scalar(&self) -> Option<f64> {
        self.numbers().filter(|v| v.len() == 1).map(|v| v[0])
    }
}

/// Name of an ONNX element type.
fn type_name(data_type: i32) -> String {
    match data_type {
        1 => "FLOAT".into(),
        2 => "UINT8".into(),
        3 => "INT8".into(),
        6 => "INT32".into(),
        7 => "INT64".into(),
        9 => "BOOL".into(),
        10 => "FLOAT16".into(),
        11 => "DOUBLE".into(),
        16 => "BFLOAT16".into(),
        other => format!("data type {other}"),
    }
}

/// Decodes a constant tensor; errors are sentences about the tensor (the caller names it).
pub(crate) fn decode(t: &TensorProto) -> Result<Constant, String> {
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d} in {:?}", t.dims)))
        .collect::<Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has too many elements"))?;
    if t.data_location == 1 {
        let location = t
            .external_data
            .iter()
            .find(|e| e.key == "location")
            .map(|e| e.value.clone())
            .unwrap_or_else(|| "(no location)".into());
        return Ok(Constant {
            shape,
            values: Values::External(location),
        });
    }
    let raw = &t.raw_data;
    let from_raw = !raw.is_empty();
    let values = match t.data_type {
        1 if from_raw => Values::Float(le_chunks::<4>(raw).map(f32::from_le_bytes).collect()),
        1 => Values::Float(t.float_data.clone()),
        11 if from_raw => Values::Float(
            le_chunks::<8>(raw)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect(),
        ),
        11 => Values::Float(t.double_data.iter().map(|&x| x as f32).collect()),
        10 | 16 => {
            let bits: Vec<u16> = if from_raw {
                le_chunks::<2>(raw).map(u16::from_le_bytes).collect()
            } else {
                t.int32_data.iter().map(|&x| x as u16).collect()
            };
            let f = |b: u16| match t.data_type {
                10 => half::f16::from_bits(b).to_f32(),
                _ => half::bf16::from_bits(b).to_f32(),
            };
            Values::Float(bits.into_iter().map(f).collect())
        }
        7 if from_raw => Values::Int(le_chunks::<8>(raw).map(i64::from_le_bytes).collect()),
        7 => Values::Int(t.int64_data.clone()),
        6 if from_raw => Values::Int(
            le_chunks::<4>(raw)
                .map(|b| i64::from(i32::from_le_bytes(b)))
                .collect(),
        ),
        6 => Values::Int(t.int32_data.iter().map(|&x| i64::from(x)).collect()),
        other => {
            return Err(format!(
            "element type {} is not supported (FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT32, INT64 are)",
            type_name(other)
        ))
        }
    };
    let len = match &values {
        Values::Float(v) => v.len(),
        Values::Int(v) => v.len(),
        Values::External(_) => count,
    };
    if len != count {
        return Err(format!(
            "holds {len} elements but its shape {shape:?} needs {count}: the file is corrupt"
        ));
    }
    Ok(Constant { shape, values })
}

/// Fixed-size little-endian chunks of raw tensor bytes (a trailing partial chunk is dropped and
/// caught by the element count check).
fn le_chunks<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.chunks_exact(N).map(|c| {
        let mut b = [0u8; N];
        b.copy_from_slice(c);
        b
    })
}
