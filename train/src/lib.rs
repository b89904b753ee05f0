//! ember-train: objectives, metrics, the training loop, checkpoints and export.

pub mod checkpoint;
pub mod config;
pub mod evaluate;
pub mod export;
pub mod loss;
pub mod metrics;
pub mod retrieval;
pub mod trainer;

pub use config::{RunConfig, TrainConfig};
pub use trainer::{FitOptions, RunSummary, fit};
