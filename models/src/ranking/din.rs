//! DIN (Zhou et al. 2018): the user's behaviour sequence is pooled by the
//! candidate's attention (`layers::target_attention`) instead of a fixed
//! mean, then every field vector feeds a deep tower,
//!
//! `v_U(t) = Σ_j a(e_j, e_t) e_j`,  `ŷ = MLP([e_1 ; … ; v_U(t) ; …])`.
//!
//! The candidate `e_t` is the embedding of the categorical field
//! `din_target` (`item_id` by default); the sequences attended are those
//! whose `sequence_pooling` is `target_attention` (the others pool as
//! they say).

use std::cell::RefCell;

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, Mlp, SequencePooling, TargetAttention, TargetAttentionConfig};

#[derive(Module, Debug)]
pub struct Din {
    pub features: FeatureLayer,
    pub attention: TargetAttention,
    pub deep: Mlp,
    /// The candidate's position among the field vectors.
    #[module(skip)]
    pub target: usize,
    /// Where sequence field `s`'s vector sits among the field vectors.
    #[module(skip)]
    pub first_sequence: usize,
}

impl Din {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let target = layout
            .categorical
            .iter()
            .position(|(name, _)| *name == config.din_target)
            .ok_or_else(|| {
                let names: Vec<&str> = layout.categorical.iter().map(|(n, _)| n.as_str()).collect();
                format!(
                    "din_target '{}' is not a categorical field (the data has: {})",
                    config.din_target,
                    names.join(", ")
                )
            })?;
        let features = config.uniform_features(layout, device)?;
        if !features.pooling.contains(&SequencePooling::TargetAttention) {
            return Err(
                "din attends to a behaviour sequence: set sequence_pooling = { <field> = \"target_attention\" }"
                    .to_owned(),
            );
        }
        Ok(Self {
            features,
            attention: TargetAttentionConfig::new(config.embedding_dim)
                .with_hidden(config.din_attention_hidden.clone())
                .with_softmax(config.din_softmax)
                .init(device),
            deep: config
                .tower(layout.num_fields() * config.embedding_dim)
                .init(device),
            target,
            first_sequence: layout.categorical.len(),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        // One lookup per table (the row-sparse recorder sees each once):
        // attended sequences are set aside during it and pooled after,
        // once the candidate's vector is known.
        let attended = RefCell::new(Vec::new());
        let fields = self.features.forward_pooled(batch, &|s, embedded, mask| {
            let pooling = self.features.pooling[s];
            if pooling == SequencePooling::TargetAttention {
                let [b, _, d] = embedded.dims();
                let placeholder = Tensor::zeros([b, 1, d], &embedded.device());
                attended.borrow_mut().push((s, embedded, mask));
                placeholder
            } else {
                pooling.pool(embedded, mask)
            }
        });
        let v = fields.vectors;
        let [b, f, d] = v.dims();
        let target = v.clone().narrow(1, self.target, 1).reshape([b, d]);
        let mut slots: Vec<Tensor<3>> = (0..f).map(|i| v.clone().narrow(1, i, 1)).collect();
        for (s, embedded, mask) in attended.into_inner() {
            slots[self.first_sequence + s] = self.attention.pool(embedded, mask, target.clone());
        }
        let x = Tensor::cat(slots, 1).reshape([b, f * d]);
        self.deep.forward(x)
    }
}
