//! Training a ranking model: its step and validation in the shared loop
//! ([`crate::run_loop`]), then the best epoch's test metrics and export.

use std::path::PathBuf;

use anyhow::Result;
use burn::prelude::*;
use ember_datasets::registry::PreparedData;
use ember_models::artifact::Family;
use ember_models::device::DeviceChoice;
use ember_models::metrics::EvalMetrics;
use ember_models::{Batch, RankingModel};
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::Optimizers;
use crate::config::RunConfig;
use crate::epoch::{EpochRecord, EpochStats, epoch_rng};
use crate::evaluate::evaluate;
use crate::export::{TrainedNetwork, export_network};
use crate::id_dropout::IdDropout;
use crate::run_loop::{
    FitOptions, NoFamilyState, RunContext, Trained, TrainingFamily, train_epochs,
};
use crate::step::Stepper;

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

impl RunSummary {
    /// The summary of a finished (or capped) ranking run.
    pub(crate) fn of<F: TrainingFamily<Valid = EvalMetrics>>(
        config: &RunConfig,
        device: DeviceChoice,
        trained: &Trained<F>,
        test: EvalMetrics,
        artifact: PathBuf,
    ) -> Self {
        Self {
            name: config.common.name.clone(),
            model: config.model.kind.name().to_owned(),
            device,
            best_epoch: trained.best_epoch,
            epochs_run: trained.epochs_run,
            valid: trained.valid.clone(),
            test,
            train_seconds: trained.train_seconds,
            train_samples_per_second: trained.train_samples_per_second,
            artifact,
            finished: trained.finished,
        }
    }
}

/// Writes a ranking run's artifact to `summary.artifact`.
pub(crate) fn export_ranking(
    config: &RunConfig,
    data: &PreparedData,
    summary: &RunSummary,
    model: &RankingModel,
    trained_on: DeviceChoice,
) -> Result<()> {
    let network = TrainedNetwork {
        family: Family::Ranking,
        entry: serde_json::to_value(&config.model)?,
        network: model,
    };
    export_network(
        &summary.artifact,
        network,
        config,
        &config.data,
        data,
        summary,
        trained_on,
    )
}

/// Ranking's part of the training loop: BCE steps (dense or row-sparse
/// embeddings, optional id dropout) and AUC / logloss on validation.
struct RankingTraining<'a> {
    config: &'a RunConfig,
    data: &'a PreparedData,
    stepper: Stepper,
    id_dropout: Option<IdDropout>,
    /// Id dropout's stream for the epoch: a stream of its own, so turning
    /// id dropout on leaves the shuffle as it was.
    dropout_rng: SmallRng,
    run: &'a RunContext,
}

impl TrainingFamily for RankingTraining<'_> {
    type Model = RankingModel;
    type Valid = EvalMetrics;
    type Line = EpochRecord;
    type State = NoFamilyState;

    fn title(&self) -> String {
        format!("training {}", self.config.model.kind.name())
    }

    fn train_rows(&self) -> usize {
        self.data.train.num_rows
    }

    fn begin_epoch(&mut self, epoch: usize) {
        self.dropout_rng = epoch_rng(!self.config.train.seed, epoch);
    }

    fn step(
        &mut self,
        model: RankingModel,
        rows: &[usize],
        _rng: &mut SmallRng,
        _state: &mut NoFamilyState,
    ) -> (RankingModel, Tensor<1>) {
        let train_device = &self.run.train_device;
        let batch = match &self.id_dropout {
            Some(dropout) => {
                let dropped = dropout.take(&self.data.train, rows, &mut self.dropout_rng);
                Batch::from_rows(&dropped, &Vec::from_iter(0..rows.len()), train_device)
            }
            None => Batch::from_rows(&self.data.train, rows, train_device),
        };
        self.stepper.step(model, batch)
    }

    fn validate(&self, model: &RankingModel) -> Result<EvalMetrics> {
        Ok(evaluate(
            model,
            &self.data.valid,
            self.config.train.eval_batch_size,
            &self.run.device,
        ))
    }

    fn score(&self, m: &EvalMetrics) -> f64 {
        self.config.train.monitor.score(m)
    }

    fn line(&self, stats: EpochStats, valid: EvalMetrics, _: &NoFamilyState) -> EpochRecord {
        EpochRecord::new(stats, valid)
    }

    fn optimizers(&mut self) -> Optimizers<'_> {
        Optimizers {
            dense: &mut self.stepper.optim,
            row_sparse: self.stepper.row_sparse.as_mut(),
        }
    }
}

/// Trains the run described by `config` on `data`, then exports it.
pub fn fit(config: &RunConfig, data: &PreparedData, options: &FitOptions) -> Result<RunSummary> {
    config.validate()?;
    let t = &config.train;
    let run = RunContext::start(config, t.seed)?;
    let model = config
        .model
        .init(&data.layout, &run.train_device)
        .map_err(anyhow::Error::msg)?;
    let mut family = RankingTraining {
        config,
        data,
        stepper: Stepper::new(t),
        id_dropout: IdDropout::new(&data.layout, &t.id_dropout)?,
        dropout_rng: epoch_rng(!t.seed, 0),
        run: &run,
    };
    let trained = train_epochs(
        &mut family,
        model,
        &run,
        t.schedule(),
        NoFamilyState {},
        options,
    )?;

    let test = evaluate(&trained.best, &data.test, t.eval_batch_size, &run.device);
    tracing::info!(best_epoch = trained.best_epoch, test = %test, "test split");
    let summary = RunSummary::of(config, run.device_used, &trained, test, run.artifact_dir());
    if trained.finished {
        export_ranking(config, data, &summary, &trained.best, run.device_used)?;
    }
    Ok(summary)
}
