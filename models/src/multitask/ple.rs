//! PLE, progressive layered extraction (Tang et al., RecSys 2020): CGC
//! levels stacked, level `j` reading level `j−1`'s task outputs `g^{k,j−1}`
//! and shared output `g^{s,j−1}` (eq. 5–6); the towers read the last
//! level's task outputs, `z_k = tower_k(g^{k,N})`.

use burn::module::{Module, ModuleVisitor};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{CgcLayer, MultiTaskConfig, SharedRepr, Towers};
use crate::batch::Batch;
use crate::layers::FeatureLayer;

#[derive(Module, Debug)]
pub struct Ple {
    pub features: FeatureLayer,
    /// Levels `1..N−1`, each with a shared gate.
    pub lower: Vec<CgcLayer>,
    /// Level `N`: task outputs only.
    pub last: CgcLayer,
    pub towers: Towers,
}

impl Ple {
    pub fn new(
        config: &MultiTaskConfig,
        layout: &FeatureLayout,
        tasks: usize,
        device: &Device,
    ) -> Result<Self, String> {
        if config.levels == 0 {
            return Err("ple needs at least one level (levels = 0)".into());
        }
        let d_input = config.feature_width(layout);
        let width = config.expert_width();
        let lower = (0..config.levels - 1)
            .map(|j| {
                let d = if j == 0 { d_input } else { width };
                CgcLayer::new(config, d, tasks, true, device)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let d_last = if lower.is_empty() { d_input } else { width };
        Ok(Self {
            features: config.features(layout, device)?,
            lower,
            last: CgcLayer::new(config, d_last, tasks, false, device)?,
            towers: config.towers(width, tasks, device),
        })
    }

    fn tasks(&self) -> usize {
        self.towers.towers.len()
    }

    /// `[x_1, …, x_T, [S_1(x_s) … S_s(x_s)]]`: each task's input to the last
    /// level and the last level's shared experts' outputs as `[B, s·H]`.
    pub fn shared(&self, batch: &Batch) -> SharedRepr {
        let x = self.features.forward(batch).flatten();
        let (mut inputs, mut shared_input) = (vec![x.clone(); self.tasks()], x);
        for level in &self.lower {
            (inputs, shared_input) = level.forward(&inputs, shared_input);
        }
        inputs.push(self.last.shared_experts.forward(shared_input).flatten(1, 2));
        SharedRepr { parts: inputs }
    }

    pub fn heads(&self, repr: &SharedRepr) -> Tensor<2> {
        let (inputs, shared) = repr.parts.split_at(self.tasks());
        let shared = self.last.unflatten_shared(shared[0].clone());
        self.towers.forward(self.last.task_outputs(inputs, shared))
    }

    pub fn visit_shared<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.features.visit(visitor);
        self.lower.visit(visitor);
        self.last.shared_experts.visit(visitor);
    }
}
