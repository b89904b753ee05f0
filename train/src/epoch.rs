//! The parts of an epoch that the training skeleton (`run_loop.rs`) puts
//! together: when another epoch runs, the epoch's shuffle and random
//! stream, the device-side loss sum, and the epoch's line in `metrics.jsonl` and the
//! checkpointed history.

use std::path::Path;

use anyhow::{Context, Result};
use burn::prelude::*;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};
use serde::{Deserialize, Serialize};

use crate::early_stopping::EarlyStopping;
use ember_models::metrics::EvalMetrics;

/// How long training runs: the epoch budget, early stopping's patience and
/// the batch size.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub epochs: usize,
    pub patience: usize,
    pub batch_size: usize,
}

/// What one epoch's training measured, before validation.
#[derive(Debug, Clone)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss per step, one per task (one for single-task runs).
    pub train_losses: Vec<f64>,
    pub seconds: f64,
    pub samples_per_second: f64,
}

/// What one finished epoch measured; `V` is the loop's validation metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord<V = EvalMetrics> {
    pub epoch: usize,
    pub train_loss: f64,
    pub valid: V,
    pub seconds: f64,
    pub samples_per_second: f64,
}

impl<V> EpochRecord<V> {
    /// A single-loss epoch's record.
    pub fn new(stats: EpochStats, valid: V) -> Self {
        Self {
            epoch: stats.epoch,
            train_loss: stats.train_losses[0],
            valid,
            seconds: stats.seconds,
            samples_per_second: stats.samples_per_second,
        }
    }
}

/// An epoch's line in `metrics.jsonl` and in the checkpointed history.
pub trait EpochLine: Serialize {
    type Valid: Clone + Default;
    fn epoch(&self) -> usize;
    fn valid(&self) -> &Self::Valid;
}

impl<V: Clone + Default + Serialize> EpochLine for EpochRecord<V> {
    type Valid = V;
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn valid(&self) -> &V {
        &self.valid
    }
}

/// Decides whether another epoch runs: epochs left, patience left, and a
/// per-call cap (`FitOptions::max_epochs_this_call`: tests simulate a
/// killed run with it; such a run is resumable, not finished).
#[derive(Debug, Clone)]
pub struct EpochPlan {
    max_epochs: usize,
    patience: usize,
    cap: Option<usize>,
    this_call: usize,
    finished: bool,
}

impl EpochPlan {
    pub fn new(max_epochs: usize, patience: usize, cap: Option<usize>) -> Self {
        Self {
            max_epochs,
            patience,
            cap,
            this_call: 0,
            finished: true,
        }
    }

    /// The next epoch's number (1-based), or `None` when training stops.
    pub fn next(&mut self, epochs_done: usize, stopping: &EarlyStopping) -> Option<usize> {
        if epochs_done >= self.max_epochs || stopping.exhausted(self.patience) {
            return None;
        }
        if self.cap == Some(self.this_call) {
            self.finished = false;
            return None;
        }
        self.this_call += 1;
        Some(epochs_done + 1)
    }

    /// False when the per-call cap, not the epoch budget or early
    /// stopping, ended training.
    pub fn finished(&self) -> bool {
        self.finished
    }
}

/// The epoch's random source, seeded by the run seed and the epoch, so a
/// resumed run draws what the uninterrupted one would have.
pub fn epoch_rng(seed: u64, epoch: usize) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9))
}

/// Puts `order` (a permutation of the training rows) in this epoch's order,
/// whatever order the previous epoch left it in.
pub fn shuffle_rows(order: &mut [usize], rng: &mut SmallRng) {
    order.sort_unstable();
    order.shuffle(rng);
}

/// Per-step losses summed on the device and read once per epoch: one host
/// sync per epoch instead of one per step. Each step's loss is kept too (a
/// handle to a tiny device tensor), so that a non-finite epoch can name
/// its first bad step without a sync per step.
#[derive(Default)]
pub struct LossSum {
    sum: Option<Tensor<1>>,
    per_step: Vec<Tensor<1>>,
    steps: usize,
}

impl LossSum {
    /// Adds one step's loss (`[1]`, or `[tasks]` for a multi-task step).
    pub fn add(&mut self, loss: Tensor<1>) {
        self.per_step.push(loss.clone());
        self.sum = Some(match self.sum.take() {
            Some(sum) => sum + loss,
            None => loss,
        });
        self.steps += 1;
    }

