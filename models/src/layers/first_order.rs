//! The first-order (linear) term: `w0 + Σ_f w[id_f] + Σ_n w_n x_n + Σ_d w_d · x_d`.
//!
//! This is logistic regression over one-hot fields, and the "wide" part of
//! Wide&Deep. Weights are a width-1 embedding table looked up with `gather`.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::embedding::{EmbeddingTable, EmbeddingTableConfig};
use super::features::TableFields;
use crate::batch::Batch;

#[derive(Config, Debug)]
pub struct FirstOrderConfig {
    #[config(default = 0.01)]
    pub init_std: f64,
}

#[derive(Module, Debug)]
pub struct FirstOrder {
    pub weights: EmbeddingTable,
    #[module(skip)]
    pub fields: TableFields,
    /// Numeric fields → 1, without bias.
    pub numeric: Option<Linear>,
    /// Dense-vector fields → 1 each, without bias.
    pub dense: Vec<Linear>,
    /// `w0`.
    pub bias: Param<Tensor<1>>,
}

impl FirstOrderConfig {
    pub fn init(&self, layout: &FeatureLayout, device: &Device) -> FirstOrder {
        let fields = TableFields::new(
            layout,
            (0..layout.categorical.len()).collect(),
            (0..layout.sequences.len()).collect(),
        );
        let linear = |d_in: usize| LinearConfig::new(d_in, 1).with_bias(false).init(device);
        FirstOrder {
            weights: EmbeddingTableConfig::new(fields.rows.max(1), 1)
                .with_init_std(self.init_std)
                .init(device),
            fields,
            numeric: (!layout.numeric.is_empty()).then(|| linear(layout.numeric.len())),
            dense: layout.dense.iter().map(|(_, d)| linear(*d)).collect(),
            bias: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }
}

impl FirstOrder {
    /// Each field's own term, `[B, F]` (categorical, sequence, numeric,
    /// dense fields, in that order), without `w0`: what a field-wise wide
    /// layer weighs.
    pub fn per_field(&self, batch: &Batch) -> Tensor<2> {
        let b = batch.size();
        let mut terms = Vec::new();
        if let Some(w) = self.fields.lookup(&self.weights, batch) {
            let k = w.dims()[1];
            terms.push(w.reshape([b, k]));
        }
        if let (Some(linear), Some(x)) = (&self.numeric, &batch.numeric) {
            let n = linear.weight.dims()[0];
            terms.push(x.clone() * linear.weight.val().reshape([1, n]));
        }
        for (linear, x) in self.dense.iter().zip(&batch.dense) {
            terms.push(linear.forward(x.clone()));
        }
        Tensor::cat(terms, 1)
    }

    /// `[B, 1]`.
    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let b = batch.size();
        let mut out = self.bias.val().reshape([1, 1]).expand([b, 1]);
        if let Some(w) = self.fields.lookup(&self.weights, batch) {
            out = out + w.sum_dim(1).reshape([b, 1]);
        }
        if let (Some(linear), Some(x)) = (&self.numeric, &batch.numeric) {
            out = out + linear.forward(x.clone());
        }
        for (linear, x) in self.dense.iter().zip(&batch.dense) {
            out = out + linear.forward(x.clone());
        }
        out
    }
}
