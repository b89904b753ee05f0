//! The versions an online run exports: `versions/v000001/`, ... each a
//! complete ranking artifact, written into a hidden directory and renamed
//! into place, so a reader (`ember serve --watch`) sees all of a version or
//! none of it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use ember_datasets::sources::Csv;
use ember_datasets::{DataConfig, FeatureLayout, Preprocessor};
use ember_models::artifact::{ArtifactWriter, Family, MODEL, ManifestEntry};
use serde::Serialize;

use super::config::OnlineRunConfig;

/// Exports versions on a schedule of events and seconds.
pub struct Versions {
    dir: PathBuf,
    /// The number of this run's first version: after any already there, so
    /// a new run's versions sort after an earlier run's and a watching
    /// server takes them as newer.
    first: u64,
    pub names: Vec<String>,
    keep: usize,
    every_events: u64,
    every_seconds: f64,
    last: (u64, Instant),
}

/// The number of the newest `vNNNNNN` directory in `dir` (0: none).
fn latest_number(dir: &Path) -> Result<u64> {
    let mut latest = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix('v'))
            .and_then(|n| n.parse::<u64>().ok())
        {
            latest = latest.max(n);
        }
    }
    Ok(latest)
}

impl Versions {
    pub fn open(config: &OnlineRunConfig) -> Result<Self> {
        let dir = config.versions_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            first: latest_number(&dir)? + 1,
            dir,
            names: Vec::new(),
            keep: config.online.keep_versions,
            every_events: config.online.export_every_events,
            every_seconds: config.online.export_every_seconds,
            last: (0, Instant::now()),
        })
    }

    /// Whether a version is due at stream position `position`.
    pub fn due(&self, position: u64) -> bool {
        let by_events = self.every_events > 0 && position - self.last.0 >= self.every_events;
        let by_time =
            self.every_seconds > 0.0 && self.last.1.elapsed().as_secs_f64() >= self.every_seconds;
        by_events || by_time
    }

    /// Whether events since the last version are not in any version yet.
    pub fn behind(&self, position: u64) -> bool {
        self.last.0 < position
    }

    /// Writes the next version: `model` (inference weights), the ids it
    /// scores with, the run config and `metrics`; prunes old versions.
    pub fn export<M: Module>(
        &mut self,
        config: &OnlineRunConfig,
        position: u64,
        model: &M,
        preprocessor: &Preprocessor,
        layout: &FeatureLayout,
        metrics: &impl Serialize,
    ) -> Result<PathBuf> {
        let name = format!("v{:06}", self.first + self.names.len() as u64);
        let partial = self.dir.join(format!(".{name}.partial"));
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .with_context(|| format!("removing {}", partial.display()))?;
        }
        // Scoring a file with a version reads it as the stream's CSV.
        let data = DataConfig::from(Csv {
            train: config.stream.path.clone(),
            valid: None,
            test: config.stream.path.clone(),
            schema: config.stream.schema.clone(),
        });
        let mut writer = ArtifactWriter::create(&partial)?;
        writer.preprocessor(&Some(preprocessor))?;
        writer.weights(MODEL, model, false)?;
        writer.run_config(config)?;
        writer.finish(ManifestEntry {
            family: Family::Ranking,
            model: serde_json::to_value(&config.model)?,
            data: serde_json::to_value(&data)?,
            layout: layout.clone(),
            metrics: serde_json::to_value(metrics)?,
            trained_on: config.common.device.to_string(),
        })?;
        let done = self.dir.join(&name);
        std::fs::rename(&partial, &done)
            .with_context(|| format!("renaming {} to {}", partial.display(), done.display()))?;
        tracing::info!(version = %name, events = position, "exported");
        self.names.push(name);
        self.last = (position, Instant::now());
        self.prune()?;
        Ok(done)
    }

    /// Deletes all but the newest `keep` versions (0: keeps all).
    fn prune(&self) -> Result<()> {
        if self.keep == 0 || self.names.len() <= self.keep {
            return Ok(());
        }
        for name in &self.names[..self.names.len() - self.keep] {
            let dir = self.dir.join(name);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
            }
        }
        Ok(())
    }
}
