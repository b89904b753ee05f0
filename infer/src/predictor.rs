//! Loading an artifact directory and scoring rows with it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use ember_datasets::EncodedData;
use ember_datasets::preprocess::Preprocessor;
use ember_datasets::registry::DataConfig;
use ember_models::RankingModel;
use ember_models::artifact::{
    MANIFEST, Manifest, PREPROCESSOR, WEIGHTS_BPK, load_bpk, schema_hash,
};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::ranking::RankingConfig;
use ember_train::evaluate::EvalMetrics;

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
        if !dir.join(MANIFEST).exists() {
            bail!(
                "{}: not an ember artifact (no {MANIFEST}; a run writes one under runs/<name>/artifact)",
                dir.display()
            );
        }
        let manifest = Manifest::read(dir)?;
        if manifest.family != "ranking" {
            bail!(
                "{}: a '{}' model, but this command scores ranking models",
                dir.display(),
                manifest.family
            );
        }
        let pre_path = dir.join(PREPROCESSOR);
        let pre_text = std::fs::read_to_string(&pre_path)
            .with_context(|| format!("{}: cannot read", pre_path.display()))?;
        if schema_hash(&pre_text) != manifest.schema_hash {
            bail!(
                "{}: does not match the manifest's schema hash (files from different runs?)",
                pre_path.display()
            );
        }
        let preprocessor: Option<Preprocessor> = serde_json::from_str(&pre_text)
            .with_context(|| format!("{}: invalid preprocessor", pre_path.display()))?;
        let config: RankingConfig = serde_json::from_value(manifest.model.clone())
            .with_context(|| format!("{}: invalid model config", dir.join(MANIFEST).display()))?;
        let data_config: DataConfig = serde_json::from_value(manifest.data.clone())
            .with_context(|| format!("{}: invalid data config", dir.join(MANIFEST).display()))?;
        let (device, _) = select_device(choice);
        let model = config
            .init(&manifest.layout, &device)
            .map_err(anyhow::Error::msg)?;
        let model = load_bpk(model, &dir.join(WEIGHTS_BPK))?.for_inference();
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            preprocessor,
            data_config,
            model,
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
        Ok(self.score(&encoded))
    }
}
