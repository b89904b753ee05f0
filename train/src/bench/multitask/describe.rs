//! The report's words for a preset's training settings, written from the
//! preset so that the text cannot drift from what ran.

use ember_models::multitask::TaskKind;

use crate::config::{Monitor, TrainConfig};
use crate::multitask::MultiTaskRunConfig;

/// "Adam lr 0.001, batch 128, <how long>".
pub(super) fn training(config: &MultiTaskRunConfig) -> String {
    let t = &config.train;
    format!(
        "{:?} lr {}, batch {}, {}",
        t.optimizer,
        t.lr,
        t.batch_size,
        budget(t, monitored(config))
    )
}

/// A note when the presets of one table train differently, naming whose
/// settings the text gives.
pub(super) fn differing_training(configs: &[MultiTaskRunConfig]) -> Option<String> {
    let first = configs.first()?;
    configs.iter().any(|c| c.train != first.train).then(|| {
        format!(
            "(The presets' training settings differ; the ones above are {}'s.)\n\n",
            first.model.kind.name()
        )
    })
}

/// How long the runs train.
fn budget(t: &TrainConfig, monitored: &str) -> String {
    if t.patience >= t.epochs {
        format!(
            "a fixed budget of {} epochs (no early stopping; the epoch with the best {monitored} is tested)",
            t.epochs
        )
    } else {
        format!(
            "≤ {} epochs, early stopping on {monitored} (patience {})",
            t.epochs, t.patience
        )
    }
}

/// What early stopping watches, in words.
fn monitored(config: &MultiTaskRunConfig) -> &'static str {
    let regression = config.tasks.iter().all(|t| t.kind == TaskKind::Regression);
    match config.train.monitor {
        Monitor::Auc => "mean validation AUC",
        Monitor::Logloss if regression => "mean validation MSE",
        Monitor::Logloss => "mean validation logloss",
    }
}

/// `n` with thousands separated by commas, as the report writes counts.
pub(super) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(10_000), "10,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
