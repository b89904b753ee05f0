//! The non-learning policies the mixer is compared with.

use rand::{Rng, SeedableRng, rngs::SmallRng};

use super::observation::SlotView;
use super::policy::{MixPolicy, argmax};

/// A uniformly random type per slot.
pub struct RandomPolicy {
    rng: SmallRng,
}

impl RandomPolicy {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
        }
    }
}

impl MixPolicy for RandomPolicy {
    fn name(&self) -> String {
        "random".into()
    }

    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        views
            .iter()
            .map(|v| self.rng.random_range(0..v.pctr.len()))
            .collect()
    }
}

/// Ranking by pCTR alone: the type whose candidate has the highest pCTR.
pub struct GreedyPctr;

impl MixPolicy for GreedyPctr {
    fn name(&self) -> String {
        "greedy pCTR".into()
    }

    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        views.iter().map(|v| argmax(&v.pctr).unwrap_or(0)).collect()
    }
}

/// Whether slot `position` is one of the `share` of slots a type gets,
/// spread as evenly as possible (Bresenham): slot t is taken when
/// ⌊(t+1)·s⌋ > ⌊t·s⌋. Even spacing is the kindest schedule to fatigue.
fn takes_slot(share: f64, position: usize) -> bool {
    let t = position as f64;
    ((t + 1.0) * share + 1e-9).floor() > (t * share + 1e-9).floor()
}

/// Greedy pCTR with the high-CTR type's share of slots fixed: that type
/// fills an evenly spread `share` of slots, the best-pCTR other type the
/// rest. Sweeping `share` traces clicks against the high-CTR type's share.
pub struct ShareCappedGreedy {
    pub high: usize,
    pub share: f64,
}

impl MixPolicy for ShareCappedGreedy {
    fn name(&self) -> String {
        format!("greedy pCTR, high-CTR share {:.2}", self.share)
    }

    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        views
            .iter()
            .map(|v| {
                if takes_slot(self.share, v.position) {
                    return self.high;
                }
                let mut others = v.pctr.clone();
                others[self.high] = f32::NEG_INFINITY;
                argmax(&others).unwrap_or(0)
            })
            .collect()
    }
}

/// A fixed type mix served as an evenly interleaved schedule (smooth
/// weighted round robin): the same for every user, blind to feedback.
pub struct FixedMix {
    pub shares: Vec<f64>,
    schedule: Vec<usize>,
}

impl FixedMix {
    /// `shares` are normalised; the schedule covers `slots` slots.
    pub fn new(shares: &[f64], slots: usize) -> Self {
        let total: f64 = shares.iter().sum();
        let shares: Vec<f64> = shares.iter().map(|s| s / total.max(1e-12)).collect();
        let mut credit = vec![0.0; shares.len()];
        let mut schedule = Vec::with_capacity(slots);
        for _ in 0..slots {
            for (c, s) in credit.iter_mut().zip(&shares) {
                *c += s;
            }
            let pick =
                credit.iter().enumerate().fold(
                    0,
                    |best, (i, &c)| if c > credit[best] + 1e-12 { i } else { best },
                );
            credit[pick] -= 1.0;
            schedule.push(pick);
        }
        Self { shares, schedule }
    }

    /// The type of slot `position` (the schedule's last beyond its end).
    pub fn type_at(&self, position: usize) -> usize {
        self.schedule[position.min(self.schedule.len() - 1)]
    }

    /// Every mix on a grid of step `1/steps` over `k` types (all shares
    /// multiples of `1/steps`, summing to 1).
    pub fn grid(k: usize, steps: usize) -> Vec<Vec<f64>> {
        fn fill(
            k: usize,
            left: usize,
            steps: usize,
            prefix: &mut Vec<usize>,
            out: &mut Vec<Vec<f64>>,
        ) {
            if prefix.len() == k - 1 {
                prefix.push(left);
                out.push(prefix.iter().map(|&n| n as f64 / steps as f64).collect());
                prefix.pop();
                return;
            }
            for n in 0..=left {
                prefix.push(n);
                fill(k, left - n, steps, prefix, out);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        if k > 0 && steps > 0 {
            fill(k, steps, steps, &mut Vec::new(), &mut out);
        }
        out
    }
}

impl MixPolicy for FixedMix {
    fn name(&self) -> String {
        let shares: Vec<String> = self.shares.iter().map(|s| format!("{s:.2}")).collect();
        format!("fixed mix [{}]", shares.join(", "))
    }

    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        views.iter().map(|v| self.type_at(v.position)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_schedule_and_mix_schedule_hit_their_shares() {
        for share in [0.0, 0.25, 0.5, 0.7, 1.0] {
            let taken = (0..100).filter(|&t| takes_slot(share, t)).count();
            assert_eq!(taken, (share * 100.0).round() as usize, "share {share}");
        }
        let mix = FixedMix::new(&[0.5, 0.25, 0.25, 0.0], 40);
        let count = |k| mix.schedule.iter().filter(|&&t| t == k).count();
        assert_eq!((count(0), count(1), count(2), count(3)), (20, 10, 10, 0));
        // Evenly spread: every 4 consecutive slots hold type 0 twice.
        assert!(
            mix.schedule
                .windows(4)
                .all(|w| w.iter().filter(|&&t| t == 0).count() == 2)
        );
        let grid = FixedMix::grid(4, 10);
        assert_eq!(grid.len(), 286); // C(13, 3)
        assert!(
            grid.iter()
                .all(|g| (g.iter().sum::<f64>() - 1.0).abs() < 1e-9)
        );
    }
}
