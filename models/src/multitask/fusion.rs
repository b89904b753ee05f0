//! Fusion: how a multi-task model's task predictions become the one score
//! a ranking stage sorts by, `s = Σ_i w_i p_i` (sum) or `s = Π_i p_i^{w_i}`
//! (product). Training chooses the weights (`ember_train::multitask::fusion`)
//! and serving applies them on every request, so the rule lives here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionForm {
    /// `Σ_i w_i p_i`.
    #[default]
    Sum,
    /// `Π_i p_i^{w_i}`, scored as its logarithm `Σ_i w_i ln p_i` (the same
    /// order without underflow; the score is then ≤ 0, not a probability).
    Product,
}

/// The fused score of each row.
pub fn fuse(predictions: &[Vec<f32>], weights: &[f64], form: FusionForm) -> Vec<f32> {
    let rows = predictions.first().map_or(0, Vec::len);
    (0..rows)
        .map(|r| {
            predictions
                .iter()
                .zip(weights)
                .map(|(p, &w)| match form {
                    FusionForm::Sum => w * p[r] as f64,
                    FusionForm::Product => w * (p[r] as f64).max(1e-12).ln(),
                })
                .sum::<f64>() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_and_product_by_hand() {
        let preds = vec![vec![0.1, 0.5], vec![0.9, 0.5]];
        let sum = fuse(&preds, &[0.25, 0.75], FusionForm::Sum);
        assert!((sum[0] - (0.025 + 0.675)).abs() < 1e-6);
        let prod = fuse(&preds, &[1.0, 2.0], FusionForm::Product);
        let want = (0.1f64).ln() + 2.0 * (0.9f64).ln();
        assert!((prod[0] as f64 - want).abs() < 1e-5);
    }
}
