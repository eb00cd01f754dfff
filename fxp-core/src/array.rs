//! ndarray at module boundaries, slices in kernels: arrays cross modules as `ndarray` types
//! (functions take `impl AsArray`, so an `Array1`, a view, a `Vec` or a slice all fit), and an
//! inner loop that wants a plain slice gets one here.
use ndarray::{ArrayView1, AsArray};
use std::borrow::Cow;

/// The elements of a 1-D array as a slice: borrowed when they are contiguous and in order (an
/// `Array1` built whole, a `Vec`, a slice), copied otherwise (a strided view).
pub fn slice<'a>(a: impl AsArray<'a, f64>) -> Cow<'a, [f64]> {
    let view: ArrayView1<'a, f64> = a.into();
    match view.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(view.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, s};

    #[test]
    fn contiguous_arrays_are_borrowed_strided_ones_copied() {
        let a = arr1(&[1.0, 2.0, 3.0, 4.0]);
        assert!(matches!(slice(&a), Cow::Borrowed(&[1.0, 2.0, 3.0, 4.0])));
        let every_other = a.slice(s![..;2]);
        assert!(matches!(slice(every_other), Cow::Owned(v) if v == [1.0, 3.0]));
        assert!(matches!(slice(&vec![5.0]), Cow::Borrowed(&[5.0])));
    }
}
