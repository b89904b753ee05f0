//! The datasets a run config can name (`[data] source = ...`), and loading
//! one into encoded train / validation / test splits. The sources themselves
//! and their registration are in [`crate::sources`].

use std::path::Path;

pub use crate::paths::shared_data_dir;
pub use crate::prepared::PreparedData;
pub use crate::sources::{DataConfig, InputShare};

use crate::error::{DataError, Result};
use crate::paths::default_data_root;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::sources::REGISTERED;

/// Loads and encodes the splits a config names: the preprocessor is fitted
/// on the training split only. Relative paths are taken from the current
/// directory (see [`DataConfig::resolve_paths`]).
pub fn load(config: &DataConfig) -> Result<PreparedData> {
    Ok(config.load_splits()?.described(config.source_name()))
}

/// Loads one rank's share of the splits a config names, for a distributed
/// job (see [`DataSource::load_share`](crate::DataSource::load_share)).
pub fn load_share(config: &DataConfig, share: InputShare<'_>) -> Result<PreparedData> {
    let shard = share.shard;
    let name = format!(
        "{} (rank {} of {}'s share)",
        config.source_name(),
        shard.index,
        shard.count
    );
    Ok(config.load_share_of_splits(share)?.described(&name))
}

/// Reads a new file in the format a model was trained on, for scoring (each
/// source's [`DataSource::read_for_prediction`](crate::DataSource::read_for_prediction)
/// says which). Encode the result with the stored
/// [`Preprocessor`](crate::Preprocessor).
pub fn read_for_prediction(
    config: &DataConfig,
    path: &Path,
    skip_bad_rows: bool,
) -> Result<RawTable> {
    config.read_file(
        path,
        ReadOptions {
            skip_bad_rows,
            ..ReadOptions::default()
        },
    )
}

/// Every registered source with its one line, for `ember datasets`.
pub fn list_builtin() -> Vec<(&'static str, &'static str)> {
    REGISTERED
        .iter()
        .map(|source| (source.name, source.description))
        .collect()
}

