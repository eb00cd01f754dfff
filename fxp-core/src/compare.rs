//! Computed comparisons of a result with a reference value (the seed's printed number, a
//! formula, a bound), carried as data: the verdict is derived from the numbers and a stated
//! tolerance, never written by hand.
use serde::{Deserialize, Serialize};

/// How close two numbers must be to agree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Tolerance {
    /// |ours − reference| ≤ value.
    Absolute(f64),
    /// |ours − reference| ≤ value · |reference|.
    Relative(f64),
}

impl Tolerance {
    /// True when `ours` is within the tolerance of `reference` (false for any non-finite input).
    pub fn holds(self, ours: f64, reference: f64) -> bool {
        let diff = (ours - reference).abs();
        let bound = match self {
            Tolerance::Absolute(t) => t,
            Tolerance::Relative(t) => t * reference.abs(),
        };
        diff.is_finite() && bound.is_finite() && diff <= bound
    }

    /// Half a unit in the last place of a value printed with `significant` digits (3.063 → 0.0005,
    /// 1.386e8 → 50000): a computed value agrees with a printed one when it rounds to it.
    pub fn printed_digits(printed: f64, significant: u32) -> Self {
        let exponent = printed.abs().log10().floor() as i32 - significant as i32;
        // Parsed from text so that the tolerance is the decimal it stands for (5e-4, not 5.0000000000000001e-4).
        let half_unit = format!("5e{exponent}").parse().unwrap_or(f64::NAN);
        Tolerance::Absolute(half_unit)
    }

    /// The tolerance in words, e.g. "within 1 %" or "within 0.01".
    pub fn describe(self) -> String {
        match self {
            Tolerance::Absolute(t) => format!("within {t}"),
            Tolerance::Relative(t) => format!("within {} %", t * 100.0),
        }
    }
}

/// One computed value beside a reference value, with the verdict derived from both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What is compared.
    pub quantity: String,
    /// Our computed value.
    pub ours: f64,
    /// The reference value (e.g. the seed's printed number).
    pub reference: f64,
    /// The tolerance the verdict uses.
    pub tolerance: Tolerance,
    /// `tolerance.holds(ours, reference)`.
    pub agrees: bool,
}

impl Comparison {
    /// Compares `ours` with `reference` under `tolerance`.
    pub fn new(
        quantity: impl Into<String>,
        ours: f64,
        reference: f64,
        tolerance: Tolerance,
    ) -> Self {
        Self {
            quantity: quantity.into(),
            ours,
            reference,
            tolerance,
            agrees: tolerance.holds(ours, reference),
        }
    }

    /// The verdict in words: "agrees (within 1 %)" or "differs (beyond 1 %)".
    pub fn verdict(&self) -> String {
        let tol = self.tolerance.describe();
        if self.agrees {
            format!("agrees ({tol})")
        } else {
            format!("differs (not {tol})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_numbers() {
        assert!(Tolerance::Relative(0.01).holds(101.0, 100.0));
        assert!(!Tolerance::Relative(0.01).holds(101.1, 100.0));
        assert!(Tolerance::Absolute(0.5).holds(-0.5, 0.0));
        assert!(!Tolerance::Absolute(0.5).holds(f64::NAN, 0.0));
        let c = Comparison::new("C", 3.0629, 3.063, Tolerance::Relative(1e-3));
        assert!(c.agrees);
        assert_eq!(c.verdict(), "agrees (within 0.1 %)");
        let d = Comparison::new("dC/dw1", 0.00815, 0.0163, Tolerance::Relative(0.05));
        assert!(!d.agrees);
        assert!(d.verdict().starts_with("differs"));
    }

    #[test]
    fn printed_digits_is_half_a_unit_in_the_last_place() {
        assert_eq!(
            Tolerance::printed_digits(3.063, 4),
            Tolerance::Absolute(0.0005)
        );
        assert_eq!(
            Tolerance::printed_digits(1.386e8, 4),
            Tolerance::Absolute(5e4)
        );
        assert_eq!(
            Tolerance::printed_digits(-1.85e10, 3),
            Tolerance::Absolute(5e7)
        );
        assert!(Tolerance::printed_digits(3.063, 4).holds(3.06292, 3.063));
        assert!(!Tolerance::printed_digits(3.063, 4).holds(3.0636, 3.063));
    }
}
