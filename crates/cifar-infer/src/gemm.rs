//! Dense matrix products behind one small trait, so that the kernels of [`crate::ops`] run
//! in f32 (float inference, exact integer codes of small precisions) or f64 (exact integer
//! codes of larger precisions). Backed by `matrixmultiply` (AVX2/FMA kernels, runtime-detected).

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

impl GemmScalar for f32 {
    const ZERO: Self = 0.0;
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        rsb: usize,
        csb: usize,
        c: &mut [f32],
        rsc: usize,
    ) {
        check(m, k, n, a.len(), b.len(), rsb, csb, c.len(), rsc);
        if m == 0 || n == 0 {
            return;
        }
        // SAFETY: the bounds of every matrix were checked above.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                c.as_mut_ptr(),
                rsc as isize,
                1,
            )
        }
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_i64(k: i64) -> Self {
        k as f32
    }
}

impl GemmScalar for f64 {
    const ZERO: Self = 0.0;
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[f64],
        b: &[f64],
        rsb: usize,
        csb: usize,
        c: &mut [f64],
        rsc: usize,
    ) {
        check(m, k, n, a.len(), b.len(), rsb, csb, c.len(), rsc);
        if m == 0 || n == 0 {
            return;
        }
        // SAFETY: the bounds of every matrix were checked above.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                c.as_mut_ptr(),
                rsc as isize,
                1,
            )
        }
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_i64(k: i64) -> Self {
        k as f64
    }
}
