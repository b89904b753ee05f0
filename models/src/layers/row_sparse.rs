//! Row-sparse embedding lookups: the cost of a training step depends on the
//! rows a batch touches, not on the vocabulary.
//!
//! A dense lookup (`E.gather(ids)`) makes autodiff produce a gradient of the
//! whole table, `[V, d]`, and the optimizer then updates all `V` rows. Here a
//! table instead
//!
//! 1. dedupes the batch's ids on the host (they are there anyway: the batch
//!    was built from host rows), giving `unique [U]` and `local [N]` with
//!    `ids = unique[local]`;
//! 2. gathers `R = E[unique]`, `[U, d]`, detached from `E` and made a fresh
//!    leaf that requires a gradient;
//! 3. looks the batch up in `R` (`R[local]`, [`take_rows`]), so backward yields
//!    `∂L/∂R`, `[U, d]`, and nothing for `E`.
//!
//! The trainer hands the recorded `(table, unique, R)` triples and their
//! gradients to the row-sparse optimizer (`ember_train::row_sparse`), which
//! updates exactly the `U` rows and their optimizer state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use burn::module::ParamId;
use burn::prelude::*;
use burn::tensor::TensorData;

use super::embedding::take_rows;

/// The rows of one table that one batch uses.
#[derive(Debug, Clone)]
pub struct GatheredRows {
    /// The table's weight parameter.
    pub param: ParamId,
    /// Rows in the whole table (sizes the optimizer state).
    pub table_rows: usize,
    /// `[U]` distinct row ids, in first-seen order.
    pub unique: Tensor<1, Int>,
    /// `[U, d]` = `E[unique]`, an autodiff leaf: its gradient is the table's
    /// gradient restricted to the touched rows.
    pub rows: Tensor<2>,
}

/// Collects the [`GatheredRows`] of every table a forward pass looks up.
///
/// Shared through an `Arc` because the batch holds one handle and the trainer
/// the other; the lock is taken once per table per step.
#[derive(Debug, Clone, Default)]
pub struct RowRecorder(Arc<Mutex<Vec<GatheredRows>>>);

impl RowRecorder {
    pub fn push(&self, rows: GatheredRows) {
        self.0.lock().expect("row recorder poisoned").push(rows);
    }

    /// The rows recorded since the last call.
    pub fn take(&self) -> Vec<GatheredRows> {
        std::mem::take(&mut *self.0.lock().expect("row recorder poisoned"))
    }
}

/// `ids = unique[local]`: the distinct ids in first-seen order, and each id's
/// position among them.
pub fn dedup_ids(ids: &[i32]) -> (Vec<i32>, Vec<i32>) {
    let mut position: HashMap<i32, i32> = HashMap::with_capacity(ids.len() / 2 + 1);
    let mut unique = Vec::new();
    let local = ids
        .iter()
        .map(|&id| {
            *position.entry(id).or_insert_with(|| {
                unique.push(id);
                unique.len() as i32 - 1
            })
        })
        .collect();
    (unique, local)
}

/// Gathers the distinct rows of `weight` that `ids` use as a fresh leaf,
/// records them, and returns `weight[ids]`, `[N, d]`, computed from that leaf.
pub fn lookup_row_sparse(
    param: ParamId,
    weight: Tensor<2>,
    ids: &[i32],
    recorder: &RowRecorder,
) -> Tensor<2> {
    let device = weight.device();
    let [table_rows, _] = weight.dims();
    let (unique, local) = dedup_ids(ids);
    let (u, n) = (unique.len(), local.len());
    let unique = Tensor::<1, Int>::from_data(TensorData::new(unique, [u]), &device);
    let rows = weight
        .detach()
        .select(0, unique.clone())
        .detach()
        .require_grad();
    recorder.push(GatheredRows {
        param,
        table_rows,
        unique,
        rows: rows.clone(),
    });
    take_rows(
        rows,
        Tensor::<1, Int>::from_data(TensorData::new(local, [n]), &device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_maps_every_id_back() {
        let ids = [7, 3, 7, 9, 3, 3, 0];
        let (unique, local) = dedup_ids(&ids);
        assert_eq!(unique, vec![7, 3, 9, 0]);
        for (id, l) in ids.iter().zip(&local) {
            assert_eq!(unique[*l as usize], *id);
        }
    }
}
