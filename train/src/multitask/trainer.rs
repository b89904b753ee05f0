//! The multi-task training loop: the ranking loop's epochs, progress bar,
//! validation, early stopping, checkpoints and export, with the gradient
//! flow of [`super::step`] and per-task metrics.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use ember_datasets::registry::PreparedData;
use ember_models::Batch;
use ember_models::artifact::{load_bpk, save_bpk};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::multitask::{TaskGraph, TaskKind, TaskPredictions};
use serde::{Deserialize, Serialize};

use super::artifact::export_artifact;
use super::balance::Balancer;
use super::config::MultiTaskRunConfig;
use super::evaluate::MultiTaskMetrics;
use super::fusion::{FusionPoint, grid_search};
use super::step::step_gradients;
use crate::checkpoint::Checkpoint;
use crate::config::Monitor;
use crate::early_stopping::{EarlyStopping, epoch_bar};
use crate::epoch::{EpochLine, EpochPlan, LossSum, best_valid, epoch_rng, log_epoch, shuffle_rows};
use crate::step::dense_optimizer;
use crate::trainer::FitOptions;

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

/// Everything besides weights that a resumed multi-task run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiTaskState {
    pub epochs_done: usize,
    #[serde(flatten)]
    pub stopping: EarlyStopping,
    pub history: Vec<MultiTaskEpoch>,
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
    /// Fusion weight sets on the test split (non-dominated ones), if asked.
    pub fusion_front: Option<Vec<FusionPoint>>,
}

/// A finished run and the best model's test-split predictions.
pub struct MultiTaskRun {
    pub summary: MultiTaskSummary,
    pub test_predictions: TaskPredictions,
}

/// Higher-is-better score of the monitored metric.
fn monitored(monitor: Monitor, m: &MultiTaskMetrics) -> f64 {
    match monitor {
        Monitor::Auc => m.mean_auc().unwrap_or(0.5),
        Monitor::Logloss => -m.mean_loss(),
    }
}

