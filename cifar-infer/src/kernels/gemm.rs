//! The one dense GEMM front end of the crate: `C = A·B + β·C` on [`Mat`] views (row-major or
//! transposed, no copy), in f32 (float inference, the profiler, exact integer codes of small
//! precisions) or f64 (exact integer codes of larger precisions). Backed by the `gemm` crate
//! (AVX-512 kernels where the CPU has them, else AVX2/FMA or SSE, detected at run time), always
//! single-threaded ([`::gemm::Parallelism::None`]): the callers parallelise over images or blocks
//! themselves. The float and exact-float layers of [`crate::ops`] and the backward kernels of
//! [`crate::backprop`] all go through [`gemm`](fn@gemm).
//!
//! Determinism: for given shapes, strides and CPU, the order of the floating-point operations is
//! fixed, so a result does not depend on the number of threads as long as the callers split the
//! work the same way whatever that number (they do). `gemm` chooses its blocking from the matrix
//! sizes, so an element of C can round differently when the SAME dot product is part of a
//! differently shaped product; exact integer-code products (the quantized paths) are unaffected.

use std::fmt::Debug;
use std::ops::Mul;

/// A scalar type of the GEMM front end: f32 or f64.
pub trait GemmScalar:
    Copy + Default + Send + Sync + PartialEq + Debug + Mul<Output = Self> + 'static
{
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// Converts to f64 (exact for f32 and f64).
    fn to_f64(self) -> f64;
    /// Converts an integer code (exact while |k| < 2^24 for f32, 2^53 for f64).
    fn from_i64(k: i64) -> Self;
}