/// Loads a built-in source (its files, if any, under `root`, by default
/// `../shared/data`) and says what it holds.
pub fn describe(name: &str, root: Option<&Path>) -> Result<String> {
    let root = root.map_or_else(default_data_root, Path::to_owned);
    let config = REGISTERED
        .iter()
        .find(|source| source.name == name)
        .and_then(|source| (source.builtin)(&root))
        .ok_or_else(|| {
            DataError::Invalid(format!(
                "'{name}' is not a built-in dataset that can be described without files; try `ember datasets`"
            ))
        })?;
    config.describe()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::readers::movielens::RatingLabel;
    use crate::sources::{CriteoSynth, Csv, FrappeCtr, Ml100kCtr, SyntheticCtr};

    /// Keys after `source = NAME` that make a valid table for some source;
    /// [`parse_any`] tries each.
    const CONFIG_BODIES: [&str; 5] = [
        "",
        "train = \"a\"\ntest = \"b\"",
        "train = \"a\"\ntest = \"b\"\nschema = \"s\"",
        "correlation = 0.5",
        "events = { path = \"e.csv\", user = \"u\", item = \"i\", time = \"t\" }",
    ];

    /// The first of `source = name` plus one of [`CONFIG_BODIES`] that
    /// parses, as TOML text and config.
    fn parse_any(name: &str) -> Option<(String, DataConfig)> {
        CONFIG_BODIES.iter().find_map(|body| {
            let text = format!("source = \"{name}\"\n{body}");
            let config = toml::from_str::<DataConfig>(&text).ok()?;
            Some((text, config))
        })
    }

    #[test]
    fn frappe_and_ml100k_protocol_sizes() {
        let Some(root) = shared_data_dir() else {
            return;
        };
        let f = load(&FrappeCtr { root: root.clone() }.into()).unwrap();
        assert_eq!(
            (f.train.num_rows, f.valid.num_rows, f.test.num_rows),
            (51_950, 5_772, 28_860)
        );
        assert_eq!(f.layout.categorical.len(), 10);
        let m = load(
            &Ml100kCtr {
                root,
                ..Ml100kCtr::default()
            }
            .into(),
        )
        .unwrap();
        assert_eq!(
            (m.train.num_rows, m.valid.num_rows, m.test.num_rows),
            (80_000, 10_000, 10_000)
        );
        assert_eq!(m.layout.sequences.len(), 1);
        assert!(m.train.groups.is_some());
    }

    #[test]
    fn config_parses_from_toml() {
        let c: DataConfig = toml::from_str("source = \"frappe-ctr\"\nroot = \"/x\"").unwrap();
        assert_eq!(c, FrappeCtr { root: "/x".into() }.into());
        let c: DataConfig = toml::from_str("source = \"ml100k-ctr\"").unwrap();
        assert_eq!(c, Ml100kCtr::default().into());
        assert!(toml::from_str::<DataConfig>("source = \"nope\"").is_err());
        let c: DataConfig = toml::from_str(
            "source = \"csv\"\ntrain = \"a.csv\"\ntest = \"b.csv\"\nschema = \"s.toml\"",
        )
        .unwrap();
        assert!(matches!(c, DataConfig::Csv(Csv { valid: None, .. })));
        // A file source without its files is an error, not a default.
        assert!(toml::from_str::<DataConfig>("source = \"csv\"\ntrain = \"a.csv\"").is_err());
        assert!(toml::from_str::<DataConfig>("source = \"mmoe-synthetic\"").is_err());
        let c: DataConfig = toml::from_str("source = \"criteo-synth\"").unwrap();
        assert_eq!(
            c,
            CriteoSynth {
                rows: [1 << 20, 1 << 16, 1 << 16],
                seed: 42
            }
            .into()
        );
        let c: DataConfig =
            toml::from_str("source = \"ml100k-ctr\"\nlabels = [\"like\", \"love\"]").unwrap();
        assert!(
            matches!(c, DataConfig::Ml100kCtr(Ml100kCtr { ref labels, .. }) if labels == &[RatingLabel::AtLeast4, RatingLabel::Equals5])
        );
        let mut c: DataConfig = Csv {
            train: "a.csv".into(),
            valid: None,
            test: "b.csv".into(),
            schema: "s.toml".into(),
        }
        .into();
        c.resolve_paths(Path::new("/cfg"));
        assert!(
            matches!(c, DataConfig::Csv(Csv { ref train, ref schema, .. }) if train == Path::new("/cfg/a.csv") && schema == Path::new("/cfg/s.toml"))
        );
        let mut c: DataConfig = FrappeCtr::default().into();
        c.resolve_paths(Path::new("/cfg"));
        assert_eq!(
            c,
            FrappeCtr {
                root: PathBuf::from("/cfg/../shared/data")
            }
            .into()
        );
    }

    /// Each source's `NAME` is the tag serde gives its variant (so a config
    /// naming it gets it), and survives the TOML and JSON exports of run
    /// configs.
    #[test]
    fn each_registered_name_round_trips() {
        for (name, _) in list_builtin() {
            let (_, config) = parse_any(name).unwrap_or_else(|| panic!("{name} does not parse"));
            assert_eq!(config.source_name(), name);
            let text = toml::to_string(&config).unwrap();
            assert!(
                text.starts_with(&format!("source = \"{name}\"\n")),
                "{text}"
            );
            assert_eq!(
                toml::from_str::<DataConfig>(&text).unwrap(),
                config,
                "{text}"
            );
            let json = serde_json::to_value(&config).unwrap();
            assert_eq!(json["source"], name);
            assert_eq!(serde_json::from_value::<DataConfig>(json).unwrap(), config);
        }
    }

    /// A misspelt key is an error naming it, in every source.
    #[test]
    fn unknown_keys_are_rejected_by_name() {
        for (name, _) in list_builtin() {
            let (text, _) = parse_any(name).unwrap();
            let err = toml::from_str::<DataConfig>(&format!("{text}\nseeed = 1"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("unknown field `seeed`"), "{name}: {err}");
        }
    }

    #[test]
    fn list_builtin_has_every_source_once() {
        let names: Vec<_> = list_builtin().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names.len(), REGISTERED.len());
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for (name, description) in list_builtin() {
            assert!(!description.is_empty(), "{name}");
        }
        assert!(names.contains(&"frappe-ctr") && names.contains(&"parquet"));
        // Sources that need files cannot be described without them.
        let err = describe("csv", None).unwrap_err().to_string();
        assert!(err.contains("'csv' is not a built-in dataset"), "{err}");
        assert!(describe("nope", None).is_err());
    }

    #[test]
    fn generated_sources_load_without_files() {
        let d = load(
            &CriteoSynth {
                rows: [5000, 1000, 1000],
                seed: 42,
            }
            .into(),
        )
        .unwrap();
        assert!(d.preprocessor.is_none());
        assert_eq!(d.layout.num_fields(), 39);
        assert_eq!(d.valid.num_rows, 1000);
        assert_ne!(d.valid.categorical, d.test.categorical);
        let d = load(
            &SyntheticCtr {
                rows: [300, 100, 100],
                seed: 1,
            }
            .into(),
        )
        .unwrap();
        assert_eq!(d.train.num_rows, 300);
        assert!(d.description.starts_with("synthetic-ctr"));
        let text = describe("synthetic-ctr", None).unwrap();
        assert!(
            text.starts_with("synthetic-ctr: train 20000 rows"),
            "{text}"
        );
        assert!(
            read_for_prediction(&SyntheticCtr::default().into(), Path::new("x"), false).is_err()
        );
    }
}
