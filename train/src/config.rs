//! A run's configuration: one TOML file (data + model + training) that CLI
//! flags may override key by key.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ember_datasets::registry::DataConfig;
use ember_models::RankingConfig;
use ember_models::device::DeviceChoice;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Adam,
    Adagrad,
}

/// The validation metric early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Higher is better.
    Auc,
    /// Lower is better.
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

    /// A run config from an already-read TOML tree (`origin` names it in errors).
    pub fn from_value(value: toml::Value, origin: &Path) -> Result<Self> {
        value
            .try_into()
            .with_context(|| format!("{}: not a valid run config", origin.display()))
    }

    /// The run directory: checkpoints, metrics log and the exported artifact.
    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
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
}
