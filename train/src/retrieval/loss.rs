//! Retrieval objectives on a batch's score matrix `S [B, C]`: row i is a
//! user, column j a candidate item, and column i is row i's positive.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::loss::bce_with_logits_elementwise;

/// What the candidate columns are, built on the host (see `negatives`).
#[derive(Debug, Clone)]
pub struct CandidateMasks {
    /// `[B, C]`: 1 at (i, i).
    pub positive: Tensor<2>,
    /// `[B, C]`: 1 where column j holds row i's own positive item again
    /// (an "accidental hit"), which must not count as a negative.
    pub accidental: Tensor<2>,
    /// `[1, C]`: ln of each candidate's expected count in the candidate set.
    pub log_q: Tensor<2>,
}

/// Sampled softmax: `−mean_i log softmax_j(S_ij − [logQ] ln q_j − ∞·hit_ij)_i`.
pub fn sampled_softmax(scores: Tensor<2>, masks: &CandidateMasks, logq: bool) -> Tensor<1> {
    let mut logits = scores - masks.accidental.clone().mul_scalar(1e9);
    if logq {
        logits = logits - masks.log_q.clone();
    }
    let [b, _] = logits.dims();
    (log_softmax(logits, 1) * masks.positive.clone())
        .sum()
        .neg()
        .div_scalar(b as f64)
}

/// Point-wise BCE on the same candidates: the positive with weight 1 and
/// the row's true negatives sharing weight 1, so each row contributes a
/// balanced `ℓ(s⁺, 1) + mean ℓ(s⁻, 0)`; accidental hits weigh 0.
pub fn pointwise_bce(scores: Tensor<2>, masks: &CandidateMasks) -> Tensor<1> {
    let [b, c] = scores.dims();
    let positive = masks.positive.clone();
    let negative = positive
        .clone()
        .neg()
        .add_scalar(1.0)
        .sub(masks.accidental.clone());
    let per_row = negative.clone().sum_dim(1).clamp_min(1.0); // [B, 1]
    let weights = positive.clone() + negative / per_row.expand([b, c]);
    (bce_with_logits_elementwise(scores, positive) * weights)
        .sum()
        .div_scalar(b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn masks(device: &Device, accidental: Vec<f32>, log_q: Vec<f32>) -> CandidateMasks {
        CandidateMasks {
            positive: Tensor::from_data(
                TensorData::new(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [2, 3]),
                device,
            ),
            accidental: Tensor::from_data(TensorData::new(accidental, [2, 3]), device),
            log_q: Tensor::from_data(TensorData::new(log_q, [1, 3]), device),
        }
    }

    #[test]
    fn softmax_matches_the_formula_with_logq_and_accidental_hits() {
        let device = Device::flex();
        let s = [[2.0f32, 0.5, -1.0], [1.0, 3.0, 0.0]];
        let scores = Tensor::<2>::from_floats(s, &device);
        // Row 1's third column is the same item as its positive.
        let m = masks(
            &device,
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            vec![0.1, -0.3, 0.7],
        );
        let got = sampled_softmax(scores.clone(), &m, true).into_scalar::<f32>() as f64;
        let lq = [0.1f64, -0.3, 0.7];
        let row = |i: usize, cols: &[usize]| {
            let z: Vec<f64> = cols.iter().map(|&j| s[i][j] as f64 - lq[j]).collect();
            let lse = z.iter().map(|x| x.exp()).sum::<f64>().ln();
            lse - (s[i][i] as f64 - lq[i])
        };
        let want = (row(0, &[0, 1, 2]) + row(1, &[0, 1])) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // Without logQ the correction disappears.
        let plain = sampled_softmax(scores, &m, false).into_scalar::<f32>() as f64;
        assert!((plain - want).abs() > 1e-3);
    }

    #[test]
    fn bce_weights_positive_and_negatives_equally() {
        let device = Device::flex();
        let scores = Tensor::<2>::from_floats([[2.0, 0.5, -1.0], [1.0, 3.0, 0.0]], &device);
        let m = masks(&device, vec![0.0; 6], vec![0.0; 3]);
        let got = pointwise_bce(scores, &m).into_scalar::<f32>() as f64;
        let l = |x: f64, y: f64| {
            -(y * (1.0 / (1.0 + (-x).exp())).ln()
                + (1.0 - y) * (1.0 - 1.0 / (1.0 + (-x).exp())).ln())
        };
        let want = ((l(2.0, 1.0) + (l(0.5, 0.0) + l(-1.0, 0.0)) / 2.0)
            + (l(3.0, 1.0) + (l(1.0, 0.0) + l(0.0, 0.0)) / 2.0))
            / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}
