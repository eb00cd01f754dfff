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
