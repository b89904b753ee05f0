//! DIN's local activation unit (Zhou et al. 2018, §4.3): the candidate
//! item `e_t` weighs each behaviour `e_j` by a small MLP over both,
//!
//! `u_j = MLP([e_j ; e_t ; e_j − e_t ; e_j ⊙ e_t])`,
//! `a_j = softmax_{j: M_j = 1}(u_j)`,  `pool = Σ_j a_j e_j`,
//!
//! so the user's vector depends on what is being scored. By default the
//! weights are a softmax over the real entries (padding gets a −1e9 logit,
//! an empty history pools to zeros), which keeps the pooled vector on the
//! embeddings' scale whatever the history's length. With `softmax =
//! false` they are the paper's: the raw scores `a_j = u_j M_j`, so the
//! pooled vector's size also says how much of the history matched the
//! candidate (§4.3: "the normalisation is relaxed to reserve the intensity
//! of user interests").

use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::mlp::{Mlp, MlpConfig};

#[derive(Config, Debug)]
pub struct TargetAttentionConfig {
    pub dim: usize,
    /// The activation unit's hidden widths.
    #[config(default = "vec![36]")]
    pub hidden: Vec<usize>,
    /// Softmax over the real entries (true) or the paper's raw scores.
    #[config(default = true)]
    pub softmax: bool,
}

#[derive(Module, Debug)]
pub struct TargetAttention {
    pub unit: Mlp,
    #[module(skip)]
    pub softmax: bool,
}

impl TargetAttentionConfig {
    pub fn init(&self, device: &Device) -> TargetAttention {
        TargetAttention {
            unit: MlpConfig::new(4 * self.dim, self.hidden.clone())
                .with_d_output(Some(1))
                .init(device),
            softmax: self.softmax,
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
        if !self.softmax {
            return logits * mask;
        }
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

    #[test]
    fn raw_weights_are_the_units_scores_on_real_entries_and_zero_on_padding() {
        let device = Device::flex();
        let (b, l, d) = (2, 3, 2);
        let att = TargetAttentionConfig::new(d)
            .with_softmax(false)
            .init(&device);
        let ev: Vec<f32> = (0..b * l * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let tv: Vec<f32> = (0..b * d).map(|i| (i as f32 * 0.71).cos()).collect();
        let m = vec![1.0f32, 1.0, 0.0, 1.0, 0.0, 0.0];
        let a = att
            .weights(
                Tensor::from_data(TensorData::new(ev.clone(), [b, l, d]), &device),
                Tensor::from_data(TensorData::new(m.clone(), [b, l]), &device),
                Tensor::from_data(TensorData::new(tv.clone(), [b, d]), &device),
            )
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for row in 0..b {
            for j in 0..l {
                let e = &ev[(row * l + j) * d..(row * l + j + 1) * d];
                let t = &tv[row * d..(row + 1) * d];
                let mut input: Vec<f32> = e.to_vec();
                input.extend(t);
                input.extend(e.iter().zip(t).map(|(x, y)| x - y));
                input.extend(e.iter().zip(t).map(|(x, y)| x * y));
                let u = att
                    .unit
                    .forward(Tensor::from_data(
                        TensorData::new(input, [1, 4 * d]),
                        &device,
                    ))
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()[0];
                let want = u * m[row * l + j];
                assert!((a[row * l + j] - want).abs() < 1e-5, "{row},{j}");
            }
        }
    }
}
