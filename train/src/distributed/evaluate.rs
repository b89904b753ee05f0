//! Scoring a split with a model whose tables are sharded: every rank
//! scores the rows of the split it holds (its share of the file), looking
//! rows up from their owners as training does, and the scores, labels and
//! groups are gathered onto every rank, so each computes the same metrics
//! over all ranks' rows and early stopping decides alike.

use std::sync::Arc;

use burn::prelude::*;
use ember_datasets::EncodedData;
use ember_models::layers::RowRecorder;
use ember_models::metrics::EvalMetrics;
use ember_models::{Batch, RankingModel};

use super::comm::Collective;
use super::exchange::ShardedRows;

/// Click probabilities of this rank's rows of `data`, in row order.
pub fn predict_sharded(
    model: &RankingModel,
    data: &EncodedData,
    batch_size: usize,
    device: &Device,
    rows: &Arc<ShardedRows>,
    comm: &dyn Collective,
) -> Vec<f32> {
    let batch_size = batch_size.max(1);
    // Every rank runs the same number of batches, the most any rank needs:
    // each batch's lookups are collectives. A rank out of rows scores row
    // 0 (or, holding none, an all-OOV row) and drops the score.
    let mine = data.num_rows.div_ceil(batch_size);
    let batches = comm.all_gather_count(mine).into_iter().max().unwrap_or(0);
    let empty;
    let source = if data.num_rows == 0 {
        empty = EncodedData::placeholder_like(data);
        &empty
    } else {
        data
    };
    let mut scores = Vec::with_capacity(data.num_rows);
    for b in 0..batches {
        let chunk: Vec<usize> =
            (b * batch_size..((b + 1) * batch_size).min(data.num_rows)).collect();
        let batch_rows = if chunk.is_empty() {
            vec![0]
        } else {
            chunk.clone()
        };
        let mut batch = Batch::from_rows(source, &batch_rows, device);
        batch.record_rows_with(RowRecorder::from_source(rows.clone()));
        let probs = burn::tensor::activation::sigmoid(model.forward(&batch))
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 scores");
        if !chunk.is_empty() {
            scores.extend(probs);
        }
    }
    scores
}

/// As [`crate::evaluate::evaluate`], for a sharded model: the metrics of
/// every rank's rows of the split together, on every rank.
pub fn evaluate_sharded(
    model: &RankingModel,
    data: &EncodedData,
    batch_size: usize,
    device: &Device,
    rows: &Arc<ShardedRows>,
    comm: &dyn Collective,
) -> EvalMetrics {
    let probs = comm.all_gather_f32(&predict_sharded(
        model, data, batch_size, device, rows, comm,
    ));
    let labels = comm.all_gather_f32(&data.task_labels(0));
    let groups = data.groups.as_ref().map(|g| {
        let bytes: Vec<u8> = g.iter().flat_map(|x| x.to_le_bytes()).collect();
        comm.all_gather_bytes(&bytes)
            .concat()
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect::<Vec<u64>>()
    });
    EvalMetrics::of_labels(&probs, &labels, groups.as_deref())
}
