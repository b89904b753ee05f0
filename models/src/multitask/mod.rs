//! Multi-task ranking models: one tower per task on shared feature layers.
//!
//! | model | shared | task-specific |
//! |---|---|---|
//! | [`SharedBottom`] | embeddings, bottom MLP | towers |
//! | [`Esmm`] | embeddings | CTR and CVR towers; `pCTCVR = pCTR × pCVR` |
//! | [`Mmoe`] | embeddings, experts | one gate and tower per task |
//! | [`Cgc`] | embeddings, shared experts | task experts, gates, towers |
//! | [`Ple`] | embeddings, lower CGC levels, last shared experts | last task experts, gates, towers |
//!
//! Every model is split at the boundary between shared and task-specific
//! parameters: [`MultiTaskNet::shared`] maps a batch to a [`SharedRepr`] and
//! [`MultiTaskNet::heads`] maps that to one tower output per task. The loss
//! balancers of the train crate need the gradient of each task's loss at
//! this boundary (GradNorm, PCGrad); Burn frees the graph on backward, so
//! the trainer runs the heads once per task on a detached copy of the
//! representation and sends the combined gradient through the shared part
//! once. The [`TaskGraph`] then turns tower outputs into task outputs.

mod cgc;
mod esmm;
pub mod fusion;
mod mmoe;
mod ple;
mod shared_bottom;
pub mod task_graph;
mod towers;

pub use cgc::{Cgc, CgcLayer};
pub use esmm::Esmm;
pub use mmoe::Mmoe;
pub use ple::Ple;
pub use shared_bottom::SharedBottom;
pub use task_graph::{Task, TaskGraph, TaskKind, TaskOutput, TaskSpec};
pub use towers::Towers;

use burn::module::ModuleVisitor;
use burn::prelude::*;
use burn::tensor::Gradients;
use ember_datasets::{EncodedData, FeatureLayout};
use serde::{Deserialize, Serialize};

use crate::batch::Batch;
use crate::layers::{Experts, ExpertsConfig, FeatureConfig, FeatureLayer, MlpConfig};

/// Which multi-task architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiTaskKind {
    SharedBottom,
    Esmm,
    Mmoe,
    Cgc,
    Ple,
}

impl MultiTaskKind {
    pub fn name(self) -> &'static str {
        match self {
            MultiTaskKind::SharedBottom => "shared_bottom",
            MultiTaskKind::Esmm => "esmm",
            MultiTaskKind::Mmoe => "mmoe",
            MultiTaskKind::Cgc => "cgc",
            MultiTaskKind::Ple => "ple",
        }
    }
}

/// Hyper-parameters of a multi-task model (the `[model]` table of a
/// multi-task run config); each model reads the keys it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultiTaskConfig {
    pub kind: MultiTaskKind,
    pub embedding_dim: usize,
    pub init_std: f64,
    /// Shared-bottom: the shared MLP's widths (empty = embeddings only).
    pub bottom: Vec<usize>,
    /// MMoE: number of shared experts.
    pub experts: usize,
    /// MMoE / CGC / PLE: each expert's layer widths.
    pub expert_hidden: Vec<usize>,
    /// CGC / PLE: experts per task.
    pub task_experts: usize,
    /// CGC / PLE: shared experts per level.
    pub shared_experts: usize,
    /// PLE: number of extraction levels (1 = CGC).
    pub levels: usize,
    /// Every task tower's hidden widths (a final linear layer gives one output).
    pub tower: Vec<usize>,
    pub dropout: f64,
    pub batch_norm: bool,
}

impl Default for MultiTaskConfig {
    fn default() -> Self {
        Self {
            kind: MultiTaskKind::Mmoe,
            embedding_dim: 10,
            init_std: 0.01,
            bottom: vec![128, 64],
            experts: 8,
            expert_hidden: vec![64],
            task_experts: 2,
            shared_experts: 2,
            levels: 2,
            tower: vec![32],
            dropout: 0.0,
            batch_norm: false,
        }
    }
}

