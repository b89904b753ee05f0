//! How a sequence field's entries become one vector, chosen per field
//! (`[model] sequence_pooling = { history = "target_attention", genres =
//! "sum" }`; mean where not named). With `E [B, L, D]` the entries'
//! embeddings and `M [B, L]` the mask of real ones:
//!
//! - `sum`:  `Σ_l M_l E_l`
//! - `mean`: `Σ_l M_l E_l / max(1, Σ_l M_l)`
//! - `max`:  `max_{l: M_l = 1} E_l` per dimension (zeros when empty)
//! - `target_attention`: DIN's attention of the candidate over the
//!   entries (`layers::target_attention`); only DIN has a candidate to
//!   attend with.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::features::masked_mean;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SequencePooling {
    Sum,
    #[default]
    Mean,
    Max,
    TargetAttention,
}

/// `[B, L, D]`, `[B, L]` → `[B, 1, D]`.
pub fn masked_sum(embedded: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
    (embedded * mask.unsqueeze_dim::<3>(2)).sum_dim(1)
}

/// `[B, L, D]`, `[B, L]` → `[B, 1, D]`; an empty sequence pools to zeros.
pub fn masked_max(embedded: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
    let any = mask.clone().max_dim(1).unsqueeze_dim::<3>(2); // [B, 1, 1]
    // Padding sits 1e9 below anything real, so it never wins the max.
    let shifted = embedded + (mask.unsqueeze_dim::<3>(2) - 1.0) * 1e9;
    shifted.max_dim(1) * any
}

impl SequencePooling {
    /// Pools without a candidate: target attention falls back to the mean
    /// (the models other than DIN refuse it at construction).
    pub fn pool(self, embedded: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
        match self {
            SequencePooling::Sum => masked_sum(embedded, mask),
            SequencePooling::Mean | SequencePooling::TargetAttention => masked_mean(embedded, mask),
            SequencePooling::Max => masked_max(embedded, mask),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn sum_mean_and_max_see_only_the_real_entries() {
        let device = Device::flex();
        // Two rows, L = 3, D = 2; row 0 has 2 real entries, row 1 none.
        let e = Tensor::<3>::from_data(
            TensorData::new(
                vec![
                    1.0f32, -2.0, 3.0, 4.0, 100.0, 100.0, 5.0, 6.0, 7.0, 8.0, 9.0, 9.0,
                ],
                [2, 3, 2],
            ),
            &device,
        );
        let m = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 1.0, 0.0, 0.0, 0.0, 0.0], [2, 3]),
            &device,
        );
        let v = |t: Tensor<3>| t.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(
            v(masked_sum(e.clone(), m.clone())),
            vec![4.0, 2.0, 0.0, 0.0]
        );
        assert_eq!(
            v(masked_mean(e.clone(), m.clone())),
            vec![2.0, 1.0, 0.0, 0.0]
        );
        assert_eq!(v(masked_max(e, m)), vec![3.0, 4.0, 0.0, 0.0]);
    }
}
