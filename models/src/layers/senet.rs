//! FiBiNET's squeeze-excitation over fields (Huang et al. 2019, §3.3):
//! squeeze each field's embedding to its mean, `z_f = mean_d e_{f,d}`;
//! excite, `a = ReLU(W_2 ReLU(W_1 z))` with `W_1: F → F/r`, `W_2: F/r → F`;
//! re-weight, `v_f = a_f · e_f`. Fields that matter get a larger weight.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

#[derive(Config, Debug)]
pub struct SenetConfig {
    pub fields: usize,
    /// The reduction ratio `r`.
    #[config(default = 3)]
    pub reduction: usize,
}

#[derive(Module, Debug)]
pub struct Senet {
    pub squeeze: Linear,
    pub excite: Linear,
}

impl SenetConfig {
    pub fn init(&self, device: &Device) -> Senet {
        let reduced = (self.fields / self.reduction.max(1)).max(1);
        Senet {
            squeeze: LinearConfig::new(self.fields, reduced)
                .with_bias(false)
                .init(device),
            excite: LinearConfig::new(reduced, self.fields)
                .with_bias(false)
                .init(device),
        }
    }
}

impl Senet {
    /// The field weights `a`, `[B, F]`.
    pub fn weights(&self, e: Tensor<3>) -> Tensor<2> {
        let [b, f, _] = e.dims();
        let z = e.mean_dim(2).reshape([b, f]);
        relu(self.excite.forward(relu(self.squeeze.forward(z))))
    }

    /// `e [B, F, D]` → `[B, F, D]`.
    pub fn forward(&self, e: Tensor<3>) -> Tensor<3> {
        let a = self.weights(e.clone());
        e * a.unsqueeze_dim::<3>(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn scales_each_field_by_its_excited_mean() {
        let device = Device::flex();
        let (b, f, d) = (2, 6, 4);
        let senet = SenetConfig::new(f).init(&device);
        let e = Tensor::<3>::random([b, f, d], Distribution::Normal(0.0, 1.0), &device);
        let got = senet
            .forward(e.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let ev = e.into_data().try_to_vec::<f32>().unwrap();
        let w1 = senet
            .squeeze
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(); // [F, F/r]
        let w2 = senet
            .excite
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(); // [F/r, F]
        let r = f / 3;
        for row in 0..b {
            let z: Vec<f32> = (0..f)
                .map(|i| (0..d).map(|k| ev[(row * f + i) * d + k]).sum::<f32>() / d as f32)
                .collect();
            let hidden: Vec<f32> = (0..r)
                .map(|j| (0..f).map(|i| z[i] * w1[i * r + j]).sum::<f32>().max(0.0))
                .collect();
            for i in 0..f {
                let a = (0..r)
                    .map(|j| hidden[j] * w2[j * f + i])
                    .sum::<f32>()
                    .max(0.0);
                for k in 0..d {
                    let at = (row * f + i) * d + k;
                    assert!((got[at] - a * ev[at]).abs() < 1e-5);
                }
            }
        }
    }
}