impl MultiTaskConfig {
    pub(crate) fn features(
        &self,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<FeatureLayer, String> {
        FeatureConfig::new()
            .with_embedding_dim(self.embedding_dim)
            .with_init_std(self.init_std)
            .init(layout, device)
    }

    /// Width of the flattened feature vectors.
    pub(crate) fn feature_width(&self, layout: &FeatureLayout) -> usize {
        layout.num_fields() * self.embedding_dim
    }

    pub(crate) fn mlp(&self, d_input: usize, hidden: &[usize]) -> MlpConfig {
        MlpConfig::new(d_input, hidden.to_vec())
            .with_dropout(self.dropout)
            .with_batch_norm(self.batch_norm)
    }

    pub(crate) fn experts(
        &self,
        d_input: usize,
        count: usize,
        device: &Device,
    ) -> Result<Experts, String> {
        if count == 0 {
            return Err(format!(
                "model '{}' needs at least one expert of each kind it uses",
                self.kind.name()
            ));
        }
        ExpertsConfig::new(d_input, count, self.expert_hidden.clone())
            .with_dropout(self.dropout)
            .with_batch_norm(self.batch_norm)
            .init(device)
    }

    pub(crate) fn expert_width(&self) -> usize {
        self.expert_hidden.last().copied().unwrap_or(0)
    }

    pub(crate) fn towers(&self, d_input: usize, tasks: usize, device: &Device) -> Towers {
        Towers::new(&self.mlp(d_input, &self.tower), tasks, device)
    }

    /// Builds the model for the resolved tasks.
    pub fn init(
        &self,
        layout: &FeatureLayout,
        graph: &TaskGraph,
        device: &Device,
    ) -> Result<MultiTaskModel, String> {
        if layout.num_fields() == 0 {
            return Err("the data has no feature fields".into());
        }
        let t = graph.len();
        let net = match self.kind {
            MultiTaskKind::SharedBottom => {
                MultiTaskNet::SharedBottom(SharedBottom::new(self, layout, t, device)?)
            }
            MultiTaskKind::Esmm => MultiTaskNet::Esmm(Esmm::new(self, layout, graph, device)?),
            MultiTaskKind::Mmoe => MultiTaskNet::Mmoe(Mmoe::new(self, layout, t, device)?),
            MultiTaskKind::Cgc => MultiTaskNet::Cgc(Cgc::new(self, layout, t, device)?),
            MultiTaskKind::Ple => MultiTaskNet::Ple(Ple::new(self, layout, t, device)?),
        };
        Ok(MultiTaskModel {
            net,
            graph: graph.clone(),
        })
    }
}

/// The activations at the boundary between shared and task-specific
/// parameters: a list of `[B, *]` tensors whose meaning each model documents.
#[derive(Debug, Clone)]
pub struct SharedRepr {
    pub parts: Vec<Tensor<2>>,
}

impl SharedRepr {
    /// A copy cut from the graph that produced it, whose gradient is kept:
    /// backward through the heads stops here.
    pub fn detached_leaf(&self) -> Self {
        Self {
            parts: self
                .parts
                .iter()
                .map(|p| p.clone().detach().require_grad())
                .collect(),
        }
    }

    /// The gradient of each part in `grads` (zeros where a part was unused).
    pub fn grads(&self, grads: &Gradients) -> Vec<Tensor<2>> {
        self.parts
            .iter()
            .map(|p| {
                p.grad(grads)
                    .unwrap_or_else(|| Tensor::zeros(p.dims(), &p.device()).inner())
            })
            .collect()
    }

    /// `Σ_parts <part, g>`: its gradient with respect to the shared
    /// parameters is `Jᵀ g`, so one backward of it sends the gradient `g`
    /// (e.g. `Σ_t w_t ∂L_t/∂repr`) through the shared part.
    pub fn surrogate(&self, g: &[Tensor<2>]) -> Tensor<1> {
        self.parts
            .iter()
            .zip(g)
            .map(|(p, g)| (p.clone() * g.clone()).sum())
            .reduce(|a, b| a + b)
            .expect("a representation has at least one part")
    }
}

/// The architectures, split at the shared / task-specific boundary.
#[derive(Module, Debug)]
pub enum MultiTaskNet {
    SharedBottom(SharedBottom),
    Esmm(Esmm),
    Mmoe(Mmoe),
    Cgc(Cgc),
    Ple(Ple),
}

impl MultiTaskNet {
    pub fn shared(&self, batch: &Batch) -> SharedRepr {
        match self {
            MultiTaskNet::SharedBottom(m) => m.shared(batch),
            MultiTaskNet::Esmm(m) => m.shared(batch),
            MultiTaskNet::Mmoe(m) => m.shared(batch),
            MultiTaskNet::Cgc(m) => m.shared(batch),
            MultiTaskNet::Ple(m) => m.shared(batch),
        }
    }

