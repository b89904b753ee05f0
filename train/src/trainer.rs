//! The training loop for ranking models: epochs of shuffled mini-batches,
//! validation after each epoch, early stopping, checkpoints, and export.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::prelude::*;
use ember_datasets::registry::PreparedData;
use ember_models::Batch;
use ember_models::artifact::{load_bpk, save_bpk};
use ember_models::device::{DeviceChoice, select_device};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::SmallRng};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, EpochRecord, TrainState};
use crate::config::{Monitor, RunConfig};
use crate::early_stopping::epoch_bar;
use crate::evaluate::{EvalMetrics, evaluate};
use crate::export::export_artifact;
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

    let n = data.train.num_rows;
    let mut order: Vec<usize> = (0..n).collect();
    let run_start = Instant::now();
    let mut trained_samples = 0usize;
    let mut epochs_this_call = 0usize;
    let mut finished = true;
    while state.epochs_done < train_cfg.epochs && !state.stopping.exhausted(train_cfg.patience) {
        if options.max_epochs_this_call == Some(epochs_this_call) {
            finished = false;
            break;
        }
        let epoch = state.epochs_done + 1;
        // Seeded by epoch, so a resumed run sees the same order it would have.
        order.sort_unstable();
        order.shuffle(&mut SmallRng::seed_from_u64(
            train_cfg.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9),
        ));
        let bar = epoch_bar(n, epoch, "rows");
        let epoch_start = Instant::now();
        // Summed on the device and read once per epoch: no host sync per step.
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut steps = 0usize;
        for rows in order.chunks(train_cfg.batch_size) {
            let batch = Batch::from_rows(&data.train, rows, &train_device);
            let loss;
            (model, loss) = stepper.step(model, batch);
            loss_sum = Some(match loss_sum {
                Some(sum) => sum + loss,
                None => loss,
            });
            steps += 1;
            bar.inc(rows.len() as u64);
        }
        let train_loss = loss_sum
            .map(|s| s.into_scalar::<f32>() as f64 / steps as f64)
            .unwrap_or(f64::NAN);
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
        append_line(&metrics_log, &serde_json::to_string(&record)?)?;
        state.history.push(record);
        state.epochs_done = epoch;
        checkpoint.save(&model, &stepper.optim, stepper.row_sparse.as_ref(), &state)?;
        epochs_this_call += 1;
    }
    let train_seconds = run_start.elapsed().as_secs_f64();

    // The best epoch's weights, in inference mode, on the plain device.
    let best = load_bpk(model.valid(), &best_path)?;
    let valid = state
        .history
        .iter()
        .find(|r| r.epoch == state.stopping.best_epoch)
        .map(|r| r.valid.clone())
        .unwrap_or_default();
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

pub(crate) fn append_line(path: &std::path::Path, line: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("writing {}", path.display()))
}
