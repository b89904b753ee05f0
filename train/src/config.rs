//! A run's configuration: one TOML file (data + model + training) that CLI
//! flags may override key by key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ember_datasets::registry::DataConfig;
use ember_models::RankingConfig;
use ember_models::device::DeviceChoice;
use serde::{Deserialize, Serialize};

use crate::multitask::MultiTaskRunConfig;
use crate::retrieval::RetrievalRunConfig;

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
    /// L2 penalty λ on the embedding rows each batch touches (λ/B · Σ‖e‖²);
    /// needs `embedding_update = "row_sparse"`. 0 = off.
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Names the run directory under `output_dir`.
    pub name: String,
    pub data: DataConfig,
    #[serde(default)]
    pub model: RankingConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub device: DeviceChoice,
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("runs")
}

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
        if t.embedding_l2 > 0.0 && t.embedding_update != EmbeddingUpdate::RowSparse {
            anyhow::bail!(
                "train.embedding_l2 regularises the rows a batch touches and needs train.embedding_update = \"row_sparse\""
            );
        }
        if t.batch_size == 0 || t.epochs == 0 {
            anyhow::bail!("train.batch_size and train.epochs must be positive");
        }
        Ok(())
    }

    /// The run directory: checkpoints, metrics log and the exported artifact.
    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }
}

/// A run config of any family: ranking (`family` absent or `"ranking"`),
/// multi-task (`family = "multitask"`) or retrieval (`[model] kind =
/// "two_tower"`).
// Read once per run; not worth boxing the common (ranking) case.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRunConfig {
    Ranking(RunConfig),
    MultiTask(Box<MultiTaskRunConfig>),
    Retrieval(Box<RetrievalRunConfig>),
}

impl AnyRunConfig {
    /// Reads a TOML run config of any family and applies overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let mut value = load_toml(path, overrides)?;
        if RetrievalRunConfig::describes(&value) {
            return Ok(AnyRunConfig::Retrieval(Box::new(
                RetrievalRunConfig::from_value(value, path)?,
            )));
        }
        let family = value
            .get("family")
            .map(|f| f.as_str().map(str::to_owned))
            .unwrap_or(Some("ranking".into()));
        match family.as_deref() {
            Some("ranking") => {
                if let Some(table) = value.as_table_mut() {
                    table.remove("family");
                }
                Ok(AnyRunConfig::Ranking(RunConfig::from_value(value, path)?))
            }
            Some("multitask") => Ok(AnyRunConfig::MultiTask(Box::new(
                value.try_into().with_context(|| {
                    format!("{}: not a valid multi-task run config", path.display())
                })?,
            ))),
            _ => anyhow::bail!(
                "{}: family must be \"ranking\" or \"multitask\"",
                path.display()
            ),
        }
    }
}

/// Reads a TOML file and applies `key=value` overrides to it.
pub fn load_toml(path: &Path, overrides: &[String]) -> Result<toml::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read config", path.display()))?;
    let mut value: toml::Value =
        toml::from_str(&text).with_context(|| format!("{}: invalid TOML", path.display()))?;
    apply_overrides(&mut value, overrides)?;
    Ok(value)
}

/// Sets `a.b.c = value` in a TOML tree for each `a.b.c=value` override.
pub fn apply_overrides(root: &mut toml::Value, overrides: &[String]) -> Result<()> {
    for item in overrides {
        let (key, raw) = item
            .split_once('=')
            .with_context(|| format!("override '{item}' is not key=value"))?;
        // Parse the value as TOML; fall back to a bare string (`data.source=frappe-ctr`).
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
        let mut node = &mut *root;
        let parts: Vec<&str> = key.trim().split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let table = node
                .as_table_mut()
                .with_context(|| format!("override '{key}': '{part}' is not a table"))?;
            node = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        }
        node.as_table_mut()
            .with_context(|| format!("override '{key}': parent is not a table"))?
            .insert(parts[parts.len() - 1].to_owned(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_set_nested_keys_with_typed_values() {
        let mut v: toml::Value = toml::from_str("[train]\nlr = 0.1\n").unwrap();
        apply_overrides(
            &mut v,
            &[
                "train.lr=0.01".into(),
                "model.hidden=[64, 32]".into(),
                "data.source=frappe-ctr".into(),
            ],
        )
        .unwrap();
        assert_eq!(v["train"]["lr"].as_float(), Some(0.01));
        assert_eq!(v["model"]["hidden"].as_array().unwrap().len(), 2);
        assert_eq!(v["data"]["source"].as_str(), Some("frappe-ctr"));
        assert!(apply_overrides(&mut v, &["nonsense".into()]).is_err());
    }

    #[test]
    fn embedding_l2_needs_row_sparse_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(
            &path,
            "name = \"x\"\n[data]\nsource = \"synthetic-ctr\"\n[train]\nembedding_l2 = 0.1\n",
        )
        .unwrap();
        let err = RunConfig::load(&path, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("row_sparse"), "{err:#}");
        let ok = RunConfig::load(&path, &["train.embedding_update=row_sparse".into()]).unwrap();
        assert_eq!(ok.train.embedding_l2, 0.1);
    }
}
