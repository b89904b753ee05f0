//! The user tower: `u = normalise(MLP([e_user_id; e_age; ...; pool(history)]))`.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{Pooling, TwoTowerConfig};
use crate::batch::Batch;
use crate::layers::{
    AttentionPooling, AttentionPoolingConfig, FeatureConfig, FeatureLayer, Mlp, MlpConfig,
    l2_normalize,
};

#[derive(Module, Debug)]
pub struct UserTower {
    /// User categorical and numeric fields and the behaviour sequence(s).
    pub features: FeatureLayer,
    /// `Some` for attention pooling; `None` pools by the mean.
    pub attention: Option<AttentionPooling>,
    pub mlp: Mlp,
}

impl UserTower {
    pub fn new(
        config: &TwoTowerConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        if layout.num_fields() == 0 {
            return Err("the user tower has no input fields".to_owned());
        }
        let features = FeatureConfig::new()
            .with_embedding_dim(config.embedding_dim)
            .with_init_std(config.init_std)
            .init(layout, device)?;
        let max_len = layout.sequences.iter().map(|s| s.2).max().unwrap_or(0);
        let attention = (config.pooling == Pooling::Attention && max_len > 0).then(|| {
            AttentionPoolingConfig::new(config.embedding_dim, max_len)
                .with_init_std(config.init_std)
                .init(device)
        });
        let mlp = MlpConfig::new(
            layout.num_fields() * config.embedding_dim,
            config.user_hidden.clone(),
        )
        .with_d_output(Some(config.output_dim))
        .with_dropout(config.dropout)
        .init(device);
        Ok(Self {
            features,
            attention,
            mlp,
        })
    }

    /// Unit user vectors `[B, output_dim]`.
    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let fields = match &self.attention {
            Some(attention) => self.features.forward_pooled(batch, &|_, embedded, mask| {
                attention.forward(embedded, mask)
            }),
            None => self.features.forward(batch),
        };
        l2_normalize(self.mlp.forward(fields.flatten()))
    }
}
