//! Uniform quantizers with the course's conventions (NOTES.md, Problem 3).
//!
//! * signed, range r, B bits: step Δ = 2^(1−B)·r, levels k ∈ [−2^(B−1), 2^(B−1) − 1],
//!   q(x) = r·min(2^(1−B)·round(clamp(x, −r, r)/Δ), 1 − 2^(1−B));
//! * unsigned, range r, B bits: step Δ = 2^(−B)·r, levels k ∈ [0, 2^B − 1],
//!   q(x) = r·min(2^(−B)·round(clamp(x, 0, r)/Δ), 1 − 2^(−B)).
//!
//! Values are clamped to the range first and saturate at the top level.
use crate::error::{check_bits, FxpError, Result};
use ndarray::{Array, ArrayBase, Data, Dimension};
use serde::{Deserialize, Serialize};

/// How a scaled value is rounded to an integer level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rounding {
    /// Round half to even (NumPy's and PyTorch's `round`); the default.
    #[default]
    HalfEven,
    /// Round half away from zero (C's `round`).
    HalfAway,
    /// Round toward −∞ (two's-complement truncation).
    Floor,
    /// Round toward zero.
    TowardZero,
}

impl Rounding {
    /// Rounds `v` to an integral value.
    #[inline]
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Rounding::HalfEven => v.round_ties_even(),
            Rounding::HalfAway => v.round(),
            Rounding::Floor => v.floor(),
            Rounding::TowardZero => v.trunc(),
        }
    }
}

/// Whether a quantizer covers [−r, r) or [0, r).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Signedness {
    /// Two's-complement levels over [−r, r).
    Signed,
    /// Levels over [0, r) (inputs that follow a ReLU).
    Unsigned,
}

impl Signedness {
    /// Unsigned for an input known to be non-negative (it follows a ReLU), signed otherwise.
    pub fn for_input(nonnegative: bool) -> Self {
        if nonnegative {
            Self::Unsigned
        } else {
            Self::Signed
        }
    }

    /// `signed` or `unsigned` (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Unsigned => "unsigned",
        }
    }
}

/// A uniform B-bit quantizer of range r with the course conventions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantizer {
    signedness: Signedness,
    range: f64,
    bits: u32,
    rounding: Rounding,
    step: f64,
    min_level: i64,
    max_level: i64,
}

impl Quantizer {
    /// A quantizer; errors for B ∉ 1..=32 or a range that is not finite and positive.
    pub fn new(signedness: Signedness, range: f64, bits: u32, rounding: Rounding) -> Result<Self> {
        let bits = check_bits(bits as i64)?;
        if !(range.is_finite() && range > 0.0) {
            return Err(FxpError::InvalidRange { range });
        }
        let (step, min_level, max_level) = match signedness {
            Signedness::Signed => (
                range * (2f64).powi(1 - bits as i32),
                -(1i64 << (bits - 1)),
                (1i64 << (bits - 1)) - 1,
            ),
            Signedness::Unsigned => (range * (2f64).powi(-(bits as i32)), 0, (1i64 << bits) - 1),
        };
        Ok(Self {
            signedness,
            range,
            bits,
            rounding,
            step,
            min_level,
            max_level,
        })
    }

    /// Signed quantizer over [−r, r) with half-to-even rounding.
    pub fn signed(range: f64, bits: u32) -> Result<Self> {
        Self::new(Signedness::Signed, range, bits, Rounding::HalfEven)
    }

    /// Unsigned quantizer over [0, r) with half-to-even rounding.
    pub fn unsigned(range: f64, bits: u32) -> Result<Self> {
        Self::new(Signedness::Unsigned, range, bits, Rounding::HalfEven)
    }

    /// The same quantizer with another rounding mode.
    pub fn with_rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// Signed or unsigned.
    pub fn signedness(&self) -> Signedness {
        self.signedness
    }
    /// Dynamic range r.
    pub fn range(&self) -> f64 {
        self.range
    }
    /// Precision B in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }
    /// Rounding mode.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }
    /// Quantization step Δ.
    pub fn step(&self) -> f64 {
        self.step
    }
    /// Smallest integer level.
    pub fn min_level(&self) -> i64 {
        self.min_level
    }
    /// Largest integer level.
    pub fn max_level(&self) -> i64 {
        self.max_level
    }
    /// Variance of the additive-noise model, Δ²/12.
    pub fn noise_variance(&self) -> f64 {
        self.step * self.step / 12.0
    }

