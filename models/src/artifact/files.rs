//! Writing files so that a crash never leaves half of one behind, and the
//! weight formats (burnpack, safetensors) every artifact and checkpoint uses.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};

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

/// Hash of a schema's text (a preprocessor's JSON, a mixer's spec), recorded
/// in the manifest so that files from different runs are not mixed.
pub fn schema_hash(text: &str) -> String {
    format!(
        "{:016x}",
        ember_datasets::hashing::token_hash(0, text.as_bytes())
    )
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
