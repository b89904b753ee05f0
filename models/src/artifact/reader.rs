//! The one artifact reader every family loads through: it finds the
//! manifest, checks the format and the family, and reads each file with an
//! error that names it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Module;
use serde::de::DeserializeOwned;

use super::files::{load_bpk, schema_hash};
use super::manifest::{Family, MANIFEST, Manifest, PREPROCESSOR};

/// An artifact directory whose manifest has been read and checked.
#[derive(Debug, Clone)]
pub struct ArtifactDir {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl ArtifactDir {
    /// Opens `dir` whatever its family.
    pub fn open_any(dir: &Path) -> Result<Self> {
        Ok(Self {
            dir: dir.to_owned(),
            manifest: Manifest::read(dir)?,
        })
    }

    /// Opens `dir`, which must hold a model of `family`.
    pub fn open(dir: &Path, family: Family) -> Result<Self> {
        let artifact = Self::open_any(dir)?;
        if artifact.manifest.family != family {
            bail!(
                "{}: {}, but {} was expected",
                dir.display(),
                artifact.manifest.family.noun(),
                family.noun()
            );
        }
        Ok(artifact)
    }

    pub fn family(&self) -> Family {
        self.manifest.family
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `preprocessor.json`, checked against the manifest's schema hash.
    pub fn preprocessor<T: DeserializeOwned>(&self) -> Result<T> {
        let path = self.path(PREPROCESSOR);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        self.check_schema(&text, &path)?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid preprocessor", path.display()))
    }

    /// Checks that `text` is the schema the manifest names (`origin` for errors).
    pub fn check_schema(&self, text: &str, origin: &Path) -> Result<()> {
        if schema_hash(text) != self.manifest.schema_hash {
            bail!(
                "{}: does not match the manifest's schema hash (files from different runs?)",
                origin.display()
            );
        }
        Ok(())
    }

    /// The manifest's `model` entry, as the family describes its model.
    pub fn model_entry<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.manifest.model.clone())
            .with_context(|| format!("{}: invalid model entry", self.path(MANIFEST).display()))
    }

    /// The manifest's `data` entry: how the training data was read.
    pub fn data_entry<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.manifest.data.clone())
            .with_context(|| format!("{}: invalid data entry", self.path(MANIFEST).display()))
    }

    /// A JSON file of the artifact; `what` names it in errors.
    pub fn json<T: DeserializeOwned>(&self, name: &str, what: &str) -> Result<T> {
        let path = self.path(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: cannot read {what}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{}: invalid {what}", path.display()))
    }

    /// Loads `<stem>.bpk` into `model`, whose structure must match.
    pub fn weights<M: Module>(&self, stem: &str, model: M) -> Result<M> {
        load_bpk(model, &self.path(&format!("{stem}.bpk")))
    }
}