/// A row-major or transposed view of a matrix stored contiguously in a slice.
#[derive(Debug, Clone, Copy)]
pub struct Mat<'a, T = f32> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a, T> Mat<'a, T> {
    /// The `rows×cols` matrix stored row-major in `data`.
    ///
    /// # Panics
    /// If `data.len() != rows·cols` (a programming error).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "Mat: {} values for {rows}×{cols}",
            data.len()
        );
        Mat {
            data,
            rows,
            cols,
            transposed: false,
        }
    }
    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            transposed: !self.transposed,
            ..self
        }
    }
    /// Row and column strides in elements.
    fn strides(&self) -> (isize, isize) {
        // Stored row length: `cols` of the stored (untransposed) matrix.
        if self.transposed {
            (1, self.rows as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `C (m×n, row-major) = A · B + beta · C` with `A: m×k`, `B: k×n` (either possibly
/// transposed); with `beta = 0` C is overwritten (not read). Single-threaded; `T` is f32 or f64.
///
/// # Panics
/// If the shapes do not agree (a programming error).
pub fn gemm<T: GemmScalar>(a: Mat<'_, T>, b: Mat<'_, T>, beta: T, c: &mut [T]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions {k} and {}", b.rows);
    assert_eq!(c.len(), m * n, "gemm: C has {} values for {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.iter_mut().for_each(|v| *v = *v * beta);
        return;
    }
    let (rsa, csa) = a.strides();
    let (rsb, csb) = b.strides();
    // SAFETY: every matrix is a complete contiguous slice of its stated shape (checked in
    // `Mat::new` and above), the strides address exactly its elements, and C is a distinct
    // `&mut`.
    unsafe {
        raw_gemm(
            (m, k, n),
            (a.data.as_ptr(), rsa, csa),
            (b.data.as_ptr(), rsb, csb),
            (c.as_mut_ptr(), n as isize, 1),
            (beta != T::ZERO).then_some(beta),
            T::ONE,
        );
    }
}

/// `C = A·B` (`beta_c = None`) or `C = beta_c·C + A·B`, every matrix given by its row and column
/// strides (in elements), single-threaded. `T` is `f32` or `f64`.
///
/// # Safety
/// Every element addressed by the sizes and strides must lie inside the allocation behind its
/// pointer, and C must not overlap A or B.
unsafe fn raw_gemm<T: Copy + 'static>(
    (m, k, n): (usize, usize, usize),
    a: (*const T, isize, isize),
    b: (*const T, isize, isize),
    c: (*mut T, isize, isize),
    beta_c: Option<T>,
    one: T,
) {
    let (a, rsa, csa) = a;
    let (b, rsb, csb) = b;
    let (c, rsc, csc) = c;
    // `gemm` computes dst = alpha·dst + beta·lhs·rhs (dst read only when `read_dst`), with the
    // column stride before the row stride.
    ::gemm::gemm(
        m,
        n,
        k,
        c,
        csc,
        rsc,
        beta_c.is_some(),
        a,
        csa,
        rsa,
        b,
        csb,
        rsb,
        beta_c.unwrap_or(one),
        one,
        false,
        false,
        false,
        ::gemm::Parallelism::None,
    )
}

/// The same [`GemmScalar`] impl for f32 and f64.
macro_rules! impl_gemm_scalar {
    ($t:ty) => {
        impl GemmScalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn from_i64(k: i64) -> Self {
                k as $t
            }
        }
    };
}

impl_gemm_scalar!(f32);
impl_gemm_scalar!(f64);

#[cfg(test)]
mod tests {
    use super::*;

    /// C = A·B + beta·C by definition, A m×k and B k×n row-major.
    fn naive<T: GemmScalar + std::ops::Add<Output = T>>(
        a: &[T],
        b: &[T],
        (m, k, n): (usize, usize, usize),
        beta: T,
        c: &[T],
    ) -> Vec<T> {
        let mut out = vec![T::ZERO; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = c[i * n + j] * beta;
                for l in 0..k {
                    s = s + a[i * k + l] * b[l * n + j];
                }
                out[i * n + j] = s;
            }
        }
        out
    }

    /// Transposes an r×c row-major matrix.
    fn transpose<T: Copy>(x: &[T], r: usize, c: usize) -> Vec<T> {
        (0..c * r).map(|i| x[(i % r) * c + i / r]).collect()
    }

    /// Small integers keep every product exact, so any summation order gives the same value.
    fn ints<T: GemmScalar>(len: usize, seed: i64) -> Vec<T> {
        (0..len as i64)
            .map(|i| T::from_i64((i * 7 + seed) % 11 - 5))
            .collect()
    }

    fn check<T: GemmScalar + std::ops::Add<Output = T>>() {
        let (m, k, n) = (5, 7, 3);
        let (a, b, c0) = (
            ints::<T>(m * k, 1),
            ints::<T>(k * n, 4),
            ints::<T>(m * n, 2),
        );
        let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
        for beta in [T::ZERO, T::from_i64(3)] {
            let want = naive(&a, &b, (m, k, n), beta, &c0);
            let views = [
                (Mat::new(&a, m, k), Mat::new(&b, k, n)),
                (Mat::new(&at, k, m).t(), Mat::new(&b, k, n)),
                (Mat::new(&a, m, k), Mat::new(&bt, n, k).t()),
                (Mat::new(&at, k, m).t(), Mat::new(&bt, n, k).t()),
            ];
            for (va, vb) in views {
                let mut c = c0.clone();
                gemm(va, vb, beta, &mut c);
                assert_eq!(c, want, "beta = {beta:?}");
            }
        }
        // An empty inner dimension leaves beta·C.
        let mut c = c0.clone();
        gemm(
            Mat::new(&[], m, 0),
            Mat::new(&[], 0, n),
            T::from_i64(2),
            &mut c,
        );
        let twice: Vec<T> = c0.iter().map(|&v| v * T::from_i64(2)).collect();
        assert_eq!(c, twice);
    }

    #[test]
    fn gemm_equals_the_definition_for_every_view_and_beta() {
        check::<f32>();
        check::<f64>();
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn gemm_refuses_shapes_that_do_not_agree() {
        let x = [1.0f32; 6];
        gemm(Mat::new(&x, 2, 3), Mat::new(&x, 2, 3), 0.0, &mut [0.0; 9]);
    }
}
