//! Small dense linear algebra for the tiny systems of the problems (3×3 Hessians, N-tap
//! normal equations, AR polynomials): linear solves, symmetric eigenvalues and polynomial
//! root moduli. Kept here, without LAPACK, because the sizes are tiny.
//!
//! Matrices are ndarray views (`ArrayView2`: `a.view()` of an `Array2`, or
//! `ndarray::aview2(&[[f64; N]; M])` of a fixed-size matrix), vectors `ArrayView1`; results are
//! `Array1`. All results come back sorted ascending where a set of values is returned.
#![allow(clippy::needless_range_loop)] // index-based matrix code reads like the math
use crate::error::{FxpError, Result};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Checks that `a` is n×n; `n` comes from the right-hand side (or from `a` itself).
fn check_square(a: &ArrayView2<f64>, n: usize) -> Result<()> {
    if a.dim() != (n, n) {
        let (rows, cols) = a.dim();
        return Err(FxpError::Invalid(format!(
            "expected a {n}×{n} matrix, got {rows}×{cols}"
        )));
    }
    Ok(())
}

/// Solves `a · x = b` (a is n×n) by Gauss–Jordan elimination with partial pivoting.
///
/// Errors: [`FxpError::Invalid`] when `a` is not n×n with n = `b.len()`;
/// [`FxpError::Singular`] when a pivot vanishes (|pivot| ≤ 1e-13 · max|aᵢⱼ|, or NaN).
pub fn solve(a: ArrayView2<f64>, b: ArrayView1<f64>) -> Result<Array1<f64>> {
    let n = b.len();
    check_square(&a, n)?;
    // The augmented matrix [a | b].
    let mut m = Array2::from_shape_fn((n, n + 1), |(i, j)| if j < n { a[[i, j]] } else { b[i] });
    let scale = a
        .iter()
        .fold(0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| m[[i, c]].abs().total_cmp(&m[[j, c]].abs()))
            .unwrap_or(c);
        if m[[p, c]].is_nan() || m[[p, c]].abs() <= 1e-13 * scale {
            return Err(FxpError::Singular(format!(
                "pivot {c} vanishes (matrix is singular)"
            )));
        }
        for k in 0..=n {
            m.swap([c, k], [p, k]);
        }
        for r in 0..n {
            if r != c {
                let f = m[[r, c]] / m[[c, c]];
                for k in c..=n {
                    m[[r, k]] -= f * m[[c, k]];
                }
            }
        }
    }
    Ok((0..n).map(|i| m[[i, n]] / m[[i, i]]).collect())
}

/// Solves `a · x = b` for a symmetric positive definite `a` (n×n) by Cholesky factorization.
///
/// Only the lower triangle of `a` is read. Errors: [`FxpError::Invalid`] when `a` is not n×n;
/// [`FxpError::NotPositiveDefinite`] when a diagonal pivot is ≤ 1e-12 · (1 + |aᵢᵢ|) or NaN —
/// which makes this also a positive-definiteness test (damped Newton steps rely on it).
pub fn cholesky_solve(a: ArrayView2<f64>, b: ArrayView1<f64>) -> Result<Array1<f64>> {
    let n = b.len();
    check_square(&a, n)?;
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - s;
                if d.is_nan() || d <= 1e-12 * (1.0 + a[[i, i]].abs()) {
                    return Err(FxpError::NotPositiveDefinite { pivot: i });
                }
                l[[i, i]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    let mut y = Array1::<f64>::zeros(n);
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[[i, k]] * y[k]).sum::<f64>()) / l[[i, i]];
    }
    let mut x = Array1::<f64>::zeros(n);
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[[k, i]] * x[k]).sum::<f64>()) / l[[i, i]];
    }
    Ok(x)
}

