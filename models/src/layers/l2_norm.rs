//! Scaling rows to unit length: `x / max(‖x‖₂, ε)`, so inner products of
//! tower outputs are cosines.

use burn::prelude::*;

/// `[B, D]` → `[B, D]` with unit rows (a zero row stays zero).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).sqrt().clamp_min(1e-12); // [B, 1]
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_get_unit_length() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]], &device);
        let got = l2_normalize(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(got, vec![0.6, 0.8, 0.0, 0.0, -1.0, 0.0]);
    }
}
