//! NFM's bi-interaction pooling (He & Chua 2017): the Hadamard products of
//! every field pair, summed, kept as a vector instead of summed to a scalar.
//!
//! `f_BI(V) = Σ_{i<j} v_i ⊙ v_j = ½ [ (Σ_i v_i)² − Σ_i v_i² ]`.

use burn::prelude::*;

/// `v [B, F, D]` → `[B, D]`.
pub fn bi_interaction(v: Tensor<3>) -> Tensor<2> {
    let [b, _, d] = v.dims();
    let square_of_sum = v.clone().sum_dim(1).square();
    let sum_of_square = v.square().sum_dim(1);
    (square_of_sum - sum_of_square)
        .reshape([b, d])
        .mul_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn equals_sum_of_pairwise_hadamard_products() {
        let device = Device::flex();
        let (b, f, d) = (3, 5, 4);
        let v = Tensor::<3>::random([b, f, d], Distribution::Normal(0.0, 1.0), &device);
        let got = bi_interaction(v.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let x = v.into_data().try_to_vec::<f32>().unwrap();
        for row in 0..b {
            for k in 0..d {
                let at = |i: usize| x[row * f * d + i * d + k];
                let want: f32 = (0..f)
                    .flat_map(|i| (i + 1..f).map(move |j| (i, j)))
                    .map(|(i, j)| at(i) * at(j))
                    .sum();
                assert!((got[row * d + k] - want).abs() < 1e-4);
            }
        }
    }
}
