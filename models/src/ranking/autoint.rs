//! AutoInt (Song et al. 2019): stacked interacting layers
//! (`layers::field_attention`) over the field embeddings, then
//! `ŷ = w · (e^{Res}_1 ⊕ … ⊕ e^{Res}_F) + b`; with `hidden` set, a deep
//! tower on the embeddings is added (AutoInt+).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FieldAttention, FieldAttentionConfig, Mlp};

#[derive(Module, Debug)]
pub struct AutoInt {
    pub features: FeatureLayer,
    pub interacting: Vec<FieldAttention>,
    pub output: Linear,
    /// AutoInt+: a deep tower beside the attention.
    pub deep: Option<Mlp>,
}

impl AutoInt {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let fields = layout.num_fields();
        let mut d = config.embedding_dim;
        let interacting = (0..config.attention_layers)
            .map(|_| {
                let layer =
                    FieldAttentionConfig::new(d, config.attention_dim, config.attention_heads);
                d = layer.d_output();
                layer.init(device)
            })
            .collect();
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            interacting,
            output: LinearConfig::new(fields * d, 1).init(device),
            deep: (!config.hidden.is_empty())
                .then(|| config.tower(fields * config.embedding_dim).init(device)),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let fields = self.features.forward(batch);
        let mut e = fields.vectors.clone();
        for layer in &self.interacting {
            e = layer.forward(e);
        }
        let [b, f, d] = e.dims();
        let y = self.output.forward(e.reshape([b, f * d]));
        match &self.deep {
            Some(deep) => y + deep.forward(fields.flatten()),
            None => y,
        }
    }
}
