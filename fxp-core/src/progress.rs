//! Progress of long computations, reported by library code without any UI: a library takes a
//! `&dyn Progress` and says how much work a phase has and how much is done; a binary passes one
//! that draws a bar on stderr, a test or a quiet run passes [`Silent`]. Any `Fn(u64) + Sync`
//! closure is a `Progress` that hears of the finished units.
pub trait Progress: Sync {
    /// A phase named `label` of `total` units begins.
    fn begin(&self, _label: &str, _total: u64) {}
    /// `units` more units of the current phase are done.
    fn advance(&self, units: u64);
    /// The current phase is over.
    fn end(&self) {}
    /// A line worth keeping in a log (e.g. one result of a sweep, with its time); a binary may
    /// print it on stderr, the default drops it.
    fn note(&self, _line: &str) {}
}

/// A progress that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn advance(&self, _units: u64) {}
}

impl<F: Fn(u64) + Sync> Progress for F {
    fn advance(&self, units: u64) {
        self(units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn closures_hear_the_units() {
        let done = AtomicU64::new(0);
        let p = |k: u64| {
            done.fetch_add(k, Ordering::Relaxed);
        };
        let dynp: &dyn Progress = &p;
        dynp.begin("work", 10);
        dynp.advance(3);
        dynp.advance(7);
        dynp.end();
        dynp.note("no effect");
        Silent.advance(5);
        assert_eq!(done.load(Ordering::Relaxed), 10);
    }
}