    /// Tower outputs `[B, T]`.
    pub fn heads(&self, repr: &SharedRepr) -> Tensor<2> {
        match self {
            MultiTaskNet::SharedBottom(m) => m.heads(repr),
            MultiTaskNet::Esmm(m) => m.heads(repr),
            MultiTaskNet::Mmoe(m) => m.heads(repr),
            MultiTaskNet::Cgc(m) => m.heads(repr),
            MultiTaskNet::Ple(m) => m.heads(repr),
        }
    }

    /// Visits the shared parameters only.
    pub fn visit_shared<V: ModuleVisitor>(&self, visitor: &mut V) {
        match self {
            MultiTaskNet::SharedBottom(m) => m.visit_shared(visitor),
            MultiTaskNet::Esmm(m) => m.visit_shared(visitor),
            MultiTaskNet::Mmoe(m) => m.visit_shared(visitor),
            MultiTaskNet::Cgc(m) => m.visit_shared(visitor),
            MultiTaskNet::Ple(m) => m.visit_shared(visitor),
        }
    }
}

/// A multi-task model: an architecture plus the task graph on its towers.
#[derive(Module, Debug)]
pub struct MultiTaskModel {
    pub net: MultiTaskNet,
    #[module(skip)]
    pub graph: TaskGraph,
}

/// Per-task predictions for every row of a split.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPredictions {
    /// `p_t` (binary) or `ŷ_t` (regression), one column per task.
    pub predictions: Vec<Vec<f32>>,
    /// `σ(z_t)`: P(t | parent) for progressive tasks (pCVR), else `p_t`.
    pub conditionals: Vec<Vec<f32>>,
}

impl MultiTaskModel {
    /// Tower outputs through the task graph.
    pub fn outputs(&self, repr: &SharedRepr) -> Vec<TaskOutput> {
        self.graph.outputs(self.net.heads(repr))
    }

    pub fn forward(&self, batch: &Batch) -> Vec<TaskOutput> {
        self.outputs(&self.net.shared(batch))
    }

    /// Scores every row of `data` in batches (no autodiff), reading the
    /// device once at the end.
    pub fn predict(
        &self,
        data: &EncodedData,
        batch_size: usize,
        device: &Device,
    ) -> TaskPredictions {
        let t = self.graph.len();
        if data.num_rows == 0 {
            return TaskPredictions {
                predictions: vec![Vec::new(); t],
                conditionals: vec![Vec::new(); t],
            };
        }
        let rows: Vec<usize> = (0..data.num_rows).collect();
        let (mut preds, mut conds) = (Vec::new(), Vec::new());
        for chunk in rows.chunks(batch_size.max(1)) {
            let outputs = self.forward(&Batch::from_rows(data, chunk, device));
            preds.push(Tensor::cat(
                outputs.iter().map(TaskOutput::prediction).collect(),
                1,
            ));
            conds.push(Tensor::cat(
                outputs.iter().map(TaskOutput::conditional).collect(),
                1,
            ));
        }
        let columns = |parts: Vec<Tensor<2>>| {
            let flat = Tensor::cat(parts, 0)
                .into_data()
                .try_to_vec::<f32>()
                .expect("predictions are f32");
            (0..t)
                .map(|c| flat.iter().skip(c).step_by(t).copied().collect())
                .collect::<Vec<Vec<f32>>>()
        };
        TaskPredictions {
            predictions: columns(preds),
            conditionals: columns(conds),
        }
    }
}
