//! The data folder: the bundled data and its manifest check, the official CIFAR-10 folders
//! (binary and Python releases, made small inside the tests), and the errors for each.
#[path = "../../fxp-core/cli/tests/support/mod.rs"]
mod support;
use cifar_infer::data::{
    bundled_data_dir, resolve_data_dir, verify_manifest, CifarSet, DataOrigin, IMAGE_BYTES,
    RECORD_BYTES,
};
use cifar_infer::{Setup, Sources};
use std::path::Path;
use support::assert_rejected;

const BIN: &str = env!("CARGO_BIN_EXE_cifar-infer");
/// Images of the small official-format folders.
const N: usize = 24;

/// The first `n` records of the bundled test batch, as binary-format bytes.
fn bundled_records(n: usize) -> Vec<u8> {
    let all = std::fs::read(bundled_data_dir().join("cifar10/test_batch.bin")).unwrap();
    all[..n * RECORD_BYTES].to_vec()
}

/// How a pickle writes its dict keys.
#[derive(Clone, Copy)]
enum Keys {
    /// Python 2 `str` (SHORT_BINSTRING), as in the official `cifar-10-batches-py`.
    Bytes,
    /// Python 3 `str` (BINUNICODE).
    Unicode,
}

/// A pickle (protocol 2) of `{"batch_label": …, "labels": [...], "data": uint8 array N×3072}`,
/// laid out as Python 2's cPickle writes a numpy array: `_reconstruct(ndarray, (0,), 'b')`, then
/// BUILD with `(1, shape, dtype, False, raw bytes)`.
fn pickle_batch(records: &[u8], keys: Keys) -> Vec<u8> {
    let labels: Vec<u8> = records.chunks(RECORD_BYTES).map(|r| r[0]).collect();
    let pixels: Vec<u8> = records
        .chunks(RECORD_BYTES)
        .flat_map(|r| r[1..].to_vec())
        .collect();
    pickle_parts(&labels, &pixels, keys)
}

/// [`pickle_batch`] of separate labels and pixels (which need not agree).
fn pickle_parts(labels: &[u8], pixels: &[u8], keys: Keys) -> Vec<u8> {
    let n = pixels.len() / IMAGE_BYTES;
    let key = |out: &mut Vec<u8>, k: &str| match keys {
        Keys::Bytes => {
            out.extend([b'U', k.len() as u8]);
            out.extend(k.as_bytes());
        }
        Keys::Unicode => {
            out.push(b'X');
            out.extend((k.len() as u32).to_le_bytes());
            out.extend(k.as_bytes());
        }
    };
    let short = |out: &mut Vec<u8>, s: &[u8]| {
        out.extend([b'U', s.len() as u8]);
        out.extend(s);
    };
    let int = |out: &mut Vec<u8>, v: u32| {
        out.push(b'J');
        out.extend((v as i32).to_le_bytes());
    };
    let mut p = vec![0x80, 2, b'}', b'('];
    key(&mut p, "batch_label");
    short(&mut p, b"testing batch 1 of 1");
    key(&mut p, "labels");
    p.extend([b']', b'(']);
    for &l in labels {
        p.extend([b'K', l]);
    }
    p.push(b'e');
    key(&mut p, "data");
    p.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n");
    p.extend([b'K', 0, 0x85]);
    short(&mut p, b"b");
    p.extend([0x87, b'R', b'(', b'K', 1]);
    int(&mut p, n as u32);
    int(&mut p, IMAGE_BYTES as u32);
    p.push(0x86);
    p.extend(b"cnumpy\ndtype\n");
    short(&mut p, b"u1");
    p.extend([b'K', 0, b'K', 1, 0x87, b'R', b'(', b'K', 3]);
    short(&mut p, b"|");
    p.extend(b"NNN");
    int(&mut p, u32::MAX);
    int(&mut p, u32::MAX);
    p.extend([b'K', 0, b't', b'b', 0x89, b'T']);
    p.extend((pixels.len() as u32).to_le_bytes());
    p.extend(pixels);
    p.extend([b't', b'b', b'u', b'.']);
    p
}

/// An official-layout folder of each release in `root`: `bin/` (`*.bin`) and `py/` (pickles).
fn official_folders(root: &Path, records: &[u8]) -> (std::path::PathBuf, std::path::PathBuf) {
    let (bin, py) = (
        root.join("cifar-10-batches-bin"),
        root.join("cifar-10-batches-py"),
    );
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&py).unwrap();
    for stem in ["test_batch", "data_batch_1"] {
        std::fs::write(bin.join(format!("{stem}.bin")), records).unwrap();
        std::fs::write(py.join(stem), pickle_batch(records, Keys::Bytes)).unwrap();
    }
    (bin, py)
}

#[test]
fn python_batches_read_like_binary_ones_with_either_key_style() {
    let records = bundled_records(N);
    let dir = tempfile::tempdir().unwrap();
    let binary = CifarSet::from_bytes(&records, Path::new("records")).unwrap();
    for keys in [Keys::Bytes, Keys::Unicode] {
        let path = dir.path().join("batch");
        std::fs::write(&path, pickle_batch(&records, keys)).unwrap();
        assert_eq!(CifarSet::load(&path).unwrap(), binary);
    }
    assert_eq!(binary.len(), N);
}

