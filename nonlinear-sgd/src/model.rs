//! The non-linear system, its instantaneous loss e² = (y − y2)², and the closed-form first and
//! second derivatives of e² with respect to the weights (parts 1–2).
//!
//! With u = ỹ1 = w1·x1 + w2·x2, v = ỹ2 = w3·u², y2 = ln(1 + v²), e = y − y2:
//!
//! ```text
//! ∂e²/∂w1 = −8 e · v·w3·u·x1 / (1 + v²)
//! ∂e²/∂w2 = −8 e · v·w3·u·x2 / (1 + v²)
//! ∂e²/∂w3 = −4 e · v·u²      / (1 + v²)
//! ```
//!
//! The Hessian follows from ∂²e²/∂p∂q = 2·∂y2/∂p·∂y2/∂q − 2e·∂²y2/∂p∂q with
//! ∂y2/∂p = g′(v)·∂v/∂p, ∂²y2/∂p∂q = g″(v)·∂v/∂p·∂v/∂q + g′(v)·∂²v/∂p∂q,
//! g′(v) = 2v/(1+v²), g″(v) = 2(1−v²)/(1+v²)².
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The three weights (w1, w2, w3), always finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weights(pub [f64; 3]);

impl Weights {
    /// Weights from a slice; errors unless it holds exactly three finite numbers.
    pub fn from_slice(ws: &[f64]) -> Result<Self> {
        if ws.len() != 3 {
            return Err(Error::WeightCount { got: ws.len() });
        }
        let w = Weights([ws[0], ws[1], ws[2]]);
        w.check()?;
        Ok(w)
    }

    /// Errors if a weight is NaN or infinite.
    pub fn check(&self) -> Result<()> {
        for (i, &value) in self.0.iter().enumerate() {
            if !value.is_finite() {
                return Err(Error::NonFiniteWeight {
                    index: i + 1,
                    value,
                });
            }
        }
        Ok(())
    }

    /// w1.
    pub fn w1(&self) -> f64 {
        self.0[0]
    }

    /// The same weights with w1 replaced.
    pub fn with_w1(mut self, w1: f64) -> Self {
        self.0[0] = w1;
        self
    }

    /// Image under w3 → −w3 (the predictor output is unchanged).
    pub fn flip_w3(self) -> Self {
        Weights([self.0[0], self.0[1], -self.0[2]])
    }

    /// Image under (w1, w2) → (−w1, −w2) (ỹ1 changes sign, y1 = ỹ1² does not).
    pub fn flip_w12(self) -> Self {
        Weights([-self.0[0], -self.0[1], self.0[2]])
    }

    /// Image under the scaling (s·w1, s·w2, w3/s²), which leaves ỹ2 and so C unchanged.
    pub fn scale(self, s: f64) -> Self {
        Weights([s * self.0[0], s * self.0[1], self.0[2] / (s * s)])
    }

    /// The representative of the symmetry orbit {(±(w1, w2), ±w3)}: w3 ≥ 0 and the first
    /// non-zero of (w1, w2) positive.
    pub fn canonical(self) -> Self {
        let mut w = self;
        if w.0[2] < 0.0 {
            w = w.flip_w3();
        }
        if w.0[0] < 0.0 || (w.0[0] == 0.0 && w.0[1] < 0.0) {
            w = w.flip_w12();
        }
        w
    }
}

/// One input/target pair: (x1, x2) on the unit circle and y = atan2(x2, x1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// First input coordinate.
    pub x1: f64,
    /// Second input coordinate.
    pub x2: f64,
    /// Target angle.
    pub y: f64,
}

impl Sample {
    /// The sample at angle θ: x = (cos θ, sin θ), y = atan2(x2, x1) (the seed's piecewise
    /// arctan definition; equals θ for θ ∈ (−π, π)).
    pub fn at_angle(theta: f64) -> Self {
        let (x2, x1) = theta.sin_cos();
        Sample {
            x1,
            x2,
            y: target(x1, x2),
        }
    }
}

/// The target: the angle of (x1, x2), in (−π, π].
#[inline]
pub fn target(x1: f64, x2: f64) -> f64 {
    x2.atan2(x1)
}

