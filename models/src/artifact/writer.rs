//! The one artifact writer every family exports through: each file is
//! written atomically, and the manifest goes last.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use ember_datasets::FeatureLayout;
use serde::Serialize;

use super::files::{save_bpk, save_safetensors, schema_hash, write_atomic};
use super::manifest::{FORMAT_VERSION, Family, MANIFEST, Manifest, PREPROCESSOR, RUN_CONFIG};

/// What the manifest says besides the schema hash, which the writer takes
/// from the schema it wrote.
pub struct ManifestEntry {
    pub family: Family,
    pub model: serde_json::Value,
    pub data: serde_json::Value,
    pub layout: FeatureLayout,
    pub metrics: serde_json::Value,
    pub trained_on: String,
}

/// An artifact directory being written. Nothing marks it complete until
/// [`ArtifactWriter::finish`] writes the manifest.
pub struct ArtifactWriter {
    dir: PathBuf,
    schema_hash: Option<String>,
}

impl ArtifactWriter {
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // An earlier artifact's manifest would vouch for the files being replaced.
        let manifest = dir.join(MANIFEST);
        if manifest.exists() {
            std::fs::remove_file(&manifest)
                .with_context(|| format!("removing {}", manifest.display()))?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            schema_hash: None,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `preprocessor.json`; its hash becomes the manifest's schema hash.
    pub fn preprocessor<T: Serialize + ?Sized>(&mut self, preprocessor: &T) -> Result<()> {
        let text = serde_json::to_string(preprocessor)?;
        write_atomic(&self.path(PREPROCESSOR), text.as_bytes())?;
        self.schema_hash = Some(schema_hash(&text));
        Ok(())
    }

    /// Takes the schema hash from a schema kept in the manifest itself (a
    /// mixer's input spec) instead of from `preprocessor.json`.
    pub fn schema_text(&mut self, text: &str) {
        self.schema_hash = Some(schema_hash(text));
    }

    /// `<stem>.bpk`, and with `safetensors` also `<stem>.safetensors` for other tools.
    pub fn weights<M: Module>(&self, stem: &str, model: &M, safetensors: bool) -> Result<()> {
        save_bpk(model, &self.path(&format!("{stem}.bpk")))?;
        if safetensors {
            save_safetensors(model, &self.path(&format!("{stem}.safetensors")))?;
        }
        Ok(())
    }

    pub fn bytes(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.path(name), bytes)
    }

    pub fn json<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.bytes(name, serde_json::to_string(value)?.as_bytes())
    }

    /// A TOML file (the run config as trained, a simulator config).
    pub fn toml<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.bytes(name, toml::to_string_pretty(value)?.as_bytes())
    }

    /// `config.toml`: the run config as trained.
    pub fn run_config<T: Serialize + ?Sized>(&self, config: &T) -> Result<()> {
        self.toml(RUN_CONFIG, config)
    }

    /// Writes the manifest, completing the artifact.
    pub fn finish(self, entry: ManifestEntry) -> Result<Manifest> {
        let Some(schema_hash) = self.schema_hash.clone() else {
            bail!(
                "{}: an artifact needs its schema written before the manifest",
                self.dir.display()
            );
        };
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            family: entry.family,
            model: entry.model,
            data: entry.data,
            layout: entry.layout,
            schema_hash,
            metrics: entry.metrics,
            created_by: format!("ember {}", env!("CARGO_PKG_VERSION")),
            trained_on: entry.trained_on,
        };
        write_atomic(
            &self.path(MANIFEST),
            serde_json::to_string_pretty(&manifest)?.as_bytes(),
        )?;
        Ok(manifest)
    }
}
