//! A bank of experts: `n` independent MLPs over the same input,
//! `f_e(x), e = 1..n` (the expert networks of MMoE, CGC and PLE), evaluated
//! side by side.
//!
//! Every expert reads the same `x`, so their first layers are one matmul of
//! width `n·h₁` and each deeper layer one batched matmul
//! `[n, B, h] × [n, h, h']`, instead of `n` small matmuls, `n` bias adds and
//! `n` ReLUs per layer and a stack before the gates; the output is already
//! the `[B, n, H]` the gates mix. Each expert is still its own function:
//! no weight is shared between experts, and each starts from the weights an
//! MLP of its own would have drawn ([`ExpertsConfig::init`]).

use burn::module::Param;
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::mlp::MlpConfig;

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

/// Layer `k ≥ 2` of every expert: `y_e = x_e W_e + b_e`.
#[derive(Module, Debug)]
pub struct ExpertLayer {
    /// `[n, h_in, h_out]`.
    pub weight: Param<Tensor<3>>,
    /// `[n, 1, h_out]`.
    pub bias: Param<Tensor<3>>,
}

#[derive(Module, Debug)]
pub struct Experts {
    /// Every expert's first layer side by side: `[d_input, n·h₁]`, expert
    /// `e` in columns `e·h₁ .. (e+1)·h₁`.
    pub first: Linear,
    pub deeper: Vec<ExpertLayer>,
    /// One batch norm per layer over all `n·h` units (a batch norm is per
    /// unit, so this is each expert's own).
    pub norms: Vec<BatchNorm>,
    pub dropout: Dropout,
    pub count: usize,
}

impl ExpertsConfig {
    /// Draws each expert as the MLP it would be on its own (Burn's `Linear`
    /// initialisation, expert after expert) and lays the weights side by
    /// side, so a bank starts where `n` separate MLPs would.
    pub fn init(&self, device: &Device) -> Result<Experts, String> {
        if self.hidden.is_empty() {
            return Err("experts need at least one layer (expert_hidden is empty)".into());
        }
        if self.count == 0 {
            return Err("a bank of experts needs at least one expert".into());
        }
        let mlps: Vec<_> = (0..self.count)
            .map(|_| MlpConfig::new(self.d_input, self.hidden.clone()).init(device))
            .collect();
        let weights = |layer: usize| -> Vec<Tensor<2>> {
            mlps.iter().map(|m| m.hidden[layer].weight.val()).collect()
        };
        let biases = |layer: usize| -> Vec<Tensor<1>> {
            mlps.iter()
                .map(|m| {
                    m.hidden[layer]
                        .bias
                        .as_ref()
                        .expect("Linear has a bias by default")
                        .val()
                })
                .collect()
        };
        // On an autodiff device what `cat` / `stack` return hangs off the
        // experts' weights in the graph; a parameter must be a leaf.
        let first = Linear {
            weight: Param::from_tensor(Tensor::cat(weights(0), 1).detach()),
            bias: Some(Param::from_tensor(Tensor::cat(biases(0), 0).detach())),
        };
        let deeper = (1..self.hidden.len())
            .map(|layer| ExpertLayer {
                weight: Param::from_tensor(Tensor::stack(weights(layer), 0).detach()),
                bias: Param::from_tensor(
                    Tensor::stack::<2>(biases(layer), 0)
                        .unsqueeze_dim(1)
                        .detach(),
                ),
            })
            .collect();
        let norms = if self.batch_norm {
            self.hidden
                .iter()
                .map(|&h| BatchNormConfig::new(self.count * h).init(device))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Experts {
            first,
            deeper,
            norms,
            dropout: DropoutConfig::new(self.dropout).init(),
            count: self.count,
        })
    }
}

impl Experts {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each expert's output size `H`.
    pub fn width(&self) -> usize {
        match self.deeper.last() {
            Some(layer) => layer.weight.dims()[2],
            None => self.first.weight.dims()[1] / self.count,
        }
    }

    /// `[B, d]` → every expert's output, `[B, n, H]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<3> {
        let [b, _] = x.dims();
        let n = self.count;
        let mut h = self.activate(0, self.first.forward(x)); // [B, n·h₁]
        for (k, layer) in self.deeper.iter().enumerate() {
            let [_, h_in, h_out] = layer.weight.dims();
            let per_expert = h.reshape([b, n, h_in]).swap_dims(0, 1); // [n, B, h_in]
            let y = per_expert.matmul(layer.weight.val()) + layer.bias.val(); // [n, B, h_out]
            h = self.activate(k + 1, y.swap_dims(0, 1).reshape([b, n * h_out]));
        }
        let width = self.width();
        h.reshape([b, n, width])
    }

    /// Batch norm (if any), ReLU and dropout after layer `k`, on `[B, n·h]`.
    fn activate(&self, k: usize, mut h: Tensor<2>) -> Tensor<2> {
        if let Some(norm) = self.norms.get(k) {
            h = norm.forward(h);
        }
        self.dropout.forward(relu(h))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;

    use super::*;
    use crate::layers::mlp::Mlp;

    /// The bank computes what each expert's weights, run as a separate MLP,
    /// compute.
    #[test]
    fn bank_matches_each_expert_run_on_its_own() {
        let device = Device::flex();
        let (d, n, hidden) = (5, 3, vec![4, 6, 2]);
        let bank = ExpertsConfig::new(d, n, hidden.clone())
            .init(&device)
            .unwrap();
        let x = Tensor::<2>::random([7, d], Distribution::Normal(0.0, 1.0), &device);
        let out = bank.forward(x.clone());
        assert_eq!(out.dims(), [7, n, 2]);
        let h1 = hidden[0];
        for e in 0..n {
            let first = Linear {
                weight: Param::from_tensor(bank.first.weight.val().narrow(1, e * h1, h1)),
                bias: Some(Param::from_tensor(
                    bank.first
                        .bias
                        .as_ref()
                        .unwrap()
                        .val()
                        .narrow(0, e * h1, h1),
                )),
            };
            let mut layers = vec![first];
            for layer in &bank.deeper {
                let [_, h_in, h_out] = layer.weight.dims();
                layers.push(Linear {
                    weight: Param::from_tensor(
                        layer.weight.val().narrow(0, e, 1).reshape([h_in, h_out]),
                    ),
                    bias: Some(Param::from_tensor(
                        layer.bias.val().narrow(0, e, 1).reshape([h_out]),
                    )),
                });
            }
            let mut alone: Mlp = MlpConfig::new(d, hidden.clone()).init(&device);
            alone.hidden = layers;
            let want = alone
                .forward(x.clone())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let got = out
                .clone()
                .narrow(1, e, 1)
                .reshape([7, 2])
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "expert {e}: {g} vs {w}");
            }
        }
    }

    /// No two experts start from the same weights.
    #[test]
    fn experts_start_from_different_weights() {
        let device = Device::flex();
        let bank = ExpertsConfig::new(4, 2, vec![3]).init(&device).unwrap();
        let w = bank.first.weight.val();
        let diff = (w.clone().narrow(1, 0, 3) - w.narrow(1, 3, 3))
            .abs()
            .sum()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()[0];
        assert!(diff > 1e-3);
    }
}