/// Trains the multi-task run `config` on `data`, then exports it.
pub fn fit(
    config: &MultiTaskRunConfig,
    data: &PreparedData,
    options: &FitOptions,
) -> Result<MultiTaskRun> {
    let train_cfg = &config.train;
    let graph =
        TaskGraph::resolve(&config.tasks, &data.layout.tasks).map_err(anyhow::Error::msg)?;
    config.balance.validate().map_err(anyhow::Error::msg)?;
    if train_cfg.monitor == Monitor::Auc && graph.tasks.iter().all(|t| t.kind != TaskKind::Binary) {
        bail!("monitor = \"auc\" needs a binary task; use monitor = \"loss\" for regression tasks");
    }
    if train_cfg.batch_size == 0 {
        bail!("train.batch_size must be at least 1");
    }
    let run_dir = config.run_dir();
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("creating run directory {}", run_dir.display()))?;
    let (device, device_used) = select_device(config.device);
    device.seed(train_cfg.seed);
    let train_device = device.clone().autodiff();

    let mut model = config
        .model
        .init(&data.layout, &graph, &train_device)
        .map_err(anyhow::Error::msg)?;
    let mut optim = dense_optimizer(train_cfg);
    let checkpoint = Checkpoint::new(&run_dir);
    let mut state = MultiTaskState {
        epochs_done: 0,
        stopping: EarlyStopping::default(),
        history: Vec::new(),
        balancer: Balancer::new(&config.balance, &graph, train_cfg.seed),
    };
    if options.resume && checkpoint.exists() {
        (model, optim, state) = checkpoint.load(model, optim, None, &device)?;
        tracing::info!(epochs_done = state.epochs_done, "resumed from checkpoint");
    }
    let best_path = run_dir.join("best.bpk");
    let metrics_log = run_dir.join("metrics.jsonl");
    tracing::info!(
        run = %config.name,
        model = config.model.kind.name(),
        balance = config.balance.name(),
        tasks = %graph.names().join(", "),
        device = %device_used,
        params = model.num_params(),
        train_rows = data.train.num_rows,
        "training multi-task model"
    );

    let n = data.train.num_rows;
    let t_count = graph.len();
    let mut order: Vec<usize> = (0..n).collect();
    let run_start = Instant::now();
    let mut trained_samples = 0usize;
    let mut plan = EpochPlan::new(train_cfg.epochs, train_cfg.patience, options);
    while let Some(epoch) = plan.next(state.epochs_done, &state.stopping) {
        shuffle_rows(&mut order, &mut epoch_rng(train_cfg.seed, epoch));
        let bar = epoch_bar(n, epoch, "rows");
        let epoch_start = Instant::now();
        let mut loss_sum = LossSum::default();
        for rows in order.chunks(train_cfg.batch_size) {
            let batch = Batch::from_rows(&data.train, rows, &train_device);
            let step = step_gradients(&model, &batch, &mut state.balancer);
            loss_sum.add(step.losses);
            model = optim.step(train_cfg.lr, model, step.grads);
            bar.inc(rows.len() as u64);
        }
        let train_losses = loss_sum.means(t_count);
        let seconds = epoch_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        trained_samples += n;

        let eval_model = model.valid();
        let predictions = eval_model.predict(&data.valid, train_cfg.eval_batch_size, &device);
        let valid = MultiTaskMetrics::of(&graph, &predictions, &data.valid);
        let score = monitored(train_cfg.monitor, &valid);
        if !score.is_finite() {
            bail!("epoch {epoch}: validation score is {score} (diverged?); try a lower train.lr");
        }
        if state.stopping.observe(epoch, score) {
            save_bpk(&eval_model, &best_path)?;
        }
        let record = MultiTaskEpoch {
            epoch,
            train_losses,
            weights: state.balancer.weights().to_vec(),
            valid: valid.clone(),
            seconds,
            samples_per_second: n as f64 / seconds,
        };
        tracing::info!(
            epoch,
            train_loss = ?record.train_losses.iter().map(|l| format!("{l:.4}")).collect::<Vec<_>>(),
            weights = ?record.weights.iter().map(|w| format!("{w:.3}")).collect::<Vec<_>>(),
            valid = %valid,
            samples_per_s = format!("{:.0}", record.samples_per_second),
            best = state.stopping.best_epoch,
            "epoch done"
        );
        log_epoch(&metrics_log, &mut state.history, record)?;
        state.epochs_done = epoch;
        checkpoint.save(&model, &optim, None, &state)?;
    }
    let finished = plan.finished();
    let train_seconds = run_start.elapsed().as_secs_f64();

    let best = load_bpk(model.valid(), &best_path)?;
    let valid = best_valid(&state.history, state.stopping.best_epoch);
    let test_predictions = best.predict(&data.test, train_cfg.eval_batch_size, &device);
    let test = MultiTaskMetrics::of(&graph, &test_predictions, &data.test);
    tracing::info!(best_epoch = state.stopping.best_epoch, test = %test, "test split");

    let fusion_front = match &config.fusion {
        None => None,
        Some(fusion) => Some(fusion_report(
            &graph,
            &test_predictions,
            data,
            fusion,
            &run_dir,
        )?),
    };
    let artifact = run_dir.join("artifact");
    let summary = MultiTaskSummary {
        name: config.name.clone(),
        model: config.model.kind.name().to_owned(),
        balance: config.balance.name().to_owned(),
        tasks: graph.names(),
        device: device_used,
        best_epoch: state.stopping.best_epoch,
        epochs_run: state.epochs_done,
        valid,
        test,
        final_weights: state.balancer.weights().to_vec(),
        train_seconds,
        train_samples_per_second: trained_samples as f64 / train_seconds.max(1e-9),
        artifact: artifact.clone(),
        finished,
        fusion_front,
    };
    if finished {
        export_artifact(&artifact, config, data, &best, &summary, device_used)?;
    }
    Ok(MultiTaskRun {
        summary,
        test_predictions,
    })
}

/// Grid-searches fusion weights over the binary tasks' test predictions,
/// writes every weight set to `fusion.json` and returns the non-dominated ones.
fn fusion_report(
    graph: &TaskGraph,
    predictions: &TaskPredictions,
    data: &PreparedData,
    fusion: &super::fusion::FusionConfig,
    run_dir: &std::path::Path,
) -> Result<Vec<FusionPoint>> {
    let binary: Vec<usize> = (0..graph.len())
        .filter(|&t| graph.tasks[t].kind == TaskKind::Binary)
        .collect();
    if binary.len() < 2 {
        bail!("[fusion] needs at least two binary tasks to weigh");
    }
    let preds: Vec<Vec<f32>> = binary
        .iter()
        .map(|&t| predictions.predictions[t].clone())
        .collect();
    let targets: Vec<Vec<f32>> = binary
        .iter()
        .map(|&t| data.test.task_labels(graph.tasks[t].label))
        .collect();
    let points = grid_search(&preds, &targets, fusion).map_err(anyhow::Error::msg)?;
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
            "points": points,
        }))?,
    )
    .with_context(|| format!("writing {}", path.display()))?;
    let front: Vec<FusionPoint> = points.into_iter().filter(|p| p.non_dominated).collect();
    tracing::info!(
        sets = front.len(),
        file = %path.display(),
        "fusion weights: non-dominated sets (test AUC per target: {})",
        names.join(", ")
    );
    Ok(front)
}
