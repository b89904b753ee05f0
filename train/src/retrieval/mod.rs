//! Training and measuring two-tower retrieval models.
//!
//! - [`config`]: the run config (`[data]`, `[model]`, `[train]`, `[index]`);
//! - [`loss`]: in-batch sampled softmax with logQ correction, and point-wise BCE;
//! - [`negatives`]: the candidate set of a batch (in-batch items plus
//!   optional uniform or popularity-sampled extra negatives);
//! - [`evaluate`]: Recall / HitRate / NDCG @K over the full corpus, seen
//!   items excluded, for the model and the most-popular baseline;
//! - [`trainer`]: the loop (early stopping on validation Recall@K), and
//!   [`export`]: the artifact with the user tower, item vectors and ANN index.

pub mod config;
pub mod evaluate;
pub mod export;
pub mod loss;
pub mod negatives;
pub mod summary;
pub mod trainer;

pub use config::{RetrievalRunConfig, RetrievalTrainConfig};
pub use evaluate::{evaluate_most_popular, evaluate_vectors};
pub use summary::RetrievalSummary;
pub use trainer::fit_retrieval;
