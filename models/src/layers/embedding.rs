//! An embedding table and the row lookup every table in ember goes through.
//!
//! Burn's stock `nn::Embedding` differentiates through `select`, whose
//! backward (`select_assign`) loops serially over the batch on the GPU and
//! caps training at ~46 k samples/s whatever the batch size
//! (`shared/bench/REFERENCE.md`). `gather` with the ids broadcast over the
//! embedding dimension has a parallel scatter-add backward instead, so a GPU
//! that trains a table looks rows up that way; everywhere else
//! ([`take_rows`]) a plain row copy is faster.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

use super::row_sparse::{RowRecorder, lookup_row_sparse};
use crate::device::is_cpu;

#[derive(Config, Debug)]
pub struct EmbeddingTableConfig {
    /// Rows in the table (all fields' cardinalities together).
    pub rows: usize,
    pub dim: usize,
    /// Standard deviation of the N(0, std²) initialisation. Small on purpose:
    /// N(0, 1) embeddings make FM's pairwise products explode at the start.
    #[config(default = 0.01)]
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct EmbeddingTable {
    /// `[rows, dim]`.
    pub weight: Param<Tensor<2>>,
}

impl EmbeddingTableConfig {
    pub fn init(&self, device: &Device) -> EmbeddingTable {
        let weight = Initializer::Normal {
            mean: 0.0,
            std: self.init_std,
        }
        .init([self.rows, self.dim], device);
        EmbeddingTable { weight }
    }
}

impl EmbeddingTable {
    pub fn dim(&self) -> usize {
        self.weight.shape().dims::<2>()[1]
    }

    /// `ids [B, F]` (global row ids) → `[B, F, dim]`.
    pub fn lookup(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, f] = ids.dims();
        take_rows(self.weight.val(), ids.reshape([b * f])).reshape([b, f, self.dim()])
    }

    /// Global row ids (host) → `[N, dim]`, through a row-sparse gather whose
    /// rows are left in `recorder` for the row-sparse optimizer.
    pub fn lookup_row_sparse(&self, ids: &[i32], recorder: &RowRecorder) -> Tensor<2> {
        lookup_row_sparse(self.weight.id, self.weight.val(), ids, recorder)
    }
}

/// `weight[ids]`, `[N, d]`: the rows of a table, by id.
///
/// A GPU that trains the table gathers with the ids broadcast over the
/// columns (backward: a parallel scatter-add; see the module docs). Scoring
/// (no gradient) and CPU backends copy whole rows with `select` instead:
/// flex's `gather` reads an index per element and first makes the broadcast
/// index contiguous, which took 17% of criteo-synth inference on 2 cores
/// (perf), while `select` copies a row per id, and its backward on CPU is
/// a loop that adds each row's gradient in place.
pub fn take_rows(weight: Tensor<2>, ids: Tensor<1, Int>) -> Tensor<2> {
    if !weight.is_tracked() || is_cpu(&weight.device()) {
        return weight.select(0, ids);
    }
    let [n] = ids.dims();
    let dim = weight.dims()[1];
    weight.gather(0, ids.reshape([n, 1]).expand([n, dim]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn lookup_returns_the_rows_asked_for() {
        let device = Device::flex();
        let table = EmbeddingTableConfig::new(5, 3).init(&device);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(vec![4, 0, 2, 4], [2, 2]), &device);
        let out = table.lookup(ids).into_data().try_to_vec::<f32>().unwrap();
        let w = table.weight.val().into_data().try_to_vec::<f32>().unwrap();
        for (slot, row) in [4usize, 0, 2, 4].into_iter().enumerate() {
            assert_eq!(&out[slot * 3..slot * 3 + 3], &w[row * 3..row * 3 + 3]);
        }
    }

    /// The CPU path differentiates through `select`: an id used twice must
    /// get the sum of both slots' gradients, as `gather`'s scatter-add gives.
    #[test]
    fn take_rows_backward_adds_the_gradients_of_repeated_ids() {
        let device = Device::flex().autodiff();
        let weight =
            Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], &device).require_grad();
        let ids = Tensor::<1, Int>::from_data(TensorData::new(vec![2, 0, 2], [3]), &device);
        let slot_weights =
            Tensor::<2>::from_floats([[1.0, 10.0], [100.0, 1000.0], [2.0, 20.0]], &device);
        let rows = take_rows(weight.clone(), ids);
        assert_eq!(
            rows.clone().into_data().try_to_vec::<f32>().unwrap(),
            vec![5.0, 6.0, 1.0, 2.0, 5.0, 6.0]
        );
        let grads = (rows * slot_weights).sum().backward();
        let grad = weight
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(grad, vec![100.0, 1000.0, 0.0, 0.0, 3.0, 30.0]);
    }
}
