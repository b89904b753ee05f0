//! DCN-v2's cross network (Wang et al. 2021, eq. 1): each layer crosses the
//! input with the current vector explicitly,
//!
//! `x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l`,
//!
//! so layer l holds feature crosses up to degree l + 1, with the residual
//! keeping the lower ones. `W_l` is a full `d × d` matrix (the v2 change
//! from DCN's rank-one `w_l`).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct CrossNetworkConfig {
    /// Width of `x_0` (fields × embedding size).
    pub d_input: usize,
    pub layers: usize,
}

#[derive(Module, Debug)]
pub struct CrossNetwork {
    pub layers: Vec<Linear>,
}

impl CrossNetworkConfig {
    pub fn init(&self, device: &Device) -> CrossNetwork {
        CrossNetwork {
            layers: (0..self.layers)
                .map(|_| LinearConfig::new(self.d_input, self.d_input).init(device))
                .collect(),
        }
    }
}

impl CrossNetwork {
    /// `x0 [B, d]` → `[B, d]`.
    pub fn forward(&self, x0: Tensor<2>) -> Tensor<2> {
        let mut x = x0.clone();
        for layer in &self.layers {
            x = x0.clone() * layer.forward(x.clone()) + x;
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn vec2(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn each_layer_is_x0_times_affine_of_x_plus_x() {
        let device = Device::flex();
        let (b, d) = (3, 5);
        let net = CrossNetworkConfig::new(d, 2).init(&device);
        let x0 = Tensor::<2>::random([b, d], Distribution::Normal(0.0, 1.0), &device);
        let got = vec2(net.forward(x0.clone()));
        // Direct: loops over the weights (Burn's Linear is x W + b, W [d_in, d_out]).
        let x0v = vec2(x0);
        let mut x = x0v.clone();
        for layer in &net.layers {
            let w = vec2(layer.weight.val());
            let bias = layer
                .bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let mut next = vec![0.0f32; b * d];
            for r in 0..b {
                for j in 0..d {
                    let affine: f32 =
                        (0..d).map(|i| x[r * d + i] * w[i * d + j]).sum::<f32>() + bias[j];
                    next[r * d + j] = x0v[r * d + j] * affine + x[r * d + j];
                }
            }
            x = next;
        }
        for (g, w) in got.iter().zip(&x) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }
}
