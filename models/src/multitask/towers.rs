//! One tower per task: `z_t = tower_t(h_t)`, each an MLP ending in one
//! output (a logit, or a value for regression).

use burn::prelude::*;

use crate::layers::{Mlp, MlpConfig};

#[derive(Module, Debug)]
pub struct Towers {
    pub towers: Vec<Mlp>,
}

impl Towers {
    /// `tasks` towers shaped like `hidden` (its `d_output` is set to 1).
    pub fn new(hidden: &MlpConfig, tasks: usize, device: &Device) -> Self {
        let config = hidden.clone().with_d_output(Some(1));
        Self {
            towers: (0..tasks).map(|_| config.init(device)).collect(),
        }
    }

    /// `[z_1 … z_T]` as `[B, T]`, tower `t` reading `inputs[t]`.
    pub fn forward(&self, inputs: Vec<Tensor<2>>) -> Tensor<2> {
        debug_assert_eq!(inputs.len(), self.towers.len());
        let z = self
            .towers
            .iter()
            .zip(inputs)
            .map(|(tower, h)| tower.forward(h))
            .collect();
        Tensor::cat(z, 1)
    }

    /// Every tower reading the same input.
    pub fn forward_shared(&self, h: Tensor<2>) -> Tensor<2> {
        self.forward(vec![h; self.towers.len()])
    }
}
