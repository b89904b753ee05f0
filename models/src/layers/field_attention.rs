//! AutoInt's interacting layer (Song et al. 2019, eqs. 5–8): multi-head
//! self-attention over the fields, each field attending to every field,
//!
//! `α^{(h)}_{m,k} = softmax_k ⟨W_Q^{(h)} e_m, W_K^{(h)} e_k⟩`,
//! `ẽ^{(h)}_m = Σ_k α^{(h)}_{m,k} W_V^{(h)} e_k`,
//! `e^{Res}_m = ReLU(ẽ^{(1)}_m ⊕ … ⊕ ẽ^{(H)}_m + W_{Res} e_m)`.
//!
//! Written out rather than Burn's `MultiHeadAttention`, which projects the
//! concatenated heads through an output matrix and has no residual
//! projection: the paper's layer is the equations above, nothing more.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};

#[derive(Config, Debug)]
pub struct FieldAttentionConfig {
    /// Width of each field's input vector.
    pub d_input: usize,
    /// Width of one head's vectors, `d'`.
    pub d_head: usize,
    pub heads: usize,
}

#[derive(Module, Debug)]
pub struct FieldAttention {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub residual: Linear,
    pub heads: usize,
}

impl FieldAttentionConfig {
    pub fn init(&self, device: &Device) -> FieldAttention {
        let linear = || {
            LinearConfig::new(self.d_input, self.heads * self.d_head)
                .with_bias(false)
                .init(device)
        };
        FieldAttention {
            query: linear(),
            key: linear(),
            value: linear(),
            residual: linear(),
            heads: self.heads,
        }
    }

    /// Width of each field's output vector, `H · d'`.
    pub fn d_output(&self) -> usize {
        self.heads * self.d_head
    }
}

impl FieldAttention {
    /// `[B, F, H·d']` → `[B, H, F, d']`.
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, f, width] = x.dims();
        x.reshape([b, f, self.heads, width / self.heads])
            .swap_dims(1, 2)
    }

    /// The attention weights `α`, `[B, H, F, F]` (rows sum to 1).
    pub fn weights(&self, e: Tensor<3>) -> Tensor<4> {
        let q = self.split_heads(self.query.forward(e.clone()));
        let k = self.split_heads(self.key.forward(e));
        softmax(q.matmul(k.swap_dims(2, 3)), 3)
    }

    /// `e [B, F, d_input]` → `[B, F, H·d']`.
    pub fn forward(&self, e: Tensor<3>) -> Tensor<3> {
        let [b, f, _] = e.dims();
        let alpha = self.weights(e.clone());
        let v = self.split_heads(self.value.forward(e.clone()));
        let heads = alpha.matmul(v).swap_dims(1, 2); // [B, F, H, d']
        let width = self.residual.weight.dims()[1];
        relu(heads.reshape([b, f, width]) + self.residual.forward(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn weights_sum_to_one_and_output_matches_the_equations() {
        let device = Device::flex();
        let (b, f, d, dh, heads) = (2, 4, 3, 2, 2);
        let layer = FieldAttentionConfig::new(d, dh, heads).init(&device);
        let e = Tensor::<3>::random([b, f, d], Distribution::Normal(0.0, 1.0), &device);
        let alpha = vec(layer.weights(e.clone()));
        for row in alpha.chunks(f) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let got = vec(layer.forward(e.clone()));
        let ev = vec(e);
        let w = |l: &Linear| vec(l.weight.val()); // [d, H·d']
        let (wq, wk, wv, wr) = (
            w(&layer.query),
            w(&layer.key),
            w(&layer.value),
            w(&layer.residual),
        );
        let width = heads * dh;
        let project = |w: &[f32], r: usize, m: usize, c: usize| -> f32 {
            (0..d)
                .map(|i| ev[(r * f + m) * d + i] * w[i * width + c])
                .sum()
        };
        for r in 0..b {
            for m in 0..f {
                for h in 0..heads {
                    let cols = h * dh..(h + 1) * dh;
                    let logits: Vec<f32> = (0..f)
                        .map(|k| {
                            cols.clone()
                                .map(|c| project(&wq, r, m, c) * project(&wk, r, k, c))
                                .sum()
                        })
                        .collect();
                    let max = logits.iter().cloned().fold(f32::MIN, f32::max);
                    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
                    let total: f32 = exp.iter().sum();
                    for c in cols {
                        let attended: f32 =
                            (0..f).map(|k| exp[k] / total * project(&wv, r, k, c)).sum();
                        let want = (attended + project(&wr, r, m, c)).max(0.0);
                        let g = got[(r * f + m) * width + c];
                        assert!((g - want).abs() < 1e-4, "{g} vs {want}");
                    }
                }
            }
        }
    }
}
