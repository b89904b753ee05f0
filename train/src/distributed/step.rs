//! One data-parallel step of a ranking model with sharded tables.
//!
//! Every rank runs the step of `crate::step` on its own `B/N` rows of the
//! global batch, with two differences:
//!
//! - the embedding rows come from their owners and their gradients go back
//!   to them (`exchange.rs`), where the row-sparse optimizer updates the
//!   owner's shard and the optimizer state beside it;
//! - the dense gradients are averaged over the ranks (one all-reduce of all
//!   of them, flattened) before the dense optimizer, which every rank then
//!   applies identically, so the dense parameters stay replicated.
//!
//! The result is the step one process would take on the whole global batch,
//! up to float summation order (`scripts/distributed_check.sh` checks it).

use std::collections::HashMap;
use std::sync::Arc;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use ember_models::layers::RowRecorder;
use ember_models::{Batch, RankingModel};

use super::comm::Collective;
use super::exchange::ShardedRows;
use super::shard::weights_of;
use crate::loss::bce_with_logits;
use crate::row_sparse::RowUpdate;
use crate::step::Stepper;

pub struct DistributedStepper {
    /// The single-process step's optimizers; its row-sparse optimizer
    /// holds this rank's shard state.
    pub stepper: Stepper,
    comm: Arc<dyn Collective>,
    rows: Arc<ShardedRows>,
}

impl DistributedStepper {
    /// `stepper` must use row-sparse embeddings: dense table gradients are
    /// what sharding exists to avoid.
    pub fn new(stepper: Stepper, comm: Arc<dyn Collective>) -> Self {
        assert!(
            stepper.row_sparse.is_some(),
            "distributed training needs embedding_update = \"row_sparse\""
        );
        let rows = Arc::new(ShardedRows::new(comm.clone()));
        Self {
            stepper,
            comm,
            rows,
        }
    }

    pub fn comm(&self) -> &dyn Collective {
        self.comm.as_ref()
    }

    /// The row source of the sharded tables (scoring looks rows up through
    /// it too).
    pub fn rows(&self) -> &Arc<ShardedRows> {
        &self.rows
    }

    /// Trains on this rank's part of a global batch of `global_batch` rows;
    /// returns the model and the mean loss over the global batch.
    pub fn step(
        &mut self,
        model: RankingModel,
        mut batch: Batch,
        global_batch: usize,
    ) -> (RankingModel, f32) {
        let ranks = self.comm.size() as f32;
        let recorder = batch.record_rows_with(RowRecorder::from_source(self.rows.clone()));
        let labels = batch.labels.clone();
        let loss = bce_with_logits(model.forward(&batch), labels);
        let gathered = recorder.take();
        let mut grads = loss.clone().backward();

        // Row gradients to their owners; each owner updates its shard.
        let params: Vec<ParamId> = gathered.iter().map(|g| g.param).collect();
        let shard_weights = weights_of(&model, &params);
        let mut updates = Vec::with_capacity(gathered.len());
        for g in gathered {
            let [u, d] = g.rows.dims();
            let grad = match g.rows.grad_remove(&mut grads) {
                Some(grad) => grad.into_data().try_to_vec::<f32>().expect("f32 gradients"),
                None => vec![0.0; u * d],
            };
            let owned = self
                .rows
                .return_gradients(g.param, &g.unique_host, &grad, d, 1.0 / ranks);
            let weight = &shard_weights[&g.param];
            let device = weight.device();
            let n = owned.rows.len();
            let unique = Tensor::<1, Int>::from_data(TensorData::new(owned.rows, [n]), &device);
            let rows = if n == 0 {
                Tensor::zeros([0, d], &device)
            } else {
                weight.clone().detach().select(0, unique.clone())
            };
            let mut grad = Tensor::<2>::from_data(TensorData::new(owned.grads, [n, d]), &device);
            // L2 on the touched rows, λ/B · Σ‖e‖² over the global batch,
            // added once by the owner (a rank-side term would count a row
            // once per rank that used it).
            if self.stepper.embedding_l2 > 0.0 && n > 0 {
                grad =
                    grad + rows.clone() * (2.0 * self.stepper.embedding_l2 / global_batch as f64);
            }
            updates.push(RowUpdate {
                param: g.param,
                table_rows: weight.dims()[0],
                unique,
                rows,
                grad,
            });
        }
        // The handles on the shards go before the update: a shard that
        // nothing else holds is written in place, not copied whole.
        drop(shard_weights);
        let lr = self.stepper.lr;
        let mut model = model;
        if let Some(sparse) = self.stepper.row_sparse.as_mut() {
            model = sparse.apply(lr, model, updates);
        }

        // Dense gradients: the mean over ranks, then the same step everywhere.
        let mut grads = GradientsParams::from_grads(grads, &model);
        average_gradients(&model, &mut grads, self.comm.as_ref());
        let model = self.stepper.optim.step(lr, model, grads);

        let mut mean_loss = [loss.into_scalar::<f32>()];
        self.comm.all_reduce_sum(&mut mean_loss);
        (model, mean_loss[0] / ranks)
    }
}

/// `grads ← (1/N) Σ_ranks grads` for every parameter of `model` that has a
/// gradient, in one all-reduce of them all flattened in module order.
pub fn average_gradients<M: Module>(model: &M, grads: &mut GradientsParams, comm: &dyn Collective) {
    struct Take<'a> {
        grads: &'a mut GradientsParams,
        taken: Vec<(ParamId, Vec<usize>, Device)>,
        flat: Vec<f32>,
    }
    impl ModuleVisitor for Take<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(grad) = self.grads.remove::<D>(param.id) {
                let shape = grad.dims().to_vec();
                let device = grad.device();
                let values = grad.into_data().try_to_vec::<f32>().expect("f32 gradients");
                self.flat.extend_from_slice(&values);
                self.taken.push((param.id, shape, device));
            }
        }
    }
    struct Put<'a> {
        grads: &'a mut GradientsParams,
        taken: HashMap<ParamId, (Vec<usize>, Device, Vec<f32>)>,
    }
    impl ModuleVisitor for Put<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some((shape, device, values)) = self.taken.remove(&param.id) {
                let grad = Tensor::<D>::from_data(TensorData::new(values, shape), &device);
                self.grads.register::<D>(param.id, grad);
            }
        }
    }
    let mut take = Take {
        grads,
        taken: Vec::new(),
        flat: Vec::new(),
    };
    model.visit(&mut take);
    let Take {
        grads,
        taken,
        mut flat,
        ..
    } = take;
    comm.all_reduce_sum(&mut flat);
    let scale = 1.0 / comm.size() as f32;
    let mut at = 0;
    let mut by_id = HashMap::with_capacity(taken.len());
    for (id, shape, device) in taken {
        let len: usize = shape.iter().product();
        let values = flat[at..at + len].iter().map(|g| g * scale).collect();
        at += len;
        by_id.insert(id, (shape, device, values));
    }
    model.visit(&mut Put {
        grads,
        taken: by_id,
    });
}