    /// The first step (1-based) whose loss is not finite, if any (reads
    /// every step's loss: call it only once the sum is not finite).
    pub fn first_non_finite_step(&self) -> Option<usize> {
        if self.per_step.is_empty() {
            return None;
        }
        let width = self.per_step[0].dims()[0].max(1);
        let values = Tensor::cat(self.per_step.clone(), 0)
            .into_data()
            .try_to_vec::<f32>()
            .expect("losses are f32");
        values
            .chunks(width)
            .position(|step| step.iter().any(|l| !l.is_finite()))
            .map(|i| i + 1)
    }

    /// The mean per step of each element; `width` NaNs when no step ran.
    pub fn means(&self, width: usize) -> Vec<f64> {
        match self.sum.clone() {
            Some(sum) => sum
                .into_data()
                .try_to_vec::<f32>()
                .expect("losses are f32")
                .iter()
                .map(|&l| f64::from(l) / self.steps as f64)
                .collect(),
            None => vec![f64::NAN; width],
        }
    }
}

/// Appends `record` to `metrics_log` (one JSON line) and to `history`.
pub fn log_epoch<R: EpochLine>(metrics_log: &Path, history: &mut Vec<R>, record: R) -> Result<()> {
    append_line(metrics_log, &serde_json::to_string(&record)?)?;
    history.push(record);
    Ok(())
}

/// The validation metrics of `best_epoch`, or the default before any epoch.
pub fn best_valid<R: EpochLine>(history: &[R], best_epoch: usize) -> R::Valid {
    history
        .iter()
        .find(|r| r.epoch() == best_epoch)
        .map(|r| r.valid().clone())
        .unwrap_or_default()
}

/// Appends one line to a file (created if missing).
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopping_after(scores: &[f64]) -> EarlyStopping {
        let mut s = EarlyStopping::default();
        for (i, &score) in scores.iter().enumerate() {
            s.observe(i + 1, score);
        }
        s
    }

    #[test]
    fn plan_stops_on_budget_patience_or_cap() {
        let mut plan = EpochPlan::new(3, 2, None);
        assert_eq!(plan.next(0, &EarlyStopping::default()), Some(1));
        assert_eq!(plan.next(3, &EarlyStopping::default()), None);
        assert!(plan.finished());

        let mut plan = EpochPlan::new(10, 2, None);
        assert_eq!(plan.next(3, &stopping_after(&[0.5, 0.4, 0.3])), None);
        assert!(plan.finished(), "patience ran out: a finished run");

        let mut plan = EpochPlan::new(10, 5, Some(2));
        let none = EarlyStopping::default();
        assert_eq!(plan.next(4, &none), Some(5));
        assert_eq!(plan.next(5, &none), Some(6));
        assert_eq!(plan.next(6, &none), None);
        assert!(!plan.finished(), "stopped by the cap: resumable");
    }

    #[test]
    fn epoch_order_does_not_depend_on_the_previous_order() {
        let mut a: Vec<usize> = (0..100).collect();
        let mut b: Vec<usize> = (0..100).rev().collect();
        shuffle_rows(&mut a, &mut epoch_rng(7, 3));
        shuffle_rows(&mut b, &mut epoch_rng(7, 3));
        assert_eq!(a, b);
        shuffle_rows(&mut b, &mut epoch_rng(7, 4));
        assert_ne!(a, b);
    }

    #[test]
    fn loss_sum_means_per_element() {
        let device = Device::flex();
        let mut sum = LossSum::default();
        sum.add(Tensor::from_floats([1.0, 4.0], &device));
        sum.add(Tensor::from_floats([3.0, 0.0], &device));
        assert_eq!(sum.means(2), vec![2.0, 2.0]);
        assert!(LossSum::default().means(1)[0].is_nan());
        assert_eq!(sum.first_non_finite_step(), None);
        sum.add(Tensor::from_floats([1.0, f32::INFINITY], &device));
        sum.add(Tensor::from_floats([f32::NAN, 1.0], &device));
        assert_eq!(sum.first_non_finite_step(), Some(3));
        assert!(!sum.means(2)[1].is_finite());
    }

    #[test]
    fn best_valid_finds_the_best_epoch() {
        let record = |epoch, auc| EpochRecord {
            epoch,
            train_loss: 0.0,
            valid: EvalMetrics {
                auc,
                ..Default::default()
            },
            seconds: 1.0,
            samples_per_second: 1.0,
        };
        let history = vec![
            record(1, Some(0.6)),
            record(2, Some(0.7)),
            record(3, Some(0.65)),
        ];
        assert_eq!(best_valid(&history, 2).auc, Some(0.7));
        assert_eq!(best_valid(&history, 0).auc, None);
    }
}
