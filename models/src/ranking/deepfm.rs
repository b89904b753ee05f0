//! DeepFM (Guo et al. 2017): `ŷ = y_FM + y_DNN`, FM and the deep tower sharing
//! one set of field embeddings.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FirstOrder, Mlp, fm_second_order};

#[derive(Module, Debug)]
pub struct DeepFm {
    pub features: FeatureLayer,
    pub linear: FirstOrder,
    pub deep: Mlp,
}

impl DeepFm {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = layout.num_fields() * config.embedding_dim;
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            linear: config.first_order(layout, device),
            deep: config.tower(d_input).init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let fields = self.features.forward(batch);
        let y_fm = self.linear.forward(batch) + fm_second_order(fields.vectors.clone());
        let y_dnn = self.deep.forward(fields.flatten());
        y_fm + y_dnn
    }
}
