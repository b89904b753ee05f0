//! ember-train: objectives, metrics, the training loop, checkpoints and export.

pub mod any_run_config;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod distributed;
pub mod early_stopping;
pub mod epoch;
pub mod evaluate;
pub mod export;
pub mod id_dropout;
pub mod loss;
pub mod multitask;
pub mod online;
pub mod plot;
pub mod retrieval;
pub mod rl;
pub mod row_sparse;
pub mod run_config;
pub mod run_loop;
pub mod step;
pub mod trainer;
pub mod tune;

pub use any_run_config::AnyRunConfig;
pub use config::{RunConfig, TrainConfig};
pub use run_loop::FitOptions;
pub use trainer::{RunSummary, fit};
