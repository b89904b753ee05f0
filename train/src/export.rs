//! Writing a trained model as an artifact directory (see `models::artifact`).

use std::path::Path;

use anyhow::{Context, Result};
use ember_datasets::registry::PreparedData;
use ember_models::RankingModel;
use ember_models::artifact::{
    FORMAT_VERSION, MANIFEST, Manifest, PREPROCESSOR, WEIGHTS_BPK, WEIGHTS_SAFETENSORS, save_bpk,
    save_safetensors, schema_hash, write_atomic,
};
use ember_models::device::DeviceChoice;

use crate::config::RunConfig;
use crate::trainer::RunSummary;

pub fn export_artifact(
    dir: &Path,
    config: &RunConfig,
    data: &PreparedData,
    model: &RankingModel,
    summary: &RunSummary,
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
        family: "ranking".into(),
        model: serde_json::to_value(&config.model)?,
        data: serde_json::to_value(&config.data)?,
        layout: data.layout.clone(),
        schema_hash: schema_hash(&preprocessor),
        metrics: serde_json::to_value(summary)?,
        created_by: format!("ember {}", env!("CARGO_PKG_VERSION")),
        trained_on: trained_on.to_string(),
    };
    // The manifest goes last: its presence marks a complete artifact.
    write_atomic(
        &dir.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    Ok(())
}
