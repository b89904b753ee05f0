//! A set of experts: `n` independent MLPs over the same input,
//! `f_e(x), e = 1..n` (the expert networks of MMoE, CGC and PLE).

use burn::prelude::*;

use super::mlp::{Mlp, MlpConfig};

#[derive(Config, Debug)]
pub struct ExpertsConfig {
    pub d_input: usize,
    pub count: usize,
    /// Each expert's layer widths (ReLU after every layer); the last is the
    /// expert's output size.
    pub hidden: Vec<usize>,
    #[config(default = 0.0)]
    pub dropout: f64,
    #[config(default = false)]
    pub batch_norm: bool,
}

#[derive(Module, Debug)]
pub struct Experts {
    pub experts: Vec<Mlp>,
}

impl ExpertsConfig {
    pub fn init(&self, device: &Device) -> Result<Experts, String> {
        if self.hidden.is_empty() {
            return Err("experts need at least one layer (expert_hidden is empty)".into());
        }
        let expert = MlpConfig::new(self.d_input, self.hidden.clone())
            .with_dropout(self.dropout)
            .with_batch_norm(self.batch_norm);
        Ok(Experts {
            experts: (0..self.count).map(|_| expert.init(device)).collect(),
        })
    }
}

impl Experts {
    pub fn len(&self) -> usize {
        self.experts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.experts.is_empty()
    }

    /// Each expert's output `[B, H]`, in order.
    pub fn forward(&self, x: Tensor<2>) -> Vec<Tensor<2>> {
        self.experts.iter().map(|e| e.forward(x.clone())).collect()
    }
}
