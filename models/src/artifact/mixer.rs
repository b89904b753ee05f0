//! A mixer artifact: `model.bpk` (+ safetensors) of the Q-network; the
//! manifest's `model` entry is the [`MixerSpec`], which is also the schema
//! its hash covers (a mixer reads session feedback, not feature columns).
//! Beside them: `config.toml` (the run) and `simulator.toml`.

use std::path::Path;

use anyhow::Result;
use burn::prelude::Device;

use super::manifest::{Family, MANIFEST, MODEL};
use super::reader::ArtifactDir;
use crate::mixer::{MixerQNet, MixerSpec};

pub const SIMULATOR: &str = "simulator.toml";

pub struct MixerArtifact {
    pub artifact: ArtifactDir,
    pub spec: MixerSpec,
    pub net: MixerQNet,
}

impl MixerArtifact {
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let artifact = ArtifactDir::open(dir, Family::Mixer)?;
        let spec: MixerSpec = artifact.model_entry()?;
        artifact.check_schema(&serde_json::to_string(&spec)?, &artifact.path(MANIFEST))?;
        let net = spec
            .config
            .init(&spec.input, device)
            .map_err(anyhow::Error::msg)?;
        let net = artifact.weights(MODEL, net)?;
        Ok(Self {
            artifact,
            spec,
            net,
        })
    }
}
