//! The shape every run config shares: the keys any run has (its name, the
//! device it trains on, where it writes) and its family's own sections
//! (`[data]`, `[model]`, `[train]`, ...), in one TOML file.
//!
//! ```toml
//! name = "frappe-ctr-deepfm"   # run directory: <output_dir>/<name>
//! device = "flex"              # optional, default auto
//! output_dir = "runs"          # optional
//! [data]                       # the family's sections from here on
//! ...
//! ```
//!
//! Each family's sections are one struct with `deny_unknown_fields`, so a
//! misspelt key is an error naming it. Serde cannot combine that with
//! `#[serde(flatten)]`, so [`Run`] reads the common keys itself and hands
//! the rest of the table to the family.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;

use ember_models::device::DeviceChoice;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};

/// The keys every run config has, whatever its family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCommon {
    /// Names the run directory under `output_dir`.
    pub name: String,
    #[serde(default)]
    pub device: DeviceChoice,
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("runs")
}

impl RunCommon {
    /// The TOML keys of [`RunCommon`]; a test checks them against the struct.
    pub const KEYS: [&'static str; 3] = ["name", "device", "output_dir"];

    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            device: DeviceChoice::default(),
            output_dir: default_output_dir(),
        }
    }
}

/// A run config: the common keys and the family's sections `F`. Reads
/// through to `F`'s fields (`config.train.lr`); the common keys are
/// `config.common`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run<F> {
    #[serde(flatten)]
    pub common: RunCommon,
    #[serde(flatten)]
    pub family: F,
}

impl<F> Run<F> {
    /// The run directory: checkpoints, metrics log and the exported artifact.
    pub fn run_dir(&self) -> PathBuf {
        self.common.output_dir.join(&self.common.name)
    }
}

impl<F> Deref for Run<F> {
    type Target = F;
    fn deref(&self) -> &F {
        &self.family
    }
}

impl<F> DerefMut for Run<F> {
    fn deref_mut(&mut self) -> &mut F {
        &mut self.family
    }
}

impl<'de, F: DeserializeOwned> Deserialize<'de> for Run<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut family = toml::Table::deserialize(deserializer)?;
        let mut common = toml::Table::new();
        for key in RunCommon::KEYS {
            if let Some(value) = family.remove(key) {
                common.insert(key.to_owned(), value);
            }
        }
        Ok(Self {
            common: RunCommon::deserialize(toml::Value::Table(common)).map_err(D::Error::custom)?,
            family: F::deserialize(toml::Value::Table(family)).map_err(D::Error::custom)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sections {
        lr: f64,
    }

    #[test]
    fn keys_list_the_common_fields() {
        let value = toml::Value::try_from(RunCommon::named("x")).unwrap();
        let mut keys: Vec<&str> = value
            .as_table()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut want = RunCommon::KEYS.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want);
    }

    #[test]
    fn splits_common_and_family_keys_and_rejects_unknown_ones() {
        let run: Run<Sections> = toml::from_str("name = \"a\"\nlr = 0.5\n").unwrap();
        assert_eq!(run.common, RunCommon::named("a"));
        assert_eq!(run.lr, 0.5);
        assert_eq!(run.run_dir(), PathBuf::from("runs/a"));
        let err = toml::from_str::<Run<Sections>>("name = \"a\"\nlr = 0.5\nlrr = 1\n").unwrap_err();
        assert!(err.to_string().contains("lrr"), "{err}");
        assert!(
            toml::from_str::<Run<Sections>>("lr = 0.5\n").is_err(),
            "name is required"
        );
        // Written out and read back as run configs are exported.
        let back: Run<Sections> = toml::from_str(&toml::to_string(&run).unwrap()).unwrap();
        assert_eq!(back, run);
    }
}
