//! Reading small 1-D npy arrays (precision offsets, dynamic ranges) as `f64`, and writing them
//! as `numpy.save` does ([`f64_vec_bytes`]).
//!
//! Supported: little-endian `f8`, `f4`, `i8`, `i4` and `u1` arrays of one dimension, C or
//! Fortran order (the same for 1-D). Every error names the file.
use crate::error::{CostError, Result};
use npyz::{DType, NpyFile};
use std::path::Path;

/// Reads a 1-D npy array as `f64`. With `expected_len`, the array must have exactly that many
/// elements. Errors (naming the file): unreadable or truncated file, a dtype other than
/// `<f8 <f4 <i8 <i4 |u1`, a shape that is not 1-D, a wrong length, a NaN or infinite value.
pub fn read_f64_vec(path: &Path, expected_len: Option<usize>) -> Result<Vec<f64>> {
    let bytes = std::fs::read(path).map_err(|source| CostError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_f64_vec(&bytes, expected_len).map_err(|message| CostError::Npy {
        path: path.to_path_buf(),
        message,
    })
}

/// The longest header accepted: the course's files have 118 bytes; NumPy pads to 64-byte blocks.
const MAX_HEADER: usize = 4096;

/// Checks the npy framing before the header is handed to the parser: magic string, a header
/// length that fits the file, and a flat dictionary (one `{…}`), so that no input can make the
/// header parser work for long. Returns the number of data bytes after the header.
fn check_header(bytes: &[u8]) -> Result<usize, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an npy file (no \\x93NUMPY magic string)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported npy format version {v}")),
    };
    if header_len > MAX_HEADER {
        return Err(format!(
            "npy header of {header_len} bytes is too long (at most {MAX_HEADER})"
        ));
    }
    let header = bytes
        .get(start..start + header_len)
        .ok_or_else(|| format!("truncated npy header ({header_len} bytes announced)"))?;
    // A plain array's header is `{'descr': '<f8', 'fortran_order': False, 'shape': (8,), }`:
    // one dictionary, one shape tuple, no lists (those only appear in structured dtypes, which
    // are not supported). Rejecting any other nesting bounds the header parser's work.
    let count = |c: u8| header.iter().filter(|&&b| b == c).count();
    if count(b'{') != 1
        || count(b'}') != 1
        || count(b'(') != 1
        || count(b')') != 1
        || count(b'[') != 0
    {
        return Err("malformed npy header: expected a flat dictionary with one shape tuple".into());
    }
    Ok(bytes.len() - start - header_len)
}

/// Parses npy bytes (see [`read_f64_vec`]); the error is a message without the file name.
pub fn parse_f64_vec(bytes: &[u8], expected_len: Option<usize>) -> Result<Vec<f64>, String> {
    let data_bytes = check_header(bytes)?;
    let npy = NpyFile::new(bytes).map_err(|e| format!("not a readable npy file: {e}"))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 1 {
        return Err(format!("expected a 1-D array, found shape {shape:?}"));
    }
    let len = shape[0] as usize;
    // Every supported dtype has at least one byte per value: a header that claims more values
    // than the data holds is truncated (or hostile), and is rejected before any allocation.
    if len > data_bytes {
        return Err(format!(
            "truncated data: the header claims {len} values but only {data_bytes} data bytes follow"
        ));
    }
    if let Some(expected) = expected_len {
        if len != expected {
            return Err(format!("expected {expected} values, found {len}"));
        }
    }
    let dtype = match npy.dtype() {
        DType::Plain(t) => t.to_string(),
        other => {
            return Err(format!(
                "unsupported dtype {}: use f8, f4, i8, i4 or u1",
                other.descr()
            ))
        }
    };
    let truncated =
        |e: std::io::Error| format!("truncated or unreadable data ({len} values of {dtype}): {e}");
    let values: Vec<f64> = match dtype.as_str() {
        "<f8" => npy.into_vec::<f64>().map_err(truncated)?,
        "<f4" => npy
            .into_vec::<f32>()
            .map_err(truncated)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "<i8" => npy
            .into_vec::<i64>()
            .map_err(truncated)?
            .into_iter()
            .map(|v| v as f64)
            .collect(),
        "<i4" => npy
            .into_vec::<i32>()
            .map_err(truncated)?
            .into_iter()
            .map(f64::from)
            .collect(),
        "|u1" | "<u1" => npy
            .into_vec::<u8>()
            .map_err(truncated)?
            .into_iter()
            .map(f64::from)
            .collect(),
        other => {
            return Err(format!(
                "unsupported dtype {other}: use little-endian f8, f4, i8, i4 or u1"
            ))
        }
    };
    if values.len() != len {
        return Err(format!("truncated data: {} of {len} values", values.len()));
    }
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(format!("value {v} at index {i} is not finite"));
    }
    Ok(values)
}

/// The bytes of a `.npy` file (format 1.0) holding a float64 vector, laid out exactly as
/// `numpy.save` writes it (header padded with spaces to 64-byte alignment).
pub fn f64_vec_bytes(values: &[f64]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    let unpadded = 10 + dict.len() + 1;
    let total = unpadded.div_ceil(64) * 64;
    let header_len = total - 10;
    let mut out = Vec::with_capacity(total + 8 * values.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}
