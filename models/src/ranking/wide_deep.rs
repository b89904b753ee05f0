//! Wide & Deep (Cheng et al. 2016): `ŷ = wideᵀ[x] + MLP([e_1; …; e_F])`.
//!
//! The wide part is field-wise: one weight per feature id of every field
//! (the first-order term), the deep part an MLP on the concatenated field
//! embeddings; both are trained jointly.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FirstOrder, Mlp};

#[derive(Module, Debug)]
pub struct WideDeep {
    pub features: FeatureLayer,
    pub wide: FirstOrder,
    pub deep: Mlp,
}

impl WideDeep {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = layout.num_fields() * config.embedding_dim;
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            wide: config.first_order(layout, device),
            deep: config.tower(d_input).init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let fields = self.features.forward(batch);
        self.wide.forward(batch) + self.deep.forward(fields.flatten())
    }
}