/// Intermediate values of one forward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forward {
    /// ỹ1 = w1·x1 + w2·x2.
    pub yt1: f64,
    /// y1 = ỹ1².
    pub y1: f64,
    /// ỹ2 = w3·y1.
    pub yt2: f64,
    /// y2 = ln(1 + ỹ2²), the prediction.
    pub y2: f64,
}

/// Forward pass of the system.
#[inline]
pub fn forward(w: &Weights, s: &Sample) -> Forward {
    let yt1 = w.0[0] * s.x1 + w.0[1] * s.x2;
    let y1 = yt1 * yt1;
    let yt2 = w.0[2] * y1;
    let y2 = (yt2 * yt2).ln_1p();
    Forward { yt1, y1, yt2, y2 }
}

/// Instantaneous loss e² = (y − y2)².
#[inline]
pub fn loss(w: &Weights, s: &Sample) -> f64 {
    let e = s.y - forward(w, s).y2;
    e * e
}

/// Instantaneous loss and its closed-form gradient (part 2).
#[inline]
pub fn loss_grad(w: &Weights, s: &Sample) -> (f64, [f64; 3]) {
    let f = forward(w, s);
    let e = s.y - f.y2;
    let common = f.yt2 / (1.0 + f.yt2 * f.yt2);
    let g12 = -8.0 * e * common * w.0[2] * f.yt1;
    (e * e, [g12 * s.x1, g12 * s.x2, -4.0 * e * common * f.y1])
}

/// Instantaneous loss, gradient and Hessian (closed forms).
#[inline]
pub fn loss_grad_hessian(w: &Weights, s: &Sample) -> (f64, [f64; 3], [[f64; 3]; 3]) {
    let f = forward(w, s);
    let (u, v, w3) = (f.yt1, f.yt2, w.0[2]);
    let e = s.y - f.y2;
    let q = 1.0 + v * v;
    let g1 = 2.0 * v / q;
    let g2 = 2.0 * (1.0 - v * v) / (q * q);
    let x = [s.x1, s.x2];
    let dv = [2.0 * w3 * u * x[0], 2.0 * w3 * u * x[1], u * u];
    let d2v = |p: usize, r: usize| -> f64 {
        match (p, r) {
            (2, 2) => 0.0,
            (2, i) | (i, 2) => 2.0 * u * x[i],
            (i, j) => 2.0 * w3 * x[i] * x[j],
        }
    };
    let dy2 = [g1 * dv[0], g1 * dv[1], g1 * dv[2]];
    let grad = [-2.0 * e * dy2[0], -2.0 * e * dy2[1], -2.0 * e * dy2[2]];
    let mut hess = [[0.0; 3]; 3];
    for p in 0..3 {
        for r in p..3 {
            let d2y2 = g2 * dv[p] * dv[r] + g1 * d2v(p, r);
            hess[p][r] = 2.0 * dy2[p] * dy2[r] - 2.0 * e * d2y2;
            hess[r][p] = hess[p][r];
        }
    }
    (e * e, grad, hess)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_gradient_matches_the_seed_expression() {
        // The seed's part-2 expressions, written out independently.
        let w = Weights([0.3, -1.2, 0.8]);
        let s = Sample::at_angle(2.1);
        let f = forward(&w, &s);
        let e = s.y - f.y2;
        let d = 1.0 + f.yt2 * f.yt2;
        let seed = [
            -8.0 * e * f.yt2 * w.0[2] * f.yt1 * s.x1 / d,
            -8.0 * e * f.yt2 * w.0[2] * f.yt1 * s.x2 / d,
            -4.0 * e * f.yt2 * f.y1 / d,
        ];
        let (_, g) = loss_grad(&w, &s);
        for k in 0..3 {
            assert!(
                (g[k] - seed[k]).abs() < 1e-14,
                "{k}: {} vs {}",
                g[k],
                seed[k]
            );
        }
    }

    #[test]
    fn canonical_representative() {
        let w = Weights([-0.5, 0.2, -0.7]);
        assert_eq!(w.canonical().0, [0.5, -0.2, 0.7]);
        assert!(Weights::from_slice(&[1.0, 2.0]).is_err());
        assert!(Weights::from_slice(&[1.0, f64::NAN, 2.0]).is_err());
    }
}
