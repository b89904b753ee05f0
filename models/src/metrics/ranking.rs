//! The metrics of a single-task ranking model on one split.

use ember_datasets::EncodedData;
use serde::{Deserialize, Serialize};

use super::{auc, gauc, logloss, rmse};

/// Metrics of one split. AUC and gAUC are absent when undefined (one class).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    pub rows: usize,
    pub auc: Option<f64>,
    pub gauc: Option<f64>,
    pub logloss: f64,
    pub rmse: f64,
}

impl EvalMetrics {
    pub fn of(probs: &[f32], data: &EncodedData) -> Self {
        Self::of_labels(probs, &data.task_labels(0), data.groups.as_deref())
    }

    /// From scores, their labels and (for gAUC) their rows' groups.
    pub fn of_labels(probs: &[f32], labels: &[f32], groups: Option<&[u64]>) -> Self {
        EvalMetrics {
            rows: probs.len(),
            auc: auc(probs, labels),
            gauc: groups.and_then(|g| gauc(probs, labels, g)),
            logloss: logloss(probs, labels),
            rmse: rmse(probs, labels),
        }
    }
}

impl std::fmt::Display for EvalMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.4}"));
        write!(
            f,
            "AUC {} gAUC {} logloss {:.4} ({} rows)",
            opt(self.auc),
            opt(self.gauc),
            self.logloss,
            self.rows
        )
    }
}
