//! A run's configuration: one TOML file (data + model + training) that CLI
//! flags may override key by key.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use ember_datasets::registry::DataConfig;
use ember_models::RankingConfig;

use ember_datasets::toml_config::load_toml;
use serde::{Deserialize, Serialize};

use crate::epoch::Schedule;
use crate::run_config::Run;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Adam,
    /// Adam whose row-sparse embedding rows move only when a batch touches
    /// them ("lazy" Adam): a skipped row's moments wait, unlike dense Adam's,
    /// which keep moving it. Dense parameters train with plain Adam.
    LazyAdam,
    Adagrad,
}

/// How embedding tables are trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingUpdate {
    /// Autodiff differentiates the whole table and the optimizer updates every row.
    #[default]
    Dense,
    /// Only the rows a batch touches get a gradient and an optimizer update
    /// (`ember_train::row_sparse`); a step's cost no longer grows with the vocabulary.
    RowSparse,
}

/// The validation metric early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Higher is better.
    Auc,
    /// Lower is better. Multi-task runs read it as the mean of the tasks'
    /// losses (logloss, or MSE for regression); `loss` is an alias.
    #[serde(alias = "loss")]
    Logloss,
}

impl Monitor {
    /// The score early stopping maximises, from a ranking run's metrics.
    pub fn score(self, m: &ember_models::metrics::EvalMetrics) -> f64 {
        match self {
            Monitor::Auc => m.auc.unwrap_or(0.5),
            Monitor::Logloss => -m.logloss,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// Adam's ε; PyTorch's default 1e-8 rather than Burn's 1e-5, to match the references.
    pub epsilon: f32,
    /// Epochs without improvement of `monitor` on validation before stopping.
    pub patience: usize,
    pub monitor: Monitor,
    pub seed: u64,
    pub embedding_update: EmbeddingUpdate,
    /// L2 penalty λ on the embedding rows each batch touches (λ/B · Σ‖e‖²,
    /// `crate::step::touched_rows_l2`), with dense or row-sparse lookups. 0 = off.
    pub embedding_l2: f64,
    /// Id dropout (`crate::id_dropout`): categorical field name → probability
    /// that a training row's id is replaced by the field's OOV id. Empty = off.
    pub id_dropout: BTreeMap<String, f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 1024,
            eval_batch_size: 8192,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            epsilon: 1e-8,
            patience: 3,
            monitor: Monitor::Auc,
            seed: 42,
            embedding_update: EmbeddingUpdate::Dense,
            embedding_l2: 0.0,
            id_dropout: BTreeMap::new(),
        }
    }
}

impl TrainConfig {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            epochs: self.epochs,
            patience: self.patience,
            batch_size: self.batch_size,
        }
    }
}

/// A ranking run's sections: `[data]`, `[model]`, `[train]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingSections {
    pub data: DataConfig,
    #[serde(default)]
    pub model: RankingConfig,
    #[serde(default)]
    pub train: TrainConfig,
}

/// A ranking run config.
pub type RunConfig = Run<RankingSections>;

impl RunConfig {
    /// Reads a TOML run config and applies `key=value` overrides
    /// (dotted keys, TOML values: `train.lr=0.01`, `model.hidden=[64,64]`).
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        Self::from_value(load_toml(path, overrides)?, path)
    }

    /// A run config from an already-read TOML tree (`origin` names it in
    /// errors), validated.
    pub fn from_value(value: toml::Value, origin: &Path) -> Result<Self> {
        let config: Self = value
            .try_into()
            .with_context(|| format!("{}: not a valid run config", origin.display()))?;
        config
            .validate()
            .with_context(|| format!("{}: invalid run config", origin.display()))?;
        Ok(config)
    }

    /// Checks the combinations serde cannot.
    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        if t.embedding_l2 < 0.0 {
            anyhow::bail!("train.embedding_l2 must be >= 0, got {}", t.embedding_l2);
        }
        if t.batch_size == 0 || t.epochs == 0 {
            anyhow::bail!("train.batch_size and train.epochs must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_l2_is_taken_with_either_lookup_and_must_not_be_negative() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(
            &path,
            "name = \"x\"\n[data]\nsource = \"synthetic-ctr\"\n[train]\nembedding_l2 = 0.1\n",
        )
        .unwrap();
        let dense = RunConfig::load(&path, &[]).unwrap();
        assert_eq!(dense.train.embedding_update, EmbeddingUpdate::Dense);
        assert_eq!(dense.train.embedding_l2, 0.1);
        let sparse = RunConfig::load(&path, &["train.embedding_update=row_sparse".into()]).unwrap();
        assert_eq!(sparse.train.embedding_l2, 0.1);
        let err = RunConfig::load(&path, &["train.embedding_l2=-1".into()]).unwrap_err();
        assert!(
            format!("{err:#}").contains("embedding_l2 must be >= 0"),
            "{err:#}"
        );
    }
}
