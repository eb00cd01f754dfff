//! The data folder: where it lives (`data/`, `--data DIR`, `$FXP_HW_DATA`), its integrity
//! (the `SHA256SUMS` manifest), and the paths of its files.
use crate::error::{InferError, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
