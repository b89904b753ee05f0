//! Logistic regression: `ŷ = σ(w0 + Σ_i w_i x_i)` over one-hot fields.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::FirstOrder;

#[derive(Module, Debug)]
pub struct Lr {
    pub linear: FirstOrder,
}

impl Lr {
    pub fn new(config: &RankingConfig, layout: &FeatureLayout, device: &Device) -> Self {
        Self {
            linear: config.first_order(layout, device),
        }
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        self.linear.forward(batch)
    }
}
