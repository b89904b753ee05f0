//! The exported-model format: a directory any backend can load.
//!
//! ```text
//! manifest.json      format version, model family and config, data config,
//!                    feature layout, schema hash, metrics, ember version
//! preprocessor.json  schema, vocabularies and normalisation statistics
//! model.bpk          weights (burnpack)
//! model.safetensors  the same weights for other tools
//! ```
//! Every file is written to a temporary name and renamed, so a crash never
//! leaves a half-written artifact behind.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use ember_datasets::FeatureLayout;
use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const PREPROCESSOR: &str = "preprocessor.json";
pub const WEIGHTS_BPK: &str = "model.bpk";
pub const WEIGHTS_SAFETENSORS: &str = "model.safetensors";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// "ranking" (more families arrive with retrieval, multi-task, mixer).
    pub family: String,
    /// The model's hyper-parameters, as in the run config.
    pub model: serde_json::Value,
    /// How the training data was read, so `predict` reads new files the same way.
    pub data: serde_json::Value,
    pub layout: FeatureLayout,
    /// XXH3 of `preprocessor.json`, checked on load.
    pub schema_hash: String,
    pub metrics: serde_json::Value,
    pub created_by: String,
    pub trained_on: String,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read the artifact manifest", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a valid ember manifest", path.display()))?;
        if manifest.format_version != FORMAT_VERSION {
            bail!(
                "{}: artifact format {} but this ember reads format {FORMAT_VERSION}",
                path.display(),
                manifest.format_version
            );
        }
        Ok(manifest)
    }
}

/// Hash of a preprocessor's JSON, recorded in the manifest.
pub fn schema_hash(preprocessor_json: &str) -> String {
    format!(
        "{:016x}",
        ember_datasets::hashing::token_hash(0, preprocessor_json.as_bytes())
    )
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// Saves weights as burnpack at `path` (atomically).
pub fn save_bpk<M: Module>(model: &M, path: &Path) -> Result<()> {
    let tmp = temp_path(path);
    model
        .clone()
        .save_file(&tmp)
        .map_err(|e| anyhow::anyhow!("{}: cannot save weights: {e:?}", tmp.display()))?;
    // burnpack may append its own extension; find what was written.
    let written = if tmp.exists() {
        tmp.clone()
    } else {
        tmp.with_extension(format!(
            "{}.bpk",
            tmp.extension().unwrap_or_default().to_string_lossy()
        ))
    };
    std::fs::rename(&written, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Loads burnpack weights into `model` (whose structure must match).
pub fn load_bpk<M: Module>(model: M, path: &Path) -> Result<M> {
    if !path.exists() {
        bail!("{}: weights file not found", path.display());
    }
    model
        .try_load_file(path)
        .map_err(|e| anyhow::anyhow!("{}: weights do not fit this model: {e:?}", path.display()))
}

/// Saves weights as safetensors at `path` (atomically).
pub fn save_safetensors<M: Module>(model: &M, path: &Path) -> Result<()> {
    let tmp = temp_path(path);
    let mut store = SafetensorsStore::from_file(&tmp);
    model
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: cannot save safetensors: {e:?}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// Loads safetensors weights into `model`.
pub fn load_safetensors<M: Module>(mut model: M, path: &Path) -> Result<M> {
    let mut store = SafetensorsStore::from_file(path);
    model
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: cannot load safetensors: {e:?}", path.display()))?;
    Ok(model)
}
