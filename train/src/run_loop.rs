//! The training skeleton, written once: the run directory, device and
//! seed, resume from the last checkpoint, epochs of shuffled batches with a
//! progress bar, validation after each epoch, early stopping that keeps the
//! best epoch's weights, the metrics log, and a checkpoint after every
//! epoch. A model family (ranking, multi-task, retrieval) supplies only what
//! differs, through [`TrainingFamily`]: its step, its validation metrics
//! and its line in `metrics.jsonl`. Each family then tests the best epoch's
//! weights and exports them its own way (`trainer.rs`,
//! `multitask/trainer.rs`, `retrieval/trainer.rs`). The RL mixer's loop is
//! not an epoch loop (episodes of a simulator feeding a replay buffer) and
//! keeps its own (`rl/dqn.rs`).

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::prelude::*;
use ember_models::artifact::{load_bpk, save_bpk};
use ember_models::device::{DeviceChoice, select_device_for_rank};
use rand::Rng;
use rand::rngs::SmallRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, Optimizers};
use crate::early_stopping::{EarlyStopping, epoch_bar};
use crate::epoch::{
    EpochLine, EpochPlan, EpochStats, LossSum, Schedule, best_valid, epoch_rng, log_epoch,
    shuffle_rows,
};
use crate::run_config::Run;

/// Where a run trains: its directory and devices, prepared once.
pub struct RunContext {
    pub name: String,
    pub run_dir: PathBuf,
    /// The plain device: validation, test and export run here.
    pub device: Device,
    /// The same device with autodiff: training runs here.
    pub train_device: Device,
    /// The backend actually used (`auto` resolved).
    pub device_used: DeviceChoice,
    pub seed: u64,
}

impl RunContext {
    /// Creates `config`'s run directory and selects and seeds its device.
    pub fn start<F>(config: &Run<F>, seed: u64) -> Result<Self> {
        Self::start_on_rank(config, seed, None)
    }

    /// As [`RunContext::start`] for a rank of a distributed job, whose
    /// `local_rank` picks its GPU ([`select_device_for_rank`]).
    pub fn start_on_rank<F>(config: &Run<F>, seed: u64, local_rank: Option<usize>) -> Result<Self> {
        let run_dir = config.run_dir();
        std::fs::create_dir_all(&run_dir)
            .with_context(|| format!("creating run directory {}", run_dir.display()))?;
        let (device, device_used) = select_device_for_rank(config.common.device, local_rank);
        device.seed(seed);
        Ok(Self {
            name: config.common.name.clone(),
            train_device: device.clone().autodiff(),
            run_dir,
            device,
            device_used,
            seed,
        })
    }

    /// Where the finished run's artifact goes.
    pub fn artifact_dir(&self) -> PathBuf {
        self.run_dir.join("artifact")
    }
}

/// How a `fit` call runs.
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Continue from the run directory's last checkpoint, if there is one.
    pub resume: bool,
    /// Stop after this many epochs of this invocation (tests use it to
    /// simulate a killed run); `None` = run to the end.
    pub max_epochs_this_call: Option<usize>,
}

/// Nothing beyond the loop's own state (ranking and retrieval runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NoFamilyState {}

/// Everything besides weights that a resumed run needs. `L` is what one
/// epoch records, `S` the family's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState<L, S = NoFamilyState> {
    /// Epochs completed (1-based count).
    pub epochs_done: usize,
    #[serde(flatten)]
    pub stopping: EarlyStopping,
    pub history: Vec<L>,
    #[serde(flatten)]
    pub family: S,
}

impl<L, S> TrainState<L, S> {
    pub fn new(family: S) -> Self {
        Self {
            epochs_done: 0,
            stopping: EarlyStopping::default(),
            history: Vec::new(),
            family,
        }
    }
}

/// What a model family supplies to the shared loop.
pub trait TrainingFamily {
    type Model: Module;
    /// Validation metrics of one epoch.
    type Valid: Clone + Default + Display + Serialize + DeserializeOwned;
    /// One epoch's line in `metrics.jsonl` and the checkpointed history.
    type Line: EpochLine<Valid = Self::Valid> + DeserializeOwned;
    /// What a resumed run needs besides the weights, the optimizers and
    /// the loop's own bookkeeping (e.g. GradNorm's loss weights);
    /// flattened into the checkpoint's `state.json`.
    type State: Serialize + DeserializeOwned;

    /// One line for the log when training starts ("training deepfm").
    fn title(&self) -> String;
    /// What a training row is called in the progress bar.
    fn unit(&self) -> &'static str {
        "rows"
    }
    fn train_rows(&self) -> usize;
    /// How many losses a step reports (tasks of a multi-task model).
    fn loss_width(&self) -> usize {
        1
    }
    /// Called once per epoch before its first step (e.g. to seed a random
    /// stream of the family's own for the epoch).
    fn begin_epoch(&mut self, _epoch: usize) {}
    /// Trains `model` on the training rows `rows` once. `rng` is the
    /// epoch's stream, after the shuffle drew from it. Returns the updated
    /// model and the step's loss(es), still on the device.
    fn step(
        &mut self,
        model: Self::Model,
        rows: &[usize],
        rng: &mut SmallRng,
        state: &mut Self::State,
    ) -> (Self::Model, Tensor<1>);
    /// Measures `model` (in inference mode, on the plain device) on the
    /// validation split.
    fn validate(&self, model: &Self::Model) -> Result<Self::Valid>;
    /// The score early stopping maximises.
    fn score(&self, valid: &Self::Valid) -> f64;
    fn line(&self, stats: EpochStats, valid: Self::Valid, state: &Self::State) -> Self::Line;
    fn optimizers(&mut self) -> Optimizers<'_>;
}

