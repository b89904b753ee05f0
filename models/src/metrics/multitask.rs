//! Per-task metrics of a multi-task model on one split.

use crate::multitask::{TaskGraph, TaskKind, TaskPredictions};
use ember_datasets::EncodedData;
use serde::{Deserialize, Serialize};

use crate::metrics;

/// One task's metrics over its observed rows (all rows unless `observed_if`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskMetrics {
    pub task: String,
    pub rows: usize,
    /// Binary tasks: AUC (absent with one class), logloss.
    pub auc: Option<f64>,
    pub logloss: Option<f64>,
    /// Regression tasks.
    pub mse: Option<f64>,
}

impl TaskMetrics {
    /// The task's loss as trained: logloss or MSE.
    pub fn loss(&self) -> f64 {
        self.logloss.or(self.mse).unwrap_or(f64::NAN)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiTaskMetrics {
    pub tasks: Vec<TaskMetrics>,
}

impl MultiTaskMetrics {
    pub fn of(graph: &TaskGraph, predictions: &TaskPredictions, data: &EncodedData) -> Self {
        let tasks = graph
            .tasks
            .iter()
            .zip(&predictions.predictions)
            .map(|(task, pred)| {
                let labels = data.task_labels(task.label);
                let (pred, labels): (Vec<f32>, Vec<f32>) = match task.observed_if {
                    None => (pred.clone(), labels),
                    Some(c) => pred
                        .iter()
                        .zip(labels)
                        .zip(data.task_labels(c))
                        .filter(|&(_, m)| m > 0.5)
                        .map(|(pl, _)| (*pl.0, pl.1))
                        .unzip(),
                };
                let mut m = TaskMetrics {
                    task: task.name.clone(),
                    rows: pred.len(),
                    ..Default::default()
                };
                match task.kind {
                    TaskKind::Binary => {
                        m.auc = metrics::auc(&pred, &labels);
                        m.logloss = Some(metrics::logloss(&pred, &labels));
                    }
                    TaskKind::Regression => m.mse = Some(metrics::mse(&pred, &labels)),
                }
                m
            })
            .collect();
        Self { tasks }
    }

    /// Mean AUC over the binary tasks that have one.
    pub fn mean_auc(&self) -> Option<f64> {
        let aucs: Vec<f64> = self.tasks.iter().filter_map(|t| t.auc).collect();
        (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
    }

    /// Mean of the tasks' losses (logloss or MSE).
    pub fn mean_loss(&self) -> f64 {
        self.tasks.iter().map(TaskMetrics::loss).sum::<f64>() / self.tasks.len().max(1) as f64
    }

    pub fn task(&self, name: &str) -> Option<&TaskMetrics> {
        self.tasks.iter().find(|t| t.task == name)
    }
}

impl std::fmt::Display for MultiTaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            match (t.auc, t.logloss, t.mse) {
                (_, _, Some(mse)) => write!(f, "{} MSE {mse:.4}", t.task)?,
                (auc, Some(ll), _) => write!(
                    f,
                    "{} AUC {} logloss {ll:.4}",
                    t.task,
                    auc.map_or("n/a".into(), |a| format!("{a:.4}"))
                )?,
                _ => write!(f, "{} n/a", t.task)?,
            }
        }
        Ok(())
    }
}
