//! A retrieval run's configuration: one TOML file, like a ranking run, told
//! apart by `[model] kind = "two_tower"`.

use std::path::Path;

use anyhow::{Context, Result};
use ember_ann::HnswParams;
use ember_datasets::registry::DataConfig;
use ember_models::TwoTowerConfig;
use serde::{Deserialize, Serialize};

use crate::epoch::Schedule;
use crate::run_config::Run;

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetrievalLoss {
    /// Softmax over the batch's candidates (in-batch items + extra negatives).
    #[default]
    Softmax,
    /// Point-wise BCE: the positive pair 1, every other candidate 0.
    Bce,
}

/// Where extra negatives come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSampler {
    /// Every corpus item equally likely.
    #[default]
    Uniform,
    /// Proportional to train frequency (as in-batch items are).
    Popularity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrievalTrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub lr: f64,
    pub epsilon: f32,
    pub loss: RetrievalLoss,
    /// Subtract log(expected count in the candidate set) from each candidate's
    /// logit (Yi et al. 2019), so popular items are not over-penalised for
    /// appearing as in-batch negatives more often (softmax only).
    pub logq: bool,
    /// Extra negatives per batch, shared by its rows (0 = in-batch only).
    pub extra_negatives: usize,
    pub sampler: NegativeSampler,
    /// Cut-offs reported; the first is the one early stopping watches.
    pub ks: Vec<usize>,
    /// Epochs without a better validation Recall@ks[0] before stopping.
    pub patience: usize,
    pub seed: u64,
    /// Id dropout on the item tower (`crate::id_dropout`): item field name
    /// → probability, e.g. `{ item_id = 0.2 }`. The OOV id then learns "an
    /// item no training event named", and the tower to place items by
    /// their attributes and content vector: what cold items need.
    pub id_dropout: std::collections::BTreeMap<String, f64>,
}

impl Default for RetrievalTrainConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 512,
            eval_batch_size: 4096,
            lr: 1e-3,
            epsilon: 1e-8,
            loss: RetrievalLoss::Softmax,
            logq: true,
            extra_negatives: 0,
            sampler: NegativeSampler::Uniform,
            ks: vec![10, 50],
            patience: 3,
            seed: 42,
            id_dropout: Default::default(),
        }
    }
}

impl RetrievalTrainConfig {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            epochs: self.epochs,
            patience: self.patience,
            batch_size: self.batch_size,
        }
    }
}

/// A retrieval run's sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrievalSections {
    pub data: DataConfig,
    #[serde(default)]
    pub model: TwoTowerConfig,
    #[serde(default)]
    pub train: RetrievalTrainConfig,
    /// The ANN index built over the item vectors at export.
    #[serde(default)]
    pub index: HnswParams,
}

/// A retrieval run config.
pub type RetrievalRunConfig = Run<RetrievalSections>;

impl RetrievalRunConfig {
    /// Whether a run config's TOML tree describes a retrieval run.
    pub fn describes(value: &toml::Value) -> bool {
        value
            .get("model")
            .and_then(|m| m.get("kind"))
            .and_then(toml::Value::as_str)
            == Some("two_tower")
    }

    pub fn from_value(value: toml::Value, origin: &Path) -> Result<Self> {
        let config: Self = value
            .try_into()
            .with_context(|| format!("{}: not a valid retrieval run config", origin.display()))?;
        let t = &config.train;
        if t.ks.is_empty() || t.ks.contains(&0) {
            anyhow::bail!("{}: train.ks must list cut-offs ≥ 1", origin.display());
        }
        if t.batch_size < 2 {
            anyhow::bail!(
                "{}: train.batch_size must be at least 2 (in-batch negatives)",
                origin.display()
            );
        }
        Ok(config)
    }

    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        Self::from_value(
            ember_datasets::toml_config::load_toml(path, overrides)?,
            path,
        )
    }
}
