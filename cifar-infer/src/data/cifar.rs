//! CIFAR-10 batches, in the official binary format (`cifar-10-batches-bin/`) or the official
//! Python format (`cifar-10-batches-py/`, pickled dicts), told apart by their content; and the
//! input preprocessing.
use crate::error::{InferError, Result};
use nn_cost::spec::Preprocess;
use serde_pickle::{DeOptions, HashableValue, Value};
use std::path::Path;

/// Bytes of one CIFAR-10 record: 1 label byte and 3×32×32 pixel bytes.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Pixel bytes of one image (channel-major: 1,024 R, 1,024 G, 1,024 B, each 32×32 row-major).
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Number of CIFAR-10 classes.
pub const CLASSES: usize = 10;

/// The first byte of a pickle of protocol 2 or later (the PROTO opcode).
const PICKLE_PROTO: u8 = 0x80;

/// The raw bytes of a pickled numpy array: the one byte buffer among the reconstruction state
/// (`_reconstruct` + BUILD, as numpy pickles with protocols 2–4) or the arguments
/// (`_frombuffer`, protocol 5), searched one level deep.
fn pickled_u8_array(value: &Value) -> Option<&[u8]> {
    match value {
        Value::Bytes(b) => Some(b),
        Value::Tuple(items) | Value::List(items) => items.iter().find_map(|v| match v {
            Value::Bytes(b) => Some(b.as_slice()),
            _ => None,
        }),
        _ => None,
    }
}

/// A set of labelled CIFAR-10 images, pixels kept as bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarSet {
    /// Class label (0..=9) of each image.
    pub labels: Vec<u8>,
    /// Pixels, `IMAGE_BYTES` per image, channel-major (CHW).
    pub pixels: Vec<u8>,
}

