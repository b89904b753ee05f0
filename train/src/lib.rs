//! ember-train: objectives, metrics, the training loop, checkpoints and export.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod early_stopping;
pub mod epoch;
pub mod evaluate;
pub mod export;
pub mod id_dropout;
pub mod loss;
pub mod metrics;
pub mod multitask;
pub mod plot;
pub mod retrieval;
pub mod rl;
pub mod row_sparse;
pub mod step;
pub mod trainer;

pub use config::{AnyRunConfig, RunConfig, TrainConfig};
pub use trainer::{FitOptions, RunSummary, fit};
