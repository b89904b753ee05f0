//! Writing a trained single-network model (ranking, multi-task) as an
//! artifact; the format and loaders are `ember_models::artifact`.

use std::path::Path;

use anyhow::Result;
use burn::module::Module;
use ember_datasets::registry::{DataConfig, PreparedData};
use ember_models::artifact::{ArtifactWriter, Family, MODEL, ManifestEntry};
use ember_models::device::DeviceChoice;
use serde::Serialize;

/// A trained network and how its family's loader rebuilds it.
pub struct TrainedNetwork<'a, M> {
    pub family: Family,
    /// The manifest's `model` entry (the model config, and for multi-task
    /// models the task graph).
    pub entry: serde_json::Value,
    pub network: &'a M,
}

/// Writes `dir`: the network's weights, the preprocessor `data` was
/// encoded with, the run config as trained, and the manifest with the
/// run's `summary` as its metrics.
pub fn export_network<M: Module>(
    dir: &Path,
    trained: TrainedNetwork<'_, M>,
    run_config: &impl Serialize,
    data_config: &DataConfig,
    data: &PreparedData,
    summary: &impl Serialize,
    trained_on: DeviceChoice,
) -> Result<()> {
    let mut writer = ArtifactWriter::create(dir)?;
    writer.preprocessor(&data.preprocessor)?;
    writer.weights(MODEL, trained.network, true)?;
    writer.run_config(run_config)?;
    writer.finish(ManifestEntry {
        family: trained.family,
        model: trained.entry,
        data: serde_json::to_value(data_config)?,
        layout: data.layout.clone(),
        metrics: serde_json::to_value(summary)?,
        trained_on: trained_on.to_string(),
    })?;
    Ok(())
}
