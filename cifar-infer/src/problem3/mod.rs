//! Problem 3 as one computation: [`run`] with [`Settings`] returns [`Problem3`], every number
//! of the section (float baseline, uniform sweep, dynamic ranges, the two noise-gain estimators
//! and their offsets, the B_min sweeps, the costs of both minima, the fixed-vs-float mismatch
//! against its bound, the byte-for-byte comparison of the npy files), with the seed's and the
//! data README's values beside them as data.
//!
//! The caller supplies [`Hooks`]: progress messages, progress counters and a compute-or-load
//! cache for the slow calibration passes; the library itself reads no cache and prints nothing.
//!
//! Parts: this file (settings, hooks, errors), [`result`] (the result types and the reference
//! values), `run` (the computation, part by part).
mod result;
mod run;

pub use result::*;
pub use run::run;

use crate::error::InferError;
use crate::Sources;
use fxp_core::progress::{Progress, Silent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::hash::Hash;
use std::path::PathBuf;
use std::time::Instant;

/// The homework's tolerance: a precision passes when its accuracy is at most this many
/// percentage points below the float baseline.
pub const TOLERANCE_PP: f64 = 1.0;

/// Everything that can stop a Problem 3 run.
#[derive(Debug, thiserror::Error)]
pub enum Problem3Error {
    /// Loading, inference, profiling.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// The network description or the cost model.
    #[error(transparent)]
    Cost(#[from] nn_cost::CostError),
    /// Serialising a cache key.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// No precision passes the tolerance, so there is no minimum to cost.
    #[error("{0}")]
    NoMinimum(&'static str),
    /// An error of the caller's cache hook.
    #[error("{0}")]
    Hook(Box<dyn std::error::Error + Send + Sync>),
}

/// Result alias of this module.
pub type Result<T, E = Problem3Error> = std::result::Result<T, E>;

/// How thorough a run is, and where its inputs come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// A smoke configuration whose numbers are not the report's.
    pub quick: bool,
    /// Test images evaluated (the first N; all when `None`).
    pub test_images: Option<usize>,
    /// Calibration images of the dynamic-range pass (the first N; all when `None`).
    pub ranges_images: Option<usize>,
    /// Calibration images of the course estimator (all when `None`).
    pub course_images: Option<usize>,
    /// Calibration images of the per-image estimator (at most the calibration set).
    pub per_image_images: usize,
    /// Largest B_min of the offsets sweeps (they start at 1).
    pub max_b_min: u32,
    /// Uniform precisions of the mismatch table (each must be in the uniform sweep, 2..=16).
    pub mismatch_bits: Vec<u32>,
    /// The data folder (`--data`); see [`crate::resolve_data_dir`].
    #[serde(skip)]
    pub data_dir: Option<PathBuf>,
    /// A CIFAR-10 folder (`--cifar`); default `<data>/cifar10`.
    #[serde(skip)]
    pub cifar_dir: Option<PathBuf>,
}

impl Settings {
    /// The report's configuration: every test and calibration image.
    pub fn full() -> Self {
        Self {
            quick: false,
            test_images: None,
            ranges_images: None,
            course_images: None,
            per_image_images: 1000,
            max_b_min: 8,
            mismatch_bits: (2..=12).collect(),
            data_dir: None,
            cifar_dir: None,
        }
    }

    /// The smoke configuration (`cargo xtask --quick`): 500 test images, small profiler runs.
    pub fn quick() -> Self {
        Self {
            quick: true,
            test_images: Some(500),
            course_images: Some(500),
            per_image_images: 100,
            max_b_min: 6,
            mismatch_bits: (3..=10).collect(),
            ..Self::full()
        }
    }

    fn sources(&self) -> Sources {
        Sources {
            data_dir: self.data_dir.clone(),
            cifar: self.cifar_dir.clone(),
            limit: self.test_images,
            ..Default::default()
        }
    }
}

/// A value with the seconds it took (in the run that computed it, when read from a cache).
#[derive(Debug, Clone)]
pub struct Timed<T> {
    /// The value.
    pub value: T,
    /// Seconds of the computation.
    pub seconds: f64,
    /// Whether it was read from the cache of an earlier run.
    pub from_cache: bool,
}

/// What the caller plugs into [`run`]: progress reporting and a cache. Every method has a
/// silent, uncached default ([`NoHooks`]).
pub trait Hooks {
    /// A progress message.
    fn step(&self, _message: &str) {}

    /// Where the long passes (sweeps, estimators) report their progress.
    fn progress(&self) -> &dyn Progress {
        &Silent
    }

    /// `compute()`, or the value an earlier run stored under `name` and `key`; `key` covers
    /// every input of the computation (file contents, parameters).
    fn cached<T, K>(
        &self,
        _name: &str,
        _key: &K,
        compute: impl FnOnce() -> Result<T>,
    ) -> Result<Timed<T>>
    where
        T: Serialize + DeserializeOwned,
        K: Hash + ?Sized,
    {
        let started = Instant::now();
        let value = compute()?;
        Ok(Timed {
            value,
            seconds: started.elapsed().as_secs_f64(),
            from_cache: false,
        })
    }
}

/// Silent, uncached hooks (tests, embedding).
pub struct NoHooks;

impl Hooks for NoHooks {}