/// Eigenvalues of a symmetric n×n matrix by cyclic Jacobi rotations, sorted ascending.
///
/// Sweeps until the squared off-diagonal mass is ≤ 1e-30 × the squared diagonal mass
/// (at most 100 sweeps). Only symmetric input gives meaningful results; NaN entries give NaN
/// eigenvalues. Errors: [`FxpError::Invalid`] when `a` is not square.
pub fn symmetric_eigenvalues(a: ArrayView2<f64>) -> Result<Array1<f64>> {
    let n = a.nrows();
    check_square(&a, n)?;
    let mut m = a.to_owned();
    for _ in 0..100 {
        let mut off = 0.0;
        for p in 0..n {
            for q in p + 1..n {
                off += m[[p, q]].powi(2);
            }
        }
        let diag: f64 = (0..n).map(|i| m[[i, i]].powi(2)).sum();
        if off <= 1e-30 * diag.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[[p, q]] == 0.0 {
                    continue;
                }
                let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * m[[p, q]]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // m ← Jᵀ m J with the rotation in the (p, q) plane.
                for mut row in m.rows_mut() {
                    let (mkp, mkq) = (row[p], row[q]);
                    row[p] = c * mkp - s * mkq;
                    row[q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[[p, k]], m[[q, k]]);
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
            }
        }
    }
    let mut ev: Vec<f64> = (0..n).map(|i| m[[i, i]]).collect();
    ev.sort_by(f64::total_cmp);
    Ok(Array1::from(ev))
}

/// A complex number, just enough for polynomial roots.
#[derive(Debug, Clone, Copy, PartialEq)]
struct C(f64, f64);

impl C {
    fn add(self, o: C) -> C {
        C(self.0 + o.0, self.1 + o.1)
    }
    fn sub(self, o: C) -> C {
        C(self.0 - o.0, self.1 - o.1)
    }
    fn mul(self, o: C) -> C {
        C(self.0 * o.0 - self.1 * o.1, self.0 * o.1 + self.1 * o.0)
    }
    fn div(self, o: C) -> C {
        let d = o.0 * o.0 + o.1 * o.1;
        C(
            (self.0 * o.0 + self.1 * o.1) / d,
            (self.1 * o.0 - self.0 * o.1) / d,
        )
    }
    fn abs(self) -> f64 {
        self.0.hypot(self.1)
    }
}

