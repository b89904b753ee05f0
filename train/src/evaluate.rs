//! Scoring a split with a ranking model and measuring it.

use burn::prelude::*;
use ember_datasets::EncodedData;
use ember_models::RankingModel;
use ember_models::metrics::EvalMetrics;

/// Scores `data` with `model` (already in inference mode) and measures it.
pub fn evaluate(
    model: &RankingModel,
    data: &EncodedData,
    batch_size: usize,
    device: &Device,
) -> EvalMetrics {
    let probs = model.predict_proba(data, batch_size, device);
    EvalMetrics::of(&probs, data)
}
