//! DCN-v2 (Wang et al. 2021): explicit crosses of the field embeddings
//! `x_0` (`layers::cross`) beside or before a deep tower,
//!
//! - stacked:  `ŷ = w · MLP(Cross(x_0))`,
//! - parallel: `ŷ = w · [Cross(x_0) ; MLP(x_0)]`.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use ember_datasets::FeatureLayout;
use serde::{Deserialize, Serialize};

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{CrossNetwork, CrossNetworkConfig, FeatureLayer, Mlp, MlpConfig};

/// How the cross network and the deep tower are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DcnStructure {
    Stacked,
    #[default]
    Parallel,
}

#[derive(Module, Debug)]
pub struct DcnV2 {
    pub features: FeatureLayer,
    pub cross: CrossNetwork,
    /// Stacked: ends in the logit. Parallel: hidden layers only.
    pub deep: Mlp,
    /// Parallel: `[cross ; deep] → 1`.
    pub head: Option<Linear>,
}

impl DcnV2 {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = layout.num_fields() * config.embedding_dim;
        let cross = CrossNetworkConfig::new(d_input, config.cross_layers).init(device);
        let (deep, head) = match config.dcn_structure {
            DcnStructure::Stacked => (config.tower(d_input).init(device), None),
            DcnStructure::Parallel => {
                let deep = MlpConfig::new(d_input, config.hidden.clone())
                    .with_dropout(config.dropout)
                    .with_batch_norm(config.batch_norm)
                    .init(device);
                let d_deep = config.hidden.last().copied().unwrap_or(d_input);
                let head = LinearConfig::new(d_input + d_deep, 1).init(device);
                (deep, Some(head))
            }
        };
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            cross,
            deep,
            head,
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let x0 = self.features.forward(batch).flatten();
        match &self.head {
            None => self.deep.forward(self.cross.forward(x0)),
            Some(head) => {
                let crossed = self.cross.forward(x0.clone());
                head.forward(Tensor::cat(vec![crossed, self.deep.forward(x0)], 1))
            }
        }
    }
}
