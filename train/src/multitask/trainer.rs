//! Training a multi-task model: the gradient flow of [`super::step`] (loss
//! balancing) and per-task validation metrics in the shared loop
//! ([`crate::run_loop`]), then the best epoch's test metrics, the fusion
//! weights (chosen on validation, reported on test) and export.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use ember_datasets::EncodedData;
use ember_datasets::registry::PreparedData;
use ember_models::Batch;
use ember_models::artifact::{Family, MultiTaskEntry};
use ember_models::device::DeviceChoice;
use ember_models::metrics::MultiTaskMetrics;
use ember_models::multitask::{MultiTaskModel, TaskGraph, TaskKind, TaskPredictions};
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use super::balance::Balancer;
use super::config::MultiTaskRunConfig;
use super::fusion::{FusionConfig, FusionPoint, FusionSplit, grid_search};
use super::step::step_gradients;
use crate::checkpoint::Optimizers;
use crate::config::Monitor;
use crate::epoch::{EpochLine, EpochStats};
use crate::export::{TrainedNetwork, export_network};
use crate::run_loop::{FitOptions, RunContext, TrainingFamily, train_epochs};
use crate::step::dense_optimizer;

/// What one finished epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiTaskEpoch {
    pub epoch: usize,
    /// Mean unweighted training loss of each task.
    pub train_losses: Vec<f64>,
    /// Loss weights at the end of the epoch (they move under GradNorm).
    pub weights: Vec<f64>,
    pub valid: MultiTaskMetrics,
    pub seconds: f64,
    pub samples_per_second: f64,
}

impl EpochLine for MultiTaskEpoch {
    type Valid = MultiTaskMetrics;
    fn epoch(&self) -> usize {
        self.epoch
    }
    fn valid(&self) -> &MultiTaskMetrics {
        &self.valid
    }
}

/// What a resumed multi-task run needs besides the loop's own state: the
/// loss balancer (GradNorm's weights move during training).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiTaskState {
    pub balancer: Balancer,
}

/// What a finished multi-task run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiTaskSummary {
    pub name: String,
    pub model: String,
    pub balance: String,
    pub tasks: Vec<String>,
    pub device: DeviceChoice,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub valid: MultiTaskMetrics,
    pub test: MultiTaskMetrics,
    pub final_weights: Vec<f64>,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    pub artifact: PathBuf,
    pub finished: bool,
    /// Fusion weight sets non-dominated on validation, with their test
    /// AUCs, if `[fusion]` asked.
    pub fusion_front: Option<Vec<FusionPoint>>,
}

/// A finished run and the best model's test-split predictions.
pub struct MultiTaskRun {
    pub summary: MultiTaskSummary,
    pub test_predictions: TaskPredictions,
}

/// Multi-task's part of the training loop.
struct MultiTaskTraining<'a> {
    config: &'a MultiTaskRunConfig,
    data: &'a PreparedData,
    graph: &'a TaskGraph,
    optim: burn::optim::ModuleOptimizer,
    run: &'a RunContext,
}

impl TrainingFamily for MultiTaskTraining<'_> {
    type Model = MultiTaskModel;
    type Valid = MultiTaskMetrics;
    type Line = MultiTaskEpoch;
    type State = MultiTaskState;

    fn title(&self) -> String {
        format!(
            "training multi-task {} (balance {}; tasks {})",
            self.config.model.kind.name(),
            self.config.balance.name(),
            self.graph.names().join(", ")
        )
    }

    fn train_rows(&self) -> usize {
        self.data.train.num_rows
    }

    fn loss_width(&self) -> usize {
        self.graph.len()
    }

    fn step(
        &mut self,
        model: MultiTaskModel,
        rows: &[usize],
        _rng: &mut SmallRng,
        state: &mut MultiTaskState,
    ) -> (MultiTaskModel, Tensor<1>) {
        let batch = Batch::from_rows(&self.data.train, rows, &self.run.train_device);
        let step = step_gradients(&model, &batch, &mut state.balancer);
        let model = self.optim.step(self.config.train.lr, model, step.grads);
        (model, step.losses)
    }

    fn validate(&self, model: &MultiTaskModel) -> Result<MultiTaskMetrics> {
        let predictions = model.predict(
            &self.data.valid,
            self.config.train.eval_batch_size,
            &self.run.device,
        );
        Ok(MultiTaskMetrics::of(
            self.graph,
            &predictions,
            &self.data.valid,
        ))
    }

    fn score(&self, m: &MultiTaskMetrics) -> f64 {
        match self.config.train.monitor {
            Monitor::Auc => m.mean_auc().unwrap_or(0.5),
            Monitor::Logloss => -m.mean_loss(),
        }
    }

    fn line(
        &self,
        stats: EpochStats,
        valid: MultiTaskMetrics,
        state: &MultiTaskState,
    ) -> MultiTaskEpoch {
        MultiTaskEpoch {
            epoch: stats.epoch,
            train_losses: stats.train_losses,
            weights: state.balancer.weights().to_vec(),
            valid,
            seconds: stats.seconds,
            samples_per_second: stats.samples_per_second,
        }
    }

    fn optimizers(&mut self) -> Optimizers<'_> {
        Optimizers::dense(&mut self.optim)
    }
}

