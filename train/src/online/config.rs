//! An online run's config: where the stream is, the model, the optimizer,
//! and how often to report and export.
//!
//! ```toml
//! name = "drifting-stream-deepfm"
//! [stream]
//! path = "runs/example-stream"     # a file, or a directory of files
//! schema = "configs/schemas/drifting_stream.toml"
//! true_probability = "p_true"      # optional: the generator's probability
//! [model]                          # any ranking model, as for `ember train`
//! kind = "deepfm"
//! [train]                          # lr, batch_size, optimizer, embedding_l2
//! embedding_update = "row_sparse"
//! [online]
//! window_events = 20000            # progressive metrics per window
//! export_every_events = 100000     # and/or export_every_seconds
//! [online.admission]               # open vocabularies
//! min_count = 2
//! ttl_events = 100000
//! capacity = 50000
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ember_datasets::open_vocab::AdmissionConfig;
use ember_datasets::toml_config::load_toml;
use ember_models::RankingConfig;
use serde::{Deserialize, Serialize};

use crate::config::{EmbeddingUpdate, TrainConfig};
use crate::run_config::Run;

/// Where the events come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// A CSV file, or a directory whose CSV files are read in name order
    /// (names starting with `.` or ending in `.tmp` are being written and
    /// are skipped: a shipper writes, then renames).
    pub path: PathBuf,
    /// The CSV schema file (`configs/schemas/*.toml`): fields and label.
    pub schema: PathBuf,
    /// A column holding each row's true click probability (generated
    /// streams), to report the best AUC any model could reach per window.
    #[serde(default)]
    pub true_probability: Option<String>,
    /// Keep waiting for new files in the directory.
    #[serde(default)]
    pub follow: bool,
    /// With `follow`: how often to look for new files.
    #[serde(default = "default_poll")]
    pub poll_seconds: f64,
    /// With `follow`: stop after this long without a new file (0: never).
    #[serde(default)]
    pub idle_timeout_seconds: f64,
}

fn default_poll() -> f64 {
    1.0
}

/// Reporting, export and vocabularies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineOptions {
    /// Events per progressive-validation window.
    pub window_events: u64,
    /// Export a version after this many events (0: not by count).
    pub export_every_events: u64,
    /// Export a version after this many seconds (0: not by time).
    pub export_every_seconds: f64,
    /// Where versions go; default `<run dir>/versions`.
    pub versions_dir: Option<PathBuf>,
    /// Versions kept on disk (older ones are deleted); 0 keeps all.
    pub keep_versions: usize,
    /// Also score every window with the model as it stood after the first
    /// window, frozen with its vocabulary: what training once would give.
    pub frozen_baseline: bool,
    pub admission: AdmissionConfig,
    /// Per-field table sizes overriding `admission.capacity` (small fields
    /// such as a device type need few rows).
    pub capacity: BTreeMap<String, usize>,
    /// Per-field multipliers of `train.lr` for the field's embedding rows
    /// (default 1): id fields, whose rows each see few events, can step
    /// slower than the context fields every batch trains.
    pub lr_scale: BTreeMap<String, f64>,
}

impl Default for OnlineOptions {
    fn default() -> Self {
        Self {
            window_events: 20_000,
            export_every_events: 0,
            export_every_seconds: 0.0,
            versions_dir: None,
            keep_versions: 0,
            frozen_baseline: true,
            admission: AdmissionConfig::default(),
            capacity: BTreeMap::new(),
            lr_scale: BTreeMap::new(),
        }
    }
}

/// An online run's sections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnlineSections {
    pub stream: StreamConfig,
    #[serde(default)]
    pub model: RankingConfig,
    #[serde(default = "online_train")]
    pub train: TrainConfig,
    #[serde(default)]
    pub online: OnlineOptions,
}

/// Row-sparse updates by default: a stream touches few rows per batch.
fn online_train() -> TrainConfig {
    TrainConfig {
        embedding_update: EmbeddingUpdate::RowSparse,
        ..TrainConfig::default()
    }
}

pub type OnlineRunConfig = Run<OnlineSections>;

impl OnlineRunConfig {
    /// Reads a TOML online config with `key=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let config: Self = load_toml(path, overrides)?
            .try_into()
            .with_context(|| format!("{}: not a valid online config", path.display()))?;
        config
            .validate()
            .with_context(|| format!("{}: invalid online config", path.display()))?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        let o = &self.online;
        if self.train.embedding_update != EmbeddingUpdate::RowSparse {
            bail!(
                "online training needs train.embedding_update = \"row_sparse\": rows an open vocabulary recycles are reset through it"
            );
        }
        if self.train.batch_size == 0 || o.window_events == 0 {
            bail!("train.batch_size and online.window_events must be positive");
        }
        if !self.model.field_dims.is_empty() {
            bail!("online training takes one embedding size for all fields (no model.field_dims)");
        }
        o.admission.validate().map_err(anyhow::Error::msg)?;
        if let Some((name, _)) = o.capacity.iter().find(|&(_, &c)| c == 0) {
            bail!("online.capacity.{name} must be positive");
        }
        if let Some((name, s)) = o
            .lr_scale
            .iter()
            .find(|&(_, &s)| !(s >= 0.0 && s.is_finite()))
        {
            bail!("online.lr_scale.{name} = {s}: must be a finite number >= 0");
        }
        Ok(())
    }

    pub fn versions_dir(&self) -> PathBuf {
        self.online
            .versions_dir
            .clone()
            .unwrap_or_else(|| self.run_dir().join("versions"))
    }
}
