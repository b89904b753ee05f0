//! Loading an artifact directory and scoring rows with it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::prelude::*;
use ember_datasets::EncodedData;
use ember_datasets::preprocess::Preprocessor;
use ember_datasets::registry::DataConfig;
use ember_models::RankingModel;
use ember_models::artifact::{Manifest, RankingArtifact};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::metrics::EvalMetrics;

/// An exported ranking model, ready to score.
pub struct Predictor {
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// `None` for models trained on generated data (nothing to read from files).
    pub preprocessor: Option<Preprocessor>,
    pub data_config: DataConfig,
    pub model: RankingModel,
    pub device: Device,
    pub batch_size: usize,
}

impl Predictor {
    /// Loads `dir` on the device `choice` names. Weights trained on any
    /// backend load on any other.
    pub fn load(dir: &Path, choice: DeviceChoice) -> Result<Self> {
        let (device, _) = select_device(choice);
        let loaded = RankingArtifact::load(dir, &device)?;
        Ok(Self {
            dir: dir.to_owned(),
            manifest: loaded.artifact.manifest,
            preprocessor: loaded.preprocessor,
            data_config: loaded.data,
            model: loaded.model,
            device,
            batch_size: 8192,
        })
    }

    /// Click probabilities for encoded rows.
    pub fn score(&self, data: &EncodedData) -> Vec<f32> {
        self.model
            .predict_proba(data, self.batch_size, &self.device)
    }

    /// Scores and measures labelled rows.
    pub fn evaluate(&self, data: &EncodedData) -> EvalMetrics {
        EvalMetrics::of(&self.score(data), data)
    }

    /// Reads `path` in the format the model was trained on and scores every row.
    pub fn score_file(&self, path: &Path, skip_bad_rows: bool) -> Result<Vec<f32>> {
        let raw =
            ember_datasets::registry::read_for_prediction(&self.data_config, path, skip_bad_rows)?;
        let preprocessor = self.preprocessor.as_ref().with_context(|| {
            format!(
                "{}: this model was trained on generated data and has no preprocessor",
                self.dir.display()
            )
        })?;
        let encoded = preprocessor.transform(&raw)?;
        let scores = self.score(&encoded);
        if let Some((row, s)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
            anyhow::bail!(
                "{}: data row {} scored {s}: the model ({}) gives a non-finite probability; no scores written",
                path.display(),
                row + 1,
                self.dir.display()
            );
        }
        Ok(scores)
    }
}
