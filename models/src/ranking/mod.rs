//! CTR ranking models: each maps a [`Batch`] to one logit per row, `[B, 1]`.
//!
//! All share one hyper-parameter set ([`RankingConfig`], the `[model]`
//! section of a run config), as FuxiCTR's model configs do; each model file
//! reads only the keys it needs.

mod autoint;
mod dcn_v2;
mod deepfm;
mod deepfm_hadamard;
mod din;
mod fibinet;
mod fm;
mod kfm;
mod lr;
mod nfm;
mod wide_deep;
mod xdeepfm;

pub use autoint::AutoInt;
pub use dcn_v2::{DcnStructure, DcnV2};
pub use deepfm::DeepFm;
pub use deepfm_hadamard::DeepFmHadamard;
pub use din::Din;
pub use fibinet::FiBiNet;
pub use fm::Fm;
pub use kfm::Kfm;
pub use lr::Lr;
pub use nfm::Nfm;
pub use wide_deep::WideDeep;
pub use xdeepfm::XDeepFm;

use std::collections::BTreeMap;

use burn::prelude::*;
use ember_datasets::FeatureLayout;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::layers::{
    FeatureConfig, FeatureLayer, FirstOrder, FirstOrderConfig, Mlp, MlpConfig, SequencePooling,
};

/// Which ranking model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    Lr,
    Fm,
    WideDeep,
    #[serde(rename = "deepfm")]
    DeepFm,
    Nfm,
    Kfm,
    DcnV2,
    #[serde(rename = "xdeepfm")]
    XDeepFm,
    #[serde(rename = "autoint")]
    AutoInt,
    #[serde(rename = "fibinet")]
    FiBiNet,
    #[serde(rename = "deepfm_hadamard")]
    DeepFmHadamard,
    Din,
}

impl ModelKind {
    pub const ALL: [ModelKind; 12] = [
        ModelKind::Lr,
        ModelKind::Fm,
        ModelKind::WideDeep,
        ModelKind::DeepFm,
        ModelKind::Nfm,
        ModelKind::Kfm,
        ModelKind::DcnV2,
        ModelKind::XDeepFm,
        ModelKind::AutoInt,
        ModelKind::FiBiNet,
        ModelKind::DeepFmHadamard,
        ModelKind::Din,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Lr => "lr",
            ModelKind::Fm => "fm",
            ModelKind::WideDeep => "wide_deep",
            ModelKind::DeepFm => "deepfm",
            ModelKind::Nfm => "nfm",
            ModelKind::Kfm => "kfm",
            ModelKind::DcnV2 => "dcn_v2",
            ModelKind::XDeepFm => "xdeepfm",
            ModelKind::AutoInt => "autoint",
            ModelKind::FiBiNet => "fibinet",
            ModelKind::DeepFmHadamard => "deepfm_hadamard",
            ModelKind::Din => "din",
        }
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = ModelKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown model '{s}', expected one of {}", names.join(", "))
            })
    }
}

