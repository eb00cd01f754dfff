//! The homework data: where it lives, its integrity, CIFAR-10 batches and input preprocessing.
//!
//! The repository ships the homework's data in `data/` (see `data/README.md`): `model.safetensors`,
//! `cifar10/{test_batch.bin,data_batch_1.bin}`, the four course npy files and a `SHA256SUMS`
//! manifest against which the bundled files are checked before use. `--data DIR` or
//! `$FXP_HW_DATA` name another folder of the same layout (not checked: no manifest applies).
//! CIFAR-10 batches are read in the official binary format (`cifar-10-batches-bin/`) or the
//! official Python format (`cifar-10-batches-py/`, pickled dicts), told apart by their content.
//!
//! The parts: the data folder and its manifest ([`resolve_data_dir`], [`DataPaths`]), the
//! CIFAR-10 loaders ([`CifarSet`], [`preprocess`]) and the network parameters ([`weights`]:
//! safetensors checked against the network description).
mod cifar;
mod folder;
pub mod weights;

pub use cifar::*;
pub use folder::*;