/// Moduli of the roots of the monic polynomial zⁿ + c[0] zⁿ⁻¹ + … + c[n−1], sorted ascending
/// (so the spectral radius is the last one). Durand–Kerner iteration, at most 2000 rounds;
/// an empty `c` (a constant polynomial) has no roots.
pub fn root_moduli(c: &[f64]) -> Vec<f64> {
    let n = c.len();
    if n == 0 {
        return vec![];
    }
    let eval = |z: C| {
        c.iter()
            .fold(C(1.0, 0.0), |acc, &ci| acc.mul(z).add(C(ci, 0.0)))
    };
    let seed = C(0.4, 0.9);
    let mut z: Vec<C> = (0..n)
        .scan(C(1.0, 0.0), |p, _| {
            *p = p.mul(seed);
            Some(*p)
        })
        .collect();
    for _ in 0..2000 {
        let mut delta = 0f64;
        for i in 0..n {
            let den = (0..n)
                .filter(|&j| j != i)
                .fold(C(1.0, 0.0), |acc, j| acc.mul(z[i].sub(z[j])));
            let step = eval(z[i]).div(den);
            if step.0.is_finite() && step.1.is_finite() {
                z[i] = z[i].sub(step);
                delta = delta.max(step.abs());
            }
        }
        if delta < 1e-15 {
            break;
        }
    }
    let mut m: Vec<f64> = z.iter().map(|r| r.abs()).collect();
    m.sort_by(f64::total_cmp);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2, aview1, aview2, Array2};

    fn residual(a: &Array2<f64>, x: &Array1<f64>, b: &[f64]) -> f64 {
        a.rows()
            .into_iter()
            .zip(b)
            .map(|(row, bi)| {
                let s: f64 = row.iter().zip(x).map(|(p, q)| p * q).sum();
                (s - bi).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn solve_with_pivoting() {
        let a = arr2(&[[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]);
        let b = [1.0, 2.0, 3.0];
        assert!(residual(&a, &solve(a.view(), aview1(&b)).unwrap(), &b) < 1e-12);
        // A zero leading entry needs the row swap.
        let a = [[0.0, 2.0], [3.0, 1.0]];
        let x = solve(aview2(&a), aview1(&[4.0, 5.0])).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-15 && (x[1] - 2.0).abs() < 1e-15);
    }

    #[test]
    fn solve_errors() {
        let singular = solve(aview2(&[[1.0, 2.0], [2.0, 4.0]]), aview1(&[1.0, 1.0]));
        assert!(
            matches!(singular, Err(FxpError::Singular(_))),
            "{singular:?}"
        );
        let nan = solve(aview2(&[[f64::NAN, 0.0], [0.0, 1.0]]), aview1(&[1.0, 1.0]));
        assert!(matches!(nan, Err(FxpError::Singular(_))), "{nan:?}");
        let shape = solve(aview2(&[[1.0, 2.0]]), aview1(&[1.0, 1.0]));
        assert!(matches!(shape, Err(FxpError::Invalid(_))), "{shape:?}");
        let empty = Array2::<f64>::zeros((0, 0));
        assert_eq!(solve(empty.view(), aview1(&[])).unwrap(), arr1::<f64>(&[]));
    }

    #[test]
    fn cholesky_solves_spd_and_rejects_indefinite() {
        let a = arr2(&[[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]]);
        let b = [1.0, 2.0, 3.0];
        let x = cholesky_solve(a.view(), aview1(&b)).unwrap();
        assert!(residual(&a, &x, &b) < 1e-12);
        let y = solve(a.view(), aview1(&b)).unwrap();
        assert!(x.iter().zip(&y).all(|(p, q)| (p - q).abs() < 1e-14));
        let indefinite = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
        assert!(matches!(
            cholesky_solve(aview2(&indefinite), aview1(&b)),
            Err(FxpError::NotPositiveDefinite { pivot: 1 })
        ));
        assert!(matches!(
            cholesky_solve(aview2(&indefinite), aview1(&[1.0])),
            Err(FxpError::Invalid(_))
        ));
    }

    #[test]
    fn eigenvalues_match_trace_and_determinant() {
        let a = [[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]];
        let e = symmetric_eigenvalues(aview2(&a)).unwrap();
        assert!(
            e.windows(2).into_iter().all(|w| w[0] <= w[1]),
            "ascending: {e:?}"
        );
        assert!((e.iter().sum::<f64>() - 9.0).abs() < 1e-12);
        let det = 4.0 * (6.0 - 0.04) - (2.0 + 0.1) + 0.5 * (-0.2 - 1.5);
        assert!((e[0] * e[1] * e[2] - det).abs() < 1e-10);
        let indefinite = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
        assert_eq!(
            symmetric_eigenvalues(aview2(&indefinite)).unwrap(),
            arr1(&[-1.0, 1.0, 1.0])
        );
        // A 2×2 with known eigenvalues 1 and 3, and a 4×4 tridiagonal (2 − 2cos(kπ/5)).
        let e2 = symmetric_eigenvalues(aview2(&[[2.0, 1.0], [1.0, 2.0]])).unwrap();
        assert!((e2[0] - 1.0).abs() < 1e-14 && (e2[1] - 3.0).abs() < 1e-14);
        let t = Array2::from_shape_fn((4, 4), |(i, j): (usize, usize)| match i.abs_diff(j) {
            0 => 2.0,
            1 => -1.0,
            _ => 0.0,
        });
        let e4 = symmetric_eigenvalues(t.view()).unwrap();
        for (k, ev) in e4.iter().enumerate() {
            let exact = 2.0 - 2.0 * ((k + 1) as f64 * std::f64::consts::PI / 5.0).cos();
            assert!((ev - exact).abs() < 1e-12, "{k}: {ev} vs {exact}");
        }
        assert!(symmetric_eigenvalues(aview2(&[[1.0, 2.0]])).is_err());
    }

    #[test]
    fn root_moduli_of_known_polynomials() {
        // (z − 0.5)(z + 0.25)(z − 2) = z³ − 2.25 z² + 0.375 z + 0.25
        let m = root_moduli(&[-2.25, 0.375, 0.25]);
        assert!(
            (m[2] - 2.0).abs() < 1e-9 && (m[1] - 0.5).abs() < 1e-9 && (m[0] - 0.25).abs() < 1e-9,
            "{m:?}"
        );
        // z² + 1: a complex pair on the unit circle.
        let m = root_moduli(&[0.0, 1.0]);
        assert!(m.iter().all(|r| (r - 1.0).abs() < 1e-12), "{m:?}");
        assert!(root_moduli(&[]).is_empty());
    }
}
