//! A ranking artifact: `model.bpk` (+ safetensors) of a [`RankingModel`],
//! its preprocessor, and the data config new files are read with.

use std::path::Path;

use anyhow::Result;
use burn::prelude::Device;
use ember_datasets::Preprocessor;
use ember_datasets::registry::DataConfig;

use super::manifest::{Family, MODEL};
use super::reader::ArtifactDir;
use crate::ranking::{RankingConfig, RankingModel};

pub struct RankingArtifact {
    pub artifact: ArtifactDir,
    /// `None` for models trained on generated data (nothing to read from files).
    pub preprocessor: Option<Preprocessor>,
    pub data: DataConfig,
    pub model: RankingModel,
}

impl RankingArtifact {
    /// Loads `dir` onto `device`, in inference mode.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let artifact = ArtifactDir::open(dir, Family::Ranking)?;
        let preprocessor = artifact.preprocessor()?;
        let config: RankingConfig = artifact.model_entry()?;
        let data = artifact.data_entry()?;
        let model = config
            .init(&artifact.manifest.layout, device)
            .map_err(anyhow::Error::msg)?;
        let model = artifact.weights(MODEL, model)?.for_inference();
        Ok(Self {
            artifact,
            preprocessor,
            data,
            model,
        })
    }
}
