//! `mpirun -np N ember train --config ... --distributed`: a ranking run
//! trained data-parallel with sharded tables.
//!
//! Each rank reads its own share of the input (`registry::load_share`: a
//! byte range of each text file, a row range of each Parquet file; the
//! ranks' fit statistics are all-gathered so that every rank fits the
//! preprocessor one process would) and trains on its rows, with a local
//! batch of `batch_size / N`: the global batch is the config's. Shares of
//! a file differ a little in rows, and every rank must take the same
//! number of steps, so each epoch every rank trains on a fresh random
//! subset of its rows as large as the smallest share. Validation and test
//! score each rank's rows through the sharded tables; scores and labels
//! are gathered, so the metrics are of all the rows and agree on every
//! rank. Each rank checkpoints its shard
//! and optimizer state under `<run>/rank-R-of-N/`; `--resume` continues
//! from there. At the end rank 0 gathers the best epoch's tables and writes
//! one artifact, `<run>/artifact`, that loads anywhere as a single-process
//! run's does.

use std::sync::Arc;

use anyhow::{Result, bail};
use burn::prelude::*;
use ember_datasets::registry::PreparedData;
use ember_models::metrics::EvalMetrics;
use ember_models::{Batch, RankingModel};
use rand::rngs::SmallRng;

use super::comm::Collective;
use super::evaluate::evaluate_sharded;
use super::shard::{RowShards, find_tables, gather_tables, shard_tables};
use super::step::DistributedStepper;
use crate::checkpoint::{Checkpoint, Optimizers};
use crate::config::{EmbeddingUpdate, RunConfig};
use crate::epoch::{EpochRecord, EpochStats, Schedule};
use crate::run_loop::{FitOptions, NoFamilyState, RunContext, TrainingFamily, train_epochs};
use crate::step::Stepper;
use crate::trainer::{RunSummary, export_ranking};

struct DistributedRanking<'a> {
    config: &'a RunConfig,
    data: &'a PreparedData,
    /// This rank's training rows this epoch: a subset of its share as
    /// large as the smallest rank's share.
    rows: Vec<usize>,
    /// Rows of the smallest rank's share of train.
    rows_per_rank: usize,
    seed: u64,
    stepper: DistributedStepper,
    global_batch: usize,
    device: Device,
    train_device: Device,
}

impl TrainingFamily for DistributedRanking<'_> {
    type Model = RankingModel;
    type Valid = EvalMetrics;
    type Line = EpochRecord;
    type State = NoFamilyState;

    fn title(&self) -> String {
        let c = self.stepper.comm();
        format!(
            "training {} on rank {} of {}",
            self.config.model.kind.name(),
            c.rank(),
            c.size()
        )
    }

    fn train_rows(&self) -> usize {
        self.rows_per_rank
    }

    fn begin_epoch(&mut self, epoch: usize) {
        use rand::SeedableRng;
        let held = self.data.train.num_rows;
        self.rows = if held == self.rows_per_rank {
            (0..held).collect()
        } else {
            let comm = self.stepper.comm();
            let seed = self.seed ^ ((epoch as u64) << 32) ^ comm.rank() as u64;
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut rows = rand::seq::index::sample(&mut rng, held, self.rows_per_rank).into_vec();
            rows.sort_unstable();
            rows
        };
    }

    fn step(
        &mut self,
        model: RankingModel,
        rows: &[usize],
        _rng: &mut SmallRng,
        _state: &mut NoFamilyState,
    ) -> (RankingModel, Tensor<1>) {
        let rows: Vec<usize> = rows.iter().map(|&r| self.rows[r]).collect();
        let batch = Batch::from_rows(&self.data.train, &rows, &self.train_device);
        // The last batch of an epoch may be short; all ranks' are equally so.
        let global = self
            .global_batch
            .min(rows.len() * self.stepper.comm().size());
        let (model, loss) = self.stepper.step(model, batch, global);
        (model, Tensor::from_floats([loss], &self.device))
    }

    fn validate(&self, model: &RankingModel) -> Result<EvalMetrics> {
        Ok(evaluate_sharded(
            model,
            &self.data.valid,
            self.config.train.eval_batch_size,
            &self.device,
            self.stepper.rows(),
            self.stepper.comm(),
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
            dense: &mut self.stepper.stepper.optim,
            row_sparse: self.stepper.stepper.row_sparse.as_mut(),
        }
    }
}

