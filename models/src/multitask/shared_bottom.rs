//! Shared-bottom (Caruana 1997): `z_t = tower_t(f(x))`, one bottom network
//! `f` shared by every task. With an empty bottom only the embeddings are
//! shared.

use burn::module::{Module, ModuleVisitor};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{MultiTaskConfig, SharedRepr, Towers};
use crate::batch::Batch;
use crate::layers::{FeatureLayer, Mlp};

#[derive(Module, Debug)]
pub struct SharedBottom {
    pub features: FeatureLayer,
    pub bottom: Mlp,
    pub towers: Towers,
}

impl SharedBottom {
    pub fn new(
        config: &MultiTaskConfig,
        layout: &FeatureLayout,
        tasks: usize,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = config.feature_width(layout);
        let bottom = config.mlp(d_input, &config.bottom).init(device);
        let d_bottom = config.bottom.last().copied().unwrap_or(d_input);
        Ok(Self {
            features: config.features(layout, device)?,
            bottom,
            towers: config.towers(d_bottom, tasks, device),
        })
    }

    /// `[f(x)]`.
    pub fn shared(&self, batch: &Batch) -> SharedRepr {
        let x = self.features.forward(batch).flatten();
        SharedRepr {
            parts: vec![self.bottom.forward(x)],
        }
    }

    pub fn heads(&self, repr: &SharedRepr) -> Tensor<2> {
        self.towers.forward_shared(repr.parts[0].clone())
    }

    pub fn visit_shared<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.features.visit(visitor);
        self.bottom.visit(visitor);
    }
}
