//! An embedding table looked up with `gather`.
//!
//! Burn's stock `nn::Embedding` differentiates through `select`, whose
//! backward (`select_assign`) loops serially over the batch on the GPU and
//! caps training at ~46 k samples/s whatever the batch size
//! (`shared/bench/REFERENCE.md`). `gather` with the ids broadcast over the
//! embedding dimension has a parallel scatter-add backward instead.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;

use super::row_sparse::{RowRecorder, lookup_row_sparse};

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
        let dim = self.dim();
        let index = ids.reshape([b * f, 1]).expand([b * f, dim]);
        self.weight.val().gather(0, index).reshape([b, f, dim])
    }

    /// Global row ids (host) → `[N, dim]`, through a row-sparse gather whose
    /// rows are left in `recorder` for the row-sparse optimizer.
    pub fn lookup_row_sparse(&self, ids: &[i32], recorder: &RowRecorder) -> Tensor<2> {
        lookup_row_sparse(self.weight.id, self.weight.val(), ids, recorder)
    }
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
}
