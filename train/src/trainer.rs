//! The training loop for ranking models: epochs of shuffled mini-batches,
//! validation after each epoch, early stopping, checkpoints, and export.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use ember_datasets::registry::PreparedData;
use ember_models::Batch;
use ember_models::artifact::{load_bpk, save_bpk};
use ember_models::device::{DeviceChoice, select_device};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, TrainState};
use crate::config::{Monitor, RunConfig};
use crate::early_stopping::epoch_bar;
use crate::epoch::{
    EpochPlan, EpochRecord, LossSum, best_valid, epoch_rng, log_epoch, shuffle_rows,
};
use crate::evaluate::{EvalMetrics, evaluate};
use crate::export::export_artifact;
use crate::id_dropout::IdDropout;
use crate::step::Stepper;

#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Continue from the run directory's last checkpoint, if there is one.
    pub resume: bool,
    /// Stop after this many epochs of this invocation (tests use it to
    /// simulate a killed run); `None` = run to the end.
    pub max_epochs_this_call: Option<usize>,
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub name: String,
    pub model: String,
    pub device: DeviceChoice,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub valid: EvalMetrics,
    pub test: EvalMetrics,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    pub artifact: PathBuf,
    pub finished: bool,
}

/// Higher-is-better score of the monitored metric.
fn monitored(monitor: Monitor, m: &EvalMetrics) -> f64 {
    match monitor {
        Monitor::Auc => m.auc.unwrap_or(0.5),
        Monitor::Logloss => -m.logloss,
    }
}

/// Trains the run described by `config` on `data`, then exports it.
pub fn fit(config: &RunConfig, data: &PreparedData, options: &FitOptions) -> Result<RunSummary> {
    config.validate()?;
    let train_cfg = &config.train;
    let run_dir = config.run_dir();
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("creating run directory {}", run_dir.display()))?;
    let (device, device_used) = select_device(config.device);
    device.seed(train_cfg.seed);
    let train_device = device.clone().autodiff();

    let mut model = config
        .model
        .init(&data.layout, &train_device)
        .map_err(anyhow::Error::msg)?;
    let mut stepper = Stepper::new(train_cfg);
    let checkpoint = Checkpoint::new(&run_dir);
    let mut state: TrainState = TrainState::default();
    if options.resume && checkpoint.exists() {
        let (m, o, s) = checkpoint.load(
            model,
            stepper.optim,
            stepper.row_sparse.as_mut(),
            &train_device,
        )?;
        (model, stepper.optim, state) = (m, o, s);
        tracing::info!(epochs_done = state.epochs_done, "resumed from checkpoint");
    }
    let best_path = run_dir.join("best.bpk");
    let metrics_log = run_dir.join("metrics.jsonl");
    tracing::info!(
        run = %config.name,
        model = config.model.kind.name(),
        device = %device_used,
        params = model.num_params(),
        train_rows = data.train.num_rows,
        "training"
    );

    let id_dropout = IdDropout::new(&data.layout, &train_cfg.id_dropout)?;
    let n = data.train.num_rows;
    let mut order: Vec<usize> = (0..n).collect();
    let run_start = Instant::now();
    let mut trained_samples = 0usize;
    let mut plan = EpochPlan::new(train_cfg.epochs, train_cfg.patience, options);
    while let Some(epoch) = plan.next(state.epochs_done, &state.stopping) {
        shuffle_rows(&mut order, &mut epoch_rng(train_cfg.seed, epoch));
        // A stream of its own, so turning id dropout on leaves the order as it was.
        let mut dropout_rng = epoch_rng(!train_cfg.seed, epoch);
        let bar = epoch_bar(n, epoch, "rows");
        let epoch_start = Instant::now();
        let mut loss_sum = LossSum::default();
        for rows in order.chunks(train_cfg.batch_size) {
            let batch = match &id_dropout {
                Some(dropout) => {
                    let dropped = dropout.take(&data.train, rows, &mut dropout_rng);
                    Batch::from_rows(&dropped, &Vec::from_iter(0..rows.len()), &train_device)
                }
                None => Batch::from_rows(&data.train, rows, &train_device),
            };
            let loss;
            (model, loss) = stepper.step(model, batch);
            loss_sum.add(loss);
            bar.inc(rows.len() as u64);
        }
        let train_loss = loss_sum.means(1)[0];
        let seconds = epoch_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        trained_samples += n;

        let eval_model = model.valid();
        let valid = evaluate(&eval_model, &data.valid, train_cfg.eval_batch_size, &device);
        let score = monitored(train_cfg.monitor, &valid);
        if state.stopping.observe(epoch, score) {
            save_bpk(&eval_model, &best_path)?;
        }
        let record = EpochRecord {
            epoch,
            train_loss,
            valid: valid.clone(),
            seconds,
            samples_per_second: n as f64 / seconds,
        };
        tracing::info!(
            epoch,
            train_loss = format!("{train_loss:.4}"),
            valid = %valid,
            samples_per_s = format!("{:.0}", record.samples_per_second),
            best = state.stopping.best_epoch,
            "epoch done"
        );
        log_epoch(&metrics_log, &mut state.history, record)?;
        state.epochs_done = epoch;
        checkpoint.save(&model, &stepper.optim, stepper.row_sparse.as_ref(), &state)?;
    }
    let finished = plan.finished();
    let train_seconds = run_start.elapsed().as_secs_f64();

    // The best epoch's weights, in inference mode, on the plain device.
    let best = load_bpk(model.valid(), &best_path)?;
    let valid = best_valid(&state.history, state.stopping.best_epoch);
    let test = evaluate(&best, &data.test, train_cfg.eval_batch_size, &device);
    tracing::info!(best_epoch = state.stopping.best_epoch, test = %test, "test split");
    let artifact = run_dir.join("artifact");
    let summary = RunSummary {
        name: config.name.clone(),
        model: config.model.kind.name().to_owned(),
        device: device_used,
        best_epoch: state.stopping.best_epoch,
        epochs_run: state.epochs_done,
        valid,
        test,
        train_seconds,
        train_samples_per_second: trained_samples as f64 / train_seconds.max(1e-9),
        artifact: artifact.clone(),
        finished,
    };
    if finished {
        export_artifact(&artifact, config, data, &best, &summary, device_used)?;
    }
    Ok(summary)
}