    /// Integer level k of `x`, so that q(x) = k·Δ. NaN maps to level 0; use the slice
    /// functions to reject NaN with an error.
    #[inline]
    pub fn level(&self, x: f64) -> i64 {
        // 1.5·2^52: adding and subtracting it rounds to the nearest integer, ties to even, for
        // |v| < 2^51 (here |v| ≤ 2^32 after the clamp) — several times faster than a libm call.
        const ROUND_HALF_EVEN: f64 = 6_755_399_441_055_744.0;
        // Clamping the scaled value one level beyond each end and saturating after rounding is
        // the same as clamping x to the range first, then saturating at the top level.
        let v = (x / self.step).clamp(self.min_level as f64 - 1.0, self.max_level as f64 + 1.0);
        if v.is_nan() {
            return 0;
        }
        let k = match self.rounding {
            Rounding::HalfEven => (v + ROUND_HALF_EVEN) - ROUND_HALF_EVEN,
            other => other.apply(v),
        };
        (k as i64).clamp(self.min_level, self.max_level)
    }

    /// A leveler for f32 inputs that computes [`Quantizer::level`] in f32 arithmetic, several
    /// times faster; `None` unless that is exact: half-to-even rounding, a power-of-two step
    /// whose inverse is a normal f32, and B ≤ 20 (levels well inside f32's 24-bit mantissa).
    pub fn f32_leveler(&self) -> Option<F32Leveler> {
        let inv = 1.0 / self.step;
        let pow2 = self.step.to_bits() & ((1u64 << 52) - 1) == 0;
        let inv32 = inv as f32;
        (self.rounding == Rounding::HalfEven
            && pow2
            && self.bits <= 20
            && inv32.is_normal()
            && inv32 as f64 == inv)
            .then_some(F32Leveler {
                inv_step: inv32,
                lo: self.min_level as f32,
                hi: self.max_level as f32,
            })
    }

    /// Quantized value q(x).
    #[inline]
    pub fn quantize(&self, x: f64) -> f64 {
        self.level(x) as f64 * self.step
    }

    /// Quantized value of an f32 (computed in f64, exact for power-of-two ranges).
    #[inline]
    pub fn quantize_f32(&self, x: f32) -> f32 {
        self.quantize(x as f64) as f32
    }

    /// Quantizes a slice in place; errors on the first NaN or infinity.
    pub fn quantize_slice_f64(&self, xs: &mut [f64]) -> Result<()> {
        for (index, x) in xs.iter_mut().enumerate() {
            if !x.is_finite() {
                return Err(FxpError::NonFinite {
                    what: "quantizer input".into(),
                    index,
                    value: *x,
                });
            }
            *x = self.quantize(*x);
        }
        Ok(())
    }

    /// Quantizes an f32 slice in place; errors on the first NaN or infinity.
    pub fn quantize_slice_f32(&self, xs: &mut [f32]) -> Result<()> {
        for (index, x) in xs.iter_mut().enumerate() {
            if !x.is_finite() {
                return Err(FxpError::NonFinite {
                    what: "quantizer input".into(),
                    index,
                    value: *x as f64,
                });
            }
            *x = self.quantize_f32(*x);
        }
        Ok(())
    }

    /// Quantizes an ndarray array of f64 into a new array; errors on NaN or infinity.
    pub fn quantize_array<S, D>(&self, a: &ArrayBase<S, D>) -> Result<Array<f64, D>>
    where
        S: Data<Elem = f64>,
        D: Dimension,
    {
        let mut out = a.to_owned();
        for (index, x) in out.iter_mut().enumerate() {
            if !x.is_finite() {
                return Err(FxpError::NonFinite {
                    what: "quantizer input".into(),
                    index,
                    value: *x,
                });
            }
            *x = self.quantize(*x);
        }
        Ok(out)
    }
}

/// [`Quantizer::level`] of f32 inputs in f32 arithmetic (see [`Quantizer::f32_leveler`]).
///
/// Exact because multiplying by a power of two is exact in f32 (an overflow saturates and an
/// underflow rounds to zero either way), the clamp bounds are small integers, and adding and
/// subtracting 1.5·2^23 rounds to the nearest integer, ties to even, for |v| < 2^22.
#[derive(Debug, Clone, Copy)]
pub struct F32Leveler {
    inv_step: f32,
    /// Lowest and highest level, as f32 (exact: |level| ≤ 2^20).
    lo: f32,
    hi: f32,
}

impl F32Leveler {
    /// Integer level of `x`, equal to `Quantizer::level(x as f64)`; NaN maps to 0.
    #[inline]
    pub fn level(&self, x: f32) -> i32 {
        const ROUND_HALF_EVEN: f32 = 12_582_912.0;
        // Clamping to the integer bounds before rounding equals rounding then saturating.
        // `max`/`min` return the bound for NaN, so `v` is always finite and in range.
        let v = (x * self.inv_step).max(self.lo).min(self.hi);
        let k = (v + ROUND_HALF_EVEN) - ROUND_HALF_EVEN;
        // SAFETY: k is an integer in [min, max] ⊂ i32, never NaN (see above).
        let k: i32 = unsafe { k.to_int_unchecked() };
        if x.is_nan() {
            0
        } else {
            k
        }
    }
}
