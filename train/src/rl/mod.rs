//! Reinforcement learning for the feed mixer (see `models::mixer` and
//! `datasets::simulator`).
//!
//! - [`config`]: a mixer run's TOML (simulator, model, DQN, reward);
//! - [`reward`]: the per-slot reward and its weights;
//! - [`schedule`]: ε-greedy exploration;
//! - [`replay`]: the replay buffer of whole sessions;
//! - [`dqn`]: the training loop (double DQN with a target network);
//! - [`evaluate`]: scoring policies against the baselines (its chart is
//!   drawn by [`crate::plot`]);
//! - [`export`]: writing the policy as an artifact.

pub mod config;
pub mod dqn;
pub mod evaluate;
pub mod export;
pub mod replay;
pub mod reward;
pub mod schedule;

pub use config::{DqnConfig, MixerRunConfig};
pub use dqn::{MixerRunSummary, TrainedMixer, train_mixer};
pub use evaluate::{EvalOptions, MixerReport, PolicyScore, evaluate_mixers, write_report};
