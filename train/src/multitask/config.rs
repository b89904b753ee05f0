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

use ember_datasets::registry::DataConfig;
use ember_models::MultiTaskConfig;
use ember_models::multitask::TaskSpec;
use serde::{Deserialize, Serialize};

use super::balance::BalanceConfig;
use super::fusion::FusionConfig;
use crate::config::TrainConfig;
use crate::run_config::Run;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiTaskFamily {
    Multitask,
}

/// A multi-task run's sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiTaskSections {
    /// Always `multitask`: tells `ember train` which kind of run this is.
    pub family: MultiTaskFamily,
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
}

/// A multi-task run config.
pub type MultiTaskRunConfig = Run<MultiTaskSections>;
