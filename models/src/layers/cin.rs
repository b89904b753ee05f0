//! xDeepFM's compressed interaction network (Lian et al. 2018, eq. 6):
//! with `X⁰ = V` (`m` fields × `D`), each layer's feature maps are weighted
//! sums of the Hadamard products of the previous layer's maps and the
//! fields,
//!
//! `X^k_{h,*} = Σ_{i=1}^{H_{k−1}} Σ_{j=1}^{m} W^{k,h}_{ij} (X^{k−1}_{i,*} ⊙ X⁰_{j,*})`,
//!
//! interactions stay vector-wise (one `D`-vector per map, degree k + 1 at
//! layer k), and each layer is sum-pooled over `D`: `p^k_h = Σ_d X^k_{h,d}`.
//! The output is every layer's pooled maps, concatenated (eq. 8's input).
//!
//! Computed with `D` in the batch dimension: the outer product of maps and
//! fields is `[B, D, H_{k−1}·m]`, and the sum over (i, j) is one linear
//! layer on it (the paper's 1×1 convolution).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

#[derive(Config, Debug)]
pub struct CinConfig {
    /// Fields `m`.
    pub fields: usize,
    /// Feature maps per layer, `H_1, …, H_K`.
    pub layers: Vec<usize>,
}

#[derive(Module, Debug)]
pub struct Cin {
    /// Layer k: `H_{k−1}·m → H_k`, no bias.
    pub maps: Vec<Linear>,
    pub fields: usize,
}

impl CinConfig {
    pub fn init(&self, device: &Device) -> Cin {
        let mut previous = self.fields;
        let maps = self
            .layers
            .iter()
            .map(|&h| {
                let linear = LinearConfig::new(previous * self.fields, h)
                    .with_bias(false)
                    .init(device);
                previous = h;
                linear
            })
            .collect();
        Cin {
            maps,
            fields: self.fields,
        }
    }

    /// Width of the output: `Σ_k H_k`.
    pub fn d_output(&self) -> usize {
        self.layers.iter().sum()
    }
}

impl Cin {
    /// `v [B, m, D]` → `[B, Σ_k H_k]`.
    pub fn forward(&self, v: Tensor<3>) -> Tensor<2> {
        let [b, m, d] = v.dims();
        let x0 = v.swap_dims(1, 2); // [B, D, m]
        let mut x = x0.clone();
        let mut pooled = Vec::with_capacity(self.maps.len());
        for map in &self.maps {
            let h = x.dims()[2];
            // [B, D, H, 1] ⊙ [B, D, 1, m] → [B, D, H·m]
            let z = x.unsqueeze_dim::<4>(3) * x0.clone().unsqueeze_dim::<4>(2);
            x = map.forward(z.reshape([b, d, h * m])); // [B, D, H_k]
            let h_k = x.dims()[2];
            pooled.push(x.clone().sum_dim(1).reshape([b, h_k]));
        }
        Tensor::cat(pooled, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn pooled_maps_equal_the_papers_double_sum() {
        let device = Device::flex();
        let (b, m, d) = (2, 3, 4);
        let cin = CinConfig::new(m, vec![2, 3]).init(&device);
        let v = Tensor::<3>::random([b, m, d], Distribution::Normal(0.0, 1.0), &device);
        let got = cin
            .forward(v.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let v = v.into_data().try_to_vec::<f32>().unwrap();
        for r in 0..b {
            // X⁰[j][d]
            let x0: Vec<Vec<f32>> = (0..m)
                .map(|j| (0..d).map(|k| v[r * m * d + j * d + k]).collect())
                .collect();
            let mut x = x0.clone();
            let mut out = Vec::new();
            for map in &cin.maps {
                // Linear weight [H_{k-1}·m, H_k]: row i·m + j, column h.
                let w = map.weight.val().into_data().try_to_vec::<f32>().unwrap();
                let h_k = map.weight.dims()[1];
                let next: Vec<Vec<f32>> = (0..h_k)
                    .map(|h| {
                        (0..d)
                            .map(|k| {
                                let mut s = 0.0;
                                for (i, xi) in x.iter().enumerate() {
                                    for (j, x0j) in x0.iter().enumerate() {
                                        s += w[(i * m + j) * h_k + h] * xi[k] * x0j[k];
                                    }
                                }
                                s
                            })
                            .collect()
                    })
                    .collect();
                out.extend(next.iter().map(|map| map.iter().sum::<f32>()));
                x = next;
            }
            for (h, want) in out.iter().enumerate() {
                let g = got[r * out.len() + h];
                assert!((g - want).abs() < 1e-4, "{g} vs {want}");
            }
        }
    }
}
