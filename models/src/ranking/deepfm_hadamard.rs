//! The DeepFM variant of the feed ranker this project follows: the FM
//! part yields its Hadamard vector, `f_BI(V) = Σ_{i<j} v_i ⊙ v_j` (NFM's
//! bi-interaction), which the deep tower reads beside the embeddings
//! instead of it being summed to a scalar, and the first-order part is a
//! field-wise wide layer (`layers::fieldwise_wide`):
//!
//! `ŷ = w0 + Σ_f α_f t_f + MLP([flatten(V) ; f_BI(V)])`.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FieldwiseWide, FirstOrderConfig, Mlp, bi_interaction};

#[derive(Module, Debug)]
pub struct DeepFmHadamard {
    pub features: FeatureLayer,
    pub wide: FieldwiseWide,
    pub deep: Mlp,
}

impl DeepFmHadamard {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = (layout.num_fields() + 1) * config.embedding_dim;
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            wide: FieldwiseWide::new(
                &FirstOrderConfig::new().with_init_std(config.init_std),
                layout,
                device,
            ),
            deep: config.tower(d_input).init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let fields = self.features.forward(batch);
        let hadamard = bi_interaction(fields.vectors.clone());
        let deep_input = Tensor::cat(vec![fields.flatten(), hadamard], 1);
        self.wide.forward(batch) + self.deep.forward(deep_input)
    }
}
