//! Retrieval models: map users and items to vectors whose inner product
//! ranks the whole corpus, so items can be indexed ahead of time.

mod item_tower;
mod two_tower;
mod user_tower;

pub use item_tower::ItemTower;
pub use two_tower::TwoTower;
pub use user_tower::UserTower;

use serde::{Deserialize, Serialize};

/// Which retrieval model (one so far; the tag lets `ember train` tell a
/// retrieval config from a ranking one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrievalKind {
    #[default]
    TwoTower,
}

/// How the user tower pools the behaviour sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// The mean of the history's item embeddings.
    #[default]
    Mean,
    /// Target-free self-attention, then the mean (layers::attention_pooling).
    Attention,
}

/// How the item tower uses a pretrained dense item vector, if the data has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenseItemUse {
    /// One more input field of the item MLP (projected like any dense field).
    #[default]
    Input,
    /// The normalised vector *is* the item representation: no item MLP, and
    /// the user tower must output the vector's dimension.
    Direct,
}

/// Hyper-parameters of a two-tower model (the `[model]` table of a retrieval run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwoTowerConfig {
    pub kind: RetrievalKind,
    /// Size of every field embedding in both towers.
    pub embedding_dim: usize,
    pub init_std: f64,
    /// Hidden widths of the user MLP.
    pub user_hidden: Vec<usize>,
    /// Hidden widths of the item MLP.
    pub item_hidden: Vec<usize>,
    /// Width of the (normalised) user and item vectors.
    pub output_dim: usize,
    pub pooling: Pooling,
    pub dense_item: DenseItemUse,
    /// Score = cosine / temperature.
    pub temperature: f64,
    pub dropout: f64,
}

impl Default for TwoTowerConfig {
    fn default() -> Self {
        Self {
            kind: RetrievalKind::TwoTower,
            embedding_dim: 32,
            init_std: 0.05,
            user_hidden: vec![128],
            item_hidden: vec![128],
            output_dim: 64,
            pooling: Pooling::Mean,
            dense_item: DenseItemUse::Input,
            temperature: 0.1,
            dropout: 0.0,
        }
    }
}
