//! The training reward: what the agent is paid per slot.
//!
//! `r = click·[click] + dwell·minutes − negative·[negative] − exit·[exit]
//!      + diversity·[type ≠ previous type]`. Evaluation counts clicks only;
//! the other terms shape learning (dwell and negative feedback are denser
//! signals of taste than clicks) and are there to be tuned or switched off.

use ember_datasets::simulator::{SlotView, StepOutcome};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardConfig {
    pub click: f64,
    /// Per minute of dwell.
    pub dwell: f64,
    pub negative: f64,
    pub exit: f64,
    /// Bonus for changing type from the previous slot (0 = off).
    pub diversity: f64,
}

impl Default for RewardConfig {
    fn default() -> Self {
        Self {
            click: 1.0,
            dwell: 0.02,
            negative: 0.2,
            exit: 0.5,
            diversity: 0.0,
        }
    }
}

impl RewardConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, w) in [
            ("click", self.click),
            ("dwell", self.dwell),
            ("negative", self.negative),
            ("exit", self.exit),
            ("diversity", self.diversity),
        ] {
            if !w.is_finite() {
                return Err(format!("reward.{name} = {w} must be finite"));
            }
        }
        Ok(())
    }

    /// The reward for serving `action` at `view` with `outcome`.
    pub fn reward(&self, view: &SlotView, action: usize, outcome: &StepOutcome) -> f32 {
        let fb = &outcome.feedback;
        let changed = view.last.is_some_and(|last| last.content_type != action);
        let r = self.click * fb.click as u8 as f64 + self.dwell * fb.dwell as f64
            - self.negative * fb.negative as u8 as f64
            - self.exit * outcome.exited as u8 as f64
            + self.diversity * changed as u8 as f64;
        r as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_datasets::simulator::Feedback;

    #[test]
    fn each_term_has_its_weight() {
        let w = RewardConfig {
            click: 1.0,
            dwell: 0.1,
            negative: 0.5,
            exit: 2.0,
            diversity: 0.25,
        };
        let fb = |click, dwell, negative| Feedback {
            content_type: 1,
            click,
            dwell,
            negative,
        };
        let view = SlotView {
            position: 1,
            last: Some(fb(false, 0.0, false)),
            pctr: vec![0.1; 3],
        };
        let out = |feedback, exited| StepOutcome {
            feedback,
            exited,
            done: exited,
        };
        assert_eq!(w.reward(&view, 1, &out(fb(true, 3.0, false), false)), 1.3);
        assert_eq!(w.reward(&view, 1, &out(fb(false, 0.0, true), true)), -2.5);
        assert_eq!(w.reward(&view, 2, &out(fb(false, 0.0, false), false)), 0.25);
        assert!(
            RewardConfig {
                exit: f64::NAN,
                ..w
            }
            .validate()
            .is_err()
        );
    }
}
