//! The homework data: where it lives, its integrity, CIFAR-10 batches and input preprocessing.
//!
//! The repository ships the homework's data in `data/` (see `data/README.md`): `model.safetensors`,
//! `cifar10/{test_batch.bin,data_batch_1.bin}`, the four course npy files and a `SHA256SUMS`
//! manifest against which the bundled files are checked before use. `--data DIR` or
//! `$FXP_HW_DATA` name another folder of the same layout (not checked: no manifest applies).
//! CIFAR-10 batches are read in the official binary format (`cifar-10-batches-bin/`) or the
//! official Python format (`cifar-10-batches-py/`, pickled dicts), told apart by their content.
use crate::error::{InferError, Result};
use nn_cost::spec::Preprocess;
use serde_pickle::{DeOptions, HashableValue, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Bytes of one CIFAR-10 record: 1 label byte and 3×32×32 pixel bytes.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Pixel bytes of one image (channel-major: 1,024 R, 1,024 G, 1,024 B, each 32×32 row-major).
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Number of CIFAR-10 classes.
pub const CLASSES: usize = 10;
/// Environment variable naming the data folder.
pub const DATA_ENV: &str = "FXP_HW_DATA";
/// The integrity manifest of the bundled data folder (`sha256sum` format).
pub const MANIFEST: &str = "SHA256SUMS";

/// The workspace root (the folder above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The data folder that ships with the repository: `<workspace>/data`.
pub fn bundled_data_dir() -> PathBuf {
    workspace_root().join("data")
}

/// Where a data folder was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataOrigin {
    /// `--data DIR`.
    Flag,
    /// `$FXP_HW_DATA`.
    Env,
    /// The repository's own `data/`, checked against its manifest.
    Bundled,
}

/// Resolves the data folder: `flag` if given, else `$FXP_HW_DATA`, else the bundled
/// `<workspace>/data`, whose files are then checked against `data/SHA256SUMS` (a changed,
/// truncated or missing file is an error naming it).
pub fn resolve_data_dir(flag: Option<&Path>) -> Result<DataPaths> {
    let (dir, origin) = match (flag, std::env::var_os(DATA_ENV).filter(|p| !p.is_empty())) {
        (Some(p), _) => (p.to_path_buf(), DataOrigin::Flag),
        (None, Some(p)) => (PathBuf::from(p), DataOrigin::Env),
        (None, None) => (bundled_data_dir(), DataOrigin::Bundled),
    };
    if !dir.is_dir() {
        return Err(InferError::DataDirNotFound { dir, origin });
    }
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let verified_in = match origin {
        DataOrigin::Bundled => Some(verify_manifest(&dir)?),
        _ => None,
    };
    Ok(DataPaths {
        cifar_dir: dir.join("cifar10"),
        dir,
        origin,
        verified_in,
    })
}

/// Checks every file listed in `dir/SHA256SUMS` (lines `<sha256 hex>  <relative path>`) and
/// returns the time it took. Errors name the first file that is missing or whose contents differ.
pub fn verify_manifest(dir: &Path) -> Result<Duration> {
    let start = Instant::now();
    let manifest = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest).map_err(|e| InferError::io(&manifest, e))?;
    let integrity = |file: PathBuf, problem: String| InferError::DataIntegrity {
        file,
        manifest: manifest.clone(),
        problem,
    };
    let mut entries = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let (want, name) = line
            .split_once(char::is_whitespace)
            .map(|(h, n)| (h, n.trim_start().trim_start_matches('*')))
            .filter(|(h, n)| h.len() == 64 && !n.is_empty())
            .ok_or_else(|| {
                integrity(
                    manifest.clone(),
                    format!("line {} is not `<sha256>  <file>`: {line:?}", i + 1),
                )
            })?;
        let file = dir.join(name);
        let bytes = std::fs::read(&file).map_err(|e| {
            integrity(
                file.clone(),
                format!("cannot be read ({e}): the file is missing"),
            )
        })?;
        let got = format!("{:x}", Sha256::digest(&bytes));
        if !got.eq_ignore_ascii_case(want) {
            return Err(integrity(
                file,
                format!(
                    "its SHA-256 is {got} ({} bytes), the manifest says {want}: the file was \
                     changed or truncated",
                    bytes.len()
                ),
            ));
        }
        entries += 1;
    }
    if entries == 0 {
        return Err(integrity(
            manifest.clone(),
            "the manifest lists no file".into(),
        ));
    }
    Ok(start.elapsed())
}

/// The files of a data folder and of its CIFAR-10 batches.
#[derive(Debug, Clone)]
pub struct DataPaths {
    /// The folder itself.
    pub dir: PathBuf,
    /// The folder of the CIFAR-10 batches: `<dir>/cifar10`, or `--cifar DIR`.
    pub cifar_dir: PathBuf,
    /// Where the folder was named.
    pub origin: DataOrigin,
    /// How long the manifest check took (bundled data only).
    pub verified_in: Option<Duration>,
}

impl DataPaths {
    /// Files of the folder `dir` as given (no manifest check), batches in `dir/cifar10`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            cifar_dir: dir.join("cifar10"),
            dir,
            origin: DataOrigin::Flag,
            verified_in: None,
        }
    }
    /// The same folder with the CIFAR-10 batches taken from `cifar_dir` (an official
    /// `cifar-10-batches-bin/` or `cifar-10-batches-py/` folder, or one laid out like them).
    pub fn with_cifar_dir(mut self, cifar_dir: impl Into<PathBuf>) -> Self {
        self.cifar_dir = cifar_dir.into();
        self
    }
    /// The 10,000 test images: `test_batch.bin` (binary) or `test_batch` (Python pickle).
    pub fn test_batch(&self) -> Result<PathBuf> {
        find_batch(&self.cifar_dir, "test_batch")
    }
    /// The calibration set: `data_batch_1.bin` or `data_batch_1`.
    pub fn calibration_batch(&self) -> Result<PathBuf> {
        find_batch(&self.cifar_dir, "data_batch_1")
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

/// The batch `stem` of a CIFAR-10 folder: `stem.bin` (official binary release) or `stem`
/// (official Python release), whichever exists.
fn find_batch(dir: &Path, stem: &str) -> Result<PathBuf> {
    let tried = [dir.join(format!("{stem}.bin")), dir.join(stem)];
    tried
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| InferError::CifarBatchNotFound {
            dir: dir.to_path_buf(),
            stem: stem.to_string(),
        })
}

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
