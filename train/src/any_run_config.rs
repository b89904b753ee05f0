//! Reading a run config without knowing its family first: `ember train`
//! takes any of them.

use std::path::Path;

use anyhow::{Context, Result};
use ember_datasets::toml_config::load_toml;

use crate::config::RunConfig;
use crate::multitask::MultiTaskRunConfig;
use crate::retrieval::RetrievalRunConfig;

/// A run config of any family: ranking (`family` absent or `"ranking"`),
/// multi-task (`family = "multitask"`) or retrieval (`[model] kind =
/// "two_tower"`).
// Read once per run; not worth boxing the common (ranking) case.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum AnyRunConfig {
    Ranking(RunConfig),
    MultiTask(Box<MultiTaskRunConfig>),
    Retrieval(Box<RetrievalRunConfig>),
}

impl AnyRunConfig {
    /// Reads a TOML run config of any family and applies overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let mut value = load_toml(path, overrides)?;
        if value.get("stream").is_some() || value.get("online").is_some() {
            anyhow::bail!(
                "{}: an online run config (it has [stream] / [online]): run it with `ember online --config {}`",
                path.display(),
                path.display()
            );
        }
        if RetrievalRunConfig::describes(&value) {
            return Ok(AnyRunConfig::Retrieval(Box::new(
                RetrievalRunConfig::from_value(value, path)?,
            )));
        }
        let family = value
            .get("family")
            .map(|f| f.as_str().map(str::to_owned))
            .unwrap_or(Some("ranking".into()));
        match family.as_deref() {
            Some("ranking") => {
                if let Some(table) = value.as_table_mut() {
                    table.remove("family");
                }
                Ok(AnyRunConfig::Ranking(RunConfig::from_value(value, path)?))
            }
            Some("multitask") => Ok(AnyRunConfig::MultiTask(Box::new(
                value.try_into().with_context(|| {
                    format!("{}: not a valid multi-task run config", path.display())
                })?,
            ))),
            _ => anyhow::bail!(
                "{}: family must be \"ranking\" or \"multitask\"",
                path.display()
            ),
        }
    }
}