/// Trains `config` on this rank of `comm`; every rank returns the summary,
/// rank 0 writes the artifact.
pub fn fit_distributed(
    config: &RunConfig,
    data: &PreparedData,
    options: &FitOptions,
    comm: Arc<dyn Collective>,
) -> Result<RunSummary> {
    config.validate()?;
    let t = &config.train;
    let (rank, ranks) = (comm.rank(), comm.size());
    if t.embedding_update != EmbeddingUpdate::RowSparse {
        bail!(
            "distributed training shards the tables by rows and needs train.embedding_update = \"row_sparse\""
        );
    }
    if !t.batch_size.is_multiple_of(ranks) {
        bail!(
            "train.batch_size {} (the global batch) does not split evenly over {ranks} ranks",
            t.batch_size
        );
    }
    // `data` is this rank's share; every rank takes as many steps as the
    // smallest share allows.
    let rows_per_rank = comm
        .all_gather_count(data.train.num_rows)
        .into_iter()
        .min()
        .unwrap_or(0);
    if rows_per_rank == 0 {
        bail!("a rank's share of the training data has no rows: use fewer ranks or more data");
    }
    let started = RunContext::start_on_rank(config, t.seed, Some(comm.local_rank()))?;
    let main_dir = started.run_dir.clone();
    let run = RunContext {
        run_dir: main_dir.join(format!("rank-{rank}-of-{ranks}")),
        ..started
    };
    std::fs::create_dir_all(&run.run_dir)?;

    // Every rank draws the same whole model, finds its tables, keeps its rows.
    let full = config
        .model
        .init(&data.layout, &run.train_device)
        .map_err(anyhow::Error::msg)?;
    let probe_rows: Vec<usize> = (0..data.train.num_rows.min(64)).collect();
    let probe = Batch::from_rows(&data.train, &probe_rows, &run.train_device);
    let tables = find_tables(&full, &probe, |m: &RankingModel, b| m.forward(b));
    let model = shard_tables(full, &tables, RowShards::new(rank, ranks));

    // A resumed run continues only if every rank stopped at the same epoch.
    if options.resume {
        let mine = Checkpoint::new(&run.run_dir).epochs_done().unwrap_or(0);
        let all = comm.all_gather_f32(&[mine as f32]);
        if all.iter().any(|&e| e as usize != mine) {
            bail!(
                "the ranks' checkpoints stopped at different epochs ({all:?}); delete {} to start over",
                main_dir.display()
            );
        }
    }

    let mut family = DistributedRanking {
        config,
        data,
        rows: Vec::new(),
        rows_per_rank,
        seed: t.seed,
        stepper: DistributedStepper::new(Stepper::new(t), comm.clone()),
        global_batch: t.batch_size,
        device: run.device.clone(),
        train_device: run.train_device.clone(),
    };
    let schedule = Schedule {
        batch_size: t.batch_size / ranks,
        ..t.schedule()
    };
    let trained = train_epochs(
        &mut family,
        model,
        &run,
        schedule,
        NoFamilyState {},
        options,
    )?;
    let test = evaluate_sharded(
        &trained.best,
        &data.test,
        t.eval_batch_size,
        &run.device,
        family.stepper.rows(),
        comm.as_ref(),
    );
    tracing::info!(best_epoch = trained.best_epoch, test = %test, rank, "test split");
    let mut summary = RunSummary::of(
        config,
        run.device_used,
        &trained,
        test,
        main_dir.join("artifact"),
    );
    // Every rank's rows were trained on.
    summary.train_samples_per_second *= ranks as f64;
    // Every rank takes part in the gather; rank 0 gets the tables.
    if trained.finished
        && let Some(whole) = gather_tables(trained.best, &tables, comm.as_ref())?
    {
        export_ranking(config, data, &summary, &whole, run.device_used)?;
    }
    Ok(summary)
}