#[test]
fn official_folders_serve_test_and_calibration_images() {
    let records = bundled_records(N);
    let dir = tempfile::tempdir().unwrap();
    let (bin, py) = official_folders(dir.path(), &records);
    let expected = CifarSet::from_bytes(&records, Path::new("records")).unwrap();
    for cifar in [bin, py] {
        let setup = Setup::load(&Sources {
            cifar: Some(cifar.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(setup.test, expected, "{}", cifar.display());
        assert_eq!(setup.calibration().unwrap(), expected);
    }
}

#[test]
fn eval_gives_the_same_predictions_on_both_official_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (bin, py) = official_folders(dir.path(), &bundled_records(N));
    let run = |cifar: &Path| {
        let args = [
            "eval",
            "--bits",
            "6",
            "--json",
            "--cifar",
            cifar.to_str().unwrap(),
        ];
        serde_json::from_slice::<serde_json::Value>(&support::stdout(BIN, &args, 2)).unwrap()
    };
    let (a, b) = (run(&bin), run(&py));
    assert_eq!(a["n"], N, "{a}");
    assert_eq!(a["predictions"], b["predictions"]);
    assert_eq!(a["accuracy"], b["accuracy"]);
}

#[test]
fn bad_python_batches_are_refused_with_the_reason() {
    let records = bundled_records(3);
    let dir = tempfile::tempdir().unwrap();
    let good = pickle_batch(&records, Keys::Bytes);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "not a readable pickle",
        ),
        ("list", vec![0x80, 2, b']', b'.'], "does not hold a dict"),
        ("nodata", vec![0x80, 2, b'}', b'.'], "no `data` entry"),
    ];
    for (name, bytes, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = CifarSet::load(&path).unwrap_err().to_string();
        assert!(e.contains(needle) && e.contains(name), "{name}: {e}");
    }
    // A label count that does not match the images.
    let odd = pickle_parts(&[1, 2], &vec![7; 3 * IMAGE_BYTES], Keys::Bytes);
    let path = dir.path().join("short-labels");
    std::fs::write(&path, odd).unwrap();
    let e = CifarSet::load(&path).unwrap_err().to_string();
    assert!(e.contains("2 labels for 3 images"), "{e}");
}

#[test]
fn a_folder_without_batches_names_both_official_file_names() {
    let dir = tempfile::tempdir().unwrap();
    let e = Setup::load(&Sources {
        cifar: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("test_batch.bin") && e.contains("cifar-10-batches-py"),
        "{e}"
    );
    assert_rejected(
        BIN,
        &["eval", "--cifar", dir.path().to_str().unwrap()],
        &["test_batch.bin", "test_batch"],
    );
}

#[test]
fn the_bundled_data_is_the_default_and_is_checked() {
    if std::env::var_os("FXP_HW_DATA").is_some() {
        return; // the variable names another folder on purpose
    }
    let paths = resolve_data_dir(None).unwrap();
    assert_eq!(paths.origin, DataOrigin::Bundled);
    assert!(paths.verified_in.is_some());
    assert!(paths.dir.ends_with("data"));
    let flag = resolve_data_dir(Some(&bundled_data_dir())).unwrap();
    assert_eq!((flag.origin, flag.verified_in), (DataOrigin::Flag, None));
    assert_rejected(
        BIN,
        &["eval", "--data", "/nonexistent/fxp-data"],
        &["/nonexistent/fxp-data", "--data"],
    );
}

/// A copy of the bundled data folder (never the original: the tests corrupt it).
fn bundled_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = bundled_data_dir();
    std::fs::create_dir(dir.path().join("cifar10")).unwrap();
    let manifest = std::fs::read_to_string(src.join("SHA256SUMS")).unwrap();
    for name in manifest.lines().filter_map(|l| l.split_whitespace().nth(1)) {
        std::fs::copy(src.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::copy(src.join("SHA256SUMS"), dir.path().join("SHA256SUMS")).unwrap();
    dir
}

#[test]
fn a_changed_truncated_or_missing_bundled_file_is_named() {
    let copy = bundled_copy();
    let d = copy.path();
    verify_manifest(d).expect("an exact copy passes");
    // One byte changed in the middle of the model.
    let model = d.join("model.safetensors");
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&model, &bytes).unwrap();
    let e = verify_manifest(d).unwrap_err().to_string();
    assert!(
        e.contains("model.safetensors") && e.contains("SHA-256"),
        "{e}"
    );
    assert!(
        e.contains("git checkout -- data") && e.contains("--data"),
        "{e}"
    );
    bytes[mid] ^= 1;
    std::fs::write(&model, &bytes).unwrap();
    // A truncated batch.
    let batch = d.join("cifar10/data_batch_1.bin");
    let b = std::fs::read(&batch).unwrap();
    std::fs::write(&batch, &b[..b.len() - 1]).unwrap();
    let e = verify_manifest(d).unwrap_err().to_string();
    assert!(
        e.contains("data_batch_1.bin") && e.contains("30729999 bytes"),
        "{e}"
    );
    std::fs::write(&batch, &b).unwrap();
    // A missing npy file.
    std::fs::remove_file(d.join("weight_offsets.npy")).unwrap();
    let e = verify_manifest(d).unwrap_err().to_string();
    assert!(
        e.contains("weight_offsets.npy") && e.contains("missing"),
        "{e}"
    );
}
