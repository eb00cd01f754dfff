//! The homework data: where it lives, CIFAR-10 binary batches and input preprocessing.
//!
//! A data folder is laid out like `shared/hw2-data/`: `model.safetensors`,
//! `cifar10/test_batch.bin`, `cifar10/data_batch_1.bin`, `weight_dynamic_range.npy`,
//! `activation_dynamic_range.npy` (see its README).
use crate::error::{InferError, Result};
use nn_cost::spec::Preprocess;
use std::path::{Path, PathBuf};

/// Bytes of one CIFAR-10 record: 1 label byte and 3×32×32 pixel bytes.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Pixel bytes of one image (channel-major: 1,024 R, 1,024 G, 1,024 B, each 32×32 row-major).
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Number of CIFAR-10 classes.
pub const CLASSES: usize = 10;
/// Environment variable naming the data folder.
pub const DATA_ENV: &str = "FXP_HW_DATA";

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Resolves the data folder: `flag` if given, else `$FXP_HW_DATA`, else `<workspace>/data` if it
/// exists, else `<workspace>/../shared/hw2-data`. The error lists every path that was tried.
pub fn resolve_data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = flag {
        candidates.push(p.to_path_buf());
    } else {
        if let Some(p) = std::env::var_os(DATA_ENV).filter(|p| !p.is_empty()) {
            candidates.push(PathBuf::from(p));
        }
        let root = workspace_root();
        candidates.push(root.join("data"));
        candidates.push(root.join("../shared/hw2-data"));
    }
    for c in candidates {
        if c.is_dir() {
            return Ok(std::fs::canonicalize(&c).unwrap_or(c));
        }
        tried.push(c);
    }
    Err(InferError::DataDirNotFound { tried })
}

/// The standard files of a data folder.
#[derive(Debug, Clone)]
pub struct DataPaths {
    /// The folder itself.
    pub dir: PathBuf,
}

impl DataPaths {
    /// Files of the folder `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
    /// `cifar10/test_batch.bin` (10,000 test images).
    pub fn test_batch(&self) -> PathBuf {
        self.dir.join("cifar10/test_batch.bin")
    }
    /// `cifar10/data_batch_1.bin` (the calibration set).
    pub fn calibration_batch(&self) -> PathBuf {
        self.dir.join("cifar10/data_batch_1.bin")
    }
    /// `model.safetensors`.
    pub fn model(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }
    /// `weight_dynamic_range.npy`.
    pub fn weight_ranges(&self) -> PathBuf {
        self.dir.join("weight_dynamic_range.npy")
    }
    /// `activation_dynamic_range.npy`.
    pub fn activation_ranges(&self) -> PathBuf {
        self.dir.join("activation_dynamic_range.npy")
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
    /// Reads a binary batch file (any positive number of records).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| InferError::io(path, e))?;
        Self::from_bytes(&bytes, path)
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
/// `Normalize` arithmetic in f32: x = (p / scale − mean[c]) / std[c]; `input` is the
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