/// Hyper-parameters of a ranking model (the `[model]` table of a run config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankingConfig {
    pub kind: ModelKind,
    pub embedding_dim: usize,
    /// Per-field embedding sizes (KFM); empty = `embedding_dim` for all.
    pub field_dims: Vec<usize>,
    /// Std of the N(0, std²) initialisation of embeddings and first-order weights.
    pub init_std: f64,
    /// Deep tower widths (Wide&Deep, DeepFM and the other deep models) or
    /// the layers after bi-interaction (NFM); AutoInt adds a tower (AutoInt+)
    /// only when it is non-empty.
    pub hidden: Vec<usize>,
    pub dropout: f64,
    pub batch_norm: bool,
    /// DCN-v2: cross layers, and how the cross network meets the tower.
    pub cross_layers: usize,
    pub dcn_structure: DcnStructure,
    /// xDeepFM: feature maps per CIN layer.
    pub cin_layers: Vec<usize>,
    /// AutoInt: interacting layers, heads, and each head's width `d'`.
    pub attention_layers: usize,
    pub attention_heads: usize,
    pub attention_dim: usize,
    /// FiBiNET: the SENET reduction ratio `r`.
    pub senet_reduction: usize,
    /// Per sequence field (by name): sum, mean (the default), max, or
    /// target_attention (DIN only).
    pub sequence_pooling: BTreeMap<String, SequencePooling>,
    /// DIN: the categorical field holding the candidate item.
    pub din_target: String,
    /// DIN: the hidden widths of the attention unit.
    pub din_attention_hidden: Vec<usize>,
    /// DIN: softmax the attention weights over the real entries (true), or
    /// keep the unit's raw scores, the paper's choice (false).
    pub din_softmax: bool,
    /// DIN: also feed the tower `e_t ⊙ v_U(t)`, the candidate times the
    /// interest it attended (the input of Alibaba's DIN baseline in the
    /// DIEN repository), so the tower sees their match directly.
    pub din_interest_product: bool,
    /// DIN: the attended sequences also enter mean-pooled, beside their
    /// attended interest (that baseline reads both).
    pub din_keep_mean: bool,
    /// DIN: add the first-order term `w_0 + Σ_i w_i` to the tower's logit
    /// (the official DIN code adds the candidate's bias `b_t`; this is it
    /// for every field, as Wide&Deep's wide part).
    pub din_first_order: bool,
    /// DIN: add DeepFM's FM term `Σ_{i<j} <v_i, v_j>` over the field
    /// vectors (the attended interest in its sequence's place), so
    /// `<e_user, e_item>`, matrix factorisation, is a product the tower
    /// need not learn; with `din_first_order` and neither of the two
    /// above, DIN is DeepFM with the history attended instead of averaged.
    pub din_fm: bool,
}

impl Default for RankingConfig {
    fn default() -> Self {
        Self {
            kind: ModelKind::DeepFm,
            embedding_dim: 10,
            field_dims: Vec::new(),
            init_std: 0.01,
            hidden: vec![400, 400, 400],
            dropout: 0.0,
            batch_norm: false,
            cross_layers: 3,
            dcn_structure: DcnStructure::Parallel,
            cin_layers: vec![100, 100],
            attention_layers: 3,
            attention_heads: 2,
            attention_dim: 16,
            senet_reduction: 3,
            sequence_pooling: BTreeMap::new(),
            din_target: "item_id".to_owned(),
            din_attention_hidden: vec![36],
            din_softmax: true,
            din_interest_product: false,
            din_keep_mean: false,
            din_first_order: false,
            din_fm: false,
        }
    }
}

impl RankingConfig {
    fn features(&self, layout: &FeatureLayout) -> Result<FeatureConfig, String> {
        Ok(FeatureConfig::new()
            .with_embedding_dim(self.embedding_dim)
            .with_field_dims(self.field_dims.clone())
            .with_init_std(self.init_std)
            .with_sequence_pooling(self.sequence_pooling_for(layout)?))
    }

    /// Each sequence field's pooling, in layout order, from
    /// `sequence_pooling` (by field name; mean where not named).
    fn sequence_pooling_for(&self, layout: &FeatureLayout) -> Result<Vec<SequencePooling>, String> {
        let names: Vec<&str> = layout
            .sequences
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect();
        for (name, pooling) in &self.sequence_pooling {
            if !names.contains(&name.as_str()) {
                return Err(format!(
                    "sequence_pooling names '{name}', which is not a sequence field (the data has: {})",
                    names.join(", ")
                ));
            }
            if *pooling == SequencePooling::TargetAttention && self.kind != ModelKind::Din {
                return Err(format!(
                    "sequence_pooling: '{name}' asks for target attention, which only din has (a candidate to attend with)"
                ));
            }
        }
        Ok(names
            .iter()
            .map(|n| self.sequence_pooling.get(*n).copied().unwrap_or_default())
            .collect())
    }

