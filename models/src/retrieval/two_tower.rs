//! DSSM-style two-tower retrieval (Huang et al. 2013; Yi et al. 2019):
//! `s(u, i) = cos(f_user(u), g_item(i)) / τ`. Both towers end in unit
//! vectors, so the score of every item is one matrix product and the item
//! side can be precomputed and indexed.

use burn::prelude::*;
use ember_datasets::{EncodedData, FeatureLayout};

use super::{ItemTower, TwoTowerConfig, UserTower};
use crate::batch::Batch;

#[derive(Module, Debug)]
pub struct TwoTower {
    pub user: UserTower,
    pub item: ItemTower,
}

impl TwoTowerConfig {
    pub fn init(
        &self,
        user_layout: &FeatureLayout,
        item_layout: &FeatureLayout,
        device: &Device,
    ) -> Result<TwoTower, String> {
        if self.temperature.is_nan() || self.temperature <= 0.0 {
            return Err(format!(
                "temperature must be positive, got {}",
                self.temperature
            ));
        }
        if self.output_dim == 0 || self.embedding_dim == 0 {
            return Err("output_dim and embedding_dim must be positive".to_owned());
        }
        Ok(TwoTower {
            user: UserTower::new(self, user_layout, device)?,
            item: ItemTower::new(self, item_layout, device)?,
        })
    }
}

impl TwoTower {
    /// `[B_u, d] · [B_i, d]ᵀ / τ` → `[B_u, B_i]`.
    pub fn scores(users: Tensor<2>, items: Tensor<2>, temperature: f64) -> Tensor<2> {
        users.matmul(items.transpose()).div_scalar(temperature)
    }

    /// Vectors of every row of `data` through `tower`, in batches, read back
    /// once: row-major `[rows, d]`.
    pub fn embed_all(
        data: &EncodedData,
        batch_size: usize,
        device: &Device,
        tower: impl Fn(&Batch) -> Tensor<2>,
    ) -> Vec<f32> {
        if data.num_rows == 0 {
            return Vec::new();
        }
        let rows: Vec<usize> = (0..data.num_rows).collect();
        let parts: Vec<Tensor<2>> = rows
            .chunks(batch_size.max(1))
            .map(|chunk| tower(&Batch::from_rows(data, chunk, device)))
            .collect();
        Tensor::cat(parts, 0)
            .into_data()
            .try_to_vec::<f32>()
            .expect("vectors are f32")
    }

    pub fn user_vectors(&self, data: &EncodedData, batch_size: usize, device: &Device) -> Vec<f32> {
        Self::embed_all(data, batch_size, device, |b| self.user.forward(b))
    }

    pub fn item_vectors(&self, data: &EncodedData, batch_size: usize, device: &Device) -> Vec<f32> {
        Self::embed_all(data, batch_size, device, |b| self.item.forward(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::{DenseItemUse, Pooling};
    use ember_datasets::{EncodedDense, EncodedSequence};

    fn layouts() -> (FeatureLayout, FeatureLayout) {
        let user = FeatureLayout {
            sequence_vocab_of: Vec::new(),
            categorical: vec![("user_id".into(), 5)],
            numeric: vec!["age".into()],
            sequences: vec![("history".into(), 7, 4)],
            dense: vec![],
            tasks: vec![],
        };
        let item = FeatureLayout {
            sequence_vocab_of: Vec::new(),
            categorical: vec![("item_id".into(), 7)],
            numeric: vec![],
            sequences: vec![],
            dense: vec![("clip".into(), 8)],
            tasks: vec![],
        };
        (user, item)
    }

    fn data() -> (EncodedData, EncodedData) {
        let users = EncodedData {
            num_rows: 3,
            categorical: vec![1, 2, 0],
            num_categorical: 1,
            numeric: vec![0.5, -1.0, 0.0],
            num_numeric: 1,
            sequences: vec![EncodedSequence {
                max_len: 4,
                ids: vec![3, 4, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
                lengths: vec![2, 1, 0],
            }],
            ..Default::default()
        };
        let items = EncodedData {
            num_rows: 2,
            categorical: vec![1, 5],
            num_categorical: 1,
            dense: vec![EncodedDense {
                dim: 8,
                values: (0..16).map(|i| i as f32 - 7.5).collect(),
            }],
            ..Default::default()
        };
        (users, items)
    }

    #[test]
    fn towers_give_unit_vectors_with_either_pooling_even_for_empty_histories() {
        let device = Device::flex();
        let (ul, il) = layouts();
        let (users, items) = data();
        for pooling in [Pooling::Mean, Pooling::Attention] {
            let config = TwoTowerConfig {
                pooling,
                output_dim: 8,
                ..Default::default()
            };
            let model = config.init(&ul, &il, &device).unwrap();
            for v in [
                model.user_vectors(&users, 2, &device),
                model.item_vectors(&items, 2, &device),
            ] {
                for row in v.chunks(8) {
                    let norm: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                    assert!((norm - 1.0).abs() < 1e-4, "{pooling:?}: norm {norm}");
                }
            }
        }
    }

    #[test]
    fn a_direct_dense_vector_is_the_item_representation() {
        let device = Device::flex();
        let (ul, il) = layouts();
        let (_, items) = data();
        let config = TwoTowerConfig {
            dense_item: DenseItemUse::Direct,
            output_dim: 8,
            ..Default::default()
        };
        let model = config.init(&ul, &il, &device).unwrap();
        let got = model.item_vectors(&items, 8, &device);
        let raw = &items.dense[0].values;
        for (g, r) in got.chunks(8).zip(raw.chunks(8)) {
            let norm: f32 = r.iter().map(|x| x * x).sum::<f32>().sqrt();
            for (a, b) in g.iter().zip(r) {
                assert!((a - b / norm).abs() < 1e-6);
            }
        }
        let wrong = TwoTowerConfig {
            output_dim: 16,
            ..config.clone()
        };
        let err = wrong.init(&ul, &il, &device).err().unwrap();
        assert!(err.contains("dimension 8") && err.contains("16"), "{err}");
        let no_dense = FeatureLayout {
            sequence_vocab_of: Vec::new(),
            dense: vec![],
            ..il
        };
        assert!(config.init(&ul, &no_dense, &device).is_err());
    }
}