/// A finished (or capped) run of the loop.
pub struct Trained<F: TrainingFamily> {
    /// The best epoch's weights, in inference mode, on the plain device.
    pub best: F::Model,
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// The best epoch's validation metrics.
    pub valid: F::Valid,
    /// False when [`FitOptions::max_epochs_this_call`] stopped the run:
    /// it is resumable and nothing should be exported.
    pub finished: bool,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    pub state: F::State,
}

/// Runs epochs of `family` from `model` (on the training device) until the
/// budget or patience runs out, resuming from the run's checkpoint when
/// `options.resume` asks.
pub fn train_epochs<F: TrainingFamily>(
    family: &mut F,
    mut model: F::Model,
    run: &RunContext,
    schedule: Schedule,
    initial: F::State,
    options: &FitOptions,
) -> Result<Trained<F>> {
    let checkpoint = Checkpoint::new(&run.run_dir);
    let mut state: TrainState<F::Line, F::State> = TrainState::new(initial);
    if options.resume && checkpoint.exists() {
        (model, state) = checkpoint.load(model, family.optimizers(), &run.train_device)?;
        tracing::info!(epochs_done = state.epochs_done, "resumed from checkpoint");
    }
    let best_path = run.run_dir.join("best.bpk");
    let metrics_log = run.run_dir.join("metrics.jsonl");
    let n = family.train_rows();
    tracing::info!(
        run = %run.name,
        device = %run.device_used,
        params = model.num_params(),
        train_rows = n,
        "{}",
        family.title()
    );

    let mut order: Vec<usize> = (0..n).collect();
    let run_start = Instant::now();
    let mut trained_samples = 0usize;
    let mut plan = EpochPlan::new(
        schedule.epochs,
        schedule.patience,
        options.max_epochs_this_call,
    );
    while let Some(epoch) = plan.next(state.epochs_done, &state.stopping) {
        let mut rng = epoch_rng(run.seed, epoch);
        // The device's generator (dropout masks) restarts from the epoch's
        // own seed, so a run resumed at this epoch draws what the
        // uninterrupted run drew: on the flex backend, runs are bit-identical
        // either way (measured; README, "Resume").
        // (A stream of its own: the shuffle is as it was without it.)
        run.device.seed(epoch_rng(!run.seed, epoch).random::<u64>());
        shuffle_rows(&mut order, &mut rng);
        family.begin_epoch(epoch);
        let bar = epoch_bar(n, epoch, family.unit());
        let epoch_start = Instant::now();
        let mut loss_sum = LossSum::default();
        for rows in order.chunks(schedule.batch_size) {
            let loss;
            (model, loss) = family.step(model, rows, &mut rng, &mut state.family);
            loss_sum.add(loss);
            bar.inc(rows.len() as u64);
        }
        let train_losses = loss_sum.means(family.loss_width());
        let seconds = epoch_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        trained_samples += n;
        if train_losses.iter().any(|l| !l.is_finite()) {
            let step = loss_sum
                .first_non_finite_step()
                .map_or_else(String::new, |s| {
                    format!(", step {s} of {}", n.div_ceil(schedule.batch_size))
                });
            bail!(
                "epoch {epoch}{step}: training loss is not finite (epoch mean {train_losses:?}; diverged?); try a lower train.lr. The last checkpoint (epoch {}) is kept",
                state.epochs_done
            );
        }

        let eval_model = model.valid();
        let valid = family.validate(&eval_model)?;
        let score = family.score(&valid);
        if !score.is_finite() {
            bail!(
                "epoch {epoch}: validation score is {score} (diverged?); try a lower train.lr. The last checkpoint (epoch {}) is kept",
                state.epochs_done
            );
        }
        if state.stopping.observe(epoch, score) {
            save_bpk(&eval_model, &best_path)?;
        }
        let stats = EpochStats {
            epoch,
            train_losses,
            seconds,
            samples_per_second: n as f64 / seconds,
        };
        tracing::info!(
            epoch,
            train_loss = ?stats.train_losses.iter().map(|l| format!("{l:.4}")).collect::<Vec<_>>(),
            valid = %valid,
            per_s = format!("{:.0}", stats.samples_per_second),
            best = state.stopping.best_epoch,
            "epoch done"
        );
        let line = family.line(stats, valid, &state.family);
        log_epoch(&metrics_log, &mut state.history, line)?;
        state.epochs_done = epoch;
        checkpoint.save(&model, family.optimizers(), &state)?;
    }
    let train_seconds = run_start.elapsed().as_secs_f64();
    Ok(Trained {
        best: load_bpk(model.valid(), &best_path)?,
        best_epoch: state.stopping.best_epoch,
        epochs_run: state.epochs_done,
        valid: best_valid(&state.history, state.stopping.best_epoch),
        finished: plan.finished(),
        train_seconds,
        train_samples_per_second: trained_samples as f64 / train_seconds.max(1e-9),
        state: state.family,
    })
}
