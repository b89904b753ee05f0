//! The ε-greedy exploration schedule and the exploring policy wrapper.

use ember_datasets::simulator::{MixPolicy, SlotView};
use rand::{Rng, rngs::SmallRng};
use serde::{Deserialize, Serialize};

/// ε falls linearly from `start` to `end` over the first `decay_fraction`
/// of training, then stays at `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EpsilonSchedule {
    pub start: f64,
    pub end: f64,
    pub decay_fraction: f64,
}

impl Default for EpsilonSchedule {
    fn default() -> Self {
        Self {
            start: 1.0,
            end: 0.05,
            decay_fraction: 0.5,
        }
    }
}

impl EpsilonSchedule {
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [("start", self.start), ("end", self.end)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("dqn.epsilon.{name} = {v} must be in [0, 1]"));
            }
        }
        if !(self.decay_fraction > 0.0 && self.decay_fraction <= 1.0) {
            return Err(format!(
                "dqn.epsilon.decay_fraction = {} must be in (0, 1]",
                self.decay_fraction
            ));
        }
        Ok(())
    }

    /// ε after `progress` ∈ [0, 1] of training.
    pub fn at(&self, progress: f64) -> f64 {
        let t = (progress / self.decay_fraction).clamp(0.0, 1.0);
        self.start + (self.end - self.start) * t
    }
}

/// With probability ε a uniformly random type, else the inner policy's
/// choice. The inner policy acts on every slot either way, so a recurrent
/// one keeps folding the session into its state.
pub struct EpsilonGreedy<'a, P: MixPolicy> {
    pub inner: P,
    pub epsilon: f64,
    pub rng: &'a mut SmallRng,
}

impl<P: MixPolicy> MixPolicy for EpsilonGreedy<'_, P> {
    fn name(&self) -> String {
        format!("{} (ε = {:.2})", self.inner.name(), self.epsilon)
    }

    fn begin(&mut self, n: usize) {
        self.inner.begin(n);
    }

    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        let mut actions = self.inner.act(views);
        for (a, v) in actions.iter_mut().zip(views) {
            if self.rng.random_bool(self.epsilon) {
                *a = self.rng.random_range(0..v.pctr.len());
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_decays_linearly_then_holds() {
        let s = EpsilonSchedule {
            start: 1.0,
            end: 0.1,
            decay_fraction: 0.5,
        };
        assert_eq!(s.at(0.0), 1.0);
        assert!((s.at(0.25) - 0.55).abs() < 1e-12);
        assert!((s.at(0.5) - 0.1).abs() < 1e-12);
        assert!((s.at(0.9) - 0.1).abs() < 1e-12);
        assert!(
            EpsilonSchedule {
                decay_fraction: 0.0,
                ..s
            }
            .validate()
            .is_err()
        );
    }
}
