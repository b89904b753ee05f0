//! Training objectives on logits.

use burn::prelude::*;

/// Mean binary cross-entropy of `sigmoid(logits)` against 0/1 labels,
/// computed stably on logits: `max(x, 0) − x·y + ln(1 + e^{−|x|})`.
pub fn bce_with_logits(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<1> {
    bce_with_logits_elementwise(logits, labels).mean()
}

/// The per-entry binary cross-entropy behind [`bce_with_logits`], for losses
/// that weight entries.
pub fn bce_with_logits_elementwise(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<2> {
    let positive_part = logits.clone().clamp_min(0.0);
    let log_term = logits.clone().abs().neg().exp().log1p();
    positive_part - logits * labels + log_term
}

/// Mean squared error.
pub fn mse(predictions: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    (predictions - targets).square().mean()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bce_matches_the_definition_and_stays_finite() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_floats([[2.0], [-1.0], [80.0], [-80.0]], &device);
        let labels = Tensor::<2>::from_floats([[1.0], [0.0], [0.0], [0.0]], &device);
        let got = bce_with_logits(logits, labels).into_scalar::<f32>() as f64;
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let want = (-(sig(2.0)).ln() - (1.0 - sig(-1.0)).ln() + 80.0 + 0.0) / 4.0;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
}
