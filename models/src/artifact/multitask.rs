//! A multi-task artifact: the ranking artifact's layout with family
//! `multitask`; the manifest's `model` entry holds the architecture and
//! the resolved task graph.

use std::path::Path;

use anyhow::Result;
use burn::prelude::Device;
use ember_datasets::Preprocessor;
use serde::{Deserialize, Serialize};

use super::manifest::{Family, MODEL};
use super::reader::ArtifactDir;
use crate::multitask::{MultiTaskConfig, MultiTaskModel, TaskGraph};

/// The manifest's `model` entry of a multi-task artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiTaskEntry {
    pub config: MultiTaskConfig,
    pub tasks: TaskGraph,
}

pub struct MultiTaskArtifact {
    pub artifact: ArtifactDir,
    /// `None` for models trained on generated data.
    pub preprocessor: Option<Preprocessor>,
    pub model: MultiTaskModel,
}

impl MultiTaskArtifact {
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let artifact = ArtifactDir::open(dir, Family::Multitask)?;
        let preprocessor = artifact.preprocessor()?;
        let entry: MultiTaskEntry = artifact.model_entry()?;
        let model = entry
            .config
            .init(&artifact.manifest.layout, &entry.tasks, device)
            .map_err(anyhow::Error::msg)?;
        let model = artifact.weights(MODEL, model)?;
        Ok(Self {
            artifact,
            preprocessor,
            model,
        })
    }
}
