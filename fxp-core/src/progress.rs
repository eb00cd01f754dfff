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

/// CPU seconds (user + system, every thread) this process has used so far: the POSIX process
/// CPU clock (nanosecond resolution); `None` where there is none. For stage timings and
/// benchmarks: CPU seconds are robust when other jobs share the cores.
#[cfg(unix)]
pub fn process_cpu_seconds() -> Option<f64> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    (rc == 0).then_some(t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9)
}

/// CPU seconds of this process: no process CPU clock on this platform.
#[cfg(not(unix))]
pub fn process_cpu_seconds() -> Option<f64> {
    None
}

/// A stopwatch of wall and process CPU time, for stage notes: `"12.3 s wall, 23.9 CPU-s"`.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch {
    wall: std::time::Instant,
    cpu: Option<f64>,
}

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Self {
            wall: std::time::Instant::now(),
            cpu: process_cpu_seconds(),
        }
    }

    /// Wall and CPU time since the start, as text.
    pub fn lap(&self) -> String {
        let wall = self.wall.elapsed().as_secs_f64();
        match (self.cpu, process_cpu_seconds()) {
            (Some(a), Some(b)) => format!("{wall:.1} s wall, {:.1} CPU-s", b - a),
            _ => format!("{wall:.1} s wall"),
        }
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

    #[test]
    fn stopwatch_counts_cpu_time() {
        let w = Stopwatch::start();
        // Busy for a while: the CPU clock (1/100 s ticks) must move.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed().as_millis() < 50 {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let lap = w.lap();
        assert!(lap.contains(" s wall"), "{lap}");
        if let Some(cpu) = process_cpu_seconds() {
            assert!(cpu > 0.0 && lap.contains("CPU-s"), "{lap}");
        }
    }
}
