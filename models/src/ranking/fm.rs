//! Factorisation machine (Rendle 2010):
//! `ŷ = w0 + Σ_i w_i x_i + Σ_{i<j} <v_i, v_j> x_i x_j`.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FirstOrder, fm_second_order};

#[derive(Module, Debug)]
pub struct Fm {
    pub features: FeatureLayer,
    pub linear: FirstOrder,
}

impl Fm {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            linear: config.first_order(layout, device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let v = self.features.forward(batch).vectors;
        self.linear.forward(batch) + fm_second_order(v)
    }
}
