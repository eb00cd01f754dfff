//! Dense matrix products behind one small trait, so that the kernels of [`crate::ops`] run
//! in f32 (float inference, exact integer codes of small precisions) or f64 (exact integer
//! codes of larger precisions). Backed by the `gemm` crate (AVX-512 kernels where the CPU has
//! them, else AVX2/FMA or SSE, detected at run time), always single-threaded
//! ([`gemm::Parallelism::None`]): the callers parallelise over images or blocks themselves.
//!
//! Determinism: for given shapes, strides and CPU, the order of the floating-point operations is
//! fixed, so a result does not depend on the number of threads as long as the callers split the
//! work the same way whatever that number (they do). `gemm` chooses its blocking from the matrix
//! sizes, so an element of C can round differently when the SAME dot product is part of a
//! differently shaped product; exact integer-code products (the quantized paths) are unaffected.

/// A scalar type with a GEMM: C = A·B (C overwritten), all matrices given by their strides.
pub trait GemmScalar: Copy + Default + Send + Sync + PartialEq + std::fmt::Debug + 'static {
    /// Zero.
    const ZERO: Self;
    /// C (m×n, row stride `rsc`, column stride 1) = A (m×k, row-major, contiguous) · B (k×n with
    /// row stride `rsb` and column stride `csb`).
    ///
    /// # Panics
    /// If a slice is too short for the given sizes and strides (a programming error).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[Self],
        b: &[Self],
        rsb: usize,
        csb: usize,
        c: &mut [Self],
        rsc: usize,
    );
    /// Converts to f64 (exact for f32 and f64).
    fn to_f64(self) -> f64;
    /// Converts an integer code (exact while |k| < 2^24 for f32, 2^53 for f64).
    fn from_i64(k: i64) -> Self;
}

/// `C = A·B` (`beta_c = None`) or `C = beta_c·C + A·B`, every matrix given by its row and column
/// strides (in elements), single-threaded. `T` is `f32` or `f64`.
///
/// # Safety
/// Every element addressed by the sizes and strides must lie inside the allocation behind its
/// pointer, and C must not overlap A or B.
pub(crate) unsafe fn raw_gemm<T: Copy + 'static>(
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
    gemm::gemm(
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
        gemm::Parallelism::None,
    )
}

#[allow(clippy::too_many_arguments)]
fn check(
    m: usize,
    k: usize,
    n: usize,
    la: usize,
    lb: usize,
    rsb: usize,
    csb: usize,
    lc: usize,
    rsc: usize,
) {
    assert!(la >= m * k, "gemm: A too short");
    if k > 0 && n > 0 {
        assert!(lb > (k - 1) * rsb + (n - 1) * csb, "gemm: B too short");
    }
    if m > 0 && n > 0 {
        assert!(lc > (m - 1) * rsc + (n - 1), "gemm: C too short");
    }
}

/// The same [`GemmScalar`] impl for f32 and f64 (both backed by [`raw_gemm`]).
macro_rules! impl_gemm_scalar {
    ($t:ty) => {
        impl GemmScalar for $t {
            const ZERO: Self = 0.0;
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: &[$t],
                b: &[$t],
                rsb: usize,
                csb: usize,
                c: &mut [$t],
                rsc: usize,
            ) {
                check(m, k, n, a.len(), b.len(), rsb, csb, c.len(), rsc);
                if m == 0 || n == 0 {
                    return;
                }
                // SAFETY: the bounds of every matrix were checked above; C is a distinct `&mut`.
                unsafe {
                    raw_gemm(
                        (m, k, n),
                        (a.as_ptr(), k as isize, 1),
                        (b.as_ptr(), rsb as isize, csb as isize),
                        (c.as_mut_ptr(), rsc as isize, 1),
                        None,
                        1.0,
                    )
                }
            }
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
