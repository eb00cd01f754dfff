//! Seeded, reproducible random streams.
//!
//! Every random process takes a seed. Parallel work draws from `stream(seed, unit)`, one
//! independent ChaCha8 stream per work unit (realization, image batch, start point), so results
//! do not depend on the number of threads or the order in which units run.
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator used everywhere in the project.
pub type Rng = ChaCha8Rng;

/// Independent stream number `unit` of the generator seeded with `seed`.
pub fn stream(seed: u64, unit: u64) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(unit);
    rng
}

/// Uniform draws on `[low, high)` exactly as `rng.gen_range(low..high)` makes them, as a
/// [`Distribution`](rand_distr::Distribution) for `ndarray_rand::RandomExt::random_using`
/// (`rand`'s `Uniform` computes its scale once and can differ from `gen_range` in the last bit,
/// which would change every seeded result). `low < high`, both finite: checked by [`GenRange::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenRange {
    low: f64,
    high: f64,
}

impl GenRange {
    /// The range `[low, high)`; an error unless both are finite and `low < high`.
    pub fn new(low: f64, high: f64) -> crate::Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(crate::FxpError::Invalid(format!(
                "uniform range [{low}, {high}) is empty or not finite"
            )));
        }
        Ok(Self { low, high })
    }

    /// A range known when compiling: `const R: GenRange = GenRange::constant(-PI, PI);` checks
    /// it at compile time (use [`GenRange::new`] for ranges that come from input).
    pub const fn constant(low: f64, high: f64) -> Self {
        assert!(low.is_finite() && high.is_finite() && low < high);
        Self { low, high }
    }
}

impl rand_distr::Distribution<f64> for GenRange {
    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        rng.gen_range(self.low..self.high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;
    use ndarray_rand::RandomExt;
    use rand::Rng as _;

    #[test]
    fn gen_range_draws_the_numbers_of_gen_range() {
        let mut a = stream(7, 3);
        let mut b = stream(7, 3);
        let drawn = Array1::random_using(100, GenRange::new(-2.5, 2.5).unwrap(), &mut a);
        let expected: Vec<f64> = (0..100).map(|_| b.gen_range(-2.5..2.5)).collect();
        assert_eq!(drawn.to_vec(), expected);
        assert!(GenRange::new(1.0, 1.0).is_err() && GenRange::new(0.0, f64::NAN).is_err());
    }
}
