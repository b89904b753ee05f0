//! Arithmetic on parameter gradients ([`GradientsParams`]) that stays on
//! the device: weighted sums, and the Gram matrix of several tasks'
//! gradients (all T² dot products read from the device at once).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// Visitor building `Σ_k c_k g_k` for every parameter it visits that has a
/// gradient in at least one input.
pub struct WeightedSum<'a> {
    inputs: &'a [(f64, &'a GradientsParams)],
    pub out: GradientsParams,
}

impl<'a> WeightedSum<'a> {
    pub fn new(inputs: &'a [(f64, &'a GradientsParams)]) -> Self {
        Self {
            inputs,
            out: GradientsParams::new(),
        }
    }
}

impl ModuleVisitor for WeightedSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let mut acc: Option<Tensor<D>> = None;
        for &(c, grads) in self.inputs {
            if c == 0.0 {
                continue;
            }
            if let Some(g) = grads.get::<D>(param.id) {
                let g = if c == 1.0 { g } else { g.mul_scalar(c) };
                acc = Some(match acc {
                    Some(a) => a + g,
                    None => g,
                });
            }
        }
        if let Some(sum) = acc {
            self.out.register(param.id, sum);
        }
    }
}

/// `Σ_k c_k g_k` over all parameters of `module`.
pub fn weighted_sum<M: Module>(module: &M, inputs: &[(f64, &GradientsParams)]) -> GradientsParams {
    let mut visitor = WeightedSum::new(inputs);
    module.visit(&mut visitor);
    visitor.out
}

/// Visitor accumulating `g_i · g_j` over the parameters it visits.
pub struct Gram<'a> {
    grads: &'a [GradientsParams],
    /// Upper triangle, row-major: `(i, j)` with `i ≤ j`.
    dots: Vec<Option<Tensor<1>>>,
}

impl<'a> Gram<'a> {
    pub fn new(grads: &'a [GradientsParams]) -> Self {
        let t = grads.len();
        Self {
            grads,
            dots: vec![None; t * (t + 1) / 2],
        }
    }

    /// The symmetric T×T matrix (one read from the device).
    pub fn finish(self, device: &Device) -> Vec<Vec<f64>> {
        let t = self.grads.len();
        let values: Vec<Tensor<1>> = self
            .dots
            .into_iter()
            .map(|d| d.unwrap_or_else(|| Tensor::zeros([1], device)))
            .collect();
        let flat = Tensor::cat(values, 0)
            .into_data()
            .try_to_vec::<f32>()
            .expect("dot products are f32");
        let mut gram = vec![vec![0.0; t]; t];
        // `flat` is the upper triangle, row by row; mirror it.
        let mut upper = flat.iter().map(|&v| f64::from(v));
        // Writes both (i, j) and (j, i): indices read clearer than iterators.
        #[allow(clippy::needless_range_loop)]
        for i in 0..t {
            for j in i..t {
                let v = upper.next().expect("t(t+1)/2 dot products");
                gram[i][j] = v;
                gram[j][i] = v;
            }
        }
        gram
    }
}

impl ModuleVisitor for Gram<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g: Vec<Option<Tensor<D>>> = self.grads.iter().map(|g| g.get(param.id)).collect();
        let t = g.len();
        let mut k = 0;
        for i in 0..t {
            for j in i..t {
                if let (Some(a), Some(b)) = (&g[i], &g[j]) {
                    let d = (a.clone() * b.clone()).sum();
                    self.dots[k] = Some(match self.dots[k].take() {
                        Some(acc) => acc + d,
                        None => d,
                    });
                }
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    #[test]
    fn weighted_sum_and_gram_match_host_arithmetic() {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(2, 2).init(&device);
        let x = Tensor::<2>::from_floats([[1.0, -2.0], [0.5, 3.0]], &device);
        let grads_of = |scale: f32, shift: f32| {
            let loss =
                (layer.forward(x.clone()).add_scalar(shift).square().sum()).mul_scalar(scale);
            GradientsParams::from_grads(loss.backward(), &layer)
        };
        let (g1, g2) = (grads_of(1.0, 0.0), grads_of(-0.5, 1.0));
        let host = |g: &GradientsParams| {
            let mut v = g
                .get::<2>(layer.weight.id)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            v.extend(
                g.get::<1>(layer.bias.as_ref().unwrap().id)
                    .unwrap()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap(),
            );
            v.into_iter().map(f64::from).collect::<Vec<f64>>()
        };
        let (h1, h2) = (host(&g1), host(&g2));
        let mix = weighted_sum(&layer, &[(2.0, &g1), (-1.0, &g2)]);
        for (m, (a, b)) in host(&mix).iter().zip(h1.iter().zip(&h2)) {
            assert!((m - (2.0 * a - b)).abs() < 1e-4);
        }
        let both = [g1, g2];
        let mut gram = Gram::new(&both);
        layer.visit(&mut gram);
        let gram = gram.finish(&device);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        assert!((gram[0][0] - dot(&h1, &h1)).abs() < 1e-3 * dot(&h1, &h1).max(1.0));
        assert!((gram[0][1] - dot(&h1, &h2)).abs() < 1e-3 * dot(&h1, &h1).max(1.0));
        assert_eq!(gram[0][1], gram[1][0]);
    }
}
