//! FiBiNET's bilinear interaction (Huang et al. 2019, §3.4, the
//! "field-all" type): for every field pair `i < j`,
//!
//! `p_{ij} = (v_i · W) ⊙ v_j`,
//!
//! one `D × D` matrix `W` shared by all pairs: between the inner product
//! (FM, a scalar) and the Hadamard product (NFM, no weights), a learned
//! interaction that keeps a vector per pair.

use burn::module::Param;
use burn::nn::Initializer;
use burn::prelude::*;
use burn::tensor::TensorData;

#[derive(Config, Debug)]
pub struct BilinearConfig {
    pub fields: usize,
    pub dim: usize,
}

#[derive(Module, Debug)]
pub struct Bilinear {
    /// `W`, `[D, D]`.
    pub weight: Param<Tensor<2>>,
    /// The pairs `i < j`, as two index lists.
    #[module(skip)]
    pub left: Vec<i32>,
    #[module(skip)]
    pub right: Vec<i32>,
}

impl BilinearConfig {
    pub fn init(&self, device: &Device) -> Bilinear {
        let (left, right) = (0..self.fields as i32)
            .flat_map(|i| (i + 1..self.fields as i32).map(move |j| (i, j)))
            .unzip();
        Bilinear {
            weight: Initializer::XavierUniform { gain: 1.0 }.init_with(
                [self.dim, self.dim],
                Some(self.dim),
                Some(self.dim),
                device,
            ),
            left,
            right,
        }
    }

    /// Pairs: `F(F−1)/2`.
    pub fn pairs(&self) -> usize {
        self.fields * self.fields.saturating_sub(1) / 2
    }
}

impl Bilinear {
    /// `v [B, F, D]` → `[B, F(F−1)/2, D]`.
    pub fn forward(&self, v: Tensor<3>) -> Tensor<3> {
        let device = v.device();
        let index = |ids: &[i32]| {
            Tensor::<1, Int>::from_data(TensorData::new(ids.to_vec(), [ids.len()]), &device)
        };
        let vw = v.clone().matmul(self.weight.val().unsqueeze_dim::<3>(0));
        vw.select(1, index(&self.left)) * v.select(1, index(&self.right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn every_pair_is_vi_w_hadamard_vj() {
        let device = Device::flex();
        let (b, f, d) = (2, 4, 3);
        let layer = BilinearConfig::new(f, d).init(&device);
        let v = Tensor::<3>::random([b, f, d], Distribution::Normal(0.0, 1.0), &device);
        let got = layer
            .forward(v.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let v = v.into_data().try_to_vec::<f32>().unwrap();
        let w = layer.weight.val().into_data().try_to_vec::<f32>().unwrap();
        let mut at = 0;
        for row in 0..b {
            for i in 0..f {
                for j in i + 1..f {
                    for k in 0..d {
                        let vi_w: f32 = (0..d)
                            .map(|c| v[(row * f + i) * d + c] * w[c * d + k])
                            .sum();
                        let want = vi_w * v[(row * f + j) * d + k];
                        assert!((got[at] - want).abs() < 1e-4);
                        at += 1;
                    }
                }
            }
        }
        assert_eq!(at, got.len());
    }
}
