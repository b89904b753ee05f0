//! One optimisation step of a ranking model: forward, BCE loss, backward,
//! then the dense optimizer on dense parameters and, with row-sparse
//! embeddings, the row-sparse optimizer on the touched table rows.
//!
//! Shared by the training loop and the throughput benchmark so that both
//! time the same work.

use burn::optim::{AdaGradConfig, AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use ember_models::layers::{GatheredRows, RowRecorder};
use ember_models::{Batch, RankingModel};

use crate::config::{EmbeddingUpdate, OptimizerKind, TrainConfig};
use crate::loss::bce_with_logits;
use crate::row_sparse::{RowSparseConfig, RowSparseOptimizer};

/// Burn's optimizer for the parameters that get dense gradients.
pub(crate) fn dense_optimizer(config: &TrainConfig) -> ModuleOptimizer {
    match config.optimizer {
        OptimizerKind::Adam | OptimizerKind::LazyAdam => {
            AdamConfig::new().with_epsilon(config.epsilon).init()
        }
        OptimizerKind::Adagrad => AdaGradConfig::new().with_epsilon(config.epsilon).init(),
    }
}

pub struct Stepper {
    pub lr: f64,
    /// Burn's optimizer, for every parameter that gets a dense gradient.
    pub optim: ModuleOptimizer,
    /// Present with `embedding_update = "row_sparse"`.
    pub row_sparse: Option<RowSparseOptimizer>,
    /// λ of the L2 penalty on the embedding rows a batch touches.
    pub embedding_l2: f64,
}

impl Stepper {
    pub fn new(config: &TrainConfig) -> Self {
        let optim = dense_optimizer(config);
        let row_sparse = (config.embedding_update == EmbeddingUpdate::RowSparse).then(|| {
            RowSparseOptimizer::new(RowSparseConfig::new(config.optimizer, config.epsilon))
        });
        Self {
            lr: config.lr,
            optim,
            row_sparse,
            embedding_l2: config.embedding_l2,
        }
    }

    /// Trains `model` on `batch` once; returns the updated model and the
    /// batch's mean loss, still on the device (reading it would sync).
    pub fn step(&mut self, model: RankingModel, mut batch: Batch) -> (RankingModel, Tensor<1>) {
        // Row-sparse lookups record the touched rows for their optimizer;
        // dense tables with the L2 record them (attached to the tables)
        // for the penalty alone.
        let recorder = if self.row_sparse.is_some() {
            Some(batch.record_rows())
        } else if self.embedding_l2 > 0.0 {
            Some(batch.record_rows_with(RowRecorder::attached()))
        } else {
            None
        };
        let labels = batch.labels.clone();
        let loss = bce_with_logits(model.forward(&batch), labels);
        let gathered = recorder.map(|r| r.take()).unwrap_or_default();
        let objective = match touched_rows_l2(&gathered, self.embedding_l2, batch.size()) {
            Some(penalty) => loss.clone() + penalty,
            None => loss.clone(),
        };
        let mut grads = objective.backward();
        let mut model = model;
        if let Some(sparse) = self.row_sparse.as_mut() {
            model = sparse.step(self.lr, model, gathered, &mut grads);
        }
        let grads = GradientsParams::from_grads(grads, &model);
        let model = self.optim.step(self.lr, model, grads);
        (model, loss.detach())
    }
}

/// L2 on the rows a batch touches only ("lazy" regularisation, as industrial
/// trainers and DIN's mini-batch aware regulariser do, without its per-id
/// frequency weights): `λ/B · Σ_tables Σ_{r ∈ unique} ‖E_r‖²`, divided by the
/// batch size so that its weight does not depend on it. `None` when λ is 0
/// or nothing was recorded. The same term for row-sparse and dense tables:
/// only where its gradient goes differs (the recorded rows, or through them
/// to the whole table).
pub(crate) fn touched_rows_l2(
    gathered: &[GatheredRows],
    lambda: f64,
    batch_size: usize,
) -> Option<Tensor<1>> {
    if lambda <= 0.0 || gathered.is_empty() {
        return None;
    }
    let scale = lambda / batch_size as f64;
    gathered
        .iter()
        .map(|g| g.rows.clone().square().sum() * scale)
        .reduce(|a, b| a + b)
}
