//! Target-free self-attention pooling of a behaviour sequence.
//!
//! With `H = E + P` (item embeddings plus learned position embeddings,
//! position 0 = most recent) and `M` the mask of real entries:
//!
//! `A = softmax(H W_q (H W_k)ᵀ / √D + log M)`,  `Z = A H W_v + H`,
//! `pool = Σ_l M_l Z_l / max(1, Σ_l M_l)`.
//!
//! "Target-free": no candidate item steers the weights (unlike DIN), so the
//! pooled vector is a function of the user alone, as a retrieval user
//! tower requires. Padding is excluded as keys (a −1e9 logit rather than
//! −∞, so an empty history gives uniform weights over zeros, not NaN) and
//! from the final mean.

use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::features::masked_mean;

#[derive(Config, Debug)]
pub struct AttentionPoolingConfig {
    pub dim: usize,
    /// Longest sequence (rows of the position table).
    pub max_len: usize,
    #[config(default = 0.01)]
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct AttentionPooling {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    /// `[max_len, D]`.
    pub position: Param<Tensor<2>>,
}

impl AttentionPoolingConfig {
    pub fn init(&self, device: &Device) -> AttentionPooling {
        let linear = || {
            LinearConfig::new(self.dim, self.dim)
                .with_bias(false)
                .init(device)
        };
        AttentionPooling {
            query: linear(),
            key: linear(),
            value: linear(),
            position: Initializer::Normal {
                mean: 0.0,
                std: self.init_std,
            }
            .init([self.max_len.max(1), self.dim], device),
        }
    }
}

impl AttentionPooling {
    /// `embedded [B, L, D]`, `mask [B, L]` → `[B, 1, D]`.
    pub fn forward(&self, embedded: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
        let [_, l, d] = embedded.dims();
        let position = self.position.val().narrow(0, 0, l).unsqueeze_dim::<3>(0);
        let h = embedded + position;
        let q = self.query.forward(h.clone());
        let k = self.key.forward(h.clone());
        let v = self.value.forward(h.clone());
        let padding = mask
            .clone()
            .neg()
            .add_scalar(1.0)
            .mul_scalar(-1e9)
            .unsqueeze_dim::<3>(1); // [B, 1, L]
        let logits = q.matmul(k.swap_dims(1, 2)).div_scalar((d as f64).sqrt()) + padding;
        let z = softmax(logits, 2).matmul(v) + h;
        masked_mean(z, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn padding_does_not_change_the_pooled_vector() {
        let device = Device::flex();
        let layer = AttentionPoolingConfig::new(4, 5)
            .with_init_std(0.5)
            .init(&device);
        let e = Tensor::<3>::random([1, 5, 4], Distribution::Normal(0.0, 1.0), &device);
        let mask = |real: usize| {
            let m: Vec<f32> = (0..5).map(|i| if i < real { 1.0 } else { 0.0 }).collect();
            Tensor::<2>::from_data(TensorData::new(m, [1, 5]), &device)
        };
        let pooled = layer.forward(e.clone(), mask(3));
        // Overwrite the padding entries: the result must not move.
        let noise = Tensor::<3>::random([1, 2, 4], Distribution::Normal(0.0, 9.0), &device);
        let e2 = Tensor::cat(vec![e.clone().slice([0..1, 0..3]), noise], 1);
        let pooled2 = layer.forward(e2, mask(3));
        let a = pooled.into_data().try_to_vec::<f32>().unwrap();
        let b = pooled2.into_data().try_to_vec::<f32>().unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {b:?}");
        }
        // A full mask differs (the extra entries are attended to), and an
        // empty one pools to finite zeros.
        let full = layer
            .forward(e.clone(), mask(5))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(full.iter().zip(&a).any(|(x, y)| (x - y).abs() > 1e-4));
        let empty = layer
            .forward(e, mask(0))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(empty.iter().all(|x| *x == 0.0));
    }
}
