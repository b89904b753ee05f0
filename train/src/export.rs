//! Writing a trained ranking model as an artifact (format: `ember_models::artifact`).

use std::path::Path;

use anyhow::Result;
use ember_datasets::registry::PreparedData;
use ember_models::RankingModel;
use ember_models::artifact::{ArtifactWriter, Family, MODEL, ManifestEntry};
use ember_models::device::DeviceChoice;

use serde::Serialize;

use crate::config::RunConfig;

pub fn export_artifact(
    dir: &Path,
    config: &RunConfig,
    data: &PreparedData,
    model: &RankingModel,
    summary: &impl Serialize,
    trained_on: DeviceChoice,
) -> Result<()> {
    let mut writer = ArtifactWriter::create(dir)?;
    writer.preprocessor(&data.preprocessor)?;
    writer.weights(MODEL, model, true)?;
    writer.run_config(config)?;
    writer.finish(ManifestEntry {
        family: Family::Ranking,
        model: serde_json::to_value(&config.model)?,
        data: serde_json::to_value(&config.data)?,
        layout: data.layout.clone(),
        metrics: serde_json::to_value(summary)?,
        trained_on: trained_on.to_string(),
    })?;
    Ok(())
}
