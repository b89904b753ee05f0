//! Multi-task artifacts: the ranking artifact's layout (see
//! `ember_models::artifact`) with family `multitask`; the manifest's
//! `model` holds the architecture config and the resolved task graph.

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use ember_datasets::registry::PreparedData;
use ember_models::MultiTaskConfig;
use ember_models::artifact::{
    FORMAT_VERSION, MANIFEST, Manifest, PREPROCESSOR, WEIGHTS_BPK, WEIGHTS_SAFETENSORS, load_bpk,
    save_bpk, save_safetensors, schema_hash, write_atomic,
};
use ember_models::device::DeviceChoice;
use ember_models::multitask::{MultiTaskModel, TaskGraph};
use serde::{Deserialize, Serialize};

use super::config::MultiTaskRunConfig;
use super::trainer::MultiTaskSummary;

pub const FAMILY: &str = "multitask";

/// The manifest's `model` entry of a multi-task artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MultiTaskManifestModel {
    pub config: MultiTaskConfig,
    pub tasks: TaskGraph,
}

pub fn export_artifact(
    dir: &Path,
    config: &MultiTaskRunConfig,
    data: &PreparedData,
    model: &MultiTaskModel,
    summary: &MultiTaskSummary,
    trained_on: DeviceChoice,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let preprocessor = serde_json::to_string(&data.preprocessor)?;
    write_atomic(&dir.join(PREPROCESSOR), preprocessor.as_bytes())?;
    save_bpk(model, &dir.join(WEIGHTS_BPK))?;
    save_safetensors(model, &dir.join(WEIGHTS_SAFETENSORS))?;
    write_atomic(
        &dir.join("config.toml"),
        toml::to_string_pretty(config)?.as_bytes(),
    )?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        family: FAMILY.into(),
        model: serde_json::to_value(MultiTaskManifestModel {
            config: config.model.clone(),
            tasks: model.graph.clone(),
        })?,
        data: serde_json::to_value(&config.data)?,
        layout: data.layout.clone(),
        schema_hash: schema_hash(&preprocessor),
        metrics: serde_json::to_value(summary)?,
        created_by: format!("ember {}", env!("CARGO_PKG_VERSION")),
        trained_on: trained_on.to_string(),
    };
    write_atomic(
        &dir.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    Ok(())
}

/// Loads a multi-task artifact's model onto `device`.
pub fn load_artifact(dir: &Path, device: &Device) -> Result<(Manifest, MultiTaskModel)> {
    let manifest = Manifest::read(dir)?;
    if manifest.family != FAMILY {
        bail!(
            "{}: a '{}' model, not a multi-task one",
            dir.display(),
            manifest.family
        );
    }
    let entry: MultiTaskManifestModel = serde_json::from_value(manifest.model.clone())
        .with_context(|| {
            format!(
                "{}: invalid multi-task model entry",
                dir.join(MANIFEST).display()
            )
        })?;
    let model = entry
        .config
        .init(&manifest.layout, &entry.tasks, device)
        .map_err(anyhow::Error::msg)?;
    let model = load_bpk(model, &dir.join(WEIGHTS_BPK))?;
    Ok((manifest, model))
}
