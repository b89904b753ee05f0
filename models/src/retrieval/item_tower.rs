//! The item tower: `v = normalise(MLP([e_item_id; pool(genres); W x_dense]))`,
//! or, with `dense_item = "direct"`, `v = normalise(x_dense)`.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{DenseItemUse, TwoTowerConfig};
use crate::batch::Batch;
use crate::layers::{FeatureConfig, FeatureLayer, Mlp, MlpConfig, l2_normalize};

#[derive(Module, Debug)]
pub struct ItemTower {
    /// `None` when the dense vector is used directly.
    pub features: Option<FeatureLayer>,
    pub mlp: Option<Mlp>,
}

impl ItemTower {
    pub fn new(
        config: &TwoTowerConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        if config.dense_item == DenseItemUse::Direct {
            let [(name, dim)] = layout.dense.as_slice() else {
                return Err(format!(
                    "dense_item = \"direct\" needs exactly one dense item field, the data has {}",
                    layout.dense.len()
                ));
            };
            if *dim != config.output_dim {
                return Err(format!(
                    "dense_item = \"direct\": '{name}' has dimension {dim} but output_dim is {}; they must match",
                    config.output_dim
                ));
            }
            return Ok(Self {
                features: None,
                mlp: None,
            });
        }
        if layout.num_fields() == 0 {
            return Err("the item tower has no input fields".to_owned());
        }
        let features = FeatureConfig::new()
            .with_embedding_dim(config.embedding_dim)
            .with_init_std(config.init_std)
            .init(layout, device)?;
        let mlp = MlpConfig::new(
            layout.num_fields() * config.embedding_dim,
            config.item_hidden.clone(),
        )
        .with_d_output(Some(config.output_dim))
        .with_dropout(config.dropout)
        .init(device);
        Ok(Self {
            features: Some(features),
            mlp: Some(mlp),
        })
    }

    /// Unit item vectors `[B, output_dim]`.
    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        match (&self.features, &self.mlp) {
            (Some(features), Some(mlp)) => {
                l2_normalize(mlp.forward(features.forward(batch).flatten()))
            }
            _ => l2_normalize(batch.dense[0].clone()),
        }
    }
}
