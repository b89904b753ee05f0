//! A mixer run: one TOML file (`configs/mixer/*.toml`) naming the simulator
//! config, the Q-network, the DQN settings and the reward weights.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ember_datasets::simulator::SimConfig;

use ember_models::mixer::MixerConfig;
use serde::{Deserialize, Serialize};

use super::reward::RewardConfig;
use super::schedule::EpsilonSchedule;
use ember_datasets::toml_config::load_toml;

use crate::run_config::Run;

/// DQN settings (the `[dqn]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DqnConfig {
    /// Training sessions simulated in all.
    pub episodes: usize,
    /// Sessions collected together, in lockstep, between rounds of updates.
    pub parallel_sessions: usize,
    /// Gradient steps after each collected round.
    pub updates_per_round: usize,
    /// Sessions per gradient step.
    pub batch_size: usize,
    /// Sessions kept in the replay buffer.
    pub replay_capacity: usize,
    /// Sessions collected before the first update.
    pub warmup_episodes: usize,
    /// Discount per slot.
    pub gamma: f64,
    pub lr: f64,
    /// Gradient steps between copies of the online network into the target network.
    pub target_update: usize,
    /// Double DQN: the online network picks the next type, the target network values it.
    pub double_dqn: bool,
    /// Clip the gradient norm (0 = off).
    pub grad_clip: f64,
    pub epsilon: EpsilonSchedule,
    /// Rounds between greedy validations (which keep the best weights).
    pub validate_every: usize,
    pub validation_sessions: usize,
    /// Seeds weights, exploration and replay sampling.
    pub seed: u64,
    /// Session seed stream of the training sessions (validation and
    /// evaluation use other streams).
    pub session_stream: u64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        Self {
            episodes: 40_000,
            parallel_sessions: 64,
            updates_per_round: 4,
            batch_size: 64,
            replay_capacity: 20_000,
            warmup_episodes: 1_000,
            gamma: 0.95,
            lr: 1e-3,
            target_update: 200,
            double_dqn: true,
            grad_clip: 10.0,
            epsilon: EpsilonSchedule::default(),
            validate_every: 50,
            validation_sessions: 2_000,
            seed: 42,
            session_stream: 1,
        }
    }
}

impl DqnConfig {
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("episodes", self.episodes),
            ("parallel_sessions", self.parallel_sessions),
            ("batch_size", self.batch_size),
            ("replay_capacity", self.replay_capacity),
            ("target_update", self.target_update),
            ("validate_every", self.validate_every),
            ("validation_sessions", self.validation_sessions),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(format!("dqn.{name} must be ≥ 1"));
            }
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return Err(format!("dqn.gamma = {} must be in [0, 1]", self.gamma));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(format!("dqn.lr = {} must be > 0", self.lr));
        }
        if !(self.grad_clip >= 0.0 && self.grad_clip.is_finite()) {
            return Err(format!("dqn.grad_clip = {} must be ≥ 0", self.grad_clip));
        }
        if self.session_stream == crate::rl::evaluate::VALIDATION_STREAM
            || self.session_stream == crate::rl::evaluate::EVAL_STREAM
            || self.session_stream == crate::rl::evaluate::TUNING_STREAM
        {
            return Err(format!(
                "dqn.session_stream = {} is reserved for validation / evaluation sessions",
                self.session_stream
            ));
        }
        self.epsilon.validate()
    }
}

/// A mixer run's sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixerSections {
    /// The simulator config; a relative path is relative to this file.
    pub simulator: PathBuf,
    #[serde(default)]
    pub model: MixerConfig,
    #[serde(default)]
    pub dqn: DqnConfig,
    #[serde(default)]
    pub reward: RewardConfig,
}

/// A mixer run config.
pub type MixerRunConfig = Run<MixerSections>;

impl MixerRunConfig {
    /// Reads a mixer run config, applies `key=value` overrides, resolves
    /// the simulator path and validates everything.
    pub fn load(path: &Path, overrides: &[String]) -> Result<(Self, SimConfig)> {
        let value = load_toml(path, overrides)?;
        let mut config: MixerRunConfig = value
            .try_into()
            .with_context(|| format!("{}: not a valid mixer run config", path.display()))?;
        if config.simulator.is_relative() {
            let base = path.parent().unwrap_or(Path::new("."));
            config.simulator = base.join(&config.simulator);
        }
        let sim = SimConfig::load(&config.simulator)?;
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok((config, sim))
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.common.name.is_empty() {
            return Err("name must not be empty".into());
        }
        self.model.validate()?;
        self.dqn.validate()?;
        self.reward.validate()
    }
}
