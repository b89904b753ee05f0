//! A multi-task run: one TOML file with `family = "multitask"`, the data,
//! the task graph (`[[tasks]]`), the model, training, loss balancing and
//! optional fusion-weight search.
//!
//! ```toml
//! family = "multitask"
//! name = "ali-ccp-esmm"
//! [data]
//! source = "csv"
//! ...
//! [[tasks]]
//! name = "ctr"
//! label = "click"
//! [[tasks]]
//! name = "ctcvr"
//! label = "purchase"
//! after = "ctr"          # pCTCVR = pCTR × pCVR
//! [model]
//! kind = "esmm"
//! [balance]
//! method = "fixed"       # or "gradnorm" (alpha, lr) or "pcgrad"
//! [fusion]               # optional
//! form = "sum"
//! ```

use std::path::PathBuf;

use ember_datasets::registry::DataConfig;
use ember_models::MultiTaskConfig;
use ember_models::device::DeviceChoice;
use ember_models::multitask::TaskSpec;
use serde::{Deserialize, Serialize};

use super::balance::BalanceConfig;
use super::fusion::FusionConfig;
use crate::config::TrainConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiTaskFamily {
    Multitask,
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("runs")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiTaskRunConfig {
    /// Always `multitask`: tells `ember train` which kind of run this is.
    pub family: MultiTaskFamily,
    pub name: String,
    pub data: DataConfig,
    pub tasks: Vec<TaskSpec>,
    #[serde(default)]
    pub model: MultiTaskConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub balance: BalanceConfig,
    #[serde(default)]
    pub fusion: Option<FusionConfig>,
    #[serde(default)]
    pub device: DeviceChoice,
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
}

impl MultiTaskRunConfig {
    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }
}
