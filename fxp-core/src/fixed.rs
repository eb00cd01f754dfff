//! Fixed-point number formats with integer mantissas, for bit-true simulation.
//!
//! A value is `mantissa · 2^(−frac_bits)`. A signed format has a sign bit, `int_bits` integer
//! bits and `frac_bits` fractional bits (two's complement); an unsigned one has no sign bit.
//! Addition and multiplication are exact and grow the format; `requantize` rounds and
//! saturates (or wraps) into a narrower format.
use crate::error::{FxpError, Result};
use crate::quant::Rounding;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What happens when a value leaves the representable range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Overflow {
    /// Clip to the largest or smallest representable value.
    #[default]
    Saturate,
    /// Keep the low bits (two's-complement wrap-around).
    Wrap,
}

/// A fixed-point format: sign, integer bits and fractional bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedFormat {
    /// Whether the format has a sign bit.
    pub signed: bool,
    /// Integer bits (excluding the sign bit).
    pub int_bits: u32,
    /// Fractional bits.
    pub frac_bits: u32,
}

impl fmt::Display for FixedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.signed { "s" } else { "u" };
        write!(f, "{s}{}.{}", self.int_bits, self.frac_bits)
    }
}

impl FixedFormat {
    /// A format whose total width (sign included) is at most 62 bits.
    pub fn new(signed: bool, int_bits: u32, frac_bits: u32) -> Result<Self> {
        let total = signed as u32 + int_bits + frac_bits;
        if total == 0 || total > 62 {
            return Err(FxpError::Invalid(format!(
                "fixed-point format with {total} bits: use 1 to 62 bits in all"
            )));
        }
        Ok(Self {
            signed,
            int_bits,
            frac_bits,
        })
    }

    /// The B-bit format of a course quantizer of power-of-two range r = 2^int_bits:
    /// signed → sign + int_bits integer bits + (B − 1 − int_bits) fractional bits.
    pub fn for_quantizer(signed: bool, range_log2: i32, bits: u32) -> Result<Self> {
        let frac = bits as i32 - signed as i32 - range_log2;
        if frac < 0 || range_log2 < 0 {
            return Err(FxpError::Invalid(format!(
                "range 2^{range_log2} with {bits} bits has no fixed-point format with integer widths"
            )));
        }
        Self::new(signed, range_log2 as u32, frac as u32)
    }

    /// Total width in bits, sign included.
    pub fn total_bits(&self) -> u32 {
        self.signed as u32 + self.int_bits + self.frac_bits
    }
    /// Weight of the least significant bit, 2^(−frac_bits).
    pub fn lsb(&self) -> f64 {
        (2f64).powi(-(self.frac_bits as i32))
    }
    /// Largest mantissa.
    pub fn max_mantissa(&self) -> i64 {
        (1i64 << (self.int_bits + self.frac_bits)) - 1
    }
    /// Smallest mantissa.
    pub fn min_mantissa(&self) -> i64 {
        if self.signed {
            -(1i64 << (self.int_bits + self.frac_bits))
        } else {
            0
        }
    }

    /// Brings a real value into this format.
    pub fn from_f64(&self, x: f64, rounding: Rounding, overflow: Overflow) -> Result<Fixed> {
        if !x.is_finite() {
            return Err(FxpError::NonFinite {
                what: "fixed-point input".into(),
                index: 0,
                value: x,
            });
        }
        let m = rounding.apply(x / self.lsb());
        Ok(Fixed {
            mantissa: self.fit(m as i128, overflow),
            format: *self,
        })
    }

    fn fit(&self, m: i128, overflow: Overflow) -> i64 {
        let (lo, hi) = (self.min_mantissa() as i128, self.max_mantissa() as i128);
        match overflow {
            Overflow::Saturate => m.clamp(lo, hi) as i64,
            Overflow::Wrap => {
                let width = self.total_bits();
                let modulus = 1i128 << width;
                let mut r = m.rem_euclid(modulus);
                if self.signed && r > hi {
                    r -= modulus;
                }
                r as i64
            }
        }
    }
}

/// A fixed-point value: an integer mantissa in a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fixed {
    /// The integer mantissa.
    pub mantissa: i64,
    /// Its format.
    pub format: FixedFormat,
}

impl Fixed {
    /// The real value.
    pub fn to_f64(&self) -> f64 {
        self.mantissa as f64 * self.format.lsb()
    }

    fn aligned(&self, frac: u32) -> i128 {
        (self.mantissa as i128) << (frac - self.format.frac_bits)
    }

    /// Exact sum; the result grows by one integer bit.
    pub fn add(&self, other: &Fixed) -> Result<Fixed> {
        let frac = self.format.frac_bits.max(other.format.frac_bits);
        let int = self.format.int_bits.max(other.format.int_bits) + 1;
        let signed = self.format.signed || other.format.signed;
        let format = FixedFormat::new(signed, int, frac)?;
        let m = self.aligned(frac) + other.aligned(frac);
        Ok(Fixed {
            mantissa: m as i64,
            format,
        })
    }

    /// Exact product; integer and fractional widths add (plus one integer bit when both
    /// operands are signed, for −2^a·−2^b).
    pub fn mul(&self, other: &Fixed) -> Result<Fixed> {
        let (a, b) = (self.format, other.format);
        let signed = a.signed || b.signed;
        let int = a.int_bits + b.int_bits + (a.signed && b.signed) as u32;
        let format = FixedFormat::new(signed, int, a.frac_bits + b.frac_bits)?;
        let m = self.mantissa as i128 * other.mantissa as i128;
        Ok(Fixed {
            mantissa: m as i64,
            format,
        })
    }

    /// Rounds and fits the value into `format`.
    pub fn requantize(&self, format: FixedFormat, rounding: Rounding, overflow: Overflow) -> Fixed {
        let m = self.mantissa as i128;
        let shifted = if format.frac_bits >= self.format.frac_bits {
            m << (format.frac_bits - self.format.frac_bits)
        } else {
            let shift = self.format.frac_bits - format.frac_bits;
            let v = m as f64 / (1u64 << shift) as f64;
            // exact for |m| < 2^53, which every format here (≤ 62 bits, products of ≤ 31-bit
            // operands) satisfies in the simulations that use it
            rounding.apply(v) as i128
        };
        Fixed {
            mantissa: format.fit(shifted, overflow),
            format,
        }
    }
}
