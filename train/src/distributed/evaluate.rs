//! Scoring a split with a model whose tables are sharded: every rank
//! scores its contiguous slice of the rows, looking rows up from their
//! owners as training does, and the scores are gathered onto every rank,
//! so each computes the same metrics and early stopping decides alike.

use std::sync::Arc;

use burn::prelude::*;
use ember_datasets::EncodedData;
use ember_models::layers::RowRecorder;
use ember_models::metrics::EvalMetrics;
use ember_models::{Batch, RankingModel};

use super::comm::Collective;
use super::exchange::ShardedRows;

/// Click probabilities of every row of `data`, on every rank.
pub fn predict_sharded(
    model: &RankingModel,
    data: &EncodedData,
    batch_size: usize,
    device: &Device,
    rows: &Arc<ShardedRows>,
    comm: &dyn Collective,
) -> Vec<f32> {
    let (rank, ranks) = (comm.rank(), comm.size());
    let per_rank = data.num_rows.div_ceil(ranks);
    let start = (rank * per_rank).min(data.num_rows);
    let mine: Vec<usize> = (start..((rank + 1) * per_rank).min(data.num_rows)).collect();
    let batch_size = batch_size.max(1);
    // Every rank runs the same number of batches: each batch's lookups are
    // collectives. A rank out of rows scores row 0 and drops the score.
    let batches = per_rank.div_ceil(batch_size);
    let mut scores = Vec::with_capacity(mine.len());
    for b in 0..batches {
        let chunk = mine
            .get(b * batch_size..((b + 1) * batch_size).min(mine.len()))
            .unwrap_or(&[]);
        let placeholder = [0usize];
        let batch_rows = if chunk.is_empty() {
            &placeholder[..]
        } else {
            chunk
        };
        let mut batch = Batch::from_rows(data, batch_rows, device);
        batch.record_rows_with(RowRecorder::from_source(rows.clone()));
        let probs = burn::tensor::activation::sigmoid(model.forward(&batch))
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 scores");
        if !chunk.is_empty() {
            scores.extend(probs);
        }
    }
    comm.all_gather_f32(&scores)
}

/// As [`crate::evaluate::evaluate`], for a sharded model.
pub fn evaluate_sharded(
    model: &RankingModel,
    data: &EncodedData,
    batch_size: usize,
    device: &Device,
    rows: &Arc<ShardedRows>,
    comm: &dyn Collective,
) -> EvalMetrics {
    let probs = predict_sharded(model, data, batch_size, device, rows, comm);
    EvalMetrics::of(&probs, data)
}
