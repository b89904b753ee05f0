//! MMoE (Ma et al., KDD 2018): multi-gate mixture of experts,
//!
//! `f^t(x) = Σ_{e=1..n} g^t(x)_e · f_e(x)`, `g^t(x) = softmax(W_{g^t} x)`,
//! `z_t = tower_t(f^t(x))`,
//!
//! with experts `f_e` shared by all tasks and one gate `g^t` per task.

use burn::module::{Module, ModuleVisitor};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{MultiTaskConfig, SharedRepr, Towers};
use crate::batch::Batch;
use crate::layers::{Experts, FeatureLayer, Gate};

#[derive(Module, Debug)]
pub struct Mmoe {
    pub features: FeatureLayer,
    pub experts: Experts,
    pub gates: Vec<Gate>,
    pub towers: Towers,
}

impl Mmoe {
    pub fn new(
        config: &MultiTaskConfig,
        layout: &FeatureLayout,
        tasks: usize,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = config.feature_width(layout);
        let experts = config.experts(d_input, config.experts, device)?;
        Ok(Self {
            features: config.features(layout, device)?,
            gates: (0..tasks)
                .map(|_| Gate::new(d_input, experts.len(), device))
                .collect(),
            experts,
            towers: config.towers(config.expert_width(), tasks, device),
        })
    }

    /// `[x, [f_1(x) … f_n(x)]]` (the experts' outputs as `[B, n·H]`): the
    /// gates read `x`, the mixtures the experts.
    pub fn shared(&self, batch: &Batch) -> SharedRepr {
        let x = self.features.forward(batch).flatten();
        let experts = self.experts.forward(x.clone());
        SharedRepr {
            parts: vec![x, experts.flatten(1, 2)],
        }
    }

    pub fn heads(&self, repr: &SharedRepr) -> Tensor<2> {
        let x = &repr.parts[0];
        let [b, _] = x.dims();
        let experts: Tensor<3> =
            repr.parts[1]
                .clone()
                .reshape([b, self.experts.len(), self.experts.width()]);
        let mixtures = self
            .gates
            .iter()
            .map(|gate| gate.mix(x.clone(), experts.clone()))
            .collect();
        self.towers.forward(mixtures)
    }

    pub fn visit_shared<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.features.visit(visitor);
        self.experts.visit(visitor);
    }
}
