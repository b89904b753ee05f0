//! Factorisation-machine second-order term (Rendle 2010).
//!
//! `Σ_{i<j} <v_i, v_j> = ½ Σ_d [ (Σ_i v_{i,d})² − Σ_i v_{i,d}² ]`,
//! linear in the number of fields instead of quadratic.

use burn::prelude::*;

/// `v [B, F, D]` → `[B, 1]`.
pub fn fm_second_order(v: Tensor<3>) -> Tensor<2> {
    let [b, _, _] = v.dims();
    let square_of_sum = v.clone().sum_dim(1).square(); // [B, 1, D]
    let sum_of_square = v.square().sum_dim(1); // [B, 1, D]
    (square_of_sum - sum_of_square)
        .sum_dim(2)
        .reshape([b, 1])
        .mul_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn sum_square_identity_matches_explicit_pairwise_sum() {
        let device = Device::flex();
        let (b, f, d) = (4, 6, 5);
        let v = Tensor::<3>::random([b, f, d], Distribution::Normal(0.0, 1.0), &device);
        let got = fm_second_order(v.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let x = v.into_data().try_to_vec::<f32>().unwrap();
        for row in 0..b {
            let at = |i: usize, k: usize| x[row * f * d + i * d + k];
            let mut want = 0.0f64;
            for i in 0..f {
                for j in i + 1..f {
                    want += (0..d).map(|k| (at(i, k) * at(j, k)) as f64).sum::<f64>();
                }
            }
            assert!(
                (got[row] as f64 - want).abs() < 1e-4,
                "{} vs {want}",
                got[row]
            );
        }
    }
}
