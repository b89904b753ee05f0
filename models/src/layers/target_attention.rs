//! DIN's local activation unit (Zhou et al. 2018, §4.3): the candidate
//! item `e_t` weighs each behaviour `e_j` by a small MLP over both,
//!
//! `u_j = MLP([e_j ; e_t ; e_j − e_t ; e_j ⊙ e_t])`,
//! `a_j = softmax_{j: M_j = 1}(u_j)`,  `pool = Σ_j a_j e_j`,
//!
//! so the user's vector depends on what is being scored. The paper leaves
//! the weights unnormalised; here they are a softmax over the real
//! entries (padding gets a −1e9 logit, an empty history pools to zeros),
//! which keeps the pooled vector on the embeddings' scale whatever the
//! history's length.

use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::mlp::{Mlp, MlpConfig};

#[derive(Config, Debug)]
pub struct TargetAttentionConfig {
    pub dim: usize,
    /// The activation unit's hidden widths.
    #[config(default = "vec![36]")]
    pub hidden: Vec<usize>,
}

#[derive(Module, Debug)]
pub struct TargetAttention {
    pub unit: Mlp,
}

impl TargetAttentionConfig {
    pub fn init(&self, device: &Device) -> TargetAttention {
        TargetAttention {
            unit: MlpConfig::new(4 * self.dim, self.hidden.clone())
                .with_d_output(Some(1))
                .init(device),
        }
    }
}

impl TargetAttention {
    /// The weights `a`, `[B, L]`: `embedded [B, L, D]`, `mask [B, L]`,
    /// `target [B, D]`.
    pub fn weights(&self, embedded: Tensor<3>, mask: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        let [b, l, d] = embedded.dims();
        let t = target.unsqueeze_dim::<3>(1).expand([b, l, d]);
        let input = Tensor::cat(
            vec![
                embedded.clone(),
                t.clone(),
                embedded.clone() - t.clone(),
                embedded * t,
            ],
            2,
        );
        let logits = self
            .unit
            .forward(input.reshape([b * l, 4 * d]))
            .reshape([b, l]);
        let masked = logits + (mask.clone() - 1.0) * 1e9;
        softmax(masked, 1) * mask.max_dim(1)
    }

    /// `[B, L, D]`, `[B, L]`, `[B, D]` → `[B, 1, D]`.
    pub fn pool(&self, embedded: Tensor<3>, mask: Tensor<2>, target: Tensor<2>) -> Tensor<3> {
        let a = self.weights(embedded.clone(), mask, target);
        (embedded * a.unsqueeze_dim::<3>(2)).sum_dim(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    #[test]
    fn weights_sum_to_one_over_the_real_entries_and_pool_them() {
        let device = Device::flex();
        let (b, l, d) = (3, 4, 2);
        let att = TargetAttentionConfig::new(d).init(&device);
        let e = Tensor::<3>::random([b, l, d], Distribution::Normal(0.0, 1.0), &device);
        let t = Tensor::<2>::random([b, d], Distribution::Normal(0.0, 1.0), &device);
        let mask = Tensor::<2>::from_data(
            TensorData::new(
                vec![
                    1.0f32, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                ],
                [b, l],
            ),
            &device,
        );
        let a = att
            .weights(e.clone(), mask.clone(), t.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let m = mask.into_data().try_to_vec::<f32>().unwrap();
        for row in 0..b {
            let real: f32 = (0..l).map(|j| a[row * l + j] * m[row * l + j]).sum();
            let padding: f32 = (0..l)
                .map(|j| a[row * l + j] * (1.0 - m[row * l + j]))
                .sum();
            let any = m[row * l..(row + 1) * l].iter().any(|&x| x > 0.0);
            assert!(
                (real - if any { 1.0 } else { 0.0 }).abs() < 1e-5,
                "row {row}: {real}"
            );
            assert!(padding.abs() < 1e-6);
        }
        let mask = Tensor::<2>::from_data(TensorData::new(m.clone(), [b, l]), &device);
        let pooled = att
            .pool(e.clone(), mask, t)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let ev = e.into_data().try_to_vec::<f32>().unwrap();
        for row in 0..b {
            for k in 0..d {
                let want: f32 = (0..l)
                    .map(|j| a[row * l + j] * ev[(row * l + j) * d + k])
                    .sum();
                assert!((pooled[row * d + k] - want).abs() < 1e-5);
            }
        }
    }
}
