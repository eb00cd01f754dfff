//! The acceptance rule of [`super::judge`] as a function of counts, and its exact early
//! decision.
//!
//! Over n images of which the float network gets F right, an assignment that gets `gained`
//! images right that float gets wrong and `lost` the reverse has C = F + gained − lost correct
//! images; it passes when C reaches the plain bar (accuracy ≥ float − T) and
//! accuracy − z·SE ≥ float − T (SE: [`paired_se`]).
//!
//! **Early decision.** After some images, each remaining one can only add to `lost` (float
//! right, fixed point wrong) or to `gained` (float wrong, fixed point right). With x of the
//! r₁ remaining float-right images lost and y of the r₀ float-wrong ones gained, the final
//! difference d = gained − lost moves by k = y − x and the number of changed images
//! s = gained + lost by x + y. For a fixed d the statistic only falls as s grows (the
//! accuracy is fixed, the SE grows; every floating-point step of it is monotone), so for each
//! k the fewest changes (x = max(0, −k)) is the best outcome and the most
//! (x = min(r₁, r₀ − k)) the worst. The verdict is certain when every k's best outcome fails
//! (fail early) or every k's worst outcome passes (pass early): it is then the full-count
//! verdict bit for bit, since it is computed by the same expressions on the final counts.
use super::judge::{paired_se, Measured};

/// The rule on n images: threshold float − T, margin z, float right on `float_right` images.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Images.
    pub n: usize,
    /// Images the float network classifies right.
    pub float_right: usize,
    /// float − T (%).
    pub threshold: f64,
    /// Margin in standard errors.
    pub z: f64,
}

impl Rule {
    /// Correct images needed for accuracy ≥ float − T.
    pub fn min_correct(&self) -> usize {
        let n = self.n as f64;
        // The smallest integer c with 100·c/n ≥ threshold (a hair of slack for rounding).
        ((self.threshold * n / 100.0) - 1e-9).ceil().max(0.0) as usize
    }

    /// Whether `m` passes a − z·SE ≥ float − T.
    pub fn accepts(&self, m: &Measured) -> bool {
        m.accuracy - self.z * m.se >= self.threshold - 1e-9
    }

    /// The measure of the final counts (the expressions of the full evaluation).
    pub fn measured(&self, correct: usize, gained: usize, lost: usize) -> Measured {
        Measured {
            accuracy: 100.0 * correct as f64 / self.n as f64,
            se: paired_se(gained, lost, self.n),
        }
    }

    /// The full-count verdict: the plain bar reached and the margin rule passed.
    pub fn verdict(&self, gained: usize, lost: usize) -> bool {
        let correct = self.float_right + gained - lost;
        correct >= self.min_correct() && self.accepts(&self.measured(correct, gained, lost))
    }

    /// The verdict if every outcome of the remaining images gives the same one (`rest_right`
    /// of them float classifies right, `rest_wrong` wrong), else `None`.
    pub fn certain(
        &self,
        gained: usize,
        lost: usize,
        rest_right: usize,
        rest_wrong: usize,
    ) -> Option<bool> {
        let (r1, r0) = (rest_right as i64, rest_wrong as i64);
        let (mut can_pass, mut can_fail) = (false, false);
        for k in -r1..=r0 {
            // x lost and y = x + k gained among the remaining images, 0 ≤ x ≤ r₁, 0 ≤ y ≤ r₀.
            let fewest = (-k).max(0);
            let most = r1.min(r0 - k);
            let at = |x: i64| ((gained as i64 + x + k) as usize, (lost as i64 + x) as usize);
            if !can_pass {
                let (g, l) = at(fewest);
                can_pass = self.verdict(g, l);
            }
            if !can_fail {
                let (g, l) = at(most);
                can_fail = !self.verdict(g, l);
            }
            if can_pass && can_fail {
                return None;
            }
        }
        Some(can_pass)
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A random rule on n images and a random sequence of (float right, fixed point right).
    fn case(rng: &mut ChaCha8Rng, n: usize) -> (Rule, Vec<(bool, bool)>) {
        let float_p = rng.gen_range(0.5..0.95);
        let change = rng.gen_range(0.0..0.2);
        let seq: Vec<(bool, bool)> = (0..n)
            .map(|_| {
                let f = rng.gen_bool(float_p);
                (f, if rng.gen_bool(change) { !f } else { f })
            })
            .collect();
        let float_right = seq.iter().filter(|s| s.0).count();
        let float_acc = 100.0 * float_right as f64 / n as f64;
        let rule = Rule {
            n,
            float_right,
            threshold: float_acc - rng.gen_range(0.0..6.0),
            z: [0.0, 1.0, 1.645, 3.0][rng.gen_range(0..4)],
        };
        (rule, seq)
    }

    /// Counts of `seq[..i]`: gained, lost, float-right images left, float-wrong images left.
    fn counts(seq: &[(bool, bool)], i: usize) -> (usize, usize, usize, usize) {
        let gained = seq[..i].iter().filter(|s| !s.0 && s.1).count();
        let lost = seq[..i].iter().filter(|s| s.0 && !s.1).count();
        let right = seq[i..].iter().filter(|s| s.0).count();
        (gained, lost, right, seq.len() - i - right)
    }

    #[test]
    fn early_decisions_are_the_full_count_verdict() {
        // Reference: the rule on the final counts of the whole sequence; every prefix's
        // decision, when it makes one, must equal it, and the whole sequence must decide.
        let mut rng = ChaCha8Rng::seed_from_u64(18);
        let mut decided_early = 0;
        for _ in 0..400 {
            let n = rng.gen_range(2..600);
            let (rule, seq) = case(&mut rng, n);
            let (g, l, _, _) = counts(&seq, n);
            let full = rule.verdict(g, l);
            assert_eq!(rule.certain(g, l, 0, 0), Some(full));
            for i in (0..n).step_by(7) {
                let (g, l, r1, r0) = counts(&seq, i);
                if let Some(v) = rule.certain(g, l, r1, r0) {
                    assert_eq!(v, full, "prefix {i} of {n}: {rule:?}");
                    decided_early += usize::from(i < n);
                }
            }
        }
        // The test exercises early decisions, not only the last image.
        assert!(decided_early > 100, "{decided_early} early decisions");
    }

    #[test]
    fn certain_matches_every_outcome_of_the_remaining_images() {
        // Brute force over every (x lost, y gained) of the remaining images: `certain` says
        // pass (fail) exactly when every outcome passes (fails).
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        for _ in 0..300 {
            let n = rng.gen_range(2..80);
            let (rule, seq) = case(&mut rng, n);
            let i = rng.gen_range(0..=n);
            let (g, l, r1, r0) = counts(&seq, i);
            let outcomes: Vec<bool> = (0..=r1)
                .flat_map(|x| (0..=r0).map(move |y| (x, y)))
                .map(|(x, y)| rule.verdict(g + y, l + x))
                .collect();
            let expected = if outcomes.iter().all(|&v| v) {
                Some(true)
            } else if outcomes.iter().all(|&v| !v) {
                Some(false)
            } else {
                None
            };
            assert_eq!(
                rule.certain(g, l, r1, r0),
                expected,
                "{rule:?} {g} {l} {r1} {r0}"
            );
        }
    }
}
