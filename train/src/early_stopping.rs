//! Early stopping on a validation score and the per-epoch progress bar:
//! the bookkeeping every training loop (ranking, multi-task, retrieval)
//! shares.

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

/// The best validation score so far and how long ago it was seen. Part of
/// each loop's checkpointed state, so a resumed run stops where an
/// uninterrupted one would.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The epoch (1-based) whose weights are kept; 0 before the first.
    pub best_epoch: usize,
    pub best_score: Option<f64>,
    pub epochs_without_improvement: usize,
}

impl EarlyStopping {
    /// Records `epoch`'s validation score (higher is better); true when it
    /// is the best so far, i.e. the caller should keep this epoch's weights.
    pub fn observe(&mut self, epoch: usize, score: f64) -> bool {
        let improved = self.best_score.is_none_or(|best| score > best);
        if improved {
            self.best_score = Some(score);
            self.best_epoch = epoch;
            self.epochs_without_improvement = 0;
        } else {
            self.epochs_without_improvement += 1;
        }
        improved
    }

    /// Whether `patience` epochs in a row brought no improvement.
    pub fn exhausted(&self, patience: usize) -> bool {
        self.epochs_without_improvement >= patience
    }
}

/// The progress bar of one epoch over `len` `unit`s (rows, examples).
pub fn epoch_bar(len: usize, epoch: usize, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template(&format!(
            "epoch {{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} {{per_sec}} eta {{eta}}"
        ))
        .expect("valid template"),
    );
    bar.set_message(epoch.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_epoch_and_counts_epochs_since() {
        let mut s = EarlyStopping::default();
        assert!(s.observe(1, 0.70));
        assert!(s.observe(2, 0.72));
        assert!(!s.observe(3, 0.72), "a tie is not an improvement");
        assert!(!s.observe(4, 0.71));
        assert_eq!(
            (s.best_epoch, s.best_score, s.epochs_without_improvement),
            (2, Some(0.72), 2)
        );
        assert!(s.exhausted(2) && !s.exhausted(3));
        assert!(s.observe(5, 0.73));
        assert!(!s.exhausted(1));
    }
}
