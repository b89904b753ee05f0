//! The pipeline TOML: which sources recall, which models rank, which
//! re-ranker diversifies, and how many items each stage keeps.
//!
//! ```toml
//! name = "ml100k-dpp"
//! device = "cpu"
//! k = 10                      # items returned
//!
//! [catalog]                   # users, histories, item attributes
//! data = { source = "ml100k-retrieval", root = "../shared/data" }
//!
//! [[recall]]
//! kind = "two_tower"          # | most_popular | co_occurrence
//! artifact = "runs/ml100k-retrieval-two_tower/artifact"
//! quota = 300
//!
//! [coarse]                    # optional: a light model over every recalled item
//! artifact = "runs/ml100k-ctr-lr/artifact"
//! quota = 200
//!
//! [fine]                      # optional: the main ranking model
//! artifact = "runs/ml100k-ctr-deepfm/artifact"
//! quota = 100
//!
//! [rerank]
//! kind = "dpp"                # | submodular | rules | none
//! theta = 0.7
//! ```
//!
//! A feed pipeline ends with a `[mixer]` stage instead of a re-ranker
//! (`super::mix`), and `[[experiment]]` arms split the traffic between
//! versions of the pipeline (`crate::feed::experiment`).
//!
//! Relative paths are relative to the working directory, as in run configs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ember_models::device::DeviceChoice;
use ember_models::multitask::fusion::FusionForm;
use serde::{Deserialize, Serialize};

use super::mix::MixerConfig;
use super::recall::RecallConfig;
use crate::feed::experiment::{ArmConfig, validate_arms};
use crate::rerank::RerankerConfig;

fn default_k() -> usize {
    10
}
fn default_history_len() -> usize {
    50
}
fn default_device() -> DeviceChoice {
    DeviceChoice::Cpu
}

/// `[catalog]`: the interaction log users and items come from (the
/// `[data]` table of the models' run configs: `interaction-log`, or a
/// preset such as `ml100k-retrieval`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    pub data: ember_datasets::DataConfig,
    /// History length of the two-tower user encoder (as trained).
    #[serde(default = "default_history_len")]
    pub history_len: usize,
}

/// `[coarse]` / `[fine]`: a ranking model and how many items it passes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    pub artifact: PathBuf,
    pub quota: usize,
    /// Fusion weights of a multi-task model's task predictions.
    #[serde(default)]
    pub fusion: Option<Vec<f64>>,
    #[serde(default)]
    pub fusion_form: FusionForm,
}

/// `[features]`: the feature store statistic features are read from
/// (`crate::feature_store`), updated by `POST /events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeaturesConfig {
    /// The store's directory (created if missing).
    pub store: PathBuf,
    /// Read the rankers' user and item attribute fields from the store
    /// (`ember features import` writes them) instead of the catalog.
    #[serde(default)]
    pub attributes: bool,
}

/// The whole pipeline file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_device")]
    pub device: DeviceChoice,
    /// Items a recommendation returns (a request may ask for fewer or more,
    /// up to the last stage's quota).
    #[serde(default = "default_k")]
    pub k: usize,
    pub catalog: CatalogConfig,
    pub recall: Vec<RecallConfig>,
    #[serde(default)]
    pub coarse: Option<StageConfig>,
    #[serde(default)]
    pub fine: Option<StageConfig>,
    #[serde(default)]
    pub rerank: RerankerConfig,
    #[serde(default)]
    pub features: Option<FeaturesConfig>,
    /// The feed's last stage: the content type of every slot.
    #[serde(default)]
    pub mixer: Option<MixerConfig>,
    /// Arms splitting the traffic between versions of this pipeline.
    #[serde(default)]
    pub experiment: Vec<ArmConfig>,
}

impl PipelineConfig {
    /// Reads `path` with `key=value` overrides and validates it; errors name
    /// the file and the field.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let value = ember_datasets::toml_config::load_toml(path, overrides)?;
        let config: Self = value
            .try_into()
            .with_context(|| format!("{}: not a valid pipeline", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}: invalid pipeline", path.display()))?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        if self.recall.is_empty() {
            bail!("no [[recall]] source");
        }
        if self.k == 0 {
            bail!("k = 0: a recommendation returns at least one item");
        }
        for (name, stage) in [("coarse", &self.coarse), ("fine", &self.fine)] {
            if let Some(s) = stage
                && s.quota < self.k
            {
                bail!("{name}.quota = {} is below k = {}", s.quota, self.k);
            }
        }
        if let Some(mixer) = &self.mixer {
            mixer.validate()?;
            if !matches!(self.rerank, RerankerConfig::None) {
                bail!(
                    "[mixer] and [rerank] kind = \"{}\": the mixer orders the final list; drop one",
                    self.rerank.name()
                );
            }
        }
        validate_arms(&self.experiment)?;
        self.rerank.validate()
    }
}
