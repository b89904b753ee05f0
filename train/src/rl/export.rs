//! Writing a trained mixer as an artifact directory (see `models::artifact`):
//! `manifest.json` (family "mixer", the [`MixerSpec`], the simulator it was
//! trained on, the run summary), `model.bpk` / `model.safetensors`,
//! `config.toml` (the run) and `simulator.toml`.

use std::path::Path;

use anyhow::{Context, Result};
use ember_datasets::FeatureLayout;
use ember_datasets::simulator::SimConfig;
use ember_models::artifact::{
    FORMAT_VERSION, MANIFEST, Manifest, WEIGHTS_BPK, WEIGHTS_SAFETENSORS, save_bpk,
    save_safetensors, schema_hash, write_atomic,
};
use ember_models::mixer::{MixerInput, MixerQNet, MixerSpec};

use super::config::MixerRunConfig;
use super::dqn::MixerRunSummary;

pub const MIXER_FAMILY: &str = "mixer";

pub fn export_mixer(
    dir: &Path,
    config: &MixerRunConfig,
    sim: &SimConfig,
    net: &MixerQNet,
    input: &MixerInput,
    summary: &MixerRunSummary,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let spec = MixerSpec {
        config: config.model.clone(),
        input: *input,
        type_names: sim.type_names(),
    };
    let spec_json = serde_json::to_string(&spec)?;
    save_bpk(net, &dir.join(WEIGHTS_BPK))?;
    save_safetensors(net, &dir.join(WEIGHTS_SAFETENSORS))?;
    write_atomic(
        &dir.join("config.toml"),
        toml::to_string_pretty(config)?.as_bytes(),
    )?;
    write_atomic(
        &dir.join("simulator.toml"),
        toml::to_string_pretty(sim)?.as_bytes(),
    )?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        family: MIXER_FAMILY.into(),
        model: serde_json::from_str(&spec_json)?,
        data: serde_json::to_value(sim)?,
        // A mixer reads session feedback, not feature columns.
        layout: FeatureLayout {
            categorical: Vec::new(),
            numeric: Vec::new(),
            sequences: Vec::new(),
            dense: Vec::new(),
            tasks: Vec::new(),
        },
        // The input encoding is the mixer's schema.
        schema_hash: schema_hash(&spec_json),
        metrics: serde_json::to_value(summary)?,
        created_by: format!("ember {}", env!("CARGO_PKG_VERSION")),
        trained_on: summary.device.to_string(),
    };
    // The manifest goes last: its presence marks a complete artifact.
    write_atomic(
        &dir.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )
}