/// Trains the multi-task run `config` on `data`, then exports it.
pub fn fit(
    config: &MultiTaskRunConfig,
    data: &PreparedData,
    options: &FitOptions,
) -> Result<MultiTaskRun> {
    let t = &config.train;
    let graph =
        TaskGraph::resolve(&config.tasks, &data.layout.tasks).map_err(anyhow::Error::msg)?;
    config.balance.validate().map_err(anyhow::Error::msg)?;
    if t.monitor == Monitor::Auc && graph.tasks.iter().all(|t| t.kind != TaskKind::Binary) {
        bail!("monitor = \"auc\" needs a binary task; use monitor = \"loss\" for regression tasks");
    }
    if t.batch_size == 0 {
        bail!("train.batch_size must be at least 1");
    }
    let run = RunContext::start(config, t.seed)?;
    let model = config
        .model
        .init(&data.layout, &graph, &run.train_device)
        .map_err(anyhow::Error::msg)?;
    let mut family = MultiTaskTraining {
        config,
        data,
        graph: &graph,
        optim: dense_optimizer(t),
        run: &run,
    };
    let initial = MultiTaskState {
        balancer: Balancer::new(&config.balance, &graph, t.seed),
    };
    let trained = train_epochs(&mut family, model, &run, t.schedule(), initial, options)?;

    let best = trained.best;
    let test_predictions = best.predict(&data.test, t.eval_batch_size, &run.device);
    let test = MultiTaskMetrics::of(&graph, &test_predictions, &data.test);
    tracing::info!(best_epoch = trained.best_epoch, test = %test, "test split");

    let fusion_front = match &config.fusion {
        None => None,
        Some(fusion) => {
            let valid_predictions = best.predict(&data.valid, t.eval_batch_size, &run.device);
            let valid = fusion_split(&graph, &valid_predictions, &data.valid);
            let test = fusion_split(&graph, &test_predictions, &data.test);
            Some(fusion_report(&graph, &valid, &test, fusion, &run.run_dir)?)
        }
    };
    let summary = MultiTaskSummary {
        name: config.common.name.clone(),
        model: config.model.kind.name().to_owned(),
        balance: config.balance.name().to_owned(),
        tasks: graph.names(),
        device: run.device_used,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        valid: trained.valid,
        test,
        final_weights: trained.state.balancer.weights().to_vec(),
        train_seconds: trained.train_seconds,
        train_samples_per_second: trained.train_samples_per_second,
        artifact: run.artifact_dir(),
        finished: trained.finished,
        fusion_front,
    };
    if trained.finished {
        let network = TrainedNetwork {
            family: Family::Multitask,
            entry: serde_json::to_value(MultiTaskEntry {
                config: config.model.clone(),
                tasks: best.graph.clone(),
            })?,
            network: &best,
        };
        export_network(
            &summary.artifact,
            network,
            config,
            &config.data,
            data,
            &summary,
            run.device_used,
        )?;
    }
    Ok(MultiTaskRun {
        summary,
        test_predictions,
    })
}

/// The tasks fusion weighs: the binary ones.
fn binary_tasks(graph: &TaskGraph) -> Vec<usize> {
    (0..graph.len())
        .filter(|&t| graph.tasks[t].kind == TaskKind::Binary)
        .collect()
}

/// The binary tasks' predictions and labels on one split.
fn fusion_split(
    graph: &TaskGraph,
    predictions: &TaskPredictions,
    data: &EncodedData,
) -> FusionSplit {
    let binary = binary_tasks(graph);
    FusionSplit {
        predictions: binary
            .iter()
            .map(|&t| predictions.predictions[t].clone())
            .collect(),
        targets: binary
            .iter()
            .map(|&t| data.task_labels(graph.tasks[t].label))
            .collect(),
    }
}

/// Grid-searches fusion weights on validation, reports each set's test
/// AUCs beside, writes every set to `fusion.json` and returns the sets
/// non-dominated on validation.
fn fusion_report(
    graph: &TaskGraph,
    valid: &FusionSplit,
    test: &FusionSplit,
    fusion: &FusionConfig,
    run_dir: &Path,
) -> Result<Vec<FusionPoint>> {
    let binary = binary_tasks(graph);
    if binary.len() < 2 {
        bail!("[fusion] needs at least two binary tasks to weigh");
    }
    let points = grid_search(valid, test, fusion).map_err(anyhow::Error::msg)?;
    let names: Vec<&str> = binary
        .iter()
        .map(|&t| graph.tasks[t].name.as_str())
        .collect();
    let path = run_dir.join("fusion.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&serde_json::json!({
            "form": fusion.form,
            "tasks": names,
            "chosen_on": "valid",
            "points": points,
        }))?,
    )
    .with_context(|| format!("writing {}", path.display()))?;
    let mut front: Vec<FusionPoint> = points.into_iter().filter(|p| p.non_dominated).collect();
    // From most to least weight on the first task, as a trade-off reads.
    front.sort_by(|a, b| b.weights[0].total_cmp(&a.weights[0]));
    tracing::info!(
        sets = front.len(),
        file = %path.display(),
        "fusion weights: sets non-dominated on validation, with test AUCs (targets: {})",
        names.join(", ")
    );
    Ok(front)
}
