//! Kernel FM (field-matrixed FM, Sun et al. 2021):
//! `ŷ = w0 + Σ_i w_i x_i + Σ_{i<j} v_iᵀ M_ij v_j`.
//!
//! With `field_dims`, fields may have different embedding sizes; the kernel
//! `M_ij` then maps between the two sizes (see `layers::kernel_fm`).

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{FeatureLayer, FirstOrder, KernelFm, KernelFmConfig};

#[derive(Module, Debug)]
pub struct Kfm {
    pub features: FeatureLayer,
    pub linear: FirstOrder,
    pub interaction: KernelFm,
}

impl Kfm {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let features = config.features(layout)?.init(layout, device)?;
        let dims = config.features(layout)?.dims_for(layout)?;
        let max_dim = dims.iter().copied().max().unwrap_or(config.embedding_dim);
        Ok(Self {
            features,
            linear: config.first_order(layout, device),
            interaction: KernelFmConfig::new(layout.num_fields(), max_dim)
                .with_init_std(config.init_std)
                .init(device),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let v = self.features.forward(batch).vectors;
        self.linear.forward(batch) + self.interaction.forward(v)
    }
}
