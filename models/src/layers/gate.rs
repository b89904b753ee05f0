//! A gating network (Ma et al., KDD 2018, eq. 5–6):
//! `g(x) = softmax(W_g x)` over `n` experts, and the gated mixture
//! `Σ_e g(x)_e · f_e(x)`. Each task owns its gate, so tasks weigh the shared
//! experts differently.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

#[derive(Module, Debug)]
pub struct Gate {
    pub linear: Linear,
}

impl Gate {
    pub fn new(d_input: usize, experts: usize, device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(d_input, experts).init(device),
        }
    }

    /// The mixture weights `[B, n]`; each row sums to 1.
    pub fn weights(&self, x: Tensor<2>) -> Tensor<2> {
        softmax(self.linear.forward(x), 1)
    }

    /// `Σ_e g(x)_e · f_e(x)` for the experts' outputs `[B, n, H]`.
    pub fn mix(&self, x: Tensor<2>, experts: Tensor<3>) -> Tensor<2> {
        let [b, _, h] = experts.dims();
        let g = self.weights(x).unsqueeze_dim::<3>(2); // [B, n, 1]
        (experts * g).sum_dim(1).reshape([b, h])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixture_is_the_softmax_weighted_sum_of_the_experts() {
        let device = Device::flex();
        let gate = Gate::new(3, 2, &device);
        let x = Tensor::<2>::from_floats([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]], &device);
        let e1 = Tensor::<2>::from_floats([[1.0, 2.0], [3.0, 4.0]], &device);
        let e2 = Tensor::<2>::from_floats([[-1.0, 0.0], [5.0, -2.0]], &device);
        let w = gate
            .weights(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mixed = gate
            .mix(x, Tensor::stack(vec![e1.clone(), e2.clone()], 1))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let (e1, e2) = (
            e1.into_data().try_to_vec::<f32>().unwrap(),
            e2.into_data().try_to_vec::<f32>().unwrap(),
        );
        for r in 0..2 {
            assert!((w[r * 2] + w[r * 2 + 1] - 1.0).abs() < 1e-6);
            for c in 0..2 {
                let want = w[r * 2] * e1[r * 2 + c] + w[r * 2 + 1] * e2[r * 2 + c];
                assert!((mixed[r * 2 + c] - want).abs() < 1e-5);
            }
        }
    }
}
