//! The equivalence check of distributed training (`ember distributed-check`,
//! `scripts/distributed_check.sh`): N ranks training K steps on their parts
//! of fixed global batches must end where one process training on the whole
//! batches ends, dense parameters and table rows alike.
//!
//! Rank 0 runs the single-process reference itself (the plain [`Stepper`]
//! on a whole-table model), then every rank runs the sharded steps, the
//! shards are gathered onto rank 0, and rank 0 compares parameter by
//! parameter.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Result, bail};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use ember_datasets::synthetic::criteo_synth::{self, CriteoSynthModel};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::{Batch, ModelKind, RankingConfig, RankingModel};
use serde::{Deserialize, Serialize};

use super::comm::Collective;
use super::shard::{RowShards, find_tables, gather_tables, shard_tables};
use super::step::DistributedStepper;
use crate::bench::criteo_synth::scaled_vocab;
use crate::config::{EmbeddingUpdate, OptimizerKind, TrainConfig};
use crate::step::Stepper;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub optimizer: OptimizerKind,
    pub steps: usize,
    pub global_batch: usize,
    /// Rows of all tables together (criteo-synth's cardinalities scaled).
    pub table_rows: usize,
    pub embedding_l2: f64,
    pub lr: f64,
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Adam,
            steps: 10,
            global_batch: 512,
            table_rows: 20_000,
            embedding_l2: 0.0,
            lr: 1e-3,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub optimizer: OptimizerKind,
    pub ranks: usize,
    pub steps: usize,
    pub global_batch: usize,
    /// max |single − distributed| over the dense parameters.
    pub dense_max_abs_diff: f32,
    /// max |single − distributed| over every table row.
    pub table_max_abs_diff: f32,
    /// How far training moved the tables (max |after − before|): a check
    /// of parameters that never moved would prove nothing.
    pub table_max_move: f32,
    pub final_loss_single: f32,
    pub final_loss_distributed: f32,
}

impl CheckReport {
    pub fn passed(&self, tolerance: f32) -> bool {
        self.dense_max_abs_diff <= tolerance && self.table_max_abs_diff <= tolerance
    }
}

/// Runs the check on every rank of `comm`; the report comes back on rank 0.
pub fn run_check(comm: Arc<dyn Collective>, options: &CheckOptions) -> Result<Option<CheckReport>> {
    let ranks = comm.size();
    if !options.global_batch.is_multiple_of(ranks) {
        bail!(
            "global batch {} does not split evenly over {ranks} ranks",
            options.global_batch
        );
    }
    let vocab = scaled_vocab(options.table_rows);
    let layout = criteo_synth::layout_for(&vocab);
    let data = CriteoSynthModel::with_vocab(options.seed, &vocab)
        .generate(options.steps * options.global_batch, 0);
    let (device, _) = select_device(DeviceChoice::Flex);
    device.seed(options.seed);
    let train_device = device.autodiff();
    let model_config = RankingConfig {
        kind: ModelKind::DeepFm,
        embedding_dim: 8,
        hidden: vec![32, 32],
        ..Default::default()
    };
    let train_config = TrainConfig {
        lr: options.lr,
        batch_size: options.global_batch,
        optimizer: options.optimizer,
        embedding_update: EmbeddingUpdate::RowSparse,
        embedding_l2: options.embedding_l2,
        ..Default::default()
    };
    // Every rank draws the same initial model from the same seed.
    let initial = model_config
        .init(&layout, &train_device)
        .map_err(anyhow::Error::msg)?;
    let global_rows = |step: usize| -> Vec<usize> {
        (step * options.global_batch..(step + 1) * options.global_batch).collect()
    };
    let tables = find_tables(
        &initial,
        &Batch::from_rows(&data, &global_rows(0), &train_device),
        |m: &RankingModel, b| m.forward(b),
    );

    // The reference: one process, whole batches.
    let mut reference = None;
    if comm.rank() == 0 {
        let mut stepper = Stepper::new(&train_config);
        let mut model = initial.clone();
        let mut loss = 0.0;
        for step in 0..options.steps {
            let batch = Batch::from_rows(&data, &global_rows(step), &train_device);
            let l;
            (model, l) = stepper.step(model, batch);
            loss = l.into_scalar::<f32>();
        }
        reference = Some((model, loss));
    }

    // The same steps on N ranks, each on its B/N rows of every batch.
    let shards = RowShards::new(comm.rank(), ranks);
    let local = options.global_batch / ranks;
    let mut stepper = DistributedStepper::new(Stepper::new(&train_config), comm.clone());
    let mut model = shard_tables(initial.clone(), &tables, shards);
    let mut loss = 0.0;
    for step in 0..options.steps {
        let rows = global_rows(step)[comm.rank() * local..(comm.rank() + 1) * local].to_vec();
        let batch = Batch::from_rows(&data, &rows, &train_device);
        (model, loss) = stepper.step(model, batch, options.global_batch);
    }
    let Some(gathered) = gather_tables(model, &tables, comm.as_ref())? else {
        return Ok(None);
    };
    let (single, single_loss) = reference.expect("rank 0 ran the reference");

    let table_ids: Vec<ParamId> = tables.iter().map(|t| t.param).collect();
    let (a, b, start) = (values(&single), values(&gathered), values(&initial));
    let mut dense = 0f32;
    let mut table = 0f32;
    let mut moved = 0f32;
    for (id, x) in &a {
        let Some(y) = b.get(id) else {
            bail!("parameter {id:?} is missing from the distributed model");
        };
        let diff = max_abs_diff(x, y);
        if table_ids.contains(id) {
            table = table.max(diff);
            moved = moved.max(max_abs_diff(x, &start[id]));
        } else {
            dense = dense.max(diff);
        }
    }
    Ok(Some(CheckReport {
        optimizer: options.optimizer,
        ranks,
        steps: options.steps,
        global_batch: options.global_batch,
        dense_max_abs_diff: dense,
        table_max_abs_diff: table,
        table_max_move: moved,
        final_loss_single: single_loss,
        final_loss_distributed: loss,
    }))
}

fn max_abs_diff(x: &[f32], y: &[f32]) -> f32 {
    if x.len() != y.len() {
        return f32::INFINITY;
    }
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// Every float parameter's values, by id.
fn values<M: Module>(model: &M) -> HashMap<ParamId, Vec<f32>> {
    struct Read(HashMap<ParamId, Vec<f32>>);
    impl ModuleVisitor for Read {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 parameters");
            self.0.insert(param.id, v);
        }
    }
    let mut read = Read(HashMap::new());
    model.visit(&mut read);
    read.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::comm::SingleProcess;

    /// One rank: the sharded step (exchanges that stay local, the
    /// owner-side sum and L2) must reproduce the plain step.
    #[test]
    fn one_rank_matches_the_plain_step() {
        for optimizer in [OptimizerKind::Adam, OptimizerKind::Adagrad] {
            let options = CheckOptions {
                optimizer,
                steps: 3,
                global_batch: 64,
                table_rows: 2_000,
                embedding_l2: 1e-3,
                lr: 1e-2,
                ..Default::default()
            };
            let report = run_check(Arc::new(SingleProcess::default()), &options)
                .unwrap()
                .unwrap();
            assert!(report.table_max_move > 1e-3, "{report:?}");
            assert!(report.passed(1e-6), "{report:?}");
        }
    }
}
