//! npy reading: supported dtypes, and errors that name the file; the writer round-trips.
use nn_cost::npy::read_f64_vec;
use nn_cost::read_offsets_dir;
use std::path::{Path, PathBuf};

/// A version-1.0 npy file with the given dtype descriptor, shape text and raw data.
fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn le<T: Copy, const N: usize>(values: &[T], to: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to(v)).collect()
}

#[test]
fn reads_supported_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let f8 = write(
        d,
        "f8.npy",
        &npy_bytes("<f8", "(3,)", &le(&[1.5f64, -2.0, 4.0], f64::to_le_bytes)),
    );
    assert_eq!(read_f64_vec(&f8, Some(3)).unwrap(), [1.5, -2.0, 4.0]);
    let f4 = write(
        d,
        "f4.npy",
        &npy_bytes("<f4", "(2,)", &le(&[0.25f32, 3.0], f32::to_le_bytes)),
    );
    assert_eq!(read_f64_vec(&f4, None).unwrap(), [0.25, 3.0]);
    let i4 = write(
        d,
        "i4.npy",
        &npy_bytes("<i4", "(2,)", &le(&[-1i32, 7], i32::to_le_bytes)),
    );
    assert_eq!(read_f64_vec(&i4, None).unwrap(), [-1.0, 7.0]);
    let i8 = write(
        d,
        "i8.npy",
        &npy_bytes("<i8", "(1,)", &le(&[5i64], i64::to_le_bytes)),
    );
    assert_eq!(read_f64_vec(&i8, None).unwrap(), [5.0]);
    let u1 = write(d, "u1.npy", &npy_bytes("|u1", "(3,)", &[0, 3, 255]));
    assert_eq!(read_f64_vec(&u1, None).unwrap(), [0.0, 3.0, 255.0]);
}

fn err(d: &Path, name: &str, bytes: &[u8], expected: Option<usize>) -> String {
    let p = write(d, name, bytes);
    let e = read_f64_vec(&p, expected).unwrap_err().to_string();
    assert!(
        e.contains(name),
        "error {e:?} does not name the file {name}"
    );
    e
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = le(&[1.0f64, 2.0, 3.0], f64::to_le_bytes);
    let e = err(d, "trunc.npy", &npy_bytes("<f8", "(3,)", &data[..20]), None);
    assert!(e.contains("truncated"), "{e}");
    let e = err(d, "dtype.npy", &npy_bytes("<c16", "(1,)", &[0; 16]), None);
    assert!(e.contains("dtype"), "{e}");
    let e = err(d, "big.npy", &npy_bytes(">f8", "(3,)", &data), None);
    assert!(e.contains(">f8"), "{e}");
    let e = err(d, "shape.npy", &npy_bytes("<f8", "(3, 1)", &data), None);
    assert!(e.contains("1-D"), "{e}");
    let e = err(d, "len.npy", &npy_bytes("<f8", "(3,)", &data), Some(8));
    assert!(e.contains("expected 8 values, found 3"), "{e}");
    let nan = le(&[1.0f64, f64::NAN], f64::to_le_bytes);
    let e = err(d, "nan.npy", &npy_bytes("<f8", "(2,)", &nan), None);
    assert!(e.contains("index 1") && e.contains("not finite"), "{e}");
    let e = err(d, "garbage.npy", b"hello world", None);
    assert!(e.contains("npy"), "{e}");
    let missing = d.join("missing.npy");
    assert!(read_f64_vec(&missing, None)
        .unwrap_err()
        .to_string()
        .contains("missing.npy"));
}

#[test]
fn offsets_dir_reads_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "weight_offsets.npy",
        &npy_bytes("<f8", "(2,)", &le(&[4.0f64, 1.0], f64::to_le_bytes)),
    );
    write(
        d,
        "activation_offsets.npy",
        &npy_bytes("<i8", "(2,)", &le(&[0i64, 2], i64::to_le_bytes)),
    );
    assert_eq!(
        read_offsets_dir(d).unwrap(),
        (vec![4.0, 1.0], vec![0.0, 2.0])
    );
    write(
        d,
        "activation_offsets.npy",
        &npy_bytes("<i8", "(1,)", &le(&[0i64], i64::to_le_bytes)),
    );
    let e = read_offsets_dir(d).unwrap_err().to_string();
    assert!(
        e.contains("weight_offsets.npy has 2 values") && e.contains("activation_offsets.npy has 1"),
        "{e}"
    );
    // Knowing the layer count, the file at fault is named alone.
    let e = nn_cost::read_offsets_for(d, 2).unwrap_err().to_string();
    assert!(
        e.contains("activation_offsets.npy") && e.contains("expected 2 values"),
        "{e}"
    );
}

#[test]
fn course_offsets_from_the_bundled_data() {
    let dir = std::env::var_os("FXP_HW_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"));
    assert!(
        dir.join("weight_offsets.npy").exists(),
        "this test needs the homework data at {} (or FXP_HW_DATA)",
        dir.display()
    );
    let (w, a) = read_offsets_dir(&dir).unwrap();
    // Values documented in data/README.md.
    assert_eq!(w, [4.0, 4.0, 4.0, 4.0, 3.0, 1.0, 2.0, 3.0]);
    assert_eq!(a, [0.0, 2.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0]);
}

/// Regression (found by `cargo fuzz run npy`): a header of nested braces made the npy header
/// parser run for minutes. It is now rejected at once.
#[test]
fn fuzz_nested_header_is_rejected_quickly() {
    let inputs: [&[u8]; 2] = [
        include_bytes!("data/fuzz-npy-nested-header.npy"),
        include_bytes!("data/fuzz-npy-nested-list.npy"),
    ];
    for bytes in inputs {
        let t = std::time::Instant::now();
        let err = nn_cost::npy::parse_f64_vec(bytes, None).unwrap_err();
        assert!(err.contains("malformed npy header"), "{err}");
        assert!(t.elapsed().as_secs_f64() < 1.0);
    }
}

/// A header that claims 2^60 values is an error, not an allocation.
#[test]
fn huge_claimed_length_is_rejected() {
    let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
    bytes.extend_from_slice(h.as_bytes());
    bytes.extend_from_slice(&[0u8; 16]);
    let err = nn_cost::npy::parse_f64_vec(&bytes, None).unwrap_err();
    assert!(err.contains("truncated data"), "{err}");
}

#[test]
fn npy_writer_matches_numpy_layout() {
    let bytes = nn_cost::npy::f64_vec_bytes(&[1.0, 0.5]);
    assert_eq!(bytes.len(), 128 + 16);
    assert_eq!(&bytes[..10], b"\x93NUMPY\x01\x00\x76\x00");
    assert_eq!(bytes[127], b'\n');
    assert_eq!(
        nn_cost::npy::parse_f64_vec(&bytes, Some(2)).unwrap(),
        vec![1.0, 0.5]
    );
}
