//! Writing a trained multi-task model as an artifact (format and loader:
//! `ember_models::artifact::multitask`).

use std::path::Path;

use anyhow::Result;
use ember_datasets::registry::PreparedData;
use ember_models::artifact::{ArtifactWriter, Family, MODEL, ManifestEntry, MultiTaskEntry};
use ember_models::device::DeviceChoice;
use ember_models::multitask::MultiTaskModel;

use serde::Serialize;

use super::config::MultiTaskRunConfig;

pub fn export_artifact(
    dir: &Path,
    config: &MultiTaskRunConfig,
    data: &PreparedData,
    model: &MultiTaskModel,
    summary: &impl Serialize,
    trained_on: DeviceChoice,
) -> Result<()> {
    let mut writer = ArtifactWriter::create(dir)?;
    writer.preprocessor(&data.preprocessor)?;
    writer.weights(MODEL, model, true)?;
    writer.run_config(config)?;
    writer.finish(ManifestEntry {
        family: Family::Multitask,
        model: serde_json::to_value(MultiTaskEntry {
            config: config.model.clone(),
            tasks: model.graph.clone(),
        })?,
        data: serde_json::to_value(&config.data)?,
        layout: data.layout.clone(),
        metrics: serde_json::to_value(summary)?,
        trained_on: trained_on.to_string(),
    })?;
    Ok(())
}
