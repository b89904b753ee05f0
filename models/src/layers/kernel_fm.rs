//! Kernel (field-matrixed) FM interaction (FmFM, Sun et al. 2021).
//!
//! `Σ_{i<j} v_iᵀ M_ij v_j` with a learned `D × D` kernel per field pair.
//! FM is the special case `M_ij = I`. Because `M_ij` is rectangular in
//! effect, fields of different embedding sizes interact: the feature layer
//! zero-pads every vector to the largest size, and the padded coordinates
//! multiply the kernel's extra rows and columns by zero, so the result is
//! exactly `v_iᵀ M_ij[..d_i, ..d_j] v_j`.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::{Distribution, TensorData};

#[derive(Config, Debug)]
pub struct KernelFmConfig {
    pub num_fields: usize,
    /// The (padded) embedding size.
    pub dim: usize,
    /// Kernels start at the identity (plain FM) plus N(0, std²) noise.
    #[config(default = 0.01)]
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct KernelFm {
    /// `[P, D, D]`, one kernel per field pair `(left[p], right[p])`.
    pub kernels: Param<Tensor<3>>,
    #[module(skip)]
    pub left: Vec<i32>,
    #[module(skip)]
    pub right: Vec<i32>,
}

impl KernelFmConfig {
    pub fn init(&self, device: &Device) -> KernelFm {
        let (left, right): (Vec<i32>, Vec<i32>) = (0..self.num_fields as i32)
            .flat_map(|i| (i + 1..self.num_fields as i32).map(move |j| (i, j)))
            .unzip();
        let pairs = left.len();
        let d = self.dim;
        // Built on the host and uploaded as a leaf parameter: an identity
        // shift applied on the device would stay in the autodiff graph and
        // be consumed by the first backward.
        let noise = Tensor::<3>::random(
            [pairs, d, d],
            Distribution::Normal(0.0, self.init_std),
            device,
        );
        let eye = Tensor::<2>::eye(d, device).reshape([1, d, d]);
        let kernels = Param::from_data((noise + eye).into_data(), device);
        KernelFm {
            kernels,
            left,
            right,
        }
    }
}

impl KernelFm {
    /// `v [B, F, D]` → `[B, 1]`.
    pub fn forward(&self, v: Tensor<3>) -> Tensor<2> {
        let [b, _, _] = v.dims();
        let device = v.device();
        let index = |ids: &[i32]| {
            Tensor::<1, Int>::from_data(TensorData::new(ids.to_vec(), [ids.len()]), &device)
        };
        let v_left = v.clone().select(1, index(&self.left)); // [B, P, D]
        let v_right = v.select(1, index(&self.right)); // [B, P, D]
        let transformed = v_left
            .swap_dims(0, 1) // [P, B, D]
            .matmul(self.kernels.val()) // [P, B, D]
            .swap_dims(0, 1); // [B, P, D]
        (transformed * v_right)
            .sum_dim(2)
            .sum_dim(1)
            .reshape([b, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_loop_over_field_pairs() {
        let device = Device::flex();
        let (b, f, d) = (3, 4, 5);
        let layer = KernelFmConfig::new(f, d).with_init_std(0.5).init(&device);
        let v = Tensor::<3>::random([b, f, d], Distribution::Normal(0.0, 1.0), &device);
        let got = layer
            .forward(v.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let x = v.into_data().try_to_vec::<f32>().unwrap();
        let m = layer.kernels.val().into_data().try_to_vec::<f32>().unwrap();
        for row in 0..b {
            let mut want = 0.0f64;
            let mut p = 0;
            for i in 0..f {
                for j in i + 1..f {
                    for r in 0..d {
                        for c in 0..d {
                            want += (x[row * f * d + i * d + r]
                                * m[p * d * d + r * d + c]
                                * x[row * f * d + j * d + c])
                                as f64;
                        }
                    }
                    p += 1;
                }
            }
            assert!(
                (got[row] as f64 - want).abs() < 1e-3,
                "{} vs {want}",
                got[row]
            );
        }
    }

    #[test]
    fn identity_kernels_reduce_to_fm() {
        let device = Device::flex();
        let layer = KernelFmConfig::new(5, 3).with_init_std(0.0).init(&device);
        let v = Tensor::<3>::random([2, 5, 3], Distribution::Normal(0.0, 1.0), &device);
        let kfm = layer
            .forward(v.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let fm = crate::layers::fm_second_order(v)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (a, b) in kfm.iter().zip(&fm) {
            assert!((a - b).abs() < 1e-4);
        }
    }
}
