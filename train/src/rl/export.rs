//! Writing a trained mixer as an artifact (format and loader:
//! `ember_models::artifact::mixer`).

use std::path::Path;

use anyhow::Result;
use ember_datasets::FeatureLayout;
use ember_datasets::simulator::SimConfig;
use ember_models::artifact::mixer::SIMULATOR;
use ember_models::artifact::{ArtifactWriter, Family, MODEL, ManifestEntry};
use ember_models::mixer::{MixerInput, MixerQNet, MixerSpec};

use serde::Serialize;

use super::config::MixerRunConfig;

pub fn export_mixer(
    dir: &Path,
    config: &MixerRunConfig,
    sim: &SimConfig,
    net: &MixerQNet,
    input: &MixerInput,
    summary: &impl Serialize,
    trained_on: &str,
) -> Result<()> {
    let spec = MixerSpec {
        config: config.model.clone(),
        input: *input,
        type_names: sim.type_names(),
    };
    let mut writer = ArtifactWriter::create(dir)?;
    // The input encoding is the mixer's schema.
    writer.schema_text(&serde_json::to_string(&spec)?);
    writer.weights(MODEL, net, true)?;
    writer.run_config(config)?;
    writer.toml(SIMULATOR, sim)?;
    writer.finish(ManifestEntry {
        family: Family::Mixer,
        model: serde_json::to_value(&spec)?,
        data: serde_json::to_value(sim)?,
        // A mixer reads session feedback, not feature columns.
        layout: FeatureLayout::default(),
        metrics: serde_json::to_value(summary)?,
        trained_on: trained_on.to_owned(),
    })?;
    Ok(())
}
