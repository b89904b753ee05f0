//! CGC, customized gate control (Tang et al., RecSys 2020, section 4.2):
//! each task `k` has its own experts `E_k` besides the shared experts `S`,
//! and its gate mixes only those two groups,
//!
//! `g^k(x) = w^k(x) · [E_k(x) ; S(x)]`, `w^k(x) = softmax(W_g^k x)`,
//! `z_k = tower_k(g^k(x))`.
//!
//! [`CgcLayer`] is one extraction level; PLE stacks them, and its lower
//! levels also carry a shared gate over every expert (eq. 6).

use burn::module::{Module, ModuleVisitor};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{MultiTaskConfig, SharedRepr, Towers};
use crate::batch::Batch;
use crate::layers::{Experts, FeatureLayer, Gate};

/// One extraction level: per-task experts and gates, shared experts, and
/// optionally a shared gate (for the next level's shared input).
#[derive(Module, Debug)]
pub struct CgcLayer {
    pub task_experts: Vec<Experts>,
    pub shared_experts: Experts,
    /// Gate `k` mixes `[E_k ; S]`.
    pub gates: Vec<Gate>,
    /// Mixes `[E_1 ; … ; E_T ; S]` into the next level's shared input.
    pub shared_gate: Option<Gate>,
}

impl CgcLayer {
    pub fn new(
        config: &MultiTaskConfig,
        d_input: usize,
        tasks: usize,
        with_shared_gate: bool,
        device: &Device,
    ) -> Result<Self, String> {
        let (k, s) = (config.task_experts, config.shared_experts);
        Ok(Self {
            task_experts: (0..tasks)
                .map(|_| config.experts(d_input, k, device))
                .collect::<Result<_, _>>()?,
            shared_experts: config.experts(d_input, s, device)?,
            gates: (0..tasks)
                .map(|_| Gate::new(d_input, k + s, device))
                .collect(),
            shared_gate: with_shared_gate.then(|| Gate::new(d_input, tasks * k + s, device)),
        })
    }

    /// `g^k(x_k) = w^k(x_k) · [E_k(x_k) ; S]` for every task, from each
    /// task's input and the shared experts' outputs `[B, s, H]`.
    pub fn task_outputs(&self, task_inputs: &[Tensor<2>], shared: Tensor<3>) -> Vec<Tensor<2>> {
        self.task_experts
            .iter()
            .zip(&self.gates)
            .zip(task_inputs)
            .map(|((experts, gate), x)| {
                let pool = Tensor::cat(vec![experts.forward(x.clone()), shared.clone()], 1);
                gate.mix(x.clone(), pool)
            })
            .collect()
    }

    /// The shared experts' outputs as they travel in a [`SharedRepr`],
    /// `[B, s·H]`, back to `[B, s, H]`.
    pub fn unflatten_shared(&self, flat: Tensor<2>) -> Tensor<3> {
        let [b, _] = flat.dims();
        flat.reshape([b, self.shared_experts.len(), self.shared_experts.width()])
    }

    /// A lower PLE level: each task's output and the shared output
    /// `g^s(x_s) = w^s(x_s) · [E_1 ; … ; E_T ; S]`.
    pub fn forward(
        &self,
        task_inputs: &[Tensor<2>],
        shared_input: Tensor<2>,
    ) -> (Vec<Tensor<2>>, Tensor<2>) {
        let shared = self.shared_experts.forward(shared_input.clone());
        let task_experts: Vec<Tensor<3>> = self
            .task_experts
            .iter()
            .zip(task_inputs)
            .map(|(experts, x)| experts.forward(x.clone()))
            .collect();
        let outputs = task_experts
            .iter()
            .zip(&self.gates)
            .zip(task_inputs)
            .map(|((own, gate), x)| {
                gate.mix(x.clone(), Tensor::cat(vec![own.clone(), shared.clone()], 1))
            })
            .collect();
        let gate = self
            .shared_gate
            .as_ref()
            .expect("a lower PLE level has a shared gate");
        let pool = Tensor::cat([task_experts, vec![shared]].concat(), 1);
        (outputs, gate.mix(shared_input, pool))
    }
}

#[derive(Module, Debug)]
pub struct Cgc {
    pub features: FeatureLayer,
    pub layer: CgcLayer,
    pub towers: Towers,
}

impl Cgc {
    pub fn new(
        config: &MultiTaskConfig,
        layout: &FeatureLayout,
        tasks: usize,
        device: &Device,
    ) -> Result<Self, String> {
        let d_input = config.feature_width(layout);
        Ok(Self {
            features: config.features(layout, device)?,
            layer: CgcLayer::new(config, d_input, tasks, false, device)?,
            towers: config.towers(config.expert_width(), tasks, device),
        })
    }

    /// `[x, [S_1(x) … S_s(x)]]` (the shared experts' outputs as
    /// `[B, s·H]`): task experts and gates read `x`.
    pub fn shared(&self, batch: &Batch) -> SharedRepr {
        let x = self.features.forward(batch).flatten();
        let shared = self.layer.shared_experts.forward(x.clone());
        SharedRepr {
            parts: vec![x, shared.flatten(1, 2)],
        }
    }

    pub fn heads(&self, repr: &SharedRepr) -> Tensor<2> {
        let x = repr.parts[0].clone();
        let inputs = vec![x; self.towers.towers.len()];
        let shared = self.layer.unflatten_shared(repr.parts[1].clone());
        self.towers
            .forward(self.layer.task_outputs(&inputs, shared))
    }

    pub fn visit_shared<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.features.visit(visitor);
        self.layer.shared_experts.visit(visitor);
    }
}
