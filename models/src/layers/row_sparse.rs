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
    /// The same ids on the host: a sharded table routes their gradients to
    /// the ranks that own them without reading the device back.
    pub unique_host: Vec<i32>,
    /// `[U, d]` = `E[unique]`, an autodiff leaf: its gradient is the table's
    /// gradient restricted to the touched rows (with an
    /// [`RowRecorder::attached`] recorder, a gather that passes it on to `E`).
    pub rows: Tensor<2>,
}

/// Where a row-sparse lookup reads a table's rows from.
///
/// By default a table's rows are its own weight's (`weight[unique]`). A table
/// sharded by rows across processes (`ember_train::distributed`) holds only
/// its own rows: its source fetches the others from the processes that own
/// them. The lookup stays the same either way, so no model knows whether
/// its tables are sharded.
pub trait RowSource: Send + Sync + std::fmt::Debug {
    /// `[U, d]`: the rows `unique` (distinct global row ids) of the table
    /// whose local weight is `weight`, without gradient.
    fn fetch(&self, param: ParamId, weight: &Tensor<2>, unique: &[i32]) -> Tensor<2>;
}

/// Collects the [`GatheredRows`] of every table a forward pass looks up.
///
/// Shared through an `Arc` because the batch holds one handle and the trainer
/// the other; the lock is taken once per table per step.
#[derive(Debug, Clone, Default)]
pub struct RowRecorder {
    rows: Arc<Mutex<Vec<GatheredRows>>>,
    source: Option<Arc<dyn RowSource>>,
    /// The gathered rows stay attached to their tables (see [`RowRecorder::attached`]).
    attached: bool,
}

impl RowRecorder {
    /// A recorder whose lookups read their rows from `source`.
    pub fn from_source(source: Arc<dyn RowSource>) -> Self {
        Self {
            rows: Arc::default(),
            source: Some(source),
            attached: false,
        }
    }

    /// A recorder for dense training that still wants the touched rows:
    /// each table's `R = E[unique]` stays in the autograd graph, so backward
    /// reaches the whole table as a dense lookup's does (the dense optimizer
    /// updates it), and the recorded rows only serve terms computed on the
    /// rows a batch touches, such as `train.embedding_l2`'s penalty.
    pub fn attached() -> Self {
        Self {
            attached: true,
            ..Self::default()
        }
    }

    pub fn push(&self, rows: GatheredRows) {
        self.rows.lock().expect("row recorder poisoned").push(rows);
    }

    /// The rows recorded since the last call.
    pub fn take(&self) -> Vec<GatheredRows> {
        std::mem::take(&mut *self.rows.lock().expect("row recorder poisoned"))
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

/// Gathers the distinct rows of `weight` that `ids` use as a fresh leaf
/// (still attached to `weight` with an [`RowRecorder::attached`] recorder),
/// records them, and returns `weight[ids]`, `[N, d]`, computed from them.
pub fn lookup_row_sparse(
    param: ParamId,
    weight: Tensor<2>,
    ids: &[i32],
    recorder: &RowRecorder,
) -> Tensor<2> {
    let device = weight.device();
    let [table_rows, _] = weight.dims();
    let (unique_host, local) = dedup_ids(ids);
    let (u, n) = (unique_host.len(), local.len());
    let unique = Tensor::<1, Int>::from_data(TensorData::new(unique_host.clone(), [u]), &device);
    let rows = match &recorder.source {
        _ if recorder.attached => weight.select(0, unique.clone()),
        Some(source) => source.fetch(param, &weight, &unique_host).detach(),
        None => weight.detach().select(0, unique.clone()).detach(),
    };
    // A leaf that wants a gradient when training; scoring through a sharded
    // table (no autodiff) looks rows up the same way, without one.
    let rows = if device.is_autodiff() && !recorder.attached {
        rows.require_grad()
    } else {
        rows
    };
    recorder.push(GatheredRows {
        param,
        table_rows,
        unique,
        unique_host,
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