impl CifarSet {
    /// Reads a batch file of either official format: binary records (`*.bin`) or a Python
    /// pickle (`cifar-10-batches-py/`), told apart by the first byte (a pickle starts with its
    /// protocol opcode 0x80, a binary record with a label 0..=9).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| InferError::io(path, e))?;
        match bytes.first() {
            Some(&PICKLE_PROTO) => Self::from_pickle(&bytes, path),
            _ => Self::from_bytes(&bytes, path),
        }
    }

    /// Parses a batch of the official Python release: a pickled dict whose `data` is a uint8
    /// numpy array N×3072 (CHW pixels) and `labels` a list of N labels 0..=9. Keys may be
    /// bytes (Python 2 pickles, as released) or strings.
    pub fn from_pickle(bytes: &[u8], path: &Path) -> Result<Self> {
        let err = |reason: String| InferError::Cifar {
            path: path.to_path_buf(),
            reason: format!("Python-format batch: {reason}"),
        };
        let options = DeOptions::new()
            .keep_restore_state()
            .replace_unresolved_globals();
        let value = serde_pickle::value_from_slice(bytes, options)
            .map_err(|e| err(format!("not a readable pickle ({e})")))?;
        let Value::Dict(entries) = value else {
            return Err(err("the pickle does not hold a dict".into()));
        };
        let field = |key: &str| {
            entries.iter().find_map(|(k, v)| match k {
                HashableValue::Bytes(b) if b == key.as_bytes() => Some(v),
                HashableValue::String(s) if s == key => Some(v),
                _ => None,
            })
        };
        let data = field("data").ok_or_else(|| err("no `data` entry".into()))?;
        let labels = field("labels").ok_or_else(|| err("no `labels` entry".into()))?;
        let pixels = pickled_u8_array(data).ok_or_else(|| {
            err("`data` is not a uint8 numpy array (no raw byte buffer found)".into())
        })?;
        if pixels.is_empty() || !pixels.len().is_multiple_of(IMAGE_BYTES) {
            return Err(err(format!(
                "`data` holds {} bytes, not a positive multiple of {IMAGE_BYTES} (N×3072 uint8)",
                pixels.len()
            )));
        }
        let n = pixels.len() / IMAGE_BYTES;
        let Value::List(labels) = labels else {
            return Err(err("`labels` is not a list".into()));
        };
        if labels.len() != n {
            return Err(err(format!(
                "{} labels for {n} images in `data`",
                labels.len()
            )));
        }
        let labels = labels
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                Value::I64(v) if (0..CLASSES as i64).contains(v) => Ok(*v as u8),
                other => Err(err(format!("label {i} is {other:?} (labels are 0..=9)"))),
            })
            .collect::<Result<Vec<u8>>>()?;
        Ok(Self {
            labels,
            pixels: pixels.to_vec(),
        })
    }

    /// Parses the records of `bytes`; `path` names the source in errors. Errors: no records, a
    /// size that is not a multiple of 3,073 bytes, or a label above 9.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let err = |reason: String| InferError::Cifar {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.is_empty() {
            return Err(err("the file is empty (no records)".into()));
        }
        if !bytes.len().is_multiple_of(RECORD_BYTES) {
            return Err(err(format!(
                "size {} bytes is not a multiple of the {RECORD_BYTES}-byte record \
                 ({} whole records and {} extra bytes: truncated or not a CIFAR-10 file?)",
                bytes.len(),
                bytes.len() / RECORD_BYTES,
                bytes.len() % RECORD_BYTES
            )));
        }
        let n = bytes.len() / RECORD_BYTES;
        let mut labels = Vec::with_capacity(n);
        let mut pixels = Vec::with_capacity(n * IMAGE_BYTES);
        for (i, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
            if rec[0] as usize >= CLASSES {
                return Err(err(format!(
                    "record {i} has label {} (labels are 0..=9)",
                    rec[0]
                )));
            }
            labels.push(rec[0]);
            pixels.extend_from_slice(&rec[1..]);
        }
        Ok(Self { labels, pixels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` images (all of them when `n` is larger).
    pub fn take(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self {
            labels: self.labels[..n].to_vec(),
            pixels: self.pixels[..n * IMAGE_BYTES].to_vec(),
        }
    }

    /// The images after the first `n` (none when `n` is larger).
    pub fn skip(&self, n: usize) -> Self {
        let n = n.min(self.len());
        Self {
            labels: self.labels[n..].to_vec(),
            pixels: self.pixels[n * IMAGE_BYTES..].to_vec(),
        }
    }

    /// Images `start..end` as a borrowed slice.
    pub fn slice(&self, start: usize, end: usize) -> CifarSlice<'_> {
        CifarSlice {
            labels: &self.labels[start..end],
            pixels: &self.pixels[start * IMAGE_BYTES..end * IMAGE_BYTES],
        }
    }
}

/// A borrowed run of images of a [`CifarSet`].
#[derive(Debug, Clone, Copy)]
pub struct CifarSlice<'a> {
    /// Labels.
    pub labels: &'a [u8],
    /// Pixels (CHW bytes per image).
    pub pixels: &'a [u8],
}

/// Converts pixel bytes into the network input, NCHW f32, with PyTorch's `ToTensor` then
/// `Normalize` arithmetic in f32: x = (p / scale − mean\[c\]) / std\[c\]; `input` is the
/// (channels, height, width) of one image. Without preprocessing the bytes are passed as is.
pub fn preprocess(pixels: &[u8], input: [usize; 3], pre: Option<&Preprocess>) -> Vec<f32> {
    let plane = (input[1] * input[2]).max(1);
    let per_image = (input[0] * plane).max(1);
    pixels
        .iter()
        .enumerate()
        .map(|(i, &p)| match pre {
            None => p as f32,
            Some(pre) => {
                let c = (i % per_image) / plane;
                let x = p as f32 / pre.scale;
                (x - pre.mean[c]) / pre.std[c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_and_rejects_bad_sizes() {
        let mut bytes = vec![0u8; 2 * RECORD_BYTES];
        bytes[RECORD_BYTES] = 9;
        let set = CifarSet::from_bytes(&bytes, Path::new("x")).unwrap();
        assert_eq!(set.labels, vec![0, 9]);
        assert!(CifarSet::from_bytes(&bytes[..RECORD_BYTES + 5], Path::new("x")).is_err());
        assert!(CifarSet::from_bytes(&[], Path::new("x")).is_err());
    }

    #[test]
    fn preprocess_matches_course_normalisation() {
        let pre = Preprocess {
            scale: 255.0,
            mean: vec![0.5; 3],
            std: vec![0.5; 3],
        };
        let mut px = vec![0u8; IMAGE_BYTES];
        px[0] = 255;
        px[2048] = 0;
        let x = preprocess(&px, [3, 32, 32], Some(&pre));
        assert_eq!(x[0], 1.0);
        assert_eq!(x[2048], -1.0);
    }
}
