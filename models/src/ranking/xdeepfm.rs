//! xDeepFM (Lian et al. 2018, eq. 8): a linear part, a deep tower and the
//! compressed interaction network (`layers::cin`) over the same field
//! embeddings, `ŷ = w_linear(x) + MLP(flatten(V)) + w_cin · p⁺`.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{Cin, CinConfig, FeatureLayer, FirstOrder, Mlp};

#[derive(Module, Debug)]
pub struct XDeepFm {
    pub features: FeatureLayer,
    pub linear: FirstOrder,
    pub deep: Mlp,
    pub cin: Cin,
    pub cin_out: Linear,
}

impl XDeepFm {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let fields = layout.num_fields();
        let cin = CinConfig::new(fields, config.cin_layers.clone());
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            linear: config.first_order(layout, device),
            deep: config.tower(fields * config.embedding_dim).init(device),
            cin_out: LinearConfig::new(cin.d_output(), 1)
                .with_bias(false)
                .init(device),
            cin: cin.init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let fields = self.features.forward(batch);
        let y_cin = self
            .cin_out
            .forward(self.cin.forward(fields.vectors.clone()));
        self.linear.forward(batch) + self.deep.forward(fields.flatten()) + y_cin
    }
}
