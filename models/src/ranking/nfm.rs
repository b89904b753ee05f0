//! Neural FM (He & Chua 2017): `ŷ = w0 + Σ_i w_i x_i + MLP(f_BI(V))`,
//! where `f_BI` is the bi-interaction (summed Hadamard products) of the
//! field embeddings.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FirstOrder, Mlp, bi_interaction};

#[derive(Module, Debug)]
pub struct Nfm {
    pub features: FeatureLayer,
    pub linear: FirstOrder,
    pub deep: Mlp,
}

impl Nfm {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            linear: config.first_order(layout, device),
            deep: config.tower(config.embedding_dim).init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let v = self.features.forward(batch).vectors;
        self.linear.forward(batch) + self.deep.forward(bi_interaction(v))
    }
}
