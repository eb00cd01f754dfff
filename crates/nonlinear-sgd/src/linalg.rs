//! 3×3 symmetric linear algebra for the Newton steps and the classification of stationary points.

/// A symmetric 3×3 matrix.
pub type Mat3 = [[f64; 3]; 3];

/// Solves A·x = b by Cholesky; `None` unless A is (numerically) positive definite.
pub fn cholesky_solve(a: &Mat3, b: &[f64; 3]) -> Option<[f64; 3]> {
    let mut l = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d.is_nan() || d <= 1e-12 * (1.0 + a[i][i].abs()) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = [0.0; 3];
    for i in 0..3 {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        x[i] = (y[i] - (i + 1..3).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

/// Eigenvalues of a symmetric 3×3 matrix in ascending order (cyclic Jacobi rotations).
pub fn sym_eigenvalues(a: &Mat3) -> [f64; 3] {
    let mut m = *a;
    for _ in 0..100 {
        let off = m[0][1].powi(2) + m[0][2].powi(2) + m[1][2].powi(2);
        let diag = m[0][0].powi(2) + m[1][1].powi(2) + m[2][2].powi(2);
        if off <= 1e-30 * diag.max(1e-300) {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if m[p][q] == 0.0 {
                continue;
            }
            let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // m ← Jᵀ m J with the rotation in the (p, q) plane.
            for row in m.iter_mut() {
                let (mkp, mkq) = (row[p], row[q]);
                row[p] = c * mkp - s * mkq;
                row[q] = s * mkp + c * mkq;
            }
            let (rp, rq) = (m[p], m[q]);
            for k in 0..3 {
                m[p][k] = c * rp[k] - s * rq[k];
                m[q][k] = s * rp[k] + c * rq[k];
            }
        }
    }
    let mut e = [m[0][0], m[1][1], m[2][2]];
    e.sort_by(f64::total_cmp);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_and_solve() {
        let a = [[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]];
        let e = sym_eigenvalues(&a);
        let trace: f64 = e.iter().sum();
        assert!((trace - 9.0).abs() < 1e-12);
        let det = 4.0 * (6.0 - 0.04) - 1.0 * (2.0 + 0.1) + 0.5 * (-0.2 - 1.5);
        assert!((e[0] * e[1] * e[2] - det).abs() < 1e-10);
        let x = cholesky_solve(&a, &[1.0, 2.0, 3.0]).unwrap();
        for i in 0..3 {
            let r: f64 = (0..3).map(|j| a[i][j] * x[j]).sum();
            assert!((r - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        let indefinite = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
        assert!(cholesky_solve(&indefinite, &[1.0, 1.0, 1.0]).is_none());
        assert_eq!(sym_eigenvalues(&indefinite), [-1.0, 1.0, 1.0]);
    }
}
