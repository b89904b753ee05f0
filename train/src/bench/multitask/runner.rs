//! Running a preset inside a benchmark: load it with overrides, train it
//! on the benchmark's device under its output directory, log the summary.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ember_datasets::registry::PreparedData;
use ember_models::device::DeviceChoice;
use serde::de::DeserializeOwned;

use crate::AnyRunConfig;
use crate::FitOptions;
use crate::epoch::append_line;
use crate::multitask::{MultiTaskRun, MultiTaskRunConfig, fit};

pub(super) struct Runner {
    pub out: PathBuf,
    pub device: DeviceChoice,
    /// The user's overrides, applied to every run before the experiment's own.
    overrides: Vec<String>,
}

impl Runner {
    pub(super) fn new(out: PathBuf, device: DeviceChoice, overrides: Vec<String>) -> Self {
        Self {
            out,
            device,
            overrides,
        }
    }

    /// The multi-task preset at `path` with the user's overrides, then
    /// `overrides` (what the experiment varies: seed, correlation, name);
    /// run on the benchmark's device and under `out/runs`.
    pub(super) fn preset(&self, path: &Path, overrides: &[String]) -> Result<MultiTaskRunConfig> {
        let all: Vec<String> = self.overrides.iter().chain(overrides).cloned().collect();
        match AnyRunConfig::load(path, &all)? {
            AnyRunConfig::MultiTask(mut config) => {
                config.common.device = self.device;
                config.common.output_dir = self.out.join("runs");
                Ok(*config)
            }
            _ => anyhow::bail!("{}: not a multi-task run config", path.display()),
        }
    }

    /// Trains `config` on `data` and appends its summary to `log`.
    pub(super) fn train(
        &self,
        config: &MultiTaskRunConfig,
        data: &PreparedData,
        log: &Path,
    ) -> Result<MultiTaskRun> {
        let run = fit(config, data, &FitOptions::default())?;
        append_line(log, &serde_json::to_string(&run.summary)?)?;
        eprintln!(
            "[bench-mtl] {}: test {} ({:.1}s)",
            config.common.name, run.summary.test, run.summary.train_seconds
        );
        Ok(run)
    }

    /// A section's run log, emptied: a section's log holds one sweep.
    pub(super) fn fresh_log(&self, section: &str) -> PathBuf {
        let log = self.out.join(format!("{section}.jsonl"));
        let _ = std::fs::remove_file(&log);
        log
    }
}

/// The override that names a run.
pub(super) fn name_override(name: &str) -> String {
    format!("name={}", toml_string(name))
}

/// `text` as a TOML string literal (quoted and escaped), for an override.
pub(super) fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// A field of a run's `[data]` table, defaults filled in (e.g. the
/// generator's `rows`, `seed`, `alpha_scale`). Read from the serialised
/// config, the `[data]` table as written, not by matching the data
/// source's variant.
pub(super) fn data_field<T: DeserializeOwned>(config: &MultiTaskRunConfig, key: &str) -> Result<T> {
    let data = serde_json::to_value(&config.data)?;
    let value = data
        .get(key)
        .with_context(|| format!("{}: the data has no `{key}`", config.common.name))?;
    serde_json::from_value(value.clone())
        .with_context(|| format!("{}: data.{key} = {value}", config.common.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_fields_are_read_with_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(
            &path,
            "family = \"multitask\"\nname = \"x\"\n[data]\nsource = \"mmoe-synthetic\"\ncorrelation = 0.5\n\
             [[tasks]]\nname = \"y1\"\nkind = \"regression\"\n",
        )
        .unwrap();
        let runner = Runner::new(dir.path().into(), DeviceChoice::Cpu, vec![]);
        let config = runner
            .preset(&path, &["data.seed=7".into(), name_override("a \"b\"")])
            .unwrap();
        assert_eq!(config.common.name, "a \"b\"");
        assert_eq!(config.common.output_dir, dir.path().join("runs"));
        assert_eq!(data_field::<u64>(&config, "seed").unwrap(), 7);
        assert_eq!(data_field::<f64>(&config, "alpha_scale").unwrap(), 1.0);
        assert_eq!(data_field::<f64>(&config, "correlation").unwrap(), 0.5);
        assert!(data_field::<f64>(&config, "nonsense").is_err());
    }
}
