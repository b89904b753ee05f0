//! `manifest.json`: what an artifact directory holds and how it was made.
//! Written last, so its presence marks a complete artifact.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ember_datasets::FeatureLayout;
use serde::{Deserialize, Serialize};

/// Bumped when a change to the layout makes older artifacts unreadable.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
/// The schema, vocabularies and normalisation statistics (ranking and
/// multi-task: one [`ember_datasets::Preprocessor`]; retrieval: both towers').
pub const PREPROCESSOR: &str = "preprocessor.json";
/// The run config as trained.
pub const RUN_CONFIG: &str = "config.toml";
/// Weights of a single-network artifact: `model.bpk` (+ `model.safetensors`).
pub const MODEL: &str = "model";
pub const WEIGHTS_BPK: &str = "model.bpk";
pub const WEIGHTS_SAFETENSORS: &str = "model.safetensors";

/// The kind of model an artifact holds: it decides what else the directory
/// holds and which loader reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// One score per row ([`crate::RankingModel`]).
    Ranking,
    /// One prediction per task ([`crate::MultiTaskModel`]); fused to one
    /// score for serving by [`crate::multitask::fusion`].
    Multitask,
    /// A two-tower model: user tower, item vectors and their ANN index.
    Retrieval,
    /// The DQN mixing policy of the feed ([`crate::mixer`]).
    Mixer,
}

impl Family {
    /// How errors name the family ("a multi-task model").
    pub fn noun(self) -> &'static str {
        match self {
            Family::Ranking => "a ranking model",
            Family::Multitask => "a multi-task model",
            Family::Retrieval => "a retrieval (two-tower) model",
            Family::Mixer => "a mixer",
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ranking => "ranking",
            Family::Multitask => "multitask",
            Family::Retrieval => "retrieval",
            Family::Mixer => "mixer",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub family: Family,
    /// The model's hyper-parameters, as the family's loader reads them.
    pub model: serde_json::Value,
    /// How the training data was read, so `predict` reads new files the same way.
    pub data: serde_json::Value,
    pub layout: FeatureLayout,
    /// XXH3 of the schema (`preprocessor.json`, or a mixer's spec), checked on load.
    pub schema_hash: String,
    pub metrics: serde_json::Value,
    pub created_by: String,
    pub trained_on: String,
}

impl Manifest {
    /// Reads `dir/manifest.json` and checks its format version.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        if !path.exists() {
            bail!(
                "{}: not an ember artifact (no {MANIFEST}; a run writes one under runs/<name>/artifact)",
                dir.display()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the artifact manifest", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid ember manifest", path.display()))?;
        if manifest.format_version != FORMAT_VERSION {
            bail!(
                "{}: artifact format {} but this ember reads format {FORMAT_VERSION}",
                path.display(),
                manifest.format_version
            );
        }
        Ok(manifest)
    }
}
