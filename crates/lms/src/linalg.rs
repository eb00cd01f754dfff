//! Small dense linear algebra for 3×3-sized problems: linear solves, symmetric eigenvalues and
//! polynomial roots. Kept local because the sizes are tiny and ndarray-linalg would pull in LAPACK.
#![allow(clippy::needless_range_loop)] // index-based matrix code reads like the math
use crate::error::{LmsError, Result};

/// Solves `a · x = b` (a is n×n, row-major) by Gaussian elimination with partial pivoting.
pub fn solve(a: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>> {
    let n = b.len();
    if a.len() != n || a.iter().any(|r| r.len() != n) {
        return Err(LmsError::Singular(format!("expected a {n}×{n} matrix")));
    }
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(r, &bi)| [r.clone(), vec![bi]].concat())
        .collect();
    let scale = a
        .iter()
        .flatten()
        .fold(0f64, |s, v| s.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))
            .unwrap_or(c);
        if m[p][c].is_nan() || m[p][c].abs() <= 1e-13 * scale {
            return Err(LmsError::Singular(format!(
                "pivot {c} vanishes (matrix is singular)"
            )));
        }
        m.swap(c, p);
        for r in 0..n {
            if r != c {
                let f = m[r][c] / m[c][c];
                for k in c..=n {
                    m[r][k] -= f * m[c][k];
                }
            }
        }
    }
    Ok((0..n).map(|i| m[i][n] / m[i][i]).collect())
}

/// Eigenvalues of a symmetric matrix (cyclic Jacobi rotations), sorted descending.
pub fn symmetric_eigenvalues(a: &[Vec<f64>]) -> Vec<f64> {
    let n = a.len();
    let mut m: Vec<Vec<f64>> = a.to_vec();
    for _ in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[k][p], m[k][q]);
                    m[k][p] = c * mkp - s * mkq;
                    m[k][q] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[p][k], m[q][k]);
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
            }
        }
    }
    let mut ev: Vec<f64> = (0..n).map(|i| m[i][i]).collect();
    ev.sort_by(|x, y| y.total_cmp(x));
    ev
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

/// Moduli of the roots of the monic polynomial z^n + c[0] z^(n−1) + … + c[n−1]
/// (Durand–Kerner iteration), sorted descending.
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
    m.sort_by(|x, y| y.total_cmp(x));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_and_eigen() {
        let a = vec![
            vec![4.0, 1.0, 0.0],
            vec![1.0, 3.0, 1.0],
            vec![0.0, 1.0, 2.0],
        ];
        let x = solve(&a, &[1.0, 2.0, 3.0]).unwrap();
        for (row, bi) in a.iter().zip([1.0, 2.0, 3.0]) {
            let s: f64 = row.iter().zip(&x).map(|(p, q)| p * q).sum();
            assert!((s - bi).abs() < 1e-12);
        }
        let ev = symmetric_eigenvalues(&a);
        assert!((ev.iter().sum::<f64>() - 9.0).abs() < 1e-10);
        assert!(solve(&[vec![1.0, 2.0], vec![2.0, 4.0]], &[1.0, 1.0]).is_err());
    }

    #[test]
    fn roots() {
        // (z − 0.5)(z + 0.25)(z − 2) = z³ − 2.25 z² + 0.375 z + 0.25
        let m = root_moduli(&[-2.25, 0.375, 0.25]);
        assert!(
            (m[0] - 2.0).abs() < 1e-9 && (m[1] - 0.5).abs() < 1e-9 && (m[2] - 0.25).abs() < 1e-9
        );
    }
}
