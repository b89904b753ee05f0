//! A field-wise wide layer: the first-order term with one learned weight
//! per field over that field's own term,
//!
//! `y_wide = w0 + Σ_f α_f · t_f`,  `t_f = w[id_f]` (or `w_n x_n`, …),
//!
//! so a field's whole first-order contribution can be turned up or down at
//! once, beside the per-id weights. `α` starts at 1: plain logistic
//! regression.

use burn::module::Param;
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::first_order::{FirstOrder, FirstOrderConfig};
use crate::batch::Batch;

#[derive(Module, Debug)]
pub struct FieldwiseWide {
    pub first_order: FirstOrder,
    /// `α`, `[F]`.
    pub field_weights: Param<Tensor<1>>,
}

impl FieldwiseWide {
    pub fn new(config: &FirstOrderConfig, layout: &FeatureLayout, device: &Device) -> Self {
        Self {
            first_order: config.init(layout, device),
            field_weights: Param::from_tensor(Tensor::ones([layout.num_fields()], device)),
        }
    }

    /// `[B, 1]`.
    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        let terms = self.first_order.per_field(batch); // [B, F]
        let f = terms.dims()[1];
        let weighted = terms.matmul(self.field_weights.val().reshape([f, 1]));
        weighted + self.first_order.bias.val().reshape([1, 1])
    }
}