    fn first_order(&self, layout: &FeatureLayout, device: &Device) -> FirstOrder {
        FirstOrderConfig::new()
            .with_init_std(self.init_std)
            .init(layout, device)
    }

    /// A deep tower ending in one logit.
    fn tower(&self, d_input: usize) -> MlpConfig {
        MlpConfig::new(d_input, self.hidden.clone())
            .with_d_output(Some(1))
            .with_dropout(self.dropout)
            .with_batch_norm(self.batch_norm)
    }

    /// A feature layer whose fields all share one embedding size.
    fn uniform_features(
        &self,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<FeatureLayer, String> {
        if !self.field_dims.is_empty() && self.field_dims.iter().any(|&d| d != self.embedding_dim) {
            return Err(format!(
                "model '{}' needs one embedding size for all fields; field_dims is only for kfm",
                self.kind.name()
            ));
        }
        self.features(layout)?.init(layout, device)
    }

    pub fn init(&self, layout: &FeatureLayout, device: &Device) -> Result<RankingModel, String> {
        Ok(match self.kind {
            ModelKind::Lr => RankingModel::Lr(Lr::new(self, layout, device)),
            ModelKind::Fm => RankingModel::Fm(Fm::new(self, layout, device)?),
            ModelKind::WideDeep => RankingModel::WideDeep(WideDeep::new(self, layout, device)?),
            ModelKind::DeepFm => RankingModel::DeepFm(DeepFm::new(self, layout, device)?),
            ModelKind::Nfm => RankingModel::Nfm(Nfm::new(self, layout, device)?),
            ModelKind::Kfm => RankingModel::Kfm(Kfm::new(self, layout, device)?),
            ModelKind::DcnV2 => RankingModel::DcnV2(DcnV2::new(self, layout, device)?),
            ModelKind::XDeepFm => RankingModel::XDeepFm(XDeepFm::new(self, layout, device)?),
            ModelKind::AutoInt => RankingModel::AutoInt(AutoInt::new(self, layout, device)?),
            ModelKind::FiBiNet => RankingModel::FiBiNet(FiBiNet::new(self, layout, device)?),
            ModelKind::DeepFmHadamard => {
                RankingModel::DeepFmHadamard(DeepFmHadamard::new(self, layout, device)?)
            }
            ModelKind::Din => RankingModel::Din(Din::new(self, layout, device)?),
        })
    }
}

/// CPU scoring splits the rows into this many parts per core
/// (`RankingModel::predict_proba`).
const PARTS_PER_CORE: usize = 4;
/// ... but no part smaller than this: smaller ones would cost more in
/// hand-off than they save.
const MIN_ROWS_PER_PART: usize = 128;

// One per loaded model, never held in bulk: boxing the larger variants
// would buy nothing (and Burn's `Module` derive does not see through `Box`).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum RankingModel {
    Lr(Lr),
    Fm(Fm),
    WideDeep(WideDeep),
    DeepFm(DeepFm),
    Nfm(Nfm),
    Kfm(Kfm),
    DcnV2(DcnV2),
    XDeepFm(XDeepFm),
    AutoInt(AutoInt),
    FiBiNet(FiBiNet),
    DeepFmHadamard(DeepFmHadamard),
    Din(Din),
}

impl RankingModel {
    /// Logits `[B, 1]`.
    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        match self {
            RankingModel::Lr(m) => m.forward(batch),
            RankingModel::Fm(m) => m.forward(batch),
            RankingModel::WideDeep(m) => m.forward(batch),
            RankingModel::DeepFm(m) => m.forward(batch),
            RankingModel::Nfm(m) => m.forward(batch),
            RankingModel::Kfm(m) => m.forward(batch),
            RankingModel::DcnV2(m) => m.forward(batch),
            RankingModel::XDeepFm(m) => m.forward(batch),
            RankingModel::AutoInt(m) => m.forward(batch),
            RankingModel::FiBiNet(m) => m.forward(batch),
            RankingModel::DeepFmHadamard(m) => m.forward(batch),
            RankingModel::Din(m) => m.forward(batch),
        }
    }
}

