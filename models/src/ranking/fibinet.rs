//! FiBiNET (Huang et al. 2019): the embeddings `E` and their SENET
//! re-weighting `V = SENET(E)` (`layers::senet`) each go through the
//! bilinear interaction (`layers::bilinear`); the two sets of pair vectors,
//! concatenated, feed a deep tower, beside the linear part:
//! `ŷ = w_linear(x) + MLP([p(E) ; p(V)])`.

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{Bilinear, BilinearConfig, FeatureLayer, FirstOrder, Mlp, Senet, SenetConfig};

#[derive(Module, Debug)]
pub struct FiBiNet {
    pub features: FeatureLayer,
    pub linear: FirstOrder,
    pub senet: Senet,
    pub bilinear: Bilinear,
    pub deep: Mlp,
}

impl FiBiNet {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let fields = layout.num_fields();
        let bilinear = BilinearConfig::new(fields, config.embedding_dim);
        let d_deep = 2 * bilinear.pairs() * config.embedding_dim;
        Ok(Self {
            features: config.uniform_features(layout, device)?,
            linear: config.first_order(layout, device),
            senet: SenetConfig::new(fields)
                .with_reduction(config.senet_reduction)
                .init(device),
            bilinear: bilinear.init(device),
            deep: config.tower(d_deep).init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let e = self.features.forward(batch).vectors;
        let v = self.senet.forward(e.clone());
        let p = self.bilinear.forward(e);
        let q = self.bilinear.forward(v);
        let [b, pairs, d] = p.dims();
        let pairs = Tensor::cat(vec![p, q], 1).reshape([b, 2 * pairs * d]);
        self.linear.forward(batch) + self.deep.forward(pairs)
    }
}