impl RankingModel {
    /// The same model prepared for scoring: batch norms folded into the
    /// linear layers before them (`Mlp::fold_batch_norm`). Not for training.
    pub fn for_inference(self) -> Self {
        match self {
            RankingModel::WideDeep(m) => RankingModel::WideDeep(WideDeep {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::DeepFm(m) => RankingModel::DeepFm(DeepFm {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::Nfm(m) => RankingModel::Nfm(Nfm {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::DcnV2(m) => RankingModel::DcnV2(DcnV2 {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::XDeepFm(m) => RankingModel::XDeepFm(XDeepFm {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::AutoInt(m) => RankingModel::AutoInt(AutoInt {
                deep: m.deep.map(Mlp::fold_batch_norm),
                ..m
            }),
            RankingModel::FiBiNet(m) => RankingModel::FiBiNet(FiBiNet {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::DeepFmHadamard(m) => RankingModel::DeepFmHadamard(DeepFmHadamard {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            RankingModel::Din(m) => RankingModel::Din(Din {
                deep: m.deep.fold_batch_norm(),
                ..m
            }),
            other => other,
        }
    }

    /// Click probabilities for every row of `data`, in order, scored in batches
    /// of `batch_size` on `device` (no autodiff).
    ///
    /// On a CPU backend the rows are split into parts, [`PARTS_PER_CORE`]
    /// per core, that rayon's threads score side by side. Single-core matmuls
    /// on parts beat one matmul that the gemm splits across the cores itself,
    /// the element-wise ops between them run in parallel too, and several
    /// parts per core let an idle core take over from one the machine
    /// stalls. Scoring 1,000 frappe rows with the DeepFM preset on two
    /// cores, interleaved: one part (before) p50 9.15 / 10.22 / 10.79 /
    /// 10.17 ms, p99 16.60 / 17.50 / 19.52 / 17.21 ms; one part per core
    /// p50 7.17 / 5.72 / 6.94 / 5.85, p99 10.67 / 10.42 / 13.28 / 15.10;
    /// and in a later round one vs four parts per core p99 11.67 / 11.09 /
    /// 10.38 vs 7.90 / 7.24 / 7.05 ms at about the same p50.
    pub fn predict_proba(
        &self,
        data: &ember_datasets::EncodedData,
        batch_size: usize,
        device: &Device,
    ) -> Vec<f32> {
        let rows: Vec<usize> = (0..data.num_rows).collect();
        let parts = if crate::device::is_cpu(device) {
            (rayon::current_num_threads() * PARTS_PER_CORE).min(data.num_rows / MIN_ROWS_PER_PART)
        } else {
            1
        };
        if parts <= 1 {
            return self.predict_rows(data, &rows, batch_size, device);
        }
        let part = data.num_rows.div_ceil(parts);
        let scores: Vec<Vec<f32>> = rows
            .par_chunks(part)
            .map(|part| self.predict_rows(data, part, batch_size, device))
            .collect();
        scores.concat()
    }

    /// Click probabilities of `rows` of `data`, on the calling thread.
    fn predict_rows(
        &self,
        data: &ember_datasets::EncodedData,
        rows: &[usize],
        batch_size: usize,
        device: &Device,
    ) -> Vec<f32> {
        if rows.is_empty() {
            return Vec::new();
        }
        // Keep every batch's scores on the device and read them back once:
        // one host sync instead of one per batch.
        let scores: Vec<Tensor<2>> = rows
            .chunks(batch_size.max(1))
            .map(|chunk| {
                let batch = Batch::from_rows(data, chunk, device);
                burn::tensor::activation::sigmoid(self.forward(&batch))
            })
            .collect();
        Tensor::cat(scores, 0)
            .into_data()
            .try_to_vec::<f32>()
            .expect("scores are f32")
    }
}
